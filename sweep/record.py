"""A sweep's record ``sweep.json`` opened for a run: a new experiment's record, made from
what start-up settled (``sweep.startup.SweepLut``), and every run's entry appended.

Why here and not in ``sweep.experiment`` (which reads the record and owns the folder's
files): a new record holds the LUT start-up prepared, so it sits above ``sweep.startup``,
while everything start-up, the trials and the measurement phase use sits below it.
"""

from __future__ import annotations

import time
from pathlib import Path

from hwnas.config import ExperimentConfig, config_to_dict
from hwnas.layout import RECORD
from lut import save_lut
from sweep.experiment import study_storage, write_json
from sweep.startup import SweepLut

__all__ = ["open_record"]


def open_record(
    cfg: ExperimentConfig, experiment: Path, record: dict | None, lut: SweepLut, objectives: tuple, *, resume, address
) -> dict:
    """sweep.json with this run (``--resume``, ``--address``) appended; a new experiment is
    created, with its LUT stored in it when profiled for it. ``objectives``: ``(metrics, directions)``."""
    experiment.mkdir(parents=True, exist_ok=True)
    if record is None:
        if lut.entry["spec"] == "auto":
            save_lut(lut.lut, lut.path)
        record = _new_record(cfg, experiment, lut, *objectives)
    else:  # a moved or renamed experiment: its record names the files where they are now
        record["lut"]["path"] = lut.path
        if isinstance(record.get("optuna"), dict):
            record["optuna"] = study_storage(experiment, record["optuna"].get("study_name"))
    record["trials"] = cfg.sweep.trials
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    record.setdefault("runs", []).append(
        {"started": started, "resume": resume, "trials": cfg.sweep.trials, "address": address}
    )
    write_json(experiment / RECORD, record)
    return record


def _new_record(cfg: ExperimentConfig, experiment: Path, lut: SweepLut, metrics, directions) -> dict:
    """sweep.json of a new experiment (docs/formats.md); ``knobs`` once the warm-up is done."""
    table = lut.lut
    return {
        "config": config_to_dict(cfg),
        "trials": cfg.sweep.trials,
        "strategy": cfg.sweep.strategy,
        "dominant": cfg.sweep.dominant,
        "objective": cfg.sweep.objective,
        "metrics": metrics,
        "directions": directions,
        # luts: the name trials' arch.json/metrics.json give the search LUT; lut: its details
        "luts": [lut.path],
        "lut": dict(
            lut.entry,
            name=table.name,
            device=table.device.get("name"),
            energy_source=table.energy_source,
            has_energy=table.has_energy,
            energy_kind=table.energy_kind,
            deploy=table.data.get("deploy"),  # the target the LUT describes (the report names it)
        ),
        "device": cfg.measure.device,
        "knobs": None,
        "warmup": None,
        "baselines": None,
        "runs": [],
        # where Optuna keeps the study (optuna-dashboard, optuna.load_study); random: no study
        "optuna": study_storage(experiment) if cfg.sweep.strategy == "dnas" else None,
    }
