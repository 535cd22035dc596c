"""What the pages show, read from the files runs and sweeps write (docs/formats.md):
the job list, one run's live progress, one sweep's trials. Readers only: nothing here
starts or changes anything. Latencies come with the deployment target they were timed in
(``pareto.deploy``'s names), and a childnet's files to take home are the deployed file its
metrics.json names (``model.pte``, ``model.onnx``, ...) and the data file ``model.weights.pt``."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from hwnas.config import load_yaml
from hwnas.errors import UserError
from hwnas.keys import upgrade
from hwnas.layout import (
    ARCH,
    CHILD,
    CONFIG,
    ERROR,
    METRICS,
    PARAMS,
    PARETO_CSV,
    PROGRESS,
    RECORD,
    REPORT,
    REPORT_HTML,
    REPORT_JSON,
    SEARCH,
    STUDY,
    THETA,
    TRIALS_CSV,
    WEIGHTS,
    child_dir,
    final_dir,
    is_trial_folder,
    report_dir,
    search_dir,
)
from hwnas.measured import join_metrics, read_measurements
from hwnas.records import result_rows
from pareto.deploy import int8_drop_points, target_key, target_label
from sweep.web.files import downloads
from sweep.web.forms import NAME, RUNS
from sweep.web.jobs import JOB, LOG, job_status, read_json_or_none

__all__ = ["list_jobs", "run_view", "sweep_view", "trial_progress"]

TRIAL = re.compile(r"trial_[A-Za-z0-9_]{1,64}")  # a Ray Tune trial folder's name (sweep.tuner)
_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # a deployed file's name in metrics.json (never a path)

# the files to download, as named on the pages: paths relative to a run's, trial's or sweep's folder
_ARCH, _THETA, _PROGRESS = (f"{SEARCH}/{name}" for name in (ARCH, THETA, PROGRESS))
_METRICS = f"{CHILD}/{METRICS}"
RUN_FILES = (_ARCH, _THETA, _PROGRESS, _METRICS, CONFIG, LOG)  # and the childnet's files (_child_files)
SWEEP_FILES = (
    *(f"{REPORT}/{name}" for name in (REPORT_HTML, REPORT_JSON, TRIALS_CSV, PARETO_CSV)),
    RECORD,
    STUDY,
    LOG,
)
_TRIAL_KEYS = (
    "phase",
    "epoch",
    "test_acc",
    "val_acc",
    "lut_latency_ms",
    "lut_energy_mj",
    "measured_latency_ms",
    "within_budget",
)


def _read(path: Path, kind: str):
    """``read_json_or_none`` of a record of ``kind`` whose keys may predate a rename (``hwnas.keys``)."""
    return upgrade(read_json_or_none(path), kind, str(path))


def _child_files(metrics) -> tuple[str, ...]:
    """``child/<deployed file>`` (what metrics.json's ``model`` names) and ``child/model.weights.pt``."""
    name = metrics.get("model") if isinstance(metrics, dict) else None
    deployed = (f"{CHILD}/{name}",) if isinstance(name, str) and _FILE.fullmatch(name) else ()
    return tuple(dict.fromkeys((*deployed, f"{CHILD}/{WEIGHTS}")))


def _target(metrics) -> str | None:
    """The target a childnet was timed in (else exported to), named: ``ExecuTorch fp32 (1.5.1)``."""
    if not isinstance(metrics, dict):
        return None
    measured = metrics.get("measured") if isinstance(metrics.get("measured"), dict) else {}
    for record in (measured.get("deploy"), metrics.get("deploy")):
        if target_key(record):
            return target_label(target_key(record), record.get("runtime_version"))
    return None


def _int8(metrics) -> dict:
    """An int8 program's own test accuracy and the points it lost (null for fp32)."""
    deploy = metrics.get("deploy") if isinstance(metrics, dict) and isinstance(metrics.get("deploy"), dict) else {}
    acc, int8 = metrics.get("test_acc") if isinstance(metrics, dict) else None, deploy.get("test_acc_int8")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (acc, int8))
    return {
        "test_acc_int8": int8 if numbers else None,
        "int8_drop_points": int8_drop_points(acc, int8) if numbers else None,
    }


def list_jobs(storage: Path, procs: dict) -> list[dict]:
    """Every run and sweep under ``storage``, newest first: kind, name, status, page."""
    out = []
    runs = storage / RUNS
    for kind, folders in (
        ("run", runs.iterdir() if runs.is_dir() else []),
        ("sweep", (p for p in storage.iterdir() if p.name != RUNS) if storage.is_dir() else []),
    ):
        for folder in folders:
            if not (folder / JOB).is_file() and not (kind == "sweep" and (folder / RECORD).is_file()):
                continue
            status = _status(folder, procs)
            out.append({"kind": kind, "name": folder.name, "url": f"/{kind}s/{folder.name}", **status})
    return sorted(out, key=lambda j: j.get("started") or "", reverse=True)


def _status(folder: Path, procs: dict) -> dict:
    """The job's status; a sweep started from the command line (no job here) is told by its files."""
    status = job_status(folder, procs)
    if status["state"] == "none":
        status = {**status, **_cli_sweep_state(folder)}
    return status


def _cli_sweep_state(folder: Path) -> dict:
    """A command-line sweep's state from its ``sweep.json``: ``sweep.run`` ends each run by
    recording its wall time and its trial counts (docs/formats.md), so a last run with them
    ended: finished, unless trials were left unfinished (``continue`` with ``--resume``). A
    last run without them still runs or was killed (its files cannot tell which)."""
    record = read_json_or_none(folder / RECORD)
    runs = record.get("runs") if isinstance(record, dict) else None
    last = runs[-1] if isinstance(runs, list) and runs and isinstance(runs[-1], dict) else None
    if last is None:  # no run recorded: a report means it ended
        return {"state": "finished" if (report_dir(folder) / REPORT_HTML).is_file() else "unknown", "reason": ""}
    started = {"started": last["started"]} if isinstance(last.get("started"), str) else {}
    if "wall_s" not in last:
        return {**started, "state": "unknown", "reason": "started from the command line: running, or stopped"}
    left = last.get("unfinished")
    if isinstance(left, int) and left > 0:
        return {**started, "state": "failed", "reason": f"ended with {left} trials unfinished; continue with --resume"}
    return {**started, "state": "finished", "reason": ""}


def _phase(folder: Path, status: dict) -> str:
    if (child_dir(folder) / METRICS).is_file():
        return "done"
    if status.get("step") == 2:
        return "retraining the childnet"
    return "searching" if (search_dir(folder) / PROGRESS).is_file() else "starting"


def _setup(folder: Path) -> dict | None:
    """What the run was started with (its config.yaml): LUT, space, dataset, knobs."""
    try:
        c = load_yaml((folder / CONFIG).read_text(), CONFIG)
        return {
            "lut": Path(c["lut"]["path"]).name if not c["lut"]["path"].startswith("builtin:") else c["lut"]["path"],
            "space": f"{c['space']['preset']} x{c['space']['width']}",
            "dataset": c["data"]["dataset"],
            "knobs": {k: c["loss"][k] for k in ("alpha", "beta", "gamma", "delta")},
            "target": target_label(target_key(c.get("deploy"))),
        }
    except (OSError, UserError, yaml.YAMLError, RecursionError, KeyError, TypeError, AttributeError):
        return None


def run_view(storage: Path, name: str, procs: dict) -> dict | None:
    """One run: status, phase, the search's latest epoch (``progress.json``), the found
    architecture, the childnet's metrics and the files to download."""
    folder = storage / RUNS / name
    if not NAME.fullmatch(name) or not (folder / JOB).is_file():
        return None
    status = job_status(folder, procs)
    child = _read(child_dir(folder) / METRICS, "metrics")
    return {
        "name": name,
        "status": status,
        "phase": _phase(folder, status),
        "setup": _setup(folder),
        "progress": _read(search_dir(folder) / PROGRESS, "progress"),
        "arch": _read(search_dir(folder) / ARCH, "arch"),
        "child": {
            **{k: child.get(k) for k in ("test_acc", "params", "flops", "lut", "measured", "train_seconds", "deploy")},
            **_int8(child),
            "target": _target(child),
        }
        if isinstance(child, dict)
        else None,
        "files": downloads(storage, folder, (*RUN_FILES, *_child_files(child))),
    }


def _last_row(trial: Path) -> dict:
    """The trial's newest result row; none while Ray Tune is still writing a line."""
    try:
        rows = result_rows(trial)
    except (OSError, UserError):  # unreadable or damaged, e.g. a line Ray Tune is still writing
        return {}
    return rows[-1] if rows else {}


def _measurements(folder: Path) -> dict:
    """The sweep's ``measurements.json`` entries (``hwnas.measured``); a damaged file shows
    the trials it would measure as not measured (the report names the damage)."""
    try:
        return read_measurements(folder)
    except UserError:
        return {}


def _trial(storage: Path, trial: Path, measurements: dict) -> dict:
    row = _last_row(trial)
    params = read_json_or_none(trial / PARAMS) or {}
    child = join_metrics(_read(child_dir(trial) / METRICS, "metrics"), measurements)
    measured = (child.get("measured") or {}) if isinstance(child, dict) else {}
    if isinstance(measured, dict) and measured.get("latency_ms") is not None:  # on this host: measured after the trials
        row = {**row, "measured_latency_ms": measured["latency_ms"]}
    error = trial / ERROR
    return {
        "trial": trial.name,
        **{k: row.get(k) for k in _TRIAL_KEYS},
        "knobs": {k: params.get(k) for k in ("alpha", "beta", "gamma", "delta", "dominant") if k in params},
        "error": error.read_text(errors="replace").strip().splitlines()[-1][:300] if error.is_file() else None,
        "target": _target(child),
        **_int8(child),
        "files": downloads(storage, trial, (_ARCH, _THETA, _METRICS, *_child_files(child))),
    }


def sweep_view(storage: Path, name: str, procs: dict) -> dict | None:
    """One sweep: status, its record's essentials, the trials table, the report and Optuna storage."""
    folder = _sweep_folder(storage, name)
    if folder is None:
        return None
    record = _read(folder / RECORD, "sweep") or {}
    report = read_json_or_none(report_dir(folder) / REPORT_JSON)
    trials = sorted(p for p in folder.iterdir() if is_trial_folder(p))  # as pareto.experiment finds them
    measurements = _measurements(folder)
    return {
        "name": name,
        "status": _status(folder, procs),
        "trials_planned": record.get("trials"),
        "strategy": record.get("strategy"),
        "dominant": record.get("dominant"),
        "optuna": record.get("optuna"),
        "budget": (record.get("config") or {}).get("sweep", {}).get("budget"),
        "target": _sweep_target(record, report),
        "trials": [_trial(storage, t, measurements) for t in trials],
        "report": (report_dir(folder) / REPORT_HTML).is_file(),
        "recommended": _recommended(storage, folder, report, measurements),
        "final": _final(storage, folder, report),
        "files": downloads(storage, folder, SWEEP_FILES),
    }


def trial_progress(storage: Path, name: str, trial: str) -> dict | None:
    """One trial's search progress (its ``search/progress.json``: epoch metrics and P(op) per
    layer), or None when the sweep, the trial or the file is not there. ``trial`` must be the
    plain name of a trial folder of the sweep (never a path)."""
    folder = _sweep_folder(storage, name)
    if folder is None or not TRIAL.fullmatch(trial):
        return None
    return _read(search_dir(folder / trial) / PROGRESS, "progress")


def _sweep_folder(storage: Path, name: str) -> Path | None:
    """The folder of the sweep ``name`` (a plain name): started here (its job) or from the command line."""
    folder = storage / name
    if not NAME.fullmatch(name) or name == RUNS or not ((folder / JOB).is_file() or (folder / RECORD).is_file()):
        return None
    return folder


def _sweep_target(record: dict, report) -> str | None:
    """The sweep's deployment target, named: the report's (what the trials were timed in), else
    the config's with the LUT's runtime version (sweep.json)."""
    deploy = report.get("deploy") if isinstance(report, dict) else None
    if isinstance(deploy, dict) and isinstance(deploy.get("label"), str) and deploy.get("target"):
        return deploy["label"]
    config = record.get("config") if isinstance(record.get("config"), dict) else {}
    lut = record.get("lut") if isinstance(record.get("lut"), dict) else {}
    key = target_key(config.get("deploy"))
    if key is None:
        return None
    version = lut["deploy"].get("runtime_version") if target_key(lut.get("deploy")) == key else None
    return target_label(key, version)


def _recommended(storage: Path, folder: Path, report, measurements: dict) -> dict | None:
    """The report's recommended model (``report.json``, docs/formats.md) and its files."""
    rec = report.get("recommended") if isinstance(report, dict) else None
    if not isinstance(rec, dict) or not isinstance(rec.get("model_of") or rec.get("trial_dir"), str):
        return None
    trial = folder / Path(rec.get("model_of") or rec["trial_dir"]).name  # a name, never a path from the file
    metrics = join_metrics(read_json_or_none(child_dir(trial) / METRICS), measurements)  # the deployed file it names
    return {
        "trial": rec.get("trial_dir"),
        "test_acc": rec.get("test_acc"),
        "test_acc_int8": rec.get("test_acc_int8"),
        "target": rec.get("target_label") or _target(metrics),
        "note": rec.get("note"),
        "files": downloads(storage, trial, (*_child_files(metrics), _ARCH)),
    }


def _final(storage: Path, folder: Path, report) -> dict | None:
    """The report's first final model (``report.json`` ``final_models``) and its files."""
    rows = report.get("final_models") if isinstance(report, dict) else None
    row = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else None
    name = Path(row["folder"]).name if row and isinstance(row.get("folder"), str) else ""
    if not TRIAL.fullmatch(name):
        return None
    trial = final_dir(folder, name)  # a trial folder's name checked above, never a path from the file
    metrics = read_json_or_none(trial / METRICS)
    return {
        "trial": row.get("trial_id"),
        "test_acc": row.get("test_acc"),
        "proxy_test_acc": row.get("proxy_test_acc"),
        "test_acc_int8": row.get("test_acc_int8"),
        "measured_latency_ms": row.get("measured_latency_ms"),
        "target": row.get("target_label") or _target(metrics),
        "files": downloads(storage, trial, (f.removeprefix(f"{CHILD}/") for f in _child_files(metrics))),
    }
