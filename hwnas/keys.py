"""Renamed record keys: one spelling per quantity, and old files still load.

``latency_ms``/``energy_mj`` once meant four things in flat records. Each now has one name:

- ``lut_latency_ms``/``lut_energy_mj``: a LUT estimate of a fixed architecture (``arch.json``,
  ``metrics.json`` ``lut`` and ``lut_estimates``, result rows, the searcher's metric names);
- ``expected_latency_ms``/``expected_energy_mj``: the expected LUT cost under P(theta) while
  the supernet searches (``progress.json``, search rows; the rows once said ``search_latency_ms``);
- ``measured_latency_ms``/``measured_energy_mj``: measured;
- ``lat0_ms``/``ener0_mj``/``ce0``: the costs at the search start that scale the knobs
  (``sweep.json`` ``knobs.start``).

A nested record that is entirely a measurement (``measured``, ``measurements.json`` entries)
or entirely a LUT file's table keeps the short ``latency_ms``: its place says what it is.

``RENAMED`` is the one table of old -> new names, per record kind; ``NESTED`` says where a record
holds another kind; ``MOVED`` names the flat keys a record now keeps in a nested object
(``baselines.json`` rows: their measurement, once top-level, is ``measured`` as a childnet's).
Every reader of a file that may be old passes what it read through ``upgrade``: a copy with
the old keys under their new names (where both are there, the new one wins: a resumed old
sweep's rows carry both, see ``metric_aliases``). The first old key a process meets prints
one deprecation line on stderr; later ones are silent. Torch-free.

``deprecated`` prints every rename's deprecation line, once per process and thing renamed:
the record keys here, the config keys (``hwnas.config``), the old flag ``--mode`` and the old
device spelling (``hwnas.device_name``).
"""

from __future__ import annotations

import sys

__all__ = ["MOVED", "NESTED", "RENAMED", "deprecated", "metric_aliases", "upgrade"]

_LUT = {"latency_ms": "lut_latency_ms", "energy_mj": "lut_energy_mj"}
_EXPECTED = {"latency_ms": "expected_latency_ms", "energy_mj": "expected_energy_mj"}

# record kind -> {old key: new key}
RENAMED: dict[str, dict[str, str]] = {
    "arch": _LUT,  # search/arch.json
    "lut_estimate": _LUT,  # metrics.json lut and lut_estimates[]
    "metric_name": _LUT,  # sweep.json metrics: the Ray Tune / Optuna metric names
    "result_row": {**_LUT, "search_latency_ms": "expected_latency_ms", "search_energy_mj": "expected_energy_mj"},
    "search_metrics": _EXPECTED,  # progress.json metrics, supernet.search's per-epoch metrics
    "start": {"latency_ms": "lat0_ms", "energy_mj": "ener0_mj", "ce": "ce0"},  # sweep.json knobs.start
    "sweep": {"mode": "dominant"},  # sweep.json: sweep.dominant was sweep.mode
}

# record kind -> ((key, kind of the record under it: an object or a list of objects), ...)
NESTED: dict[str, tuple[tuple[str, str], ...]] = {
    "metrics": (("lut", "lut_estimate"), ("lut_estimates", "lut_estimate")),  # child/metrics.json
    "child_entry": (("metrics", "metrics"),),  # children/<key>.json
    "progress": (("metrics", "search_metrics"),),  # search/progress.json
    "sweep": (("knobs", "knobs"),),  # sweep.json (its metrics list: metric_aliases)
    "knobs": (("start", "start"),),
}

# record kind -> (nested key, the keys that moved into it)
MOVED: dict[str, tuple[str, tuple[str, ...]]] = {
    "baseline_row": (
        "measured",
        (
            *("latency_ms", "latency_iqr_ms", "energy_mj", "energy_dynamic_mj", "idle_w", "energy_source"),
            *("device", "node", "threads", "batch_size", "rel_iqr", "noisy", "latency_ms_at_lut_speed"),
            *("speed_factor", "pending"),
        ),
    ),
}

_TOLD: set = set()  # what this process named in a deprecation line already (tests clear it)
_RECORD_KEYS = "record keys"  # old record keys get one line per process, whichever comes first


def deprecated(line: str, once) -> None:
    """The deprecation ``line`` on stderr, unless this process printed one for ``once`` (what
    was renamed, e.g. ``(file, old key)``) already: a command reading an old file twice, or
    many old files, says it once."""
    if once not in _TOLD:
        _TOLD.add(once)
        print(line, file=sys.stderr)


def _tell(where: str | None, old: str, new: str) -> None:
    if where is not None:
        deprecated(f"{where}: key '{old}' is read as '{new}' (renamed; old files still load)", _RECORD_KEYS)


def upgrade(record, kind: str, where: str | None = None):
    """``record`` (as read from a file of ``kind``) with every old key of ``RENAMED`` under its
    new name, nested records too (``NESTED``), and the keys ``MOVED`` names inside their nested
    object: a copy when anything changed, else ``record``
    itself. Not a dict: returned as it is (the reader's own checks name it). ``where`` names
    the file in the deprecation line (None: silent, e.g. rows a resumed sweep wrote itself)."""
    if not isinstance(record, dict):
        return record
    out = _moved(record, kind, where)
    for old, new in RENAMED.get(kind, {}).items():
        if old in out:
            out = dict(out)
            value = out.pop(old)
            if new not in out:  # both there: a row that carries the old name as an alias
                out[new] = value
                _tell(where, old, new)
    for key, inner in NESTED.get(kind, ()):
        value = out.get(key)
        if isinstance(value, list):
            new_value = [upgrade(item, inner, where) for item in value]
            changed = any(a is not b for a, b in zip(new_value, value))
        else:
            new_value = upgrade(value, inner, where)
            changed = new_value is not value
        if changed:
            out = {**out, key: new_value}
    return out


def _moved(record: dict, kind: str, where: str | None) -> dict:
    """``record`` with the keys ``MOVED`` names for ``kind`` inside their nested object (a copy
    when any was there; a record that has the nested object already is left as it is)."""
    if kind not in MOVED:
        return record
    nested, keys = MOVED[kind]
    found = [key for key in keys if key in record]
    if nested in record or not found:
        return record
    out = {k: v for k, v in record.items() if k not in found}
    out[nested] = {key: record[key] for key in found}
    _tell(where, found[0], f"{nested}.{found[0]}")
    return out


def metric_aliases(metrics, where: str | None = None) -> dict[str, str]:
    """``{old: new}`` for each name of ``metrics`` (sweep.json's, the names Ray Tune's searcher
    and the Optuna study of the experiment use) that is an old one. A resumed old sweep keeps
    its study's names: its trials report each such value under the old name too."""
    renamed = RENAMED["metric_name"]
    aliases = {m: renamed[m] for m in metrics or () if isinstance(m, str) and m in renamed}
    for old, new in aliases.items():
        _tell(where, old, new)
    return aliases
