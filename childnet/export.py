"""The deployable file of a childnet: TorchScript (or a ``torch.export`` program)
carrying its own metadata (input shape, ops, space) as an extra file, so a device
with only torch installed can load and time it.

Imports only torch and the standard library.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import torch

__all__ = ["EXPORT_FORMATS", "META_NAME", "export_model", "load_exported"]

EXPORT_FORMATS = ("torchscript", "export")
META_NAME = "hwnas.json"


def export_model(model: torch.nn.Module, path, meta: dict, fmt: str = "torchscript") -> Path:
    """Write ``model`` (eval mode) to ``path`` atomically. ``meta`` must hold
    ``input_shape`` ([C, H, W]); it is stored inside the file."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {EXPORT_FORMATS}")
    path = Path(path)
    meta = {**meta, "format": fmt}
    extra = {META_NAME: json.dumps(meta)}
    model = model.eval()
    example = torch.zeros(1, *meta["input_shape"])
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated but still the most portable
            if fmt == "torchscript":
                torch.jit.save(torch.jit.trace(model, example), tmp, _extra_files=extra)
            else:
                torch.export.save(torch.export.export(model, (example,)), tmp, extra_files=extra)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_exported(path) -> tuple[torch.nn.Module, dict]:
    """``(callable module, meta)`` of a file written by ``export_model``. Raises
    ``ValueError`` with one line when the file is not such a file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} not found")
    errors = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        try:
            extra = {META_NAME: ""}
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
            return module, _meta(extra[META_NAME], path)
        except (RuntimeError, ValueError) as err:
            errors.append(str(err).splitlines()[0] if str(err) else type(err).__name__)
        try:
            extra = {META_NAME: ""}
            program = torch.export.load(str(path), extra_files=extra)
            return program.module(), _meta(extra[META_NAME], path)
        except Exception as err:  # torch.export raises several types for foreign files
            errors.append(str(err).splitlines()[0] if str(err) else type(err).__name__)
    raise ValueError(f"{path}: not an exported childnet ({'; '.join(errors)[:300]})")


def _meta(raw, path) -> dict:
    if isinstance(raw, bytes):
        raw = raw.decode()
    try:
        meta = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict) or "input_shape" not in meta:
        raise ValueError(f"{path}: no {META_NAME} metadata with input_shape inside")
    return meta
