"""A measurement is written once, where it is produced; readers join it here.

Where it is produced: on a cluster the device that measured (a trial, the baselines' task)
writes ``measured`` into the trial's ``child/metrics.json`` (a ``baselines.json`` row). On
this host the trials and the baselines' task write ``measured: {"pending": true, ...}`` and
the sweep's quiet measurement phase (``sweep.measurements``) times each distinct model once
and writes it in ``measurements.json`` only: ``{"models": {key: {"model", "model_of",
"measured"}}}``, ``key`` the space-separated ops of a childnet or ``baseline:<name>``.

Every reader of an experiment's childnet results and baselines (``pareto``, the web page,
``sweep.final`` through ``pareto``, the benches) reads ``measurements.json`` once
(``read_measurements``) and passes each record through ``join_metrics`` / ``join_baseline``:
a pending ``measured`` becomes the entry's, with ``model_of`` (the trial whose file was
timed). Experiments whose ``metrics.json`` an older phase filled in have nothing pending and
read as they are. Torch-free: ``pareto`` imports this.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from hwnas.errors import UserError
from hwnas.io import read_json
from hwnas.keys import upgrade
from hwnas.layout import BASELINES, MEASUREMENTS, METRICS, child_dir

__all__ = [
    "KIND",
    "baseline_key",
    "bad_entries",
    "bad_entries_error",
    "childnet_key",
    "join_baseline",
    "join_metrics",
    "measured_baselines",
    "read_childnet",
    "read_baselines_file",
    "read_measurement_record",
    "read_measurements",
    "remeasure_hint",
]

KIND = "measurement record"  # how an error line names measurements.json


def childnet_key(ops) -> str:
    """A childnet's key in ``measurements.json``: its ops, space-separated."""
    return " ".join(ops)


def baseline_key(name: str) -> str:
    return f"baseline:{name}"


def remeasure_hint(experiment: str | Path) -> str:
    experiment = shlex.quote(str(experiment))
    return (
        f"run python -m sweep.measurements {experiment} --remeasure (or sweep.run --resume --remeasure) "
        "to time their models again"
    )


def read_measurement_record(experiment: str | Path) -> dict | None:
    """``measurements.json`` as written (None: not written yet); a file that is not an object
    with a ``models`` object is one ``UserError`` line offering ``--remeasure``. Its entries
    are not checked here (``bad_entries``)."""
    path = Path(experiment) / MEASUREMENTS
    if not path.is_file():
        return None
    hint = remeasure_hint(experiment)
    state = read_json(path, KIND, dict, hint)
    if not isinstance(state.get("models"), dict):
        raise UserError(f"{KIND} {path}: field models: expected an object; {hint}")
    return state


def _entry_ok(entry) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("model"), str) and isinstance(entry.get("measured"), dict)


def bad_entries(state: dict) -> list[str]:
    """The keys of ``state["models"]`` whose entries cannot be read."""
    return [key for key, entry in state["models"].items() if not _entry_ok(entry)]


def bad_entries_error(experiment: str | Path, bad: list[str]) -> UserError:
    return UserError(
        f"{KIND} {Path(experiment) / MEASUREMENTS}: entry {bad[0][:60]!r} ({len(bad)} in all): expected "
        f'{{"model": <path>, "measured": {{...}}}}; {remeasure_hint(experiment)}'
    )


def read_measurements(experiment: str | Path) -> dict[str, dict]:
    """The entries of the experiment's ``measurements.json`` by key ({} when not written);
    any damage is one ``UserError`` line offering ``--remeasure``."""
    state = read_measurement_record(experiment)
    if state is None:
        return {}
    bad = bad_entries(state)
    if bad:
        raise bad_entries_error(experiment, bad)
    return state["models"]


def _joined(measured, key: str | None, models: dict, childnet: bool):
    """``measured``, or the measurement of ``key`` when ``measured`` is pending and the phase
    recorded it."""
    if not isinstance(measured, dict) or not measured.get("pending") or key not in models:
        return measured
    entry = models[key]
    if not childnet:
        return dict(entry["measured"])
    # entries written before model_of was stored name it by the timed file: <trial>/child/<file>
    owner = entry.get("model_of") or Path(entry["model"]).parent.parent.name
    return dict(entry["measured"], model_of=owner)


def join_metrics(metrics, models: dict):
    """A childnet's ``metrics.json`` (as read, keys upgraded) with its measurement: a pending
    ``measured`` is replaced by ``measurements.json``'s entry of its ops (``models``,
    ``read_measurements``), else ``metrics`` itself (not measured yet: still pending)."""
    if not isinstance(metrics, dict) or not isinstance(metrics.get("ops"), list):
        return metrics
    key = childnet_key(map(str, metrics["ops"]))
    measured = _joined(metrics.get("measured"), key, models, childnet=True)
    return metrics if measured is metrics.get("measured") else {**metrics, "measured": measured}


def join_baseline(row, models: dict):
    """A ``baselines.json`` row (upgraded: ``measured`` nested) with its measurement joined
    from ``models`` as ``join_metrics`` does."""
    if not isinstance(row, dict):
        return row
    measured = _joined(row.get("measured"), baseline_key(str(row.get("name"))), models, childnet=False)
    return row if measured is row.get("measured") else {**row, "measured": measured}


def read_baselines_file(path: str | Path, what: str, hint: str | None = None) -> list[dict]:
    """``baselines.json``'s rows, each an object naming its baseline, keys upgraded (rows written
    before ``measured`` was nested: ``hwnas.keys``); one ``UserError`` line naming the file
    (``what``: how the caller's error lines name a file; ``hint``: what to do about it)."""
    tail = f"; {hint}" if hint else ""
    rows = read_json(path, what, list, hint)
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("name"), str):
            raise UserError(f"{what} {path}: row {i}: expected an object with a name{tail}")
    return [upgrade(row, "baseline_row", str(path)) for row in rows]


def read_childnet(trial: str | Path, measurements: dict | None = None) -> dict:
    """A trial's ``child/metrics.json``, keys upgraded, its measurement joined (``measurements``:
    the experiment's entries, read from the trial's experiment folder when not given)."""
    path = child_dir(trial) / METRICS
    metrics = upgrade(read_json(path, "childnet result", dict), "metrics", str(path))
    return join_metrics(metrics, read_measurements(Path(trial).parent) if measurements is None else measurements)


def measured_baselines(experiment: str | Path) -> list[dict]:
    """``baselines.json``'s rows with their measurements joined ([] when not written)."""
    path = Path(experiment) / BASELINES
    if not path.is_file():
        return []
    models = read_measurements(experiment)
    return [join_baseline(row, models) for row in read_baselines_file(path, "baselines record")]
