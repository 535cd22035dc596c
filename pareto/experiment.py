"""Reads a sweep experiment directory (``docs/formats.md``) into one table row per trial.

The report runs during a sweep as well as after it: trial folders (``hwnas.layout.is_trial_folder``:
``params.json`` or ``result.json``) are found by walking and each is read by
:func:`.trial_folder.read_trial` (running and failed trials are rows too; a file not written yet
is simply absent). A file that is there but damaged (truncated, garbled, the wrong JSON type)
would change the answer if it were left out (the recommended model, a budget, a baseline), so it
is a ``hwnas.errors.UserError`` naming it, unless the caller asks to skip damage
(``skip_unreadable``: the trial is listed as ``unreadable``, a damaged experiment file is
ignored, each noted in ``problems``). Ray's own trial statuses are read best effort (Ray's
internal format).
"""

import json
import os
from dataclasses import dataclass, field

import pandas as pd

from hwnas.errors import UserError
from hwnas.io import read_json
from hwnas.keys import upgrade
from hwnas.layout import BASELINES, ERROR, MEASUREMENTS, RECORD, SWEEP_LUT, TRIAL_MARKERS, is_trial_folder
from hwnas.measured import join_baseline, read_baselines_file, read_measurements

from .columns import BASE_COLUMNS, lut_columns, numeric_columns
from .deploy import experiment_deploy
from .final_model import read_final_models
from .trial_folder import FILE_KIND, read_trial

__all__ = ["Experiment", "read_experiment"]


@dataclass
class Experiment:
    """What :func:`read_experiment` found: the trials table plus the experiment-level files."""

    root: str
    trials: pd.DataFrame
    luts: dict = field(default_factory=dict)  # LUT name -> device, in order of first appearance
    baselines: list = field(default_factory=list)
    sweep: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)  # one line each, file named
    deploy: dict = field(default_factory=dict)  # report.json's deploy (pareto.deploy.experiment_deploy)
    finals: list = field(default_factory=list)  # the final stage's models (pareto.final_model)


def _find_trial_dirs(root: str, skip: str | None) -> list:
    found = []
    for dirpath, dirnames, _ in os.walk(root):
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith(".") and not (skip and os.path.samefile(os.path.join(dirpath, d), skip))
        )
        if dirpath != root and is_trial_folder(dirpath):
            found.append(dirpath)
            dirnames[:] = []  # a trial's own sub-folders (search/, child/) are not trials
    return found


def _ray_statuses(root: str, problems: list) -> dict:
    """trial_id -> Ray Tune's own status (RUNNING, TERMINATED, ERROR, ...) from the newest
    ``experiment_state-*.json``. Ray-internal format: read best effort, never required."""
    names = sorted(n for n in os.listdir(root) if n.startswith("experiment_state-") and n.endswith(".json"))
    if not names:
        return {}
    try:
        with open(os.path.join(root, names[-1]), encoding="utf-8") as fh:
            state = json.load(fh)
        statuses = {}
        for entry in state.get("trial_data", []):
            trial = json.loads(entry[0]) if isinstance(entry, list) else {}
            if trial.get("trial_id") and trial.get("status"):
                statuses[str(trial["trial_id"])] = str(trial["status"])
        return statuses
    except (OSError, ValueError, TypeError, AttributeError, IndexError):
        problems.append(f"{names[-1]}: not understood (Ray-internal format); ray_status left empty")
        return {}


_SKIP_HINT = "restore it, or run pareto.report with --skip-unreadable to report without it"


def _damaged(err: UserError, problems: list, skip: bool) -> None:
    """Note ``err`` in ``problems`` when told to skip damage, else refuse in one line."""
    if not skip:
        raise UserError(f"{err}; {_SKIP_HINT}")
    problems.append(f"{err}; ignored")


def _experiment_files(root: str, problems: list, skip: bool) -> tuple[dict, list, dict]:
    """``(sweep, baselines, measurements)`` from sweep.json (an object), baselines.json (a list
    of objects, each pending measurement joined) and measurements.json (``hwnas.measured``: the
    quiet phase's measurements, joined to the pending trials too); a missing file is empty, a
    damaged one refused (``skip``: noted in ``problems`` and ignored)."""
    sweep, baselines, measurements = {}, [], {}
    for name in (RECORD, BASELINES, MEASUREMENTS):
        path = os.path.join(root, name)
        if not os.path.isfile(path):
            continue
        try:
            if name == RECORD:
                sweep = upgrade(read_json(path, FILE_KIND, dict), "sweep", path)
            elif name == BASELINES:
                baselines = read_baselines_file(path, FILE_KIND)
            else:
                measurements = read_measurements(root)
        except UserError as err:
            _damaged(err, problems, skip)
    return sweep, [join_baseline(b, measurements) for b in baselines], measurements


def _lut_deploy(root: str, sweep: dict, problems: list, skip: bool) -> dict | None:
    """The search LUT's ``deploy`` record: sweep.json's lut entry, else the LUT file it names
    (the experiment's lut.json when that path is gone: a moved experiment); None when neither says."""
    entry = sweep.get("lut") if isinstance(sweep.get("lut"), dict) else {}
    if isinstance(entry.get("deploy"), dict):
        return entry["deploy"]
    path = entry.get("path")
    for candidate in (path, os.path.join(root, SWEEP_LUT) if path else None):
        if isinstance(candidate, str) and not candidate.startswith("builtin:") and os.path.isfile(candidate):
            try:
                data = read_json(candidate, FILE_KIND, dict)
            except UserError as err:
                _damaged(err, problems, skip)
                return None  # skipped: the trials' own records still name their target
            return data.get("deploy") if isinstance(data.get("deploy"), dict) else None
    return None


def _read_trials(root: str, trial_dirs: list, sweep: dict, luts: dict, measurements: dict) -> list:
    """The rows of ``trial_dirs`` (pending measurements joined from ``measurements``); ``luts``
    collects every LUT seen (name -> device)."""
    sweep_luts = sweep.get("luts") if isinstance(sweep.get("luts"), list) else []
    default_lut = str(sweep_luts[0]) if sweep_luts else "search LUT"
    # measured energy of the sweep's lut.energy_kind (sweeps before it had one kind: total)
    lut_entry = sweep.get("lut") if isinstance(sweep.get("lut"), dict) else {}
    energy_field = "energy_dynamic_mj" if lut_entry.get("energy_kind") == "dynamic" else "energy_mj"
    dominant = sweep.get("dominant")
    return [read_trial(d, root, dominant, default_lut, luts, energy_field, measurements) for d in trial_dirs]


def read_experiment(root: str, skip_dir: str | None = None, skip_unreadable: bool = False) -> Experiment:
    """Read every trial under ``root``; ``skip_dir`` (e.g. the report's own output) is not walked.

    Raises ``UserError`` when ``root`` is missing, holds no trial folder at all, or
    a file in it is damaged (``skip_unreadable``: listed and noted in ``problems`` instead).
    """
    if not os.path.isdir(root):
        raise UserError(f"{root}: no such experiment directory")
    skip = skip_dir if skip_dir and os.path.isdir(skip_dir) else None
    problems = []
    sweep, baselines, measurements = _experiment_files(root, problems, skip_unreadable)
    trial_dirs = _find_trial_dirs(root, skip)
    if not trial_dirs:
        raise UserError(f"{root}: no trial folders (no sub-folder holds {' or '.join(TRIAL_MARKERS)})")
    luts: dict = {}
    records = _read_trials(root, trial_dirs, sweep, luts, measurements)
    for rec in records:
        if rec["status"] == "unreadable" and not skip_unreadable:
            raise UserError(f"{rec['reason']}; {_SKIP_HINT}")
    ray_status = _ray_statuses(root, problems)
    for rec in records:
        rec["ray_status"] = ray_status.get(rec["trial_id"])
        if rec["ray_status"] == "ERROR" and rec["status"] in ("running", "finished"):
            rec.update(status="failed", reason=f"Ray Tune marked the trial ERROR (no {ERROR} found)")
    for rec in records:
        if rec["problems"]:
            problems.extend(
                f"{rec['trial_dir']}: {p}" if not p.startswith(rec["trial_dir"]) else p
                for p in rec["problems"].split("; ")
            )
    columns = BASE_COLUMNS + [c for name in luts for c in lut_columns(name).values()]
    trials = pd.DataFrame.from_records(records).reindex(columns=columns)
    for col in numeric_columns(luts):
        trials[col] = pd.to_numeric(trials[col], errors="coerce")
    config = sweep.get("config") if isinstance(sweep.get("config"), dict) else {}
    deploy = experiment_deploy(trials, _lut_deploy(root, sweep, problems, skip_unreadable), config.get("deploy"))
    finals = read_final_models(root, problems, skip_unreadable)
    return Experiment(
        root=root,
        trials=trials,
        luts=luts,
        baselines=baselines,
        sweep=sweep,
        problems=problems,
        deploy=deploy,
        finals=finals,
    )
