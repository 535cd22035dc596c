"""Reads a sweep experiment directory (``docs/formats.md``) into one table row per trial.

Tolerant by design, because the report runs during a sweep as well as after it:
trial folders are found by walking for ``params.json``/``result.json``; a trial without
``child/metrics.json`` is ``running`` (values from its ``result.json`` rows where present);
a trial with ``error.txt`` is ``failed`` (reason: the last meaningful line); a trial whose
JSON files cannot be parsed is ``unreadable`` (listed, with the file and the parse error),
and the other trials are still read. A half-written last line of ``result.json`` (Ray appends
to it while the trial runs) is skipped and noted.
"""

import json
import os
from dataclasses import dataclass, field

import pandas as pd

from .errors import ParetoInputError

__all__ = ["Experiment", "read_experiment", "lut_columns", "search_lut", "short_lut_name", "BASE_COLUMNS"]

# Columns of the trials table that do not depend on which LUTs the sweep used.
BASE_COLUMNS = [
    "trial_id",
    "status",
    "reason",
    "dominant",
    "alpha",
    "beta",
    "gamma",
    "delta",
    "ops",
    "test_acc",
    "params",
    "flops",
    "search_lut",
    "measured_latency_ms",
    "measured_latency_iqr_ms",
    "measured_latency_ms_at_lut_speed",
    "measured_speed_factor",
    "measured_noisy",
    "measured_energy_mj",
    "measured_energy_source",
    "measured_device",
    "wall_seconds",
    "reused_from",
    "ray_status",
    "problems",
    "trial_dir",
]
_TRIAL_MARKERS = ("params.json", "result.json")
_KNOBS = ("alpha", "beta", "gamma", "delta")


def short_lut_name(lut_name: str) -> str:
    """For display: a LUT file's base name (the sweep records absolute paths); builtins as they are."""
    if lut_name.startswith("builtin:") or "/" not in lut_name:
        return lut_name
    return lut_name.rstrip("/").rsplit("/", 1)[-1]


def lut_columns(lut_name: str) -> dict:
    """Names of the per-LUT columns of the trials table."""
    return {
        "latency": f"lut_latency_ms[{lut_name}]",
        "energy": f"lut_energy_mj[{lut_name}]",
        "energy_source": f"lut_energy_source[{lut_name}]",
    }


def search_lut(trials: pd.DataFrame, luts: dict) -> str | None:
    """The LUT the trials searched with: the most frequent ``search_lut`` of the finished trials
    (the first LUT seen when none says), None when the table has no LUT column for it."""
    searched = trials.loc[trials["status"] == "finished", "search_lut"].dropna()
    name = searched.mode().iloc[0] if len(searched) else next(iter(luts), None)
    return name if name in luts else None


@dataclass
class Experiment:
    """What :func:`read_experiment` found: the trials table plus the experiment-level files."""

    root: str
    trials: pd.DataFrame
    luts: dict = field(default_factory=dict)  # LUT name -> device, in order of first appearance
    baselines: list = field(default_factory=list)
    sweep: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)  # one line each, file named


class _Unreadable(Exception):
    pass


def _load_json(path: str, root: str):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as err:
        raise _Unreadable(
            f"{os.path.relpath(path, root)}: truncated or invalid JSON "
            f"({err.msg} at line {err.lineno} column {err.colno})"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise _Unreadable(f"{os.path.relpath(path, root)}: cannot read ({err})") from None


def _result_rows(path: str, root: str, problems: list) -> list:
    """JSON-lines rows of Ray's result.json; bad lines are skipped and noted."""
    rows = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                problems.append(f"{os.path.relpath(path, root)}: line {lineno} is truncated or invalid JSON (skipped)")
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


def _last_value(rows: list, key: str):
    for row in reversed(rows):
        if row.get(key) is not None:
            return row[key]
    return None


def _flatten(obj, prefix=""):
    """Ray may nest params ({"loss": {"alpha": ...}}); keep the leaf name -> value."""
    out = {}
    if isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(value, dict):
                out.update(_flatten(value, f"{prefix}{key}/"))
            else:
                out.setdefault(str(key), value)
    return out


def _error_reason(path: str) -> str:
    """The last meaningful line of Ray's error.txt (the exception line, not the traceback)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = [ln.strip() for ln in fh if ln.strip()]
    except OSError as err:
        return f"error.txt unreadable ({err})"
    lines = [ln for ln in lines if not ln.startswith(("File ", "^", "~"))]
    return lines[-1] if lines else "failed (error.txt is empty)"


def _find_trial_dirs(root: str, skip: str | None) -> list:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith(".") and not (skip and os.path.samefile(os.path.join(dirpath, d), skip))
        )
        if dirpath != root and any(m in filenames for m in _TRIAL_MARKERS):
            found.append(dirpath)
            dirnames[:] = []  # a trial's own sub-folders (search/, child/) are not trials
    return found


def _load_trial_files(tdir: str, root: str, problems: list):
    """``(params, rows, arch, metrics)`` of one trial folder; ``_Unreadable`` if a file is bad."""

    def optional(*parts):
        path = os.path.join(tdir, *parts)
        return _load_json(path, root) if os.path.isfile(path) else None

    params = _flatten(optional("params.json") or {})
    result = os.path.join(tdir, "result.json")
    rows = _result_rows(result, root, problems) if os.path.isfile(result) else []
    arch, metrics = optional("search", "arch.json"), optional("child", "metrics.json")
    for name, obj in (("search/arch.json", arch), ("child/metrics.json", metrics)):
        if obj is not None and not isinstance(obj, dict):
            raise _Unreadable(f"{os.path.relpath(tdir, root)}/{name}: expected a JSON object")
    return params, rows, arch, metrics


def _finished(row: dict, metrics: dict, arch: dict | None, energy_field: str) -> list:
    """Fill a finished trial's columns from its metrics.json; returns its LUT estimates.
    ``energy_field``: the measured energy of the kind the search LUT's estimates are."""
    measured = metrics.get("measured") or {}
    lut = metrics.get("lut") or {}
    row.update(
        status="finished",
        test_acc=metrics.get("test_acc"),
        params=metrics.get("params"),
        flops=metrics.get("flops"),
        reused_from=metrics.get("reused_from"),
        ops=metrics.get("ops") or (arch or {}).get("ops"),
        search_lut=lut.get("name") if isinstance(lut, dict) else None,
    )
    # latency_ms_at_lut_speed: the measurement brought to the speed the search LUT was
    # profiled at (same speed reference)
    for key in (
        "latency_ms",
        "latency_iqr_ms",
        "latency_ms_at_lut_speed",
        "speed_factor",
        "noisy",
        "energy_source",
        "device",
    ):
        row[f"measured_{key}"] = measured.get(key)
    row["measured_energy_mj"] = measured.get(energy_field)
    if row["wall_seconds"] is None:
        row["wall_seconds"] = metrics.get("train_seconds")
    return metrics.get("lut_estimates") or ([lut] if isinstance(lut, dict) and lut else [])


def _running(row: dict, rows: list, arch: dict | None, default_lut: str) -> list:
    """Fill a running trial's columns from its result rows and arch.json; returns its LUT estimate."""
    arch = arch or {}
    lut_name = arch.get("lut") or default_lut
    row.update(
        status="running",
        ops=arch.get("ops"),
        test_acc=_last_value(rows, "test_acc"),
        measured_latency_ms=_last_value(rows, "measured_latency_ms"),
        search_lut=lut_name,
    )
    lat = arch.get("latency_ms", _last_value(rows, "latency_ms"))
    energy = arch.get("energy_mj", _last_value(rows, "energy_mj"))
    if lat is None and energy is None:
        return []
    return [{"name": lut_name, "latency_ms": lat, "energy_mj": energy, "energy_source": arch.get("energy_source")}]


def _estimate_columns(row: dict, estimates: list, luts: dict) -> None:
    """One latency/energy/source column per LUT that estimated this trial (``luts`` collects
    every LUT seen, with its device, in order of first appearance)."""
    for est in estimates:
        if not isinstance(est, dict) or not est.get("name"):
            continue
        if luts.get(est["name"]) is None:
            luts[est["name"]] = est.get("device")
        cols = lut_columns(est["name"])
        row[cols["latency"]] = est.get("latency_ms")
        row[cols["energy"]] = est.get("energy_mj")
        row[cols["energy_source"]] = est.get("energy_source")


def _read_trial(tdir: str, root: str, sweep_mode, default_lut, luts: dict, energy_field: str = "energy_mj") -> dict:
    problems = []
    row = {c: None for c in BASE_COLUMNS}
    row["trial_dir"] = os.path.relpath(tdir, root)
    row["trial_id"] = os.path.basename(tdir)
    try:
        params, rows, arch, metrics = _load_trial_files(tdir, root, problems)
    except _Unreadable as err:
        problems.append(str(err))
        row.update(status="unreadable", reason=str(err), problems="; ".join(problems))
        return row
    row["trial_id"] = str(_last_value(rows, "trial_id") or row["trial_id"])
    row.update({knob: params.get(knob) for knob in _KNOBS})
    row["dominant"] = params.get("dominant") or sweep_mode  # the trial's dominant cost term
    row["wall_seconds"] = _last_value(rows, "trial_seconds")
    estimates = (
        _finished(row, metrics, arch, energy_field) if metrics is not None else _running(row, rows, arch, default_lut)
    )
    if os.path.isfile(os.path.join(tdir, "error.txt")):
        row["status"] = "failed"
        row["reason"] = _error_reason(os.path.join(tdir, "error.txt"))
    ops = row["ops"]
    row["ops"] = " ".join(map(str, ops)) if isinstance(ops, list) else None
    _estimate_columns(row, estimates, luts)
    row["problems"] = "; ".join(problems) or None
    return row


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


def read_experiment(root: str, skip_dir: str | None = None) -> Experiment:
    """Read every trial under ``root``; ``skip_dir`` (e.g. the report's own output) is not walked.

    Raises :class:`ParetoInputError` when ``root`` is missing or holds no trial folder at all.
    """
    if not os.path.isdir(root):
        raise ParetoInputError(f"{root}: no such experiment directory")
    skip = skip_dir if skip_dir and os.path.isdir(skip_dir) else None
    problems = []
    sweep, baselines = {}, []
    for name in ("sweep.json", "baselines.json"):
        path = os.path.join(root, name)
        if os.path.isfile(path):
            try:
                obj = _load_json(path, root)
            except _Unreadable as err:
                problems.append(f"{err}; ignored")
                continue
            if name == "sweep.json" and isinstance(obj, dict):
                sweep = obj
            elif name == "baselines.json" and isinstance(obj, list):
                baselines = [b for b in obj if isinstance(b, dict)]
            else:
                problems.append(f"{name}: expected a JSON {'object' if name == 'sweep.json' else 'list'}; ignored")
    trial_dirs = _find_trial_dirs(root, skip)
    if not trial_dirs:
        raise ParetoInputError(f"{root}: no trial folders (no sub-folder holds params.json or result.json)")
    luts: dict = {}
    sweep_luts = sweep.get("luts") if isinstance(sweep.get("luts"), list) else []
    default_lut = str(sweep_luts[0]) if sweep_luts else "search LUT"
    # measured energy of the sweep's lut.energy_kind (sweeps before it had one kind: total)
    lut_entry = sweep.get("lut") if isinstance(sweep.get("lut"), dict) else {}
    energy_field = "energy_dynamic_mj" if lut_entry.get("energy_kind") == "dynamic" else "energy_mj"
    records = [_read_trial(d, root, sweep.get("mode"), default_lut, luts, energy_field) for d in trial_dirs]
    ray_status = _ray_statuses(root, problems)
    for rec in records:
        rec["ray_status"] = ray_status.get(rec["trial_id"])
        if rec["ray_status"] == "ERROR" and rec["status"] in ("running", "finished"):
            rec.update(status="failed", reason="Ray Tune marked the trial ERROR (no error.txt found)")
    for rec in records:
        if rec["problems"]:
            problems.extend(
                f"{rec['trial_dir']}: {p}" if not p.startswith(rec["trial_dir"]) else p
                for p in rec["problems"].split("; ")
            )
    columns = BASE_COLUMNS + [c for name in luts for c in lut_columns(name).values()]
    trials = pd.DataFrame.from_records(records).reindex(columns=columns)
    for col in (
        "alpha",
        "beta",
        "gamma",
        "delta",
        "test_acc",
        "params",
        "flops",
        "measured_latency_ms",
        "measured_latency_iqr_ms",
        "measured_latency_ms_at_lut_speed",
        "measured_speed_factor",
        "measured_energy_mj",
        "wall_seconds",
        *[lut_columns(n)[k] for n in luts for k in ("latency", "energy")],
    ):
        trials[col] = pd.to_numeric(trials[col], errors="coerce")
    return Experiment(root=root, trials=trials, luts=luts, baselines=baselines, sweep=sweep, problems=problems)
