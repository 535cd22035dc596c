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
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
import yaml
from tensorboardX import SummaryWriter

from hwnas.config import ExperimentConfig, config_to_dict, load_config, rename_old_keys
from hwnas.device import train_device
from hwnas.diff import differences
from hwnas.data import Splits, TensorLoader, make_splits
from hwnas.errors import UserError, cli_main
from hwnas.io import atomic_save, atomic_write_json, atomic_write_text, load_checkpoint
from hwnas.space import SearchSpace
from lut import ensure_lut
from lut.cost import CostTensors, TableCost
from supernet.loss import SearchLoss, expected_cost
from supernet.model import Supernet
from supernet.schedule import temperature_at, weight_lr_at

__all__ = ["SearchSetup", "main", "run_search", "run_warmup", "warmup_key"]

CHECKPOINT_KEYS = ("epoch", "model", "w_opt", "theta_opt", "config", "theta_history", "metrics")
WARMUP_KEYS = ("key", "model", "w_opt")


class SearchSetup:
    """Everything a search needs, resolved from the config: the LUT's space, the
    (possibly narrower) space the supernet trains in, the data splits, the costs."""

    def __init__(self, cfg: ExperimentConfig, cost: CostTensors | None = None):
        s = cfg.search  # its rules were checked when the config was loaded (hwnas.config)
        self.cfg = cfg
        self.space: SearchSpace = cfg.search_space()
        self.proxy_space: SearchSpace = self.space if s.proxy_width is None else cfg.search_space(s.proxy_width)
        d = cfg.data
        self.splits: Splits = make_splits(d.dataset, self.space.input_shape, d.root, d.download, d.train_size,
                                          d.test_size, d.arch_fraction, d.seed)
        self.lut_name = cfg.lut.path
        if cost is None:
            lut = ensure_lut(cfg.lut.path, self.space, energy_kind=cfg.lut.energy_kind)
            lut.check_space(self.space)
            cost = lut.cost_tensors()
        self.cost = _check_cost(cost, self.space, self.lut_name)
        self.loss = SearchLoss.from_config(cfg.loss, self.cost, use_energy=cfg.lut.energy, lut_name=self.lut_name)

    def loaders(self) -> tuple[TensorLoader, TensorLoader]:
        d, s = self.cfg.data, self.cfg.search
        weights = TensorLoader(self.splits.weights, d.batch_size, seed=s.seed, augment=d.augment,
                               max_batches=s.steps_per_epoch)
        arch = TensorLoader(self.splits.arch, d.batch_size, seed=s.seed + 1, augment=d.augment,
                            max_batches=s.steps_per_epoch)
        return weights, arch


def _check_cost(cost: CostTensors, space: SearchSpace, name: str) -> CostTensors:
    want = (space.num_layers, len(space.ops))
    if tuple(cost.op_names) != tuple(space.ops):
        raise UserError(f"LUT {name}: ops {list(cost.op_names)} differ from space {space.name}'s {list(space.ops)}")
    if tuple(cost.latency_ms.shape) != want:
        raise UserError(f"LUT {name}: latency table is {tuple(cost.latency_ms.shape)}, space {space.name} needs {want} "
                        f"(layers, ops); the LUT is for another space")
    if cost.energy_mj is not None and tuple(cost.energy_mj.shape) != want:
        raise UserError(f"LUT {name}: energy table is {tuple(cost.energy_mj.shape)}, expected {want}")
    return cost


def warmup_key(cfg: ExperimentConfig) -> dict:
    """The config parts a weights-only warm-up depends on (not the loss, theta or LUT)."""
    s = cfg.search
    return {"space": config_to_dict(cfg.space), "data": config_to_dict(cfg.data),
            "search": {k: getattr(s, k) for k in ("warmup_epochs", "execution", "w_lr", "w_momentum", "w_weight_decay",
                                                  "temperature", "proxy_width", "steps_per_epoch", "seed")}}


def _resume_key(config: dict) -> dict:
    """The config sections a search's result depends on (not threads, childnet, measure, sweep)."""
    key = {k: config.get(k) for k in ("space", "data", "lut", "loss", "search")}
    key["search"] = {k: v for k, v in (key["search"] or {}).items() if k != "threads"}
    return key


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch * 7_919 + 17) % (2**63 - 1)


def _finite(value: torch.Tensor, what: str, epoch: int) -> None:
    if not torch.isfinite(value):
        raise UserError(f"search diverged: {what} is {value.item()} in epoch {epoch + 1}; "
                        f"lower search.w_lr/theta_lr or the loss knobs")


def _arch_record(setup: SearchSetup, ops: list[str]) -> dict:
    """arch.json (docs/formats.md): the argmax architecture and its LUT costs."""
    table = TableCost(setup.cost)
    s = setup.cfg.search
    return {"space": setup.space.record(), "ops": ops, "latency_ms": table.latency_ms(ops),
            "energy_mj": table.energy_mj(ops), "energy_source": setup.cost.energy_source if setup.cost.has_energy else "none",
            "lut": setup.lut_name, "proxy_width": s.proxy_width, "search_width": setup.proxy_space.width,
            # why this architecture: the most probable op per layer under the final theta
            "picked": "argmax", "arch_seed": s.arch_seed if s.arch_seed is not None else s.seed}


def run_search(cfg: ExperimentConfig, out_dir, *, resume: bool = False, warmup_path=None,
               on_epoch: Callable[[dict], None] | None = None, cost: CostTensors | None = None) -> dict:
    """Search an architecture; see the module docstring. Returns the last epoch's
    metrics plus ``ops`` and ``arch_path``."""
    out_dir = Path(out_dir)
    s = cfg.search
    if s.threads:
        torch.set_num_threads(s.threads)
    setup = SearchSetup(cfg, cost)  # bad input fails here, before anything is written
    out_dir.mkdir(parents=True, exist_ok=True)
    space, cost, loss_fn = setup.space, setup.cost, setup.loss
    device = train_device()
    lat_table = cost.latency_ms.float().to(device)
    ener_table = cost.energy_mj.float().to(device) if cost.has_energy else None
    weight_loader, arch_loader = setup.loaders()
    config = config_to_dict(cfg)

    torch.manual_seed(s.seed)
    net = Supernet(setup.proxy_space, s.execution).to(device)
    w_opt = torch.optim.SGD(net.weight_parameters(), lr=s.w_lr, momentum=s.w_momentum, weight_decay=s.w_weight_decay)
    theta_opt = torch.optim.Adam([net.theta], lr=s.theta_lr, weight_decay=s.theta_weight_decay)

    start, history, metrics = 0, [], {}
    ckpt_path = out_dir / "checkpoint.pt"
    warmup_path = Path(warmup_path) if warmup_path is not None else None
    if resume and ckpt_path.exists():
        state = load_checkpoint(ckpt_path, "search checkpoint", CHECKPOINT_KEYS)
        diff = differences(_resume_key(rename_old_keys(state["config"])), _resume_key(config))
        if diff:
            raise UserError(f"{ckpt_path}: cannot resume, the config differs: {'; '.join(diff)}")
        net.load_state_dict(state["model"])
        w_opt.load_state_dict(state["w_opt"])
        theta_opt.load_state_dict(state["theta_opt"])
        start, history, metrics = state["epoch"], state["theta_history"], state["metrics"]
    elif warmup_path is not None and warmup_path.exists() and s.warmup_epochs > 0:
        state = load_checkpoint(warmup_path, "warm-up file", WARMUP_KEYS)
        diff = differences(rename_old_keys(state["key"]), warmup_key(cfg))  # a key recorded before a rename
        if diff:
            raise UserError(f"{warmup_path}: warm-up made with another config: {'; '.join(diff)}")
        net.load_state_dict(state["model"])
        w_opt.load_state_dict(state["w_opt"])
        start = s.warmup_epochs
        history = [net.theta.detach().tolist() for _ in range(start)]
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

        # 1) weights on the 80% split, theta fixed (masks sampled, detached)
        ce_sum = correct = seen = 0
        for x, y in weight_loader:
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
        train_ce, train_acc = ce_sum / max(seen, 1), correct / max(seen, 1)

        # 2) theta on the 20% split (after warm-up); during warm-up only its accuracy
        val_ce_sum = val_correct = val_seen = 0
        loss_sum = lat_sum = ener_sum = 0.0
        for x, y in arch_loader:
            x, y = x.to(device), y.to(device)
            if searching:
                masks = net.sample_masks(temperature)
                logits = net(x, masks)
                ce = F.cross_entropy(logits, y)
                lat = expected_cost(masks, lat_table, cost.latency_fixed_ms)
                ener = expected_cost(masks, ener_table, cost.energy_fixed_mj) if loss_fn.uses_energy else None
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
            val_ce_sum += ce.item() * len(y)
            val_correct += int((logits.argmax(1) == y).sum())
            val_seen += len(y)
        history.append(net.theta.detach().tolist())

        # 3) what the epoch found: expected costs under P(theta), the argmax architecture
        probs = net.probabilities()
        ops = net.argmax_ops()
        latency_ms = float(expected_cost(probs, lat_table, cost.latency_fixed_ms))
        energy_mj = float(expected_cost(probs, ener_table, cost.energy_fixed_mj)) if cost.has_energy else None
        arch = _arch_record(setup, ops)
        metrics = {"epoch": epoch + 1, "epochs": s.epochs, "phase": "search", "searching": searching,
                   "temperature": temperature, "lr": w_opt.param_groups[0]["lr"],
                   "train_ce": train_ce, "train_acc": train_acc,
                   "val_ce": val_ce_sum / max(val_seen, 1), "val_acc": val_correct / max(val_seen, 1),
                   "loss": loss_sum / val_seen if searching and val_seen else None,
                   "latency_ms": latency_ms, "energy_mj": energy_mj,
                   "sampled_latency_ms": lat_sum / val_seen if searching and val_seen else None,
                   "sampled_energy_mj": ener_sum / val_seen if searching and val_seen and loss_fn.uses_energy else None,
                   "arch_latency_ms": arch["latency_ms"], "arch_energy_mj": arch["energy_mj"],
                   "seconds": time.perf_counter() - t0}

        # 4) files: checkpoint first (the resume point), then what reads from it
        atomic_save({"epoch": epoch + 1, "model": net.state_dict(), "w_opt": w_opt.state_dict(),
                     "theta_opt": theta_opt.state_dict(), "config": config, "theta_history": history,
                     "metrics": metrics}, ckpt_path)
        if warmup_path is not None and epoch + 1 == s.warmup_epochs and not warmup_path.exists():
            atomic_save({"key": warmup_key(cfg), "model": net.state_dict(), "w_opt": w_opt.state_dict()}, warmup_path)
        atomic_write_json(out_dir / "theta.json", history)
        atomic_write_json(out_dir / "arch.json", arch)
        # the latest epoch for live views (sweep.web): metrics and P(op) per layer
        atomic_write_json(out_dir / "progress.json", {"metrics": metrics, "op_names": list(space.ops),
                                                      "probabilities": probs.tolist(), "argmax_ops": ops})
        _log_epoch(writer, metrics, probs, space.ops, epoch + 1)
        if on_epoch is not None:
            on_epoch(dict(metrics))
    writer.close()

    ops = net.argmax_ops()
    if start == s.epochs:  # resumed a finished run: rewrite what reads from the checkpoint
        atomic_write_json(out_dir / "theta.json", history)
        atomic_write_json(out_dir / "arch.json", _arch_record(setup, ops))
    return {**metrics, "ops": ops, "arch_path": str(out_dir / "arch.json"),
            "search_seconds": time.perf_counter() - run_start}


def _log_epoch(writer: SummaryWriter, metrics: dict, probs: torch.Tensor, op_names, step: int) -> None:
    for key in ("train_acc", "val_acc", "train_ce", "val_ce", "loss", "latency_ms", "energy_mj", "arch_latency_ms",
                "arch_energy_mj", "temperature", "lr"):
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
        state = load_checkpoint(path, "warm-up file", WARMUP_KEYS)
        diff = differences(rename_old_keys(state["key"]), warmup_key(cfg))  # a key recorded before a rename
        if diff:
            raise UserError(f"{path}: warm-up made with another config: {'; '.join(diff)}")
        return path
    short = dataclasses.replace(cfg, search=dataclasses.replace(cfg.search, epochs=cfg.search.warmup_epochs))
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".warmup-") as tmp:
        run_search(short, tmp, warmup_path=None, cost=cost)
        state = load_checkpoint(Path(tmp) / "checkpoint.pt", "search checkpoint", CHECKPOINT_KEYS)
        # metrics: the warm-up's last epoch (its training CE scales a sweep's relative knobs)
        atomic_save({"key": warmup_key(cfg), "model": state["model"], "w_opt": state["w_opt"],
                     "metrics": state["metrics"]}, path)
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
        print(f"epoch {m['epoch']}/{m['epochs']} T={m['temperature']:.3f} train_acc={m['train_acc']:.3f} "
              f"val_acc={m['val_acc']:.3f} lat={m['latency_ms']:.3f}ms arch_lat={m['arch_latency_ms']:.3f}ms{tail} "
              f"({m['seconds']:.1f}s)", flush=True)

    result = run_search(cfg, args.out, resume=args.resume, warmup_path=args.warmup, on_epoch=show)
    print(json.dumps({"arch": result["arch_path"], "ops": result["ops"], "arch_latency_ms": result.get("arch_latency_ms"),
                      "search_seconds": round(result["search_seconds"], 2)}))


if __name__ == "__main__":
    main()
