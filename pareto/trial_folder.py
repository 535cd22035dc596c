"""Reads one trial folder of a sweep experiment (``docs/formats.md``) into one row of the trials
table (:mod:`.columns`); :mod:`.experiment` walks the experiment directory and calls it per trial.

A trial without ``child/metrics.json`` is ``running`` (values from its ``result.json`` rows and
``search/arch.json`` where present); a trial with ``error.txt`` is ``failed`` (reason: the last
meaningful line); a trial whose JSON files cannot be read (truncated, garbled, not the JSON type
they hold) is ``unreadable`` (the file and what is wrong are its reason), which
:func:`.experiment.read_experiment` refuses unless told to skip such trials. A half-written *last*
line of ``result.json`` (Ray appends to it while the trial runs) is skipped and noted in the row's
``problems``; a bad line before the last is damage.
"""

import os

from hwnas.errors import UserError
from hwnas.io import read_json
from hwnas.keys import upgrade
from hwnas.layout import ARCH, CHILD, ERROR, METRICS, PARAMS, RESULT, SEARCH
from hwnas.measured import join_metrics
from hwnas.records import result_rows

from .columns import BASE_COLUMNS, KNOBS, lut_columns
from .deploy import int8_drop_points, target_key

__all__ = ["FILE_KIND", "read_trial"]

# how an error line names a file of the experiment (``hwnas.io.read_json``'s ``what``)
FILE_KIND = "experiment file"


def _trial_rows(tdir: str, root: str, problems: list, running: bool) -> list:
    """Ray's result.json rows by ``hwnas.records.result_rows``' rule: a running trial's
    half-written last line is skipped and noted in ``problems``; any other bad line is damage."""
    skipped = []
    rows = result_rows(tdir, running, skipped, FILE_KIND)
    where = os.path.relpath(os.path.join(tdir, RESULT), root)
    problems.extend(f"{where}: line {n} is truncated or invalid JSON (skipped: being written?)" for n in skipped)
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
        return f"{ERROR} unreadable ({err})"
    lines = [ln for ln in lines if not ln.startswith(("File ", "^", "~"))]
    return lines[-1] if lines else f"failed ({ERROR} is empty)"


def _load_trial_files(tdir: str, root: str, problems: list, measurements: dict):
    """``(params, rows, arch, metrics)`` of one trial folder (a file not written yet: None;
    a pending measurement joined from ``measurements``, ``hwnas.measured``); ``UserError``
    naming the file if one is there but bad."""

    def optional(*parts):
        path = os.path.join(tdir, *parts)
        return read_json(path, FILE_KIND, dict) if os.path.isfile(path) else None

    params = _flatten(optional(PARAMS) or {})
    # files from before a key was renamed: read under the new names (hwnas.keys)
    arch = upgrade(optional(SEARCH, ARCH), "arch", os.path.join(tdir, SEARCH, ARCH))
    metrics = upgrade(optional(CHILD, METRICS), "metrics", os.path.join(tdir, CHILD, METRICS))
    metrics = join_metrics(metrics, measurements)
    rows = _trial_rows(tdir, root, problems, running=metrics is None)
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
    _deploy_columns(row, metrics, measured)
    if row["wall_seconds"] is None:
        row["wall_seconds"] = metrics.get("train_seconds")
    return metrics.get("lut_estimates") or ([lut] if isinstance(lut, dict) and lut else [])


def _plain_name(name) -> str | None:
    """A file name of the childnet folder (never a path from the file)."""
    ok = isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name
    return name if ok else None


def _deploy_columns(row: dict, metrics: dict, measured: dict) -> None:
    """The target the childnet was exported to (``deploy``) and timed in (``measured.deploy``),
    its deployed file, and for int8 the program's own accuracy and what it lost."""
    deploy = metrics.get("deploy") if isinstance(metrics.get("deploy"), dict) else {}
    timed = measured.get("deploy") if isinstance(measured.get("deploy"), dict) else {}
    row.update(
        deploy_target=target_key(deploy),
        deploy_runtime_version=deploy.get("runtime_version"),
        deploy_agreement=deploy.get("deploy_agreement"),
        measured_target=target_key(timed),
        measured_runtime_version=timed.get("runtime_version"),
        model_file=_plain_name(metrics.get("model")),
        test_acc_int8=deploy.get("test_acc_int8"),
    )
    try:
        row["int8_drop_points"] = int8_drop_points(row["test_acc"], row["test_acc_int8"])
    except (TypeError, ValueError):  # not numbers: left out, as any bad value
        row["int8_drop_points"] = None


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
    lat = arch.get("lut_latency_ms", _last_value(rows, "lut_latency_ms"))
    energy = arch.get("lut_energy_mj", _last_value(rows, "lut_energy_mj"))
    if lat is None and energy is None:
        return []
    return [
        {"name": lut_name, "lut_latency_ms": lat, "lut_energy_mj": energy, "energy_source": arch.get("energy_source")}
    ]


def _estimate_columns(row: dict, estimates: list, luts: dict) -> None:
    """One latency/energy/source column per LUT that estimated this trial (``luts`` collects
    every LUT seen, with its device, in order of first appearance)."""
    for est in estimates:
        if not isinstance(est, dict) or not est.get("name"):
            continue
        if luts.get(est["name"]) is None:
            luts[est["name"]] = est.get("device")
        cols = lut_columns(est["name"])
        row[cols["latency"]] = est.get("lut_latency_ms")
        row[cols["energy"]] = est.get("lut_energy_mj")
        row[cols["energy_source"]] = est.get("energy_source")
        row[cols["target"]] = est.get("target")


def read_trial(
    tdir: str, root: str, sweep_dominant, default_lut, luts: dict, energy_field: str = "energy_mj", measurements=None
) -> dict:
    """The trials-table row of the trial folder ``tdir`` (paths relative to the experiment ``root``).
    ``sweep_dominant``: the dominant cost term when the trial's params name none; ``default_lut``: the
    search LUT of a running trial whose arch.json names none; ``luts`` collects every LUT seen;
    ``measurements``: the experiment's ``measurements.json`` entries (``hwnas.measured``)."""
    problems = []
    row = {c: None for c in BASE_COLUMNS}
    row["trial_dir"] = os.path.relpath(tdir, root)
    row["trial_id"] = os.path.basename(tdir)
    try:
        params, rows, arch, metrics = _load_trial_files(tdir, root, problems, measurements or {})
    except UserError as err:  # damaged: read_experiment refuses it unless told to skip it
        problems.append(str(err))
        row.update(status="unreadable", reason=str(err), problems="; ".join(problems))
        return row
    row["trial_id"] = str(_last_value(rows, "trial_id") or row["trial_id"])
    row.update({knob: params.get(knob) for knob in KNOBS})
    row["dominant"] = params.get("dominant") or sweep_dominant  # the trial's dominant cost term
    row["wall_seconds"] = _last_value(rows, "trial_seconds")
    estimates = (
        _finished(row, metrics, arch, energy_field) if metrics is not None else _running(row, rows, arch, default_lut)
    )
    if os.path.isfile(os.path.join(tdir, ERROR)):
        row["status"] = "failed"
        row["reason"] = _error_reason(os.path.join(tdir, ERROR))
    ops = row["ops"]
    row["ops"] = " ".join(map(str, ops)) if isinstance(ops, list) else None
    _estimate_columns(row, estimates, luts)
    row["problems"] = "; ".join(problems) or None
    return row
