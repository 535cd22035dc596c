"""The experiment record ``<storage>/<name>/sweep.json`` and what it pins down.

``sweep.json`` holds the resolved config (so ``--resume`` continues exactly the same
sweep and refuses a different one), the trial budget (``--resume --trials N`` raises
it; ``sweep.searcher.TrialLimitSearch`` reads it), the objectives, how knobs are
parametrized, the LUT the trials use and the shared warm-up. Files are written
atomically: a reader never sees half of one.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hwnas.config import ExperimentConfig, config_from_dict, config_to_dict
from hwnas.diff import differences
from hwnas.errors import UserError
from hwnas.io import atomic_write_json, read_json
from hwnas.lock import Lock, acquire, check_free

if TYPE_CHECKING:
    from sweep.startup import SweepLut

__all__ = [
    "LOCK",
    "NAME",
    "RECORD",
    "RESERVED_NAMES",
    "absolute_paths",
    "check_name",
    "check_unlocked",
    "config_diff",
    "continue_command",
    "lock_experiment",
    "open_record",
    "read_baselines",
    "read_metrics",
    "read_record",
    "set_aside",
    "trial_metrics",
    "write_json",
]

RECORD = "sweep.json"
BASELINES = "baselines.json"
# One writer per experiment (hwnas.lock): sweep.run (new or --resume), the measurement phase
# and the web runner of a sweep hold it; a second one is refused in one line naming the holder.
LOCK = ".lock"
# An experiment's or a web run's name: one plain folder name (no '/', '..', absolute path,
# empty or hidden name), safe in a shell command and a URL; the web app keeps its single
# runs and uploaded LUTs in <storage>/runs and <storage>/luts, so no experiment takes those.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
RESERVED_NAMES = ("runs", "luts")
# Keys that may change when a sweep is resumed: the number of trials only (it may grow).
_RESUMABLE = {"sweep.trials"}


def check_name(name: str, what: str = "--name") -> str:
    """``name`` if it is a plain folder name (``NAME``, not reserved), else the one-line error
    naming ``what`` (the flag or form field it came from)."""
    if not NAME.fullmatch(name) or name in RESERVED_NAMES:
        raise UserError(
            f"{what} {name[:80]!r}: expected letters, digits, '.', '_' or '-', starting with a letter or digit "
            f"(at most 64, not {' or '.join(map(repr, RESERVED_NAMES))})"
        )
    return name


def continue_command(storage, name: str) -> str:
    """The line that tells how to go on with an experiment, shell-quoted (paths with spaces)."""
    return f"continue: python -m sweep.run --resume --storage {shlex.quote(str(storage))} --name {shlex.quote(name)}"


def check_unlocked(experiment: Path) -> None:
    """One line naming the holder if a process holds the experiment's lock; creates nothing."""
    check_free(Path(experiment) / LOCK, f"experiment {experiment}")


def lock_experiment(experiment: Path, command: str) -> Lock:
    """The experiment's lock for ``command`` (creating the folder); one line naming the holder
    if another process has it. A child started under the holder's ``Lock.child`` shares it."""
    return acquire(Path(experiment) / LOCK, f"experiment {experiment}", command)


def absolute_paths(config: dict, base: str | Path) -> dict:
    """A copy of a config dict whose relative file paths (``data.root``, a LUT file in
    ``lut.path``, a meter recording in ``measure.meter_replay``) are made absolute
    against ``base``: trials run in Ray's per-trial working directories, where a
    relative path would point elsewhere (e.g. download the dataset into every trial)."""
    out = json.loads(json.dumps(config))
    root = out["data"].get("root")
    if root and not Path(root).is_absolute():
        out["data"]["root"] = str((Path(base) / root).resolve())
    lut = out["lut"]["path"]
    if lut != "auto" and not lut.startswith("builtin:") and not Path(lut).is_absolute():
        out["lut"]["path"] = str((Path(base) / lut).resolve())
    replay = out.get("measure", {}).get("meter_replay")
    if replay and not Path(replay).is_absolute():
        out["measure"]["meter_replay"] = str((Path(base) / replay).resolve())
    return out


def write_json(path: str | Path, data) -> Path:
    """Write JSON atomically (``hwnas.io``: temporary file in the same directory, fsync, rename)."""
    return atomic_write_json(path, data)


def set_aside(path: Path) -> Path:
    """Move a damaged file that a repair replaces to ``<name>.damaged`` (``.damaged-2``, ...
    when an earlier one is there): faults lose nothing. Returns where it went."""
    path = Path(path)
    target, n = path.with_name(f"{path.name}.damaged"), 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{n}")
    path.replace(target)
    return target


def trial_metrics(experiment: Path) -> list[Path]:
    """Every trial's ``child/metrics.json`` that is written (a trial without one has not
    finished its childnet: absent, not damaged)."""
    return sorted(Path(experiment).glob("*/child/metrics.json"))


def read_metrics(path: Path) -> dict:
    """A trial's ``child/metrics.json``, checked for what the sweep reads of it (an object;
    ``measured`` an object; a pending one names its ``ops``); damage is one ``UserError``
    line that says where a copy is (the trial's last checkpoint holds it as before its
    measurement, which ``sweep.measurements`` then fills in again)."""
    path = Path(path)
    copies = sorted(path.parent.parent.glob("checkpoint_*/child/metrics.json"))
    hint = (
        f"copy {copies[-1]} over it (as before its measurement) and run python -m sweep.measurements "
        f"{shlex.quote(str(path.parent.parent.parent))} to fill the measurement in again"
        if copies
        else "restore it from a backup"
    )
    metrics = read_json(path, "childnet result", dict, hint)
    measured = metrics.get("measured")
    problem = None
    if measured is not None and not isinstance(measured, dict):
        problem = "field measured: expected an object"
    elif (measured or {}).get("pending") and not (
        isinstance(metrics.get("ops"), list) and all(isinstance(op, str) for op in metrics["ops"])
    ):
        problem = "field ops: expected a list of op names"
    if problem:
        raise UserError(f"childnet result {path}: {problem}; {hint}")
    return metrics


def read_baselines(experiment: Path) -> list[dict]:
    """``baselines.json``'s rows ([] when not written: none configured, or not trained yet)."""
    path = Path(experiment) / BASELINES
    if not path.is_file():
        return []
    # a resumed sweep without it reads the trained rows back from baselines/<name>.json and times them again
    hint = "delete it and resume the sweep to rebuild it from baselines/<name>.json"
    rows = read_json(path, "baselines record", list, hint)
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("name"), str):
            raise UserError(f"baselines record {path}: row {i}: expected an object with a name; {hint}")
    return rows


def read_record(experiment: str | Path) -> tuple[dict, ExperimentConfig]:
    """``sweep.json`` of an experiment and its config; one-line error if absent or bad."""
    path = Path(experiment) / RECORD
    if not path.is_file():
        raise UserError(f"--resume: no sweep experiment at {experiment} ({RECORD} not found)")
    # the sweep's config and trial budget live only here: nothing else can rebuild it
    hint = "restore it from a backup (pareto.report --skip-unreadable still reports the trials)"
    record = read_json(path, "sweep record", hint=hint)
    if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
        raise UserError(f"{path}: not a sweep record (expected an object with a config mapping); {hint}")
    # the fields a resume relies on, each of its type (a tampered file fails here, in one line)
    for key, types, allowed in _RECORD_FIELDS:
        value = record.get(key)
        if (key in record or key == "trials") and (not isinstance(value, types) or isinstance(value, bool)):
            raise UserError(f"{path}: field {key}: expected {allowed}, got {_short(value)}")
    if "lut" in record and not isinstance(record["lut"].get("path"), str):
        raise UserError(f"{path}: field lut.path: expected a string, got {_short(record['lut'].get('path'))}")
    cfg = config_from_dict(record["config"], source=f"{path}: config")
    return record, cfg


_RECORD_FIELDS = (
    ("trials", int, "an integer"),
    ("lut", dict, "an object"),
    ("runs", list, "a list"),
    ("warmup", (dict, type(None)), "an object or null"),
    ("baselines", (str, type(None)), "a string or null"),
    ("knobs", (dict, type(None)), "an object or null"),
)


def _short(value) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def config_diff(old: ExperimentConfig, new: ExperimentConfig) -> list[str]:
    """``key: old -> new`` for every setting that differs, except the number of trials."""
    return differences(config_to_dict(old), config_to_dict(new), ignore=_RESUMABLE)


def open_record(
    cfg: ExperimentConfig, experiment: Path, record: dict | None, lut: SweepLut, objectives: tuple, *, resume, address
) -> dict:
    """sweep.json with this run (``--resume``, ``--address``) appended; a new experiment is
    created, with its LUT stored in it when profiled for it. ``objectives``: ``(metrics, directions)``."""
    experiment.mkdir(parents=True, exist_ok=True)
    if record is None:
        if lut.entry["spec"] == "auto":
            from lut import save_lut

            save_lut(lut.lut, lut.path)
        record = _new_record(cfg, experiment, lut, *objectives)
    record["trials"] = cfg.sweep.trials
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    record.setdefault("runs", []).append(
        {"started": started, "resume": resume, "trials": cfg.sweep.trials, "address": address}
    )
    write_json(experiment / RECORD, record)
    return record


def _new_record(cfg: ExperimentConfig, experiment: Path, lut: SweepLut, metrics, directions) -> dict:
    """sweep.json of a new experiment (docs/formats.md); ``knobs`` once the warm-up is done."""
    from sweep.searcher import study_storage

    table = lut.lut
    return {
        "config": config_to_dict(cfg),
        "trials": cfg.sweep.trials,
        "strategy": cfg.sweep.strategy,
        "mode": cfg.sweep.dominant,  # the record's key predates sweep.dominant; readers use it
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
