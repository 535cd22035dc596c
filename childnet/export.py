"""A childnet's files: the deployment artifact and the data file a device measures.

- ``model.pt`` (``export_model``): TorchScript (the deprecated ``torchscript`` target)
  carrying its metadata as an extra file. It is *code*: loading it runs what it says (a
  crafted TorchScript file can write files while it loads). Deploy only such files from
  a trusted source; nothing here measures one. The other targets' files:
  ``childnet.deploy``.
- ``model.weights.pt`` (``save_model_data`` / ``load_model_data``): plain data, what
  ``childnet.measure`` loads. ``{"meta": {...}, "state_dict": {name: tensor}}`` written
  by ``torch.save``; read with ``torch.load(weights_only=True)`` after checking that the
  archive holds only what ``torch.save`` writes (no TorchScript code, no export
  program). The network is rebuilt from the meta through the op registry
  (``hwnas.network.build_network``: space name, width, classes, op names) or the
  baseline registry (``hwnas.baselines``), and the weights are loaded with
  ``strict=True``. Anything else is refused with one line; there is no fallback.

Imports only torch, the standard library and hwnas basics (space, ops, network, baselines).
"""

from __future__ import annotations

import json
import math
import re
import warnings
import zipfile
from pathlib import Path

import torch

from hwnas.domains import CLASSES, WIDTH
from hwnas.errors import UserError
from hwnas.io import atomic_save, atomic_write
from hwnas.layout import WEIGHTS

__all__ = [
    "DATA_FORMAT",
    "META_NAME",
    "export_model",
    "load_exported",
    "load_model_data",
    "model_data_meta",
    "save_model_data",
]

META_NAME = "hwnas.json"
DATA_FORMAT = "hwnas-model-data"
DATA_VERSION = 1
# the members torch.save writes (under one top folder); TorchScript adds code/ and
# constants.pkl, torch.export models/ and extra files: refused before anything is unpickled
_SAVE_MEMBER = re.compile(
    r"[^/]+/(data\.pkl|version|byteorder|\.format_version|\.storage_alignment|"
    r"\.data/serialization_id|data/\d+)"
)
MAX_INPUT_ELEMENTS = 3 * 1024 * 1024  # one input image at most this large (C*H*W)


def export_model(model: torch.nn.Module, path, meta: dict) -> Path:
    """Write ``model`` (eval mode) as TorchScript to ``path`` atomically (the deprecated
    ``torchscript`` target's file). ``meta`` must hold ``input_shape`` ([C, H, W]); it is
    stored inside the file."""
    path = Path(path)
    extra = {META_NAME: json.dumps({**meta, "format": "torchscript"})}
    model = model.eval()
    example = torch.zeros(1, *meta["input_shape"])

    def write(tmp):
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated: old setups only
            torch.jit.save(torch.jit.trace(model, example), tmp, _extra_files=extra)

    return atomic_write(path, write)


def load_exported(path) -> tuple[torch.nn.Module, dict]:
    """``(callable module, meta)`` of a TorchScript file written by ``export_model``.
    RUNS CODE from the file: for trusted files only (tests, deployment checks);
    ``childnet.measure`` never calls it. ``ValueError`` with one line when it fails."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} not found")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        try:
            extra = {META_NAME: ""}
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
            return module, _meta(extra[META_NAME], path)
        except (RuntimeError, ValueError) as err:
            raise ValueError(f"{path}: not an exported childnet ({(str(err).splitlines() or [''])[0][:300]})") from None


def save_model_data(model: torch.nn.Module, path, meta: dict) -> Path:
    """Write the data file of ``model`` atomically: ``meta`` (checked as a reader will
    check it) and the weights. ``meta``: ``input_shape`` and either ``ops`` + ``space``
    (``name``, ``width``, ``num_classes``; a childnet) or ``baseline`` + ``num_classes`` (+ ``width``,
    ``stem_stride``)."""
    meta = {**meta, "format": DATA_FORMAT, "version": DATA_VERSION}
    meta = json.loads(json.dumps(meta))  # plain JSON types only: what weights_only can read back
    model_data_meta(meta, path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return atomic_save({"meta": meta, "state_dict": state}, path)


def _refuse(path, why: str):
    raise UserError(f"{path}: not an exported childnet data file ({WEIGHTS}, {DATA_FORMAT}): {why}")


def _check_archive(path: Path) -> None:
    """Only what ``torch.save`` writes: no TorchScript code, no export program."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        _refuse(path, f"not a torch.save archive ({type(err).__name__})")
    odd = [n for n in names if not _SAVE_MEMBER.fullmatch(n)]
    if odd or len({n.split("/", 1)[0] for n in names}) != 1:
        what = (
            "TorchScript code"
            if any(n.split("/", 1)[-1].startswith(("code/", "constants.pkl")) for n in odd)
            else "a torch.export program"
            if any("/models/" in n or n.endswith(".json") for n in odd)
            else f"member {odd[0] if odd else names[0]!r}"
        )
        _refuse(
            path,
            f"the archive holds {what} (model files are data; TorchScript/export files are code and "
            f"are never loaded here)",
        )


def model_data_meta(meta, path) -> dict:
    """``meta`` of a data file checked: format, version, ``input_shape`` (3 positive
    integers, one image at most ``MAX_INPUT_ELEMENTS``), then a childnet's ``ops`` and
    ``space`` or a baseline's ``baseline``, ``num_classes``, ``width`` and ``stem_stride``."""
    if not isinstance(meta, dict):
        _refuse(path, f"meta: expected an object, got {type(meta).__name__}")
    if meta.get("format") != DATA_FORMAT or meta.get("version") != DATA_VERSION:
        _refuse(
            path,
            f"meta.format/version: expected {DATA_FORMAT!r} version {DATA_VERSION}, got "
            f"{str(meta.get('format'))[:40]!r} version {str(meta.get('version'))[:20]}",
        )
    shape = meta.get("input_shape")
    if (
        not isinstance(shape, list)
        or len(shape) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_INPUT_ELEMENTS for v in shape)
        or math.prod(shape) > MAX_INPUT_ELEMENTS
    ):
        _refuse(
            path,
            f"meta.input_shape: expected [channels, height, width] of positive integers (at most "
            f"{MAX_INPUT_ELEMENTS} values), got {str(shape)[:60]}",
        )
    if "baseline" in meta:
        from hwnas.baselines import BASELINES

        if meta["baseline"] not in BASELINES:
            _refuse(path, f"meta.baseline: expected one of {', '.join(BASELINES)}, got {str(meta['baseline'])[:40]!r}")
        _classes(meta.get("num_classes"), path, "meta.num_classes")
        _width(meta.get("width", 1.0), path, "meta.width")
        stride = meta.get("stem_stride", 1)
        if isinstance(stride, bool) or not isinstance(stride, int) or stride not in (1, 2, 4):
            _refuse(path, f"meta.stem_stride: expected 1, 2 or 4, got {str(stride)[:30]}")
        return meta
    ops, space = meta.get("ops"), meta.get("space")
    if not isinstance(ops, list) or not ops or not all(isinstance(o, str) for o in ops):
        _refuse(path, f"meta.ops: expected a non-empty list of op names, got {str(ops)[:60]}")
    if not isinstance(space, dict) or not isinstance(space.get("name"), str):
        _refuse(path, "meta.space: expected an object with name, width, num_classes")
    _width(space.get("width"), path, "meta.space.width")
    _classes(space.get("num_classes"), path, "meta.space.num_classes")
    return meta


def _width(width, path, field: str) -> None:
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not WIDTH.allows(width):
        _refuse(path, f"{field}: expected a number {WIDTH}, got {str(width)[:30]}")


def _classes(value, path, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not CLASSES.allows(value):
        _refuse(path, f"{field}: expected an integer {CLASSES}, got {str(value)[:30]}")


def _rebuild(meta: dict, path) -> torch.nn.Module:
    """The network the meta names, built here from the registries."""
    if "baseline" in meta:
        from hwnas.baselines import baseline_model

        try:  # files from before widths existed: full width, CIFAR-style stem (stride 1)
            return baseline_model(
                meta["baseline"],
                meta["num_classes"],
                meta["input_shape"],
                float(meta.get("width", 1.0)),
                meta.get("stem_stride", 1),
            )
        except UserError as err:
            _refuse(path, f"meta: {err}")
    from hwnas.network import build_network
    from hwnas.space import get_space

    sp = meta["space"]
    try:
        space = get_space(sp["name"], float(sp["width"]), sp["num_classes"])
        net = build_network(space, meta["ops"])
    except UserError as err:
        _refuse(path, f"meta: {err}")
    if list(space.input_shape) != meta["input_shape"]:
        _refuse(
            path, f"meta.input_shape: space {space.name} takes {list(space.input_shape)}, got {meta['input_shape']}"
        )
    return net


def load_model_data(path) -> tuple[torch.nn.Module, dict]:
    """``(network in eval mode, meta)`` rebuilt from a data file written by
    ``save_model_data``. Runs no code from the file; anything else is a one-line
    ``UserError``."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"model file {path} not found")
    _check_archive(path)
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip, EOF, a refused global: all "not a data file"
        _refuse(path, f"unreadable ({type(err).__name__}: {(str(err).strip().splitlines() or [''])[0][:120]})")
    if not isinstance(data, dict) or set(data) != {"meta", "state_dict"}:
        _refuse(path, "expected an object with exactly meta and state_dict")
    meta = model_data_meta(data["meta"], path)
    state = data["state_dict"]
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        _refuse(path, "state_dict: expected an object of named tensors")
    net = _rebuild(meta, path)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as err:  # missing/unexpected keys, shape mismatch
        _refuse(path, f"state_dict does not fit the rebuilt network ({' '.join(str(err).split())[:160]})")
    return net.eval(), meta


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
