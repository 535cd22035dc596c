"""What a search epoch records: its metrics (progress.json, the checkpoint, ``on_epoch``),
the files that read from the checkpoint (theta.json, arch.json, progress.json; see
docs/formats.md) and the TensorBoard curves."""

from __future__ import annotations

from pathlib import Path

import torch
from tensorboardX import SummaryWriter

from hwnas.io import atomic_write_json
from hwnas.layout import ARCH, PROGRESS, THETA

__all__ = ["epoch_metrics", "log_epoch", "write_epoch"]

# the curves under search/ in TensorBoard
_CURVES = (
    "train_acc val_acc train_ce val_ce loss expected_latency_ms expected_energy_mj arch_latency_ms arch_energy_mj "
    "temperature lr".split()
)


def epoch_metrics(head: dict, train: dict, val: dict, expected: tuple, arch: dict, seconds: float) -> dict:
    """One epoch's metrics: ``head`` (epoch, epochs, phase, searching, temperature, lr),
    the two passes' means (``supernet.steps``), the expected ``(latency, energy)`` under
    P(theta) (``expected_*``) and the argmax architecture's LUT costs (``arch_*``)."""
    latency_ms, energy_mj = expected
    return {
        **head,
        **train,
        "val_ce": val["val_ce"],
        "val_acc": val["val_acc"],
        "loss": val["loss"],
        "expected_latency_ms": latency_ms,
        "expected_energy_mj": energy_mj,
        "sampled_latency_ms": val["sampled_latency_ms"],
        "sampled_energy_mj": val["sampled_energy_mj"],
        "arch_latency_ms": arch["lut_latency_ms"],
        "arch_energy_mj": arch["lut_energy_mj"],
        "seconds": seconds,
    }


def write_epoch(out_dir: Path, history: list, arch: dict, metrics: dict, probs: torch.Tensor, ops, op_names) -> None:
    atomic_write_json(out_dir / THETA, history)
    atomic_write_json(out_dir / ARCH, arch)
    # the latest epoch for live views (sweep.web): metrics and P(op) per layer
    atomic_write_json(
        out_dir / PROGRESS,
        {"metrics": metrics, "op_names": list(op_names), "probabilities": probs.tolist(), "argmax_ops": ops},
    )


def log_epoch(writer: SummaryWriter, metrics: dict, probs: torch.Tensor, op_names, step: int) -> None:
    for key in _CURVES:
        value = metrics.get(key)
        if value is not None:
            writer.add_scalar(f"search/{key}", value, step)
    for layer, row in enumerate(probs.tolist()):
        for op, p in zip(op_names, row):
            writer.add_scalar(f"theta/layer{layer:02d}/{op}", p, step)
    writer.flush()
