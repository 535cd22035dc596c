"""The experiment record ``<storage>/<name>/sweep.json`` and what it pins down.

``sweep.json`` holds the resolved config (so ``--resume`` continues exactly the same
sweep and refuses a different one), the trial budget (``--resume --trials N`` raises
it; ``sweep.searcher.TrialLimitSearch`` reads it), the objectives, how knobs are
parametrized, the LUT the trials use and the shared warm-up. Files are written
atomically: a reader never sees half of one.

This module reads and writes the experiment folder's records (names from
``hwnas.layout``) for every part of the sweep: it imports none of them (startup, tuner,
trial, measurements import it; ``SweepLut`` is named for type checking only), so the
imports go one way.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from hwnas.config import ExperimentConfig, config_from_dict
from hwnas.diff import differences
from hwnas.errors import UserError
from hwnas.io import atomic_write_json, read_json
from hwnas.keys import upgrade
from hwnas.layout import BASELINES, CHILD, LOCK, MEASUREMENTS, METRICS, RECORD, STUDY
from hwnas.lock import Lock, acquire, check_free
from hwnas.measured import read_baselines_file
from hwnas.stages import stage_key

__all__ = [
    "NAME",
    "RESERVED_NAMES",
    "absolute_paths",
    "check_name",
    "check_unlocked",
    "config_diff",
    "continue_command",
    "lock_experiment",
    "read_baselines",
    "read_metrics",
    "read_record",
    "set_aside",
    "study_storage",
    "trial_metrics",
    "write_json",
]

# An experiment's or a web run's name: one plain folder name (no '/', '..', absolute path,
# empty or hidden name), safe in a shell command and a URL; the web app keeps its single
# runs and uploaded LUTs in <storage>/runs and <storage>/luts, so no experiment takes those.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
RESERVED_NAMES = ("runs", "luts")


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


# One writer per experiment (hwnas.lock, the file hwnas.layout.LOCK): sweep.run (new or --resume),
# the measurement phase and the web runner of a sweep hold it; a second one is refused in one
# line naming the holder.
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


def study_storage(experiment: str | Path, study_name: str | None = None) -> dict:
    """The Optuna storage URL and study name of the sweep in ``experiment`` (sweep.json's
    ``optuna``): the study is named after the folder it started in (``study_name``: the
    recorded name of a renamed one)."""
    path = Path(experiment).resolve()
    return {"storage": f"sqlite:///{path / STUDY}", "study_name": study_name or path.name}


def trial_metrics(experiment: Path) -> list[Path]:
    """Every trial's ``child/metrics.json`` that is written (a trial without one has not
    finished its childnet: absent, not damaged)."""
    return sorted(Path(experiment).glob(f"*/{CHILD}/{METRICS}"))


def read_metrics(path: Path) -> dict:
    """A trial's ``child/metrics.json`` as written, checked for what the sweep reads of it (an
    object; ``measured`` an object; a pending one names its ``ops``); damage is one
    ``UserError`` line that says where a copy is (the trial's last checkpoint holds it; a
    measurement of the quiet phase is joined from ``measurements.json`` where it is read)."""
    path = Path(path)
    copies = sorted(path.parent.parent.glob(f"checkpoint_*/{CHILD}/{METRICS}"))
    hint = (
        f"copy {copies[-1]} over it (its measurement, if the quiet phase made it, stays in {MEASUREMENTS})"
        if copies
        else "restore it from a backup"
    )
    metrics = upgrade(read_json(path, "childnet result", dict, hint), "metrics", str(path))
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
    """``baselines.json``'s rows ([] when not written: none configured, or not trained yet), as
    written (``measured`` pending until the quiet phase: ``hwnas.measured.join_baseline``)."""
    path = Path(experiment) / BASELINES
    if not path.is_file():
        return []
    # a resumed sweep without it reads the trained rows back from baselines/<name>.json and times them again
    hint = "delete it and resume the sweep to rebuild it from baselines/<name>.json"
    return read_baselines_file(path, "baselines record", hint)


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
    # renamed keys under their new names; its metrics list stays: the study's names (hwnas.keys)
    return upgrade(record, "sweep", str(path)), cfg


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
    """``key: old -> new`` for every setting that differs, except the number of trials
    (what a sweep depends on: ``hwnas.stages``)."""
    return differences(stage_key("sweep", old), stage_key("sweep", new))
