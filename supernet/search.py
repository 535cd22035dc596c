"""The architecture search: FBNet DNAS with the HANNA latency + energy loss.

One loop, top to bottom: warm-up epochs train the weights only; every later epoch
trains the weights (SGD) on the 80% split, then theta (Adam) on the 20% split, with
Gumbel-softmax masks whose temperature anneals per epoch. Every epoch rewrites a full
checkpoint, the theta history, arch.json (argmax of theta), progress.json (the epoch's
metrics and op probabilities) and TensorBoard curves. The passes live in
``supernet.steps``, what an epoch records in ``supernet.progress``, the checkpoint and
where a run starts from in ``supernet.resume``.

``search.steps_per_epoch`` caps the weight steps and the theta steps of an epoch
(the theta split is a quarter of the weights split, so it rarely binds there).
Batches are ordered by ``(seed, epoch)`` and torch is reseeded from ``(seed, epoch)``
at the start of every epoch (Gumbel noise included), so a run resumed from an epoch
checkpoint ends exactly like an uninterrupted one.

CLI: ``python -m supernet.search --config FILE --out DIR [--resume] [key=value ...]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import yaml
from tensorboardX import SummaryWriter

from hwnas.config import ExperimentConfig, config_to_dict, load_config
from hwnas.config_sections import SearchConfig
from hwnas.device import train_device
from hwnas.errors import UserError, cli_main
from hwnas.io import atomic_write_json, atomic_write_text, load_checkpoint
from hwnas.layout import ARCH, CHECKPOINT, CONFIG, THETA
from lut.cost import CostTensors
from supernet.loss import CostTables
from supernet.model import Supernet
from supernet.progress import epoch_metrics, log_epoch, write_epoch
from supernet.resume import CHECKPOINT_KEYS, restore, save_checkpoint
from supernet.schedule import temperature_at, weight_lr_at
from supernet.setup import SearchSetup, arch_record, load_warmup, save_warmup
from supernet.steps import train_theta, train_weights

__all__ = ["main", "run_search", "run_warmup"]


def _start_epoch(s: SearchConfig, epoch: int, w_opt, loaders) -> dict:
    """Set up ``epoch`` (0-based): torch reseeded from ``(seed, epoch)`` (Gumbel noise
    included; after warm-up from ``search.arch_seed`` if set), the weights' learning rate,
    the batch order. Returns the epoch's head of metrics (epoch, phase, temperature, lr)."""
    searching = epoch >= s.warmup_epochs
    arch_seed = s.arch_seed if searching and s.arch_seed is not None else s.seed
    torch.manual_seed((arch_seed * 1_000_003 + epoch * 7_919 + 17) % (2**63 - 1))
    lr = weight_lr_at(epoch, s.w_lr, s.epochs, s.warmup_epochs)
    for group in w_opt.param_groups:
        group["lr"] = lr
    for loader in loaders:
        loader.set_epoch(epoch)
    temperature = temperature_at(epoch, s.temperature, s.temperature_decay, s.warmup_epochs)
    head = {"epoch": epoch + 1, "epochs": s.epochs, "phase": "search", "searching": searching}
    return {**head, "temperature": temperature, "lr": lr}


def run_search(
    cfg: ExperimentConfig,
    out_dir,
    *,
    resume: bool = False,
    warmup_path=None,
    on_epoch: Callable[[dict], None] | None = None,
    cost: CostTensors | None = None,
) -> dict:
    """Search an architecture; see the module docstring. Returns the last epoch's
    metrics plus ``ops`` and ``arch_path``."""
    out_dir = Path(out_dir)
    s = cfg.search
    if s.threads:
        torch.set_num_threads(s.threads)
    setup = SearchSetup(cfg, cost)  # bad input fails here, before anything is written
    out_dir.mkdir(parents=True, exist_ok=True)
    device = train_device()
    tables = CostTables(setup.cost, device)
    weight_loader, arch_loader = setup.loaders()
    config = config_to_dict(cfg)

    torch.manual_seed(s.seed)
    net = Supernet(setup.proxy_space, s.execution).to(device)
    w_opt, theta_opt = _optimizers(net, s)
    ckpt_path = out_dir / CHECKPOINT
    warmup_path = Path(warmup_path) if warmup_path is not None else None
    start, history, metrics = restore(cfg, config, net, w_opt, theta_opt, ckpt_path if resume else None, warmup_path)
    atomic_write_text(out_dir / CONFIG, yaml.safe_dump(config, sort_keys=False))

    writer = SummaryWriter(logdir=str(out_dir))
    run_start = time.perf_counter()
    for epoch in range(start, s.epochs):
        t0 = time.perf_counter()
        head = _start_epoch(s, epoch, w_opt, (weight_loader, arch_loader))
        searching, temperature = head["searching"], head["temperature"]
        net.train()

        # 1) weights on the 80% split, theta fixed; 2) theta on the 20% split (after warm-up)
        train = train_weights(net, w_opt, weight_loader, temperature, device, epoch)
        val = train_theta(net, theta_opt, arch_loader, temperature, device, epoch, tables, setup.loss, searching)
        history.append(net.theta.detach().tolist())

        # 3) what the epoch found: expected costs under P(theta), the argmax architecture
        probs, ops = net.probabilities(), net.argmax_ops()
        arch = arch_record(setup, ops)
        metrics = epoch_metrics(head, train, val, tables.expected(probs), arch, time.perf_counter() - t0)

        # 4) files: checkpoint first (the resume point), then what reads from it
        save_checkpoint(ckpt_path, epoch + 1, net, w_opt, theta_opt, config, history, metrics)
        _share_warmup(cfg, epoch, net, w_opt, warmup_path)
        write_epoch(out_dir, history, arch, metrics, probs, ops, setup.space.ops)
        log_epoch(writer, metrics, probs, setup.space.ops, epoch + 1)
        if on_epoch is not None:
            on_epoch(dict(metrics))
    writer.close()
    return _result(out_dir, setup, net, history, metrics, resumed_finished=start == s.epochs, run_start=run_start)


def _optimizers(net: Supernet, s) -> tuple:
    """The weights' SGD and theta's Adam, from the search section ``s``."""
    w_opt = torch.optim.SGD(net.weight_parameters(), lr=s.w_lr, momentum=s.w_momentum, weight_decay=s.w_weight_decay)
    theta_opt = torch.optim.Adam([net.theta], lr=s.theta_lr, weight_decay=s.theta_weight_decay)
    return w_opt, theta_opt


def _share_warmup(cfg: ExperimentConfig, epoch: int, net: Supernet, w_opt, warmup_path: Path | None) -> None:
    """After the last warm-up epoch, the shared warm-up file, unless a trial wrote it already."""
    if warmup_path is not None and epoch + 1 == cfg.search.warmup_epochs and not warmup_path.exists():
        save_warmup(warmup_path, cfg, net.state_dict(), w_opt.state_dict())


def _result(
    out_dir: Path, setup: SearchSetup, net: Supernet, history, metrics, *, resumed_finished: bool, run_start: float
) -> dict:
    """The last epoch's metrics with ``ops`` and ``arch_path``; a resumed finished run first
    rewrites what reads from the checkpoint (theta and the architecture)."""
    ops = net.argmax_ops()
    if resumed_finished:
        atomic_write_json(out_dir / THETA, history)
        atomic_write_json(out_dir / ARCH, arch_record(setup, ops))
    return {
        **metrics,
        "ops": ops,
        "arch_path": str(out_dir / ARCH),
        "search_seconds": time.perf_counter() - run_start,
    }


def run_warmup(cfg: ExperimentConfig, path, *, cost: CostTensors | None = None) -> Path:
    """Run only the weights-only warm-up of ``cfg`` and save it to ``path`` (shared by
    trials that differ only in the loss knobs). Reuses ``path`` if it matches.
    ``cost`` as for ``run_search`` (the warm-up ignores it, the setup checks it)."""
    path = Path(path)
    if cfg.search.warmup_epochs < 1:
        raise UserError("search.warmup_epochs is 0: there is no warm-up to share")
    if path.exists():
        load_warmup(path, cfg)
        return path
    short = dataclasses.replace(cfg, search=dataclasses.replace(cfg.search, epochs=cfg.search.warmup_epochs))
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".warmup-") as tmp:
        run_search(short, tmp, warmup_path=None, cost=cost)
        state = load_checkpoint(Path(tmp) / CHECKPOINT, "search checkpoint", CHECKPOINT_KEYS)
        save_warmup(path, cfg, state["model"], state["w_opt"], state["metrics"])
    return path


@cli_main
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m supernet.search", description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="experiment YAML (configs/smoke.yaml, ...)")
    parser.add_argument("--out", required=True, help=f"output folder ({ARCH}, {THETA}, {CHECKPOINT}, events)")
    parser.add_argument("--resume", action="store_true", help=f"continue from OUT/{CHECKPOINT}")
    parser.add_argument("--warmup", default=None, help="shared warm-up file (used if present, else written)")
    parser.add_argument("overrides", nargs="*", help="section.key=value, e.g. search.epochs=3")
    args = parser.parse_args(argv)
    cfg = load_config(args.config, args.overrides)

    def show(m):
        tail = f" energy={m['expected_energy_mj']:.3f}mJ" if m["expected_energy_mj"] is not None else ""
        print(
            f"epoch {m['epoch']}/{m['epochs']} T={m['temperature']:.3f} train_acc={m['train_acc']:.3f} "
            f"val_acc={m['val_acc']:.3f} lat={m['expected_latency_ms']:.3f}ms "
            f"arch_lat={m['arch_latency_ms']:.3f}ms{tail} ({m['seconds']:.1f}s)",
            flush=True,
        )

    result = run_search(cfg, args.out, resume=args.resume, warmup_path=args.warmup, on_epoch=show)
    print(
        json.dumps(
            {
                "arch": result["arch_path"],
                "ops": result["ops"],
                "arch_latency_ms": result.get("arch_latency_ms"),
                "search_seconds": round(result["search_seconds"], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
