"""Work done once per experiment: the shared weights-only warm-up (before the trials)
and the trained baselines (alongside them). Both are stored in the experiment directory
and reused when the sweep is resumed."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import ray

from hwnas.config import ExperimentConfig, config_from_dict, config_to_dict
from hwnas.device_name import is_local
from hwnas.io import load_checkpoint
from hwnas.layout import BASELINES, WARMUP
from supernet.search import run_warmup
from sweep.baselines import baseline_rows, train_baselines
from sweep.device import measure_on_device
from sweep.experiment import absolute_paths, read_baselines, write_json
from sweep.measurements import PENDING

__all__ = ["collect_baselines", "ensure_warmup", "finish_baselines", "start_baselines", "start_preparation"]


def ensure_warmup(cfg: ExperimentConfig, experiment: Path, previous: dict | None) -> dict | None:
    """The supernet's weights-only warm-up does not depend on the knobs, so a sweep
    computes it once (in the driver, before any trial runs, with the trials' thread
    count: on a busy 2-core machine 2 threads ran this 3x slower than 1) and every
    trial starts its search from it. Returns its ``sweep.json`` entry (None: no warm-up,
    e.g. for ``sweep.strategy: random``, whose trials do not search)."""
    if cfg.sweep.strategy == "random" or not cfg.sweep.share_warmup or cfg.search.warmup_epochs <= 0:
        return None
    path = experiment / WARMUP
    if path.is_file() and previous:
        return dict(previous, path=str(path))  # where it is now (a moved experiment)
    started = time.perf_counter()
    run_warmup(cfg, path)  # cfg.lut.path: the experiment's LUT (sweep.run)
    metrics = load_checkpoint(path, "warm-up file").get("metrics") or {}
    return {
        "path": str(path),
        "seconds": time.perf_counter() - started,
        "threads": cfg.search.threads,
        "epochs": cfg.search.warmup_epochs,
        "shared": True,
        "train_ce": metrics.get("train_ce"),
    }


def start_baselines(cfg: ExperimentConfig, experiment: Path, previous: str | None):
    """Start training the configured baselines (config ``baselines``) in a Ray task that
    holds a trial's resources, so it shares the machine with the trials instead of adding
    to the sweep's wall time; None when there is nothing to train (none configured, or
    ``baselines.json`` already written: a resumed sweep reuses them)."""
    if not cfg.baselines.widths() or (previous and (experiment / previous).is_file()):
        return None
    portable = config_from_dict(absolute_paths(config_to_dict(cfg), Path.cwd()), source="sweep config")
    task = ray.remote(train_baselines).options(
        num_cpus=cfg.sweep.cpus_per_trial, num_gpus=cfg.sweep.gpus_per_trial, max_retries=0
    )
    return task.remote(portable, str(experiment / "baselines"))


def finish_baselines(
    cfg: ExperimentConfig, experiment: Path, started, previous: str | None, reference: dict | None = None
) -> str | None:
    """``baselines.json`` once the baselines' task (``start_baselines``) is done: measured
    now on a device of its own, or marked pending for the quiet measurement phase when
    the device is this host (``sweep.measurements``). Returns its ``sweep.json`` entry."""
    if started is None:
        return previous if previous and (experiment / previous).is_file() else None
    trained = ray.get(started)

    def measure_with(row: dict) -> dict:
        if is_local(cfg.measure.device):
            return dict(PENDING)  # timed in the quiet measurement phase
        return measure_on_device(
            experiment / row["model"],  # the deployed file, in the sweep's target
            cfg.measure,
            cfg.sweep.measure_timeout_s,
            reference=reference,
            target=cfg.deploy.target(),
        )

    write_json(experiment / BASELINES, baseline_rows(trained, measure_with))
    return BASELINES


def start_preparation(cfg: ExperimentConfig, experiment: Path, record: dict):
    """Start the baselines' training (a Ray task holding a trial's resources: it runs
    alongside the warm-up and then the trials) and compute the shared warm-up in the
    driver. Returns the baselines' task (``collect_baselines``)."""
    baselines = start_baselines(cfg, experiment, record.get("baselines"))
    record["warmup"] = ensure_warmup(cfg, experiment, record.get("warmup"))
    return baselines


def collect_baselines(cfg: ExperimentConfig, experiment: Path, record: dict, started, reference) -> None:
    """Wait for the baselines' training, write ``baselines.json``; a failed training is one
    warning line (the childnets' results stand without it)."""
    try:
        record["baselines"] = finish_baselines(cfg, experiment, started, record.get("baselines"), reference)
    except ray.exceptions.RayTaskError as err:
        first = (str(err.cause if getattr(err, "cause", None) else err).strip().splitlines() or ["failed"])[-1]
        print(f"warning: baselines not trained ({first}); resume the sweep to try again", file=sys.stderr)
        return
    if started is not None and record["baselines"]:
        rows = read_baselines(experiment)
        print(
            "baselines trained: "
            + "; ".join(
                f"{r['name']} (width {r['width']:g}) test_acc={r['test_acc']:.4f} in {r['train_seconds']:.1f} s"
                for r in rows
            )
        )
