"""The experiment record ``<storage>/<name>/sweep.json`` and what it pins down.

``sweep.json`` holds the resolved config (so ``--resume`` continues exactly the same
sweep and refuses a different one), the trial budget (``--resume --trials N`` raises
it; ``sweep.searcher.BudgetedSearch`` reads it), the objectives, how knobs are
parametrized, the LUT the trials use and the shared warm-up. Files are written
atomically: a reader never sees half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hwnas.config import ExperimentConfig, config_from_dict, config_to_dict
from hwnas.data import NUM_CLASSES
from hwnas.errors import UserError
from hwnas.space import SearchSpace, get_space

__all__ = ["RECORD", "absolute_paths", "config_diff", "read_record", "space_of", "write_json"]

RECORD = "sweep.json"
# Keys that may change when a sweep is resumed: the budget only.
_RESUMABLE = {"sweep.trials"}


def space_of(cfg: ExperimentConfig) -> SearchSpace:
    """The search space the config describes (classes: the dataset's unless given)."""
    classes = cfg.space.num_classes or NUM_CLASSES.get(cfg.data.dataset)
    return get_space(cfg.space.preset, cfg.space.width, classes)


def absolute_paths(config: dict, base: str | Path) -> dict:
    """A copy of a config dict whose relative file paths (``data.root``, a LUT file in
    ``lut.path``) are made absolute against ``base``: trials run in Ray's per-trial
    working directories, where a relative path would point elsewhere (e.g. download
    the dataset into every trial)."""
    out = json.loads(json.dumps(config))
    root = out["data"].get("root")
    if root and not Path(root).is_absolute():
        out["data"]["root"] = str((Path(base) / root).resolve())
    lut = out["lut"]["path"]
    if lut != "auto" and not lut.startswith("builtin:") and not Path(lut).is_absolute():
        out["lut"]["path"] = str((Path(base) / lut).resolve())
    return out


def write_json(path: str | Path, data) -> Path:
    """Write JSON atomically (temporary file in the same directory, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_record(experiment: str | Path) -> tuple[dict, ExperimentConfig]:
    """``sweep.json`` of an experiment and its config; one-line error if absent or bad."""
    path = Path(experiment) / RECORD
    if not path.is_file():
        raise UserError(f"--resume: no sweep experiment at {experiment} ({RECORD} not found)")
    try:
        record = json.loads(path.read_text())
        cfg = config_from_dict(record["config"], source=f"{path}: config")
    except (ValueError, KeyError, TypeError) as err:
        raise UserError(f"{path}: not a sweep record ({err.__class__.__name__}: {err})") from None
    return record, cfg


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        out.update(_flat(value, f"{name}.") if isinstance(value, dict) else {name: value})
    return out


def config_diff(old: ExperimentConfig, new: ExperimentConfig) -> list[str]:
    """``key: old -> new`` for every setting that differs, except the resumable budget."""
    a, b = _flat(config_to_dict(old)), _flat(config_to_dict(new))
    return [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k) and k not in _RESUMABLE]
