"""The LUTs a run may use, uploads, and the knob preview.

A LUT choice is a name the server maps to a file, never a path from the browser:
``builtin:<name>`` (the package's tables), ``host:<file>`` (this host's cached LUTs,
``lut.cache.cache_path``) and ``upload:<sha>.json`` (files uploaded here, validated
with ``lut.table`` before they are kept in ``<storage>/luts/``). Each choice names the
deployment target its LUT describes (``target``: ``executorch-fp32``; the builtin tables
``pytorch-fp32``), which a run's target must be.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from hwnas.config import load_config
from hwnas.errors import UserError
from hwnas.io import atomic_write_bytes, parse_json
from hwnas.space import get_space
from lut import builtin_names, cache_path, load_lut
from lut.table import lut_from_dict
from sweep.knobs import dominance_of, start_costs

__all__ = ["MAX_UPLOAD_BYTES", "choices", "knob_preview", "resolve_choice", "save_upload"]

MAX_UPLOAD_BYTES = 4 * 2**20  # LUTs are tens of kB; a profiled 22-layer table well under 1 MB
_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.json")


def _host_dir() -> Path:
    return cache_path(get_space("fbnet-cpu")).parent  # every space's cached LUT lives in this folder


def _upload_dir(storage: Path) -> Path:
    return storage / "luts"


def choices(storage: Path) -> list[dict]:
    """``[{"value", "label", "target"}]``: built-ins, then this host's cached LUTs, then uploads."""
    out = []
    for n in builtin_names():
        target = load_lut(f"builtin:{n}").target
        out.append({"value": f"builtin:{n}", "label": f"builtin: {n} ({target})", "target": target.key})
    for kind, folder in (("host", _host_dir()), ("upload", _upload_dir(storage))):
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                lut = load_lut(str(path))
            except UserError:
                continue  # a broken cache file is not offered
            space = lut.space_record
            out.append(
                {
                    "value": f"{kind}:{path.name}",
                    "label": f"{kind}: {space.get('name')} x{space.get('width')} ({lut.device.get('name') or '?'}"
                    f"{', energy' if lut.has_energy else ''}; {lut.target}) {path.name[:12]}",
                    "target": lut.target.key,
                }
            )
    return out


def resolve_choice(choice: str, storage: Path) -> str:
    """The ``lut.path`` of a choice (``load_lut``'s spec); ``UserError`` for anything else."""
    kind, _, name = str(choice).partition(":")
    if kind == "builtin" and name in builtin_names():
        return choice
    folder = {"host": _host_dir(), "upload": _upload_dir(storage)}.get(kind)
    if folder is not None and _FILE.fullmatch(name) and (folder / name).is_file():
        return str((folder / name).resolve())
    raise UserError(f"lut {choice[:80]!r}: expected one of the offered LUTs (builtin:…, host:…, upload:…)")


def save_upload(filename: str, data: bytes, storage: Path) -> dict:
    """Validate an uploaded LUT and keep it as ``<storage>/luts/<sha256>.json``; its choice."""
    name = Path(filename or "upload.json").name[:80]
    if len(data) > MAX_UPLOAD_BYTES:
        raise UserError(f"LUT {name}: {len(data)} bytes, more than the upload limit of {MAX_UPLOAD_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"LUT {name}: not UTF-8 text (expected a JSON LUT file)") from None
    lut = lut_from_dict(parse_json(text, f"LUT {name}"), name)  # the one LUT check: one line naming the field
    if lut.space_record.get("definition") is not None:
        lut.search_space()  # a profiled LUT's space definition must match its layers
    digest = hashlib.sha256(data).hexdigest()[:16]
    atomic_write_bytes(_upload_dir(storage) / f"{digest}.json", data)
    made_for = lut.space_record
    return {
        "value": f"upload:{digest}.json",
        "label": f"upload: {made_for.get('name')} x{made_for.get('width')} ({name}; {lut.target})",
        "target": lut.target.key,
    }


def knob_preview(choice: str, storage: Path, knobs: dict) -> dict:
    """LAT0/ENER0 (the chosen LUT's expected cost under uniform theta), vLAT = alpha·LAT0^beta,
    vENER = gamma·ENER0^delta and which term dominates (``sweep.knobs``). Knobs are checked
    by the config's rules (one line naming ``loss.<knob>``)."""
    cfg = load_config(None, [f"loss.{k}={knobs.get(k, '')}" for k in ("alpha", "beta", "gamma", "delta")])
    lut = load_lut(resolve_choice(choice, storage))
    start = start_costs(lut.cost_tensors(), use_energy=True)
    loss = cfg.loss
    terms = dominance_of({"alpha": loss.alpha, "beta": loss.beta, "gamma": loss.gamma, "delta": loss.delta}, start)
    return {
        "lat0_ms": start.lat0_ms,
        "ener0_mj": start.ener0_mj,
        **terms,
        "lut_space": {k: lut.space_record.get(k) for k in ("name", "width")},
        "has_energy": lut.has_energy,
    }
