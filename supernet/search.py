"""The architecture search: FBNet DNAS with the HANNA latency + energy loss.

One loop, top to bottom: warm-up epochs train the weights only; every later epoch
trains the weights (SGD) on the 80% split, then theta (Adam) on the 20% split, with
Gumbel-softmax masks whose temperature anneals per epoch. Every epoch rewrites a full
checkpoint, the theta history, arch.json (argmax of theta), progress.json (the epoch's
metrics and op probabilities) and TensorBoard curves.

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
import torch.nn.functional as F
import yaml
from tensorboardX import SummaryWriter

from hwnas.config import ExperimentConfig, config_to_dict, load_config, rename_old_keys
from hwnas.device import train_device
from hwnas.diff import differences
from hwnas.errors import UserError, cli_main
from hwnas.io import atomic_save, atomic_write_json, atomic_write_text, load_checkpoint
from lut.cost import CostTensors
from supernet.loss import CostTables, SearchLoss
from supernet.model import Supernet
from supernet.schedule import temperature_at, weight_lr_at
from supernet.setup import SearchSetup, arch_record, load_warmup, warmup_key

__all__ = ["main", "run_search", "run_warmup"]

CHECKPOINT_KEYS = ("epoch", "model", "w_opt", "theta_opt", "config", "theta_history", "metrics")


def _resume_key(config: dict) -> dict:
    """The config sections a search's result depends on (not threads, childnet, measure, sweep)."""
    key = {k: config.get(k) for k in ("space", "data", "lut", "loss", "search")}
    key["search"] = {k: v for k, v in (key["search"] or {}).items() if k != "threads"}
    return key


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch * 7_919 + 17) % (2**63 - 1)


def _finite(value: torch.Tensor, what: str, epoch: int) -> None:
    if not torch.isfinite(value):
        raise UserError(
            f"search diverged: {what} is {value.item()} in epoch {epoch + 1}; "
            f"lower search.w_lr/theta_lr or the loss knobs"
        )


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
    w_opt = torch.optim.SGD(net.weight_parameters(), lr=s.w_lr, momentum=s.w_momentum, weight_decay=s.w_weight_decay)
    theta_opt = torch.optim.Adam([net.theta], lr=s.theta_lr, weight_decay=s.theta_weight_decay)
    ckpt_path = out_dir / "checkpoint.pt"
    warmup_path = Path(warmup_path) if warmup_path is not None else None
    start, history, metrics = _restore(cfg, config, net, w_opt, theta_opt, ckpt_path if resume else None, warmup_path)
    atomic_write_text(out_dir / "config.yaml", _yaml(config))

    writer = SummaryWriter(logdir=str(out_dir))
    run_start = time.perf_counter()
    for epoch in range(start, s.epochs):
        t0 = time.perf_counter()
        searching = epoch >= s.warmup_epochs
        arch_seed = s.arch_seed if searching and s.arch_seed is not None else s.seed
        torch.manual_seed(_epoch_seed(arch_seed, epoch))
        temperature = temperature_at(epoch, s.temperature, s.temperature_decay, s.warmup_epochs)
        for group in w_opt.param_groups:
            group["lr"] = weight_lr_at(epoch, s.w_lr, s.epochs, s.warmup_epochs)
        weight_loader.set_epoch(epoch)
        arch_loader.set_epoch(epoch)
        net.train()

        # 1) weights on the 80% split, theta fixed; 2) theta on the 20% split (after warm-up)
        train = _train_weights(net, w_opt, weight_loader, temperature, device, epoch)
        val = _train_theta(net, theta_opt, arch_loader, temperature, device, epoch, tables, setup.loss, searching)
        history.append(net.theta.detach().tolist())

        # 3) what the epoch found: expected costs under P(theta), the argmax architecture
        probs, ops = net.probabilities(), net.argmax_ops()
        arch = arch_record(setup, ops)
        metrics = _epoch_metrics(
            epoch,
            s.epochs,
            searching,
            temperature,
            w_opt.param_groups[0]["lr"],
            train,
            val,
            tables.expected(probs),
            arch,
            setup.loss.uses_energy,
            time.perf_counter() - t0,
        )

        # 4) files: checkpoint first (the resume point), then what reads from it
        atomic_save(
            {
                "epoch": epoch + 1,
                "model": net.state_dict(),
                "w_opt": w_opt.state_dict(),
                "theta_opt": theta_opt.state_dict(),
                "config": config,
                "theta_history": history,
                "metrics": metrics,
            },
            ckpt_path,
        )
        if warmup_path is not None and epoch + 1 == s.warmup_epochs and not warmup_path.exists():
            atomic_save({"key": warmup_key(cfg), "model": net.state_dict(), "w_opt": w_opt.state_dict()}, warmup_path)
        _write_epoch(out_dir, history, arch, metrics, probs, ops, setup.space.ops)
        _log_epoch(writer, metrics, probs, setup.space.ops, epoch + 1)
        if on_epoch is not None:
            on_epoch(dict(metrics))
    writer.close()

    ops = net.argmax_ops()
    if start == s.epochs:  # resumed a finished run: rewrite what reads from the checkpoint
        atomic_write_json(out_dir / "theta.json", history)
        atomic_write_json(out_dir / "arch.json", arch_record(setup, ops))
    return {
        **metrics,
        "ops": ops,
        "arch_path": str(out_dir / "arch.json"),
        "search_seconds": time.perf_counter() - run_start,
    }


def _restore(
    cfg: ExperimentConfig, config: dict, net, w_opt, theta_opt, ckpt_path: Path | None, warmup_path: Path | None
) -> tuple[int, list, dict]:
    """``(first epoch, theta history, metrics)``: from the run's own checkpoint when
    resuming (``ckpt_path`` given and present), else from a shared warm-up file when one
    exists, else a fresh start."""
    s = cfg.search
    if ckpt_path is not None and ckpt_path.exists():
        state = load_checkpoint(ckpt_path, "search checkpoint", CHECKPOINT_KEYS)
        diff = differences(_resume_key(rename_old_keys(state["config"])), _resume_key(config))
        if diff:
            raise UserError(f"{ckpt_path}: cannot resume, the config differs: {'; '.join(diff)}")
        net.load_state_dict(state["model"])
        w_opt.load_state_dict(state["w_opt"])
        theta_opt.load_state_dict(state["theta_opt"])
        return state["epoch"], state["theta_history"], state["metrics"]
    if warmup_path is not None and warmup_path.exists() and s.warmup_epochs > 0:
        state = load_warmup(warmup_path, cfg)
        net.load_state_dict(state["model"])
        w_opt.load_state_dict(state["w_opt"])
        return s.warmup_epochs, [net.theta.detach().tolist() for _ in range(s.warmup_epochs)], {}
    return 0, [], {}


def _train_weights(net, w_opt, loader, temperature: float, device, epoch: int) -> dict:
    """One epoch of the weights (SGD) under sampled, detached masks: mean CE and accuracy."""
    ce_sum = correct = seen = 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        masks = net.sample_masks(temperature).detach()
        logits = net(x, masks)
        ce = F.cross_entropy(logits, y)
        _finite(ce, "the weights' cross-entropy", epoch)
        w_opt.zero_grad(set_to_none=True)
        ce.backward()
        w_opt.step()
        ce_sum += ce.item() * len(y)
        correct += int((logits.argmax(1) == y).sum())
        seen += len(y)
    return {"ce": ce_sum / max(seen, 1), "acc": correct / max(seen, 1)}


def _train_theta(
    net,
    theta_opt,
    loader,
    temperature: float,
    device,
    epoch: int,
    tables: CostTables,
    loss_fn: SearchLoss,
    searching: bool,
) -> dict:
    """One epoch of theta (Adam) on the architecture split; during warm-up only its
    accuracy. Sums over the ``seen`` samples, for the epoch's means."""
    ce_sum = correct = seen = 0
    loss_sum = lat_sum = ener_sum = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        if searching:
            masks = net.sample_masks(temperature)
            logits = net(x, masks)
            ce = F.cross_entropy(logits, y)
            lat = tables.latency_of(masks)
            ener = tables.energy_of(masks) if loss_fn.uses_energy else None
            loss = loss_fn(ce, lat, ener)
            _finite(loss, "the architecture loss", epoch)
            theta_opt.zero_grad(set_to_none=True)
            loss.backward(inputs=[net.theta])  # theta only: no weight gradients computed
            theta_opt.step()
            loss_sum += loss.item() * len(y)
            lat_sum += lat.item() * len(y)
            ener_sum += (ener.item() if ener is not None else 0.0) * len(y)
        else:
            with torch.no_grad():
                logits = net(x, net.sample_masks(temperature))
                ce = F.cross_entropy(logits, y)
        ce_sum += ce.item() * len(y)
        correct += int((logits.argmax(1) == y).sum())
        seen += len(y)
    return {"ce": ce_sum, "correct": correct, "seen": seen, "loss": loss_sum, "lat": lat_sum, "ener": ener_sum}


def _epoch_metrics(
    epoch: int,
    epochs: int,
    searching: bool,
    temperature: float,
    lr: float,
    train: dict,
    val: dict,
    expected: tuple,
    arch: dict,
    uses_energy: bool,
    seconds: float,
) -> dict:
    """One epoch's metrics (progress.json, the checkpoint, ``on_epoch``)."""
    seen = val["seen"]
    sampled = searching and seen
    latency_ms, energy_mj = expected
    return {
        "epoch": epoch + 1,
        "epochs": epochs,
        "phase": "search",
        "searching": searching,
        "temperature": temperature,
        "lr": lr,
        "train_ce": train["ce"],
        "train_acc": train["acc"],
        "val_ce": val["ce"] / max(seen, 1),
        "val_acc": val["correct"] / max(seen, 1),
        "loss": val["loss"] / seen if sampled else None,
        "latency_ms": latency_ms,
        "energy_mj": energy_mj,
        "sampled_latency_ms": val["lat"] / seen if sampled else None,
        "sampled_energy_mj": val["ener"] / seen if sampled and uses_energy else None,
        "arch_latency_ms": arch["latency_ms"],
        "arch_energy_mj": arch["energy_mj"],
        "seconds": seconds,
    }


def _write_epoch(out_dir: Path, history: list, arch: dict, metrics: dict, probs: torch.Tensor, ops, op_names) -> None:
    atomic_write_json(out_dir / "theta.json", history)
    atomic_write_json(out_dir / "arch.json", arch)
    # the latest epoch for live views (sweep.web): metrics and P(op) per layer
    atomic_write_json(
        out_dir / "progress.json",
        {"metrics": metrics, "op_names": list(op_names), "probabilities": probs.tolist(), "argmax_ops": ops},
    )


def _log_epoch(writer: SummaryWriter, metrics: dict, probs: torch.Tensor, op_names, step: int) -> None:
    for key in (
        "train_acc",
        "val_acc",
        "train_ce",
        "val_ce",
        "loss",
        "latency_ms",
        "energy_mj",
        "arch_latency_ms",
        "arch_energy_mj",
        "temperature",
        "lr",
    ):
        value = metrics.get(key)
        if value is not None:
            writer.add_scalar(f"search/{key}", value, step)
    for layer, row in enumerate(probs.tolist()):
        for op, p in zip(op_names, row):
            writer.add_scalar(f"theta/layer{layer:02d}/{op}", p, step)
    writer.flush()


def _yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False)


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
        state = load_checkpoint(Path(tmp) / "checkpoint.pt", "search checkpoint", CHECKPOINT_KEYS)
        # metrics: the warm-up's last epoch (its training CE scales a sweep's relative knobs)
        atomic_save(
            {"key": warmup_key(cfg), "model": state["model"], "w_opt": state["w_opt"], "metrics": state["metrics"]},
            path,
        )
    return path


@cli_main
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m supernet.search", description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="experiment YAML (configs/smoke.yaml, ...)")
    parser.add_argument("--out", required=True, help="output folder (arch.json, theta.json, checkpoint.pt, events)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    parser.add_argument("--warmup", default=None, help="shared warm-up file (used if present, else written)")
    parser.add_argument("overrides", nargs="*", help="section.key=value, e.g. search.epochs=3")
    args = parser.parse_args(argv)
    cfg = load_config(args.config, args.overrides)

    def show(m):
        tail = f" energy={m['energy_mj']:.3f}mJ" if m["energy_mj"] is not None else ""
        print(
            f"epoch {m['epoch']}/{m['epochs']} T={m['temperature']:.3f} train_acc={m['train_acc']:.3f} "
            f"val_acc={m['val_acc']:.3f} lat={m['latency_ms']:.3f}ms arch_lat={m['arch_latency_ms']:.3f}ms{tail} "
            f"({m['seconds']:.1f}s)",
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
