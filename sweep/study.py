"""Optuna's study of a sweep (``<experiment>/optuna.db``, ``sweep.experiment.study_storage``):
checked before a resume, and rebuilt on request when it is lost or damaged.

``check_study`` reads the SQLite file read-only (``PRAGMA quick_check``, the study by its
name, its number of trials) and refuses a file that is missing, damaged, or holds fewer
trials than Ray Tune started: a resume would otherwise go on with an empty or an older study
and propose knobs as if the finished trials had not run.

``rebuild_study`` (``sweep.run --resume --rebuild-study``) writes the study again from Ray
Tune's record of the trials (the newest ``experiment_state-*.json``: each trial's knobs, its
status and last result, in the order the searcher proposed them), so the study's trial
numbers and ids are the ones Ray's pickled searcher holds:

- a trial Ray finished with every objective value: ``COMPLETE`` with them (and the budget's
  constraint values, as ``SweepOptunaSearch`` and the sampler stored them);
- finished without them (stopped early): ``PRUNED``; failed: ``FAIL``;
- not finished (Ray resumes it): ``RUNNING``, told its result when it ends.

The sampled values are replayed through the sweep's own ``KnobSampler`` (``_Replay`` answers
each ``suggest_float`` with the trial's recorded value), so every parameter gets the
distribution Optuna sampled it from. The old file is kept as ``optuna.db.damaged``.
"""

from __future__ import annotations

import math
import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from hwnas.errors import UserError
from hwnas.io import parse_json, read_json
from hwnas.layout import STUDY
from sweep.experiment import set_aside
from sweep.searcher import CONSTRAINTS_ATTR, constraint_values

__all__ = ["RESUMED", "check_study", "ray_trials", "rebuild_study"]

_REBUILD_HINT = "resume with --rebuild-study to rebuild it from the trials' knobs and results"
RESUMED = ("RUNNING", "PENDING", "PAUSED")  # Ray Tune statuses of a trial it resumes


def _newest_state(experiment: Path) -> Path | None:
    """Ray Tune's newest experiment state (Ray reads the greatest name, a timestamp)."""
    states = sorted(Path(experiment).glob("experiment_state-*.json"))
    return states[-1] if states else None


def ray_trials(experiment: Path) -> list[dict]:
    """Ray Tune's trials, in the order the searcher proposed them: ``{"trial_id", "status",
    "config", "last_result"}`` each, from the newest experiment state ([] when there is none)."""
    path = _newest_state(experiment)
    if path is None:
        return []
    what = "Ray Tune's experiment state"
    data = read_json(path, what, dict)
    entries = data.get("trial_data")
    if not isinstance(entries, list):
        raise UserError(f"{what} {path}: field trial_data: expected a list")
    trials = []
    for i, entry in enumerate(entries):
        if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(e, str) for e in entry)):
            raise UserError(f"{what} {path}: trial_data[{i}]: expected two JSON strings")
        trial, runtime = (parse_json(e, f"{what} {path}: trial_data[{i}]") for e in entry)
        if not (isinstance(trial, dict) and isinstance(runtime, dict) and isinstance(trial.get("config"), dict)):
            raise UserError(f"{what} {path}: trial_data[{i}]: expected a trial with its config")
        trials.append(
            {
                "trial_id": str(trial.get("trial_id")),
                "status": trial.get("status"),
                "config": trial["config"],
                "last_result": runtime.get("last_result") if isinstance(runtime.get("last_result"), dict) else {},
                "order": _tag_number(trial.get("experiment_tag"), i),
            }
        )
    return sorted(trials, key=lambda t: t["order"])


def _tag_number(tag, default: int) -> int:
    """Ray's experiment tag starts with the trial's running number (``3_alpha=...``)."""
    head = str(tag).split("_", 1)[0]
    return int(head) if head.isdigit() else default


def _count_trials(path: Path, study_name: str) -> int:
    """Trials of ``study_name`` in the SQLite file, opened read-only (Optuna's schema);
    ``UserError`` when the file is missing, damaged or holds no such study."""
    what = f"Optuna study {path}"
    if not path.is_file():
        raise UserError(f"{what}: not found; {_REBUILD_HINT}")
    try:
        con = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
        try:
            check = con.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise UserError(f"{what}: damaged ({str(check)[:100]}); {_REBUILD_HINT}")
            row = con.execute("SELECT study_id FROM studies WHERE study_name = ?", (study_name,)).fetchone()
            if row is None:
                raise UserError(f"{what}: holds no study named {study_name!r}; {_REBUILD_HINT}")
            return con.execute("SELECT count(*) FROM trials WHERE study_id = ?", (row[0],)).fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error as err:
        raise UserError(f"{what}: damaged or not an Optuna study ({str(err)[:100]}); {_REBUILD_HINT}") from None


def check_study(experiment: Path, record: dict, rebuild: bool) -> bool:
    """Whether the study must be rebuilt (only with ``rebuild``: ``--rebuild-study``); else
    a lost or damaged study is one ``UserError`` line offering the flag. A sweep without a
    study (strategy random) or stopped before its first trial has nothing to check."""
    entry = record.get("optuna")
    if not isinstance(entry, dict):
        return False
    path = Path(experiment) / STUDY
    started = len(ray_trials(experiment))
    if started == 0 and not path.exists():
        return False  # stopped before Ray Tune started: the study is made with the first trial
    try:
        held = _count_trials(path, str(entry.get("study_name")))
        if held < started:
            raise UserError(
                f"Optuna study {path}: holds {held} trials, Ray Tune started {started} "
                f"(an older copy, or not this sweep's study); {_REBUILD_HINT}"
            )
    except UserError:
        if not rebuild:
            raise
        return True
    return False


class _Replay:
    """Stands for an Optuna trial in ``KnobSampler``: each ``suggest_float`` is answered with
    the trial's recorded value (within the distribution: the recorded value of a derived
    quantity differs from the sampled one by rounding) and its distribution is kept."""

    def __init__(self, config: dict, where: str):
        self.config, self.where = config, where
        self.params, self.distributions = {}, {}

    def suggest_float(self, name: str, low: float, high: float, *, step=None, log: bool = False) -> float:
        value = self.config.get(name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise UserError(f"{self.where}: knob {name}: expected a number, got {value!r:.40}; cannot rebuild")
        self.distributions[name] = FloatDistribution(low, high, log=log, step=step)
        self.params[name] = min(max(float(value), low), high)
        return self.params[name]


def _frozen(trial: dict, where: str, knob_sampler, metrics: list[str], budget: dict | None):
    """The Optuna trial ``trial`` (one of ``ray_trials``) was, as ``add_trial`` takes it."""
    replay = _Replay(trial["config"], where)
    knob_sampler(replay)
    result = trial["last_result"]
    values = [result.get(m) for m in metrics]
    complete = all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)
    if trial["status"] in RESUMED:
        state = TrialState.RUNNING
    elif trial["status"] == "ERROR":
        state = TrialState.FAIL
    else:
        state = TrialState.COMPLETE if complete else TrialState.PRUNED
    user_attrs, system_attrs = {}, {}
    if budget and state in (TrialState.COMPLETE, TrialState.PRUNED):
        limits = constraint_values(result, budget)
        if limits is not None:
            user_attrs[CONSTRAINTS_ATTR] = limits
        # what the constrained sampler stored after the trial (budget_constraints)
        system_attrs[optuna.samplers._base._CONSTRAINTS_KEY] = tuple(limits or [])
    return optuna.trial.create_trial(
        state=state,
        values=[float(v) for v in values] if state == TrialState.COMPLETE else None,
        params=replay.params,
        distributions=replay.distributions,
        user_attrs=user_attrs,
        system_attrs=system_attrs,
    )


def _set_aside(path: Path) -> Path | None:
    """Keep a damaged file (and SQLite's journal files, which must not meet the new one);
    returns where the file went (None: there was none)."""
    kept = set_aside(path) if path.exists() else None
    for part in (path.with_name(path.name + s) for s in ("-journal", "-wal", "-shm")):
        if part.exists():
            set_aside(part)
    return kept


def rebuild_study(experiment: Path, record: dict, knob_sampler, budget: dict | None) -> tuple[int, Path | None]:
    """Write ``optuna.db`` again from Ray Tune's record of the trials (module docstring);
    returns the number of trials and where the old file was kept (None: it was lost).
    Built in a temporary file that replaces the old one."""
    experiment = Path(experiment)
    trials = ray_trials(experiment)
    state = _newest_state(experiment)
    frozen = [_frozen(t, f"{state}: trial {t['trial_id']}", knob_sampler, record["metrics"], budget) for t in trials]
    path = experiment / STUDY
    tmp = experiment / f".{STUDY}.rebuild"
    tmp.unlink(missing_ok=True)
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp}")
    try:
        directions = ["maximize" if d == "max" else "minimize" for d in record["directions"]]
        study = optuna.create_study(storage=storage, study_name=record["optuna"]["study_name"], directions=directions)
        for trial in frozen:
            study.add_trial(trial)
    except BaseException:
        storage.engine.dispose()
        tmp.unlink(missing_ok=True)
        raise
    storage.engine.dispose()
    kept = _set_aside(path)
    os.replace(tmp, path)
    return len(frozen), kept
