"""The search's resume point: ``checkpoint.pt`` rewritten after every epoch (weights,
both optimizers, theta history, the epoch's metrics, the config) and where a run starts
from: its own checkpoint (``--resume``, refused when the config sections the result
depends on differ), a shared warm-up file, or the beginning."""

from __future__ import annotations

from pathlib import Path

from hwnas.config import ExperimentConfig, rename_old_keys
from hwnas.diff import differences
from hwnas.errors import UserError
from hwnas.io import atomic_save, load_checkpoint
from hwnas.keys import upgrade
from hwnas.stages import stage_key
from supernet.setup import load_warmup

__all__ = ["CHECKPOINT_KEYS", "restore", "save_checkpoint"]

CHECKPOINT_KEYS = ("epoch", "model", "w_opt", "theta_opt", "config", "theta_history", "metrics")


def save_checkpoint(path: Path, epochs_done: int, net, w_opt, theta_opt, config: dict, history: list, metrics: dict):
    """Rewrite the checkpoint (``CHECKPOINT_KEYS``): the resume point after ``epochs_done`` epochs."""
    state = {"epoch": epochs_done, "model": net.state_dict(), "w_opt": w_opt.state_dict()}
    state.update(theta_opt=theta_opt.state_dict(), config=config, theta_history=history, metrics=metrics)
    atomic_save(state, path)


def restore(
    cfg: ExperimentConfig, config: dict, net, w_opt, theta_opt, ckpt_path: Path | None, warmup_path: Path | None
) -> tuple[int, list, dict]:
    """``(first epoch, theta history, metrics)``: from the run's own checkpoint when
    resuming (``ckpt_path`` given and present), else from a shared warm-up file when one
    exists, else a fresh start."""
    s = cfg.search
    if ckpt_path is not None and ckpt_path.exists():
        state = load_checkpoint(ckpt_path, "search checkpoint", CHECKPOINT_KEYS)
        old = rename_old_keys(state["config"])  # recorded maybe before a rename
        diff = differences(stage_key("search", old), stage_key("search", config))
        if diff:
            raise UserError(f"{ckpt_path}: cannot resume, the config differs: {'; '.join(diff)}")
        net.load_state_dict(state["model"])
        w_opt.load_state_dict(state["w_opt"])
        theta_opt.load_state_dict(state["theta_opt"])
        # a checkpoint from before the rename: its metrics under the new names (hwnas.keys)
        return state["epoch"], state["theta_history"], upgrade(state["metrics"], "search_metrics", str(ckpt_path))
    if warmup_path is not None and warmup_path.exists() and s.warmup_epochs > 0:
        state = load_warmup(warmup_path, cfg)
        net.load_state_dict(state["model"])
        w_opt.load_state_dict(state["w_opt"])
        return s.warmup_epochs, [net.theta.detach().tolist() for _ in range(s.warmup_epochs)], {}
    return 0, [], {}
