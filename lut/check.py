"""Checking a parsed LUT file: typed field access with one-line errors naming the file
and field (``Fields``), and the file's numbers as ``CostTensors`` (``cost_tensors``):
every number finite, the costs and the metadata (batch size, input shape, ...) in range.
The format is documented in ``lut/README.md``; ``lut.table.Lut`` wraps the result.
"""

from __future__ import annotations

import math

import torch

from hwnas.errors import UserError
from lut.cost import CostTensors
from lut.format import ENERGY_FIELDS, ENERGY_KINDS, FORMAT, FORMAT_VERSION

__all__ = ["Fields", "cost_tensors"]


class Fields:
    """Typed access to a parsed LUT with one-line errors naming the file and field."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, field: str, expected: str):
        raise UserError(f"LUT {self.source}: field {field}: expected {expected}")

    _KIND = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a finite number"}

    def get(self, d, key, field, kind, *, nullable=False):
        if not isinstance(d, dict) or key not in d:
            self.fail(field, f"{self._KIND[kind]} (missing)")
        return self.check(d[key], field, kind, nullable=nullable)

    def check(self, value, field, kind, *, nullable=False):
        if value is None and nullable:
            return None
        if kind is float:
            try:  # float(10**400) overflows: a huge integer is not a usable number either
                ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(float(value))
            except OverflowError:
                ok = False
            if not ok:
                self.fail(field, "a finite number" + (" or null" if nullable else ""))
            return float(value)
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            self.fail(field, "an integer")
        if kind is not int and not isinstance(value, kind):
            self.fail(field, self._KIND[kind])
        return value


def _finite_everywhere(data, f: Fields) -> None:
    """No NaN or infinity anywhere in the file (JSON parsers accept them): the first one
    found is named by its field. An iterative walk, since a file may be nested deep."""
    stack = [(data, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            f.fail(where or "(top level)", f"a finite number, got {value}")
        if isinstance(value, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(value))))


def _count(f: Fields, d: dict, key: str, field: str, low: int = 1) -> None:
    """An optional count (``batch_size``, ``threads``): absent, null, or an integer >= ``low``."""
    value = d.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
        f.fail(field, f"an integer >= {low} or null, got {value!r}"[:200])


def _metadata(data: dict, space: dict, device: dict, f: Fields) -> None:
    """The numbers a LUT says about itself, each in range where it is given."""
    _count(f, data, "batch_size", "batch_size")
    shape = data.get("input_shape")
    if shape is not None and not (
        isinstance(shape, list)
        and len(shape) == 3
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in shape)
    ):
        f.fail("input_shape", f"3 positive integers (channels, height, width), got {shape!r}"[:200])
    width = space.get("width")
    if width is not None and (isinstance(width, bool) or not isinstance(width, (int, float)) or width <= 0):
        f.fail("space.width", f"a positive number, got {width!r}"[:200])
    _count(f, space, "num_classes", "space.num_classes", low=2)
    _count(f, device, "threads", "device.threads")


def _energy_kinds(data: dict, version: int, source: str, f: Fields) -> dict[str, str]:
    """The energy kinds the file holds, each with the entry field it is in. Version 1
    had one field, ``energy_mj``: a meter's reading (total) or a model's (dynamic)."""
    if source == "none":
        return {}
    if version == 1:
        return {"dynamic" if source.startswith("model:") else "total": "energy_mj"}
    kinds = f.get(data, "energy_kinds", "energy_kinds", list)
    if not kinds or len(set(kinds)) != len(kinds) or not set(kinds) <= set(ENERGY_KINDS):
        f.fail(
            "energy_kinds",
            f"a non-empty list of distinct kinds among {list(ENERGY_KINDS)} "
            f"when energy_source is {source!r}, got {kinds!r}",
        )
    return {k: ENERGY_FIELDS[k] for k in kinds}


def cost_tensors(data: dict, source: str, energy_kind: str) -> CostTensors:
    """The parsed LUT file ``data`` (named ``source`` in errors) checked field by
    field, as ``CostTensors`` with its ``energy_kind`` energy and its calibration
    applied; a bad field raises a one-line ``UserError``. The fields are checked in
    file order (header, fixed part, layers, calibration), so the first bad one is named."""
    f = Fields(source)
    if energy_kind not in ENERGY_KINDS:
        raise UserError(f"lut.energy_kind: expected one of {', '.join(ENERGY_KINDS)}, got {energy_kind!r}")
    ops, energy_source, en_key = _header(data, energy_kind, f)
    has_energy = en_key is not None
    en_key = en_key or "energy_mj"
    fixed_lat, fixed_en = _fixed(data, en_key, has_energy, f)
    lat, en = _layer_tables(data, ops, en_key, has_energy, f)
    lat, fixed_lat = _calibrated(data, lat, fixed_lat, f)
    # the largest estimate must stay a number (entries near 1e308 each are finite, their sum is not)
    for name, table, base in (("latency_ms", lat, fixed_lat), (en_key, en, fixed_en)):
        if table is not None and not math.isfinite(base + float(table.max(dim=1).values.sum())):
            f.fail(f"layers[*].ops.*.{name}", "entries whose sums stay finite (the largest estimate overflows)")
    return CostTensors(
        op_names=tuple(ops),
        latency_fixed_ms=fixed_lat,
        latency_ms=lat,
        energy_fixed_mj=fixed_en,
        energy_mj=en,
        energy_source=energy_source,
        energy_kind=energy_kind if has_energy else None,
    )


def _header(data, energy_kind: str, f: Fields) -> tuple[list[str], str, str | None]:
    """Everything before the costs: the top level, format and version, space, device,
    metadata, energy source, op names and energy kinds. Returns ``(ops, energy_source,
    the entry field of the ``energy_kind`` energy or None when the file has no energy)``."""
    if not isinstance(data, dict):
        f.fail("(top level)", "a JSON object")
    _finite_everywhere(data, f)
    fmt = f.get(data, "format", "format", str)
    if fmt != FORMAT:
        f.fail("format", f"{FORMAT!r}, got {fmt!r}")
    version = f.get(data, "version", "version", int)
    if version not in (1, FORMAT_VERSION):
        f.fail("version", f"1 or {FORMAT_VERSION}, got {version} (written by another version of hwnas)")
    space = f.get(data, "space", "space", dict)
    for key in ("name", "hash", "layers_hash"):
        f.get(space, key, f"space.{key}", str)
    device = f.get(data, "device", "device", dict)
    _metadata(data, space, device, f)
    energy_source = f.get(data, "energy_source", "energy_source", str)
    ops = f.get(data, "ops", "ops", list)
    if not ops or not all(isinstance(o, str) for o in ops) or len(set(ops)) != len(ops):
        f.fail("ops", "a non-empty list of distinct op names")
    kinds = _energy_kinds(data, version, energy_source, f)
    if kinds and energy_kind not in kinds:
        f.fail("energy_kinds", f"{energy_kind} energy (lut.energy_kind: {energy_kind}), got {list(kinds)} only")
    return ops, energy_source, kinds[energy_kind] if kinds else None


def _fixed(data: dict, en_key: str, has_energy: bool, f: Fields) -> tuple[float, float | None]:
    """The fixed part's ``(latency_ms, energy or None)``; energy is null without an energy source."""
    fixed = f.get(data, "fixed", "fixed", dict)
    fixed_lat = _cost(f, f.get(fixed, "latency_ms", "fixed.latency_ms", float), "fixed.latency_ms", zero_ok=True)
    fixed_en = f.get(fixed, en_key, f"fixed.{en_key}", float, nullable=not has_energy)
    if fixed_en is not None:
        _cost(f, fixed_en, f"fixed.{en_key}", zero_ok=True)
    if not has_energy and fixed_en is not None:
        f.fail("fixed.energy_mj", "null when energy_source is 'none'")
    return fixed_lat, fixed_en


def _layer_tables(data: dict, ops: list[str], en_key: str, has_energy: bool, f: Fields):
    """The layer x op ``(latency, energy or None)`` tables (float64), every entry checked."""
    layers = f.get(data, "layers", "layers", list)
    if not layers:
        f.fail("layers", "a non-empty list")
    lat = torch.empty(len(layers), len(ops), dtype=torch.float64)
    en = torch.empty(len(layers), len(ops), dtype=torch.float64) if has_energy else None
    for i, layer in enumerate(layers):
        entries = f.get(layer, "ops", f"layers[{i}].ops", dict)
        for j, op in enumerate(ops):
            where = f"layers[{i}].ops.{op}"
            entry = f.get(entries, op, where, dict)
            # 0 is the cost of an identity skip only (build_network removes it)
            lat[i, j] = _cost(
                f, f.get(entry, "latency_ms", f"{where}.latency_ms", float), f"{where}.latency_ms", zero_ok=op == "skip"
            )
            e = f.get(entry, en_key, f"{where}.{en_key}", float, nullable=not has_energy)
            if has_energy:
                en[i, j] = _cost(f, e, f"{where}.{en_key}", zero_ok=op == "skip")
            elif e is not None:
                f.fail(f"{where}.energy_mj", "null when energy_source is 'none'")
    return lat, en


def _calibrated(data: dict, lat: torch.Tensor, fixed_lat: float, f: Fields) -> tuple[torch.Tensor, float]:
    """The latencies with the file's calibration applied, if it has one: total' = scale *
    total + offset keeps the model additive, so every entry and the fixed part are scaled
    and the offset goes to the fixed part."""
    calibration = data.get("calibration")
    if calibration is None:
        return lat, fixed_lat
    f.check(calibration, "calibration", dict)
    scale = f.get(calibration, "latency_scale", "calibration.latency_scale", float)
    offset = f.get(calibration, "latency_offset_ms", "calibration.latency_offset_ms", float)
    if scale <= 0:
        f.fail("calibration.latency_scale", f"a positive number, got {scale}")
    return lat * scale, fixed_lat * scale + offset


def _cost(f: Fields, value: float, field: str, zero_ok: bool) -> float:
    """A cost is finite and positive (0 allowed where ``zero_ok``)."""
    if value < 0 or (value == 0 and not zero_ok):
        f.fail(field, f"a {'non-negative' if zero_ok else 'positive'} number, got {value}")
    return value
