"""Work done once per experiment, before the trials: the shared weights-only warm-up
and the exported baselines. Both are stored in the experiment directory and reused
when the sweep is resumed."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from hwnas.config import ExperimentConfig
from sweep.experiment import write_json

__all__ = ["ensure_baselines", "ensure_warmup"]


def ensure_warmup(cfg: ExperimentConfig, experiment: Path, lut_path: str, previous: dict | None) -> dict | None:
    """The supernet's weights-only warm-up does not depend on the knobs, so a sweep
    computes it once (in the driver, before any trial runs, with the trials' thread
    count: on a busy 2-core machine 2 threads ran this 3x slower than 1) and every
    trial starts its search from it. Returns its ``sweep.json`` entry (None: no warm-up,
    e.g. for ``sweep.strategy: random``, whose trials do not search)."""
    if cfg.sweep.strategy == "random" or not cfg.sweep.share_warmup or cfg.search.warmup_epochs <= 0:
        return None
    path = experiment / "warmup.pt"
    if path.is_file() and previous:
        return previous
    from hwnas.io import load_checkpoint
    from supernet.search import run_warmup

    warm_cfg = dataclasses.replace(cfg, lut=dataclasses.replace(cfg.lut, path=lut_path))
    started = time.perf_counter()
    run_warmup(warm_cfg, path)
    metrics = load_checkpoint(path, "warm-up file").get("metrics") or {}
    return {"path": str(path), "seconds": time.perf_counter() - started, "threads": cfg.search.threads,
            "epochs": cfg.search.warmup_epochs, "shared": True, "train_ce": metrics.get("train_ce")}


def ensure_baselines(cfg: ExperimentConfig, experiment: Path, previous: str | None,
                     reference: dict | None = None) -> str:
    """``baselines.json``: MobileNetV2 and ResNet-18 exported; measured now on a
    device of its own, or marked pending for the quiet measurement phase when the
    device is this host (``sweep.measurements``)."""
    path = experiment / "baselines.json"
    if path.is_file() and previous:
        return previous
    from sweep.baselines import measure_baselines
    from sweep.device import measure_on_device
    from sweep.measurements import PENDING

    space = cfg.search_space()
    if cfg.measure.device == "local":
        measure = lambda model: dict(PENDING)  # noqa: E731
    else:
        measure = lambda model: measure_on_device(model, cfg.measure, cfg.sweep.measure_timeout_s,  # noqa: E731
                                                  reference=reference)
    rows = measure_baselines(experiment / "baselines", space.input_shape, space.num_classes, cfg.measure, measure)
    write_json(path, rows)
    return path.name
