"""The deployment target an experiment's costs describe, as the report names it.

A target is a runtime and a precision (``hwnas.target``; config section ``deploy``), written
as a record ``{"runtime", "precision", "runtime_version"}`` or a key ``<runtime>-<precision>``
(``executorch-fp32``). A childnet's ``metrics.json`` names the target it was exported to
(``deploy``) and the one it was timed in (``measured.deploy``); each LUT estimate names the
target its LUT describes (``target``); the sweep's LUT file has a top-level ``deploy``.
:func:`experiment_deploy` is report.json's ``deploy``: the target the trials were timed in
(else exported to, else the LUT's, else the config's), and whether they all agree.
The names are the report's wording, kept here as data (``hwnas.target`` checks and runs targets).
"""

from collections import Counter

import pandas as pd

__all__ = [
    "experiment_deploy",
    "int8_drop_points",
    "model_kind",
    "split_key",
    "target_key",
    "target_label",
]

_NAMES = {
    "executorch": "ExecuTorch",
    "onnxruntime": "ONNX Runtime",
    "torchscript": "TorchScript",
    "pytorch": "PyTorch eager",
}
# what the deployed file is, by its name's ending (childnet.deploy's names)
_KINDS = (
    (".weights.pt", "PyTorch data file, rebuilt by this package"),
    (".pte", "ExecuTorch program: data, loaded by the ExecuTorch runtime"),
    (".onnx", "ONNX graph: data, loaded by ONNX Runtime"),
    (".pt", "TorchScript: code, trusted sources only"),
)


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def target_key(record) -> str | None:
    """``executorch-fp32`` for a deploy record (None when it names no runtime and precision)."""
    if not isinstance(record, dict) or not _text(record.get("runtime")) or not _text(record.get("precision")):
        return None
    return f"{record['runtime']}-{record['precision']}"


def split_key(key) -> dict | None:
    """``{"runtime", "precision"}`` of a key (None for anything else)."""
    if not _text(key) or "-" not in key:
        return None
    runtime, _, precision = key.rpartition("-")
    return {"runtime": runtime, "precision": precision}


def target_label(key, version=None) -> str:
    """``ExecuTorch fp32 (1.5.1)`` for a key and its runtime's version; ``target unknown`` without a key."""
    parts = split_key(key)
    if parts is None:
        return "target unknown"
    extras = [str(version)] if _text(version) else []
    if parts["runtime"] == "torchscript":
        extras.append("deprecated by PyTorch")
    name = _NAMES.get(parts["runtime"], parts["runtime"])
    return f"{name} {parts['precision']}" + (f" ({'; '.join(extras)})" if extras else "")


def model_kind(file_name) -> str | None:
    """What a deployed file is, by its name (``.pte``/``.onnx`` are data a runtime loads, a
    TorchScript ``.pt`` is code); None for no file."""
    if not _text(file_name):
        return None
    return next((kind for suffix, kind in _KINDS if file_name.endswith(suffix)), "deployed file")


def int8_drop_points(test_acc, test_acc_int8) -> float | None:
    """Accuracy the int8 program lost, in points: 100 x (fp32 test_acc - test_acc_int8)."""
    if test_acc is None or test_acc_int8 is None or pd.isna(test_acc) or pd.isna(test_acc_int8):
        return None
    return round(100.0 * (float(test_acc) - float(test_acc_int8)), 6)


def _timed(row: dict) -> tuple:
    """A finished trial's target: the one it was timed in, else the one it was exported to."""
    for prefix in ("measured", "deploy"):
        key = row.get(f"{prefix}_target")
        if _text(key):
            version = row.get(f"{prefix}_runtime_version")
            return key, version if _text(version) else None
    return None, None


def _search_lut_target(finished: list) -> str | None:
    """The target the finished trials' search LUT describes, as its estimates name it."""
    keys = Counter(row.get(f"lut_target[{row.get('search_lut')}]") for row in finished)
    keys = [k for k, _ in keys.most_common() if _text(k)]
    return keys[0] if keys else None


def experiment_deploy(trials: pd.DataFrame, lut_record: dict | None, config: dict | None) -> dict:
    """report.json's ``deploy`` (module docstring). ``lut_record``: the search LUT's ``deploy``;
    ``config``: sweep.json's ``config.deploy``. ``agree`` is false, and ``note`` says why, when
    the finished trials were timed (or exported) in different targets or runtime versions, or
    in another target than the search LUT describes."""
    finished = trials[trials["status"] == "finished"].to_dict("records")
    counts = Counter(_timed(row) for row in finished)
    counts.pop((None, None), None)
    groups = [{"target": k, "runtime_version": v, "n": n} for (k, v), n in counts.most_common()]
    lut_key = target_key(lut_record) or _search_lut_target(finished)
    if target_key(lut_record) is not None:
        lut = {k: lut_record.get(k) for k in ("runtime", "precision", "runtime_version")}
    else:  # the search LUT's estimates name its target (without the runtime's version)
        lut = None if lut_key is None else {**split_key(lut_key), "runtime_version": None}
    if groups:
        key, version, source = groups[0]["target"], groups[0]["runtime_version"], "trials"
    elif lut_key is not None:
        key, version, source = lut_key, _text(lut.get("runtime_version")), "lut"
    elif target_key(config) is not None:
        key, version, source = target_key(config), None, "config"
    else:
        key, version, source = None, None, None
    notes = []
    keys = {g["target"] for g in groups}
    if len(groups) > 1:
        what = "targets" if len(keys) > 1 else "runtime versions"
        listed = ", ".join(f"{g['n']} in {target_label(g['target'], g['runtime_version'])}" for g in groups)
        notes.append(f"the finished trials disagree on the {what}: {listed}; their latencies do not compare")
    if lut_key is not None and keys and keys != {lut_key}:
        notes.append(
            f"the search LUT describes {target_label(lut_key, lut.get('runtime_version'))}, "
            f"the trials {', '.join(sorted(target_label(k) for k in keys))}"
        )
    parts = split_key(key) or {"runtime": None, "precision": None}
    return {
        **parts,
        "runtime_version": version,
        "target": key,
        "label": target_label(key, version),
        "source": source,
        "lut": lut,
        "trials": groups,
        "agree": not notes,
        "note": "; ".join(notes) or None,
    }
