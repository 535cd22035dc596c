"""The LUT file: read, check, write. The format is documented in ``lut/README.md``.

A ``Lut`` is an additive cost model (``TableCost``) plus what the file says about
where its numbers come from (space, device, protocol, energy source, calibration).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

from hwnas.errors import UserError
from hwnas.io import atomic_write_json, parse_json
from hwnas.space import SearchSpace, Stage
from lut.cost import CostTensors, TableCost

__all__ = [
    "ENERGY_FIELDS",
    "ENERGY_KINDS",
    "FORMAT",
    "FORMAT_VERSION",
    "Lut",
    "builtin_names",
    "load_lut",
    "lut_from_dict",
    "save_lut",
    "space_from_definition",
]

FORMAT = "hwnas-lut"
FORMAT_VERSION = 2  # 2: energy of two kinds (energy_kinds, energy_mj total, energy_dynamic_mj); 1 is still read
ENERGY_KINDS = ("dynamic", "total")
# Version 2 spells the two kinds apart: total = what the meter read, dynamic = total - idle power x time.
ENERGY_FIELDS = {"total": "energy_mj", "dynamic": "energy_dynamic_mj"}
BUILTIN_DIR = Path(__file__).parent / "builtin"


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.json"))


class _Fields:
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


class Lut(TableCost):
    """A lookup table read from a file (or produced by ``lut.profile``).

    ``data`` is the parsed file (see ``lut/README.md``). Estimates are
    ``fixed + sum over layers`` of the (calibrated, if the file has a ``calibration``
    block) entries; ``cost_tensors()`` gives them in the LUT's op order.
    """

    def __init__(self, data: dict, name: str = "<memory>", energy_kind: str = "dynamic"):
        self.data = data
        self.name = name
        super().__init__(_tensors(data, _Fields(name), energy_kind))

    # what the file says about itself
    @property
    def space_record(self) -> dict:
        """The file's ``space`` field (name, width, layers_hash, definition, ...); the
        search space itself is ``search_space()``."""
        return self.data["space"]

    @property
    def device(self) -> dict:
        return self.data["device"]

    @property
    def protocol(self) -> dict:
        return self.data.get("protocol", {})

    @property
    def calibration(self) -> dict | None:
        return self.data.get("calibration")

    @property
    def op_names(self) -> tuple[str, ...]:
        return self.tensors.op_names

    @property
    def num_layers(self) -> int:
        return self.tensors.latency_ms.shape[0]

    @property
    def has_energy(self) -> bool:
        return self.tensors.has_energy

    @property
    def energy_kind(self) -> str | None:
        """Which energy the estimates and ``cost_tensors()`` hold (``None``: no energy)."""
        return self.tensors.energy_kind

    def check_space(self, space: SearchSpace) -> None:
        """``UserError`` unless ``space`` has the same searchable layers as this LUT."""
        if space.layers_hash() != self.space_record["layers_hash"]:
            raise UserError(
                f"LUT {self.name}: made for space {self.space_record['name']} (width {self.space_record.get('width')}, "
                f"layers_hash {self.space_record['layers_hash']}), not for {space.name} (width {space.width}, "
                f"layers_hash {space.layers_hash()})"
            )
        if tuple(space.ops) != self.op_names:
            raise UserError(f"LUT {self.name}: ops {list(self.op_names)} differ from the space's {list(space.ops)}")

    def search_space(self) -> SearchSpace:
        """The space this LUT was made for, rebuilt from ``space.definition``."""
        definition = self.space_record.get("definition")
        try:
            space = space_from_definition(definition)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise UserError(
                f"LUT {self.name}: field space.definition: expected a search space definition "
                "(name, input_shape, stem_channels, stem_stride, stages, head_channels, num_classes, "
                "ops, width)"
            ) from None
        self.check_space(space)
        return space

    def speed_reference(self) -> dict | None:
        """``protocol.reference`` checked (``arch``, ``seed``, ``latency_ms`` > 0), or
        ``None`` for a LUT without one (built-in tables, older files)."""
        ref = self.protocol.get("reference") if isinstance(self.protocol, dict) else None
        if ref is None:
            return None
        f = _Fields(self.name)
        f.check(ref, "protocol.reference", dict)
        arch = f.get(ref, "arch", "protocol.reference.arch", list)
        seed = f.get(ref, "seed", "protocol.reference.seed", int)
        latency_ms = f.get(ref, "latency_ms", "protocol.reference.latency_ms", float)
        if latency_ms <= 0:
            f.fail("protocol.reference.latency_ms", "a positive number")
        self.search_space().check_arch(arch, source=f"LUT {self.name}: field protocol.reference.arch")
        return {"arch": arch, "seed": seed, "latency_ms": latency_ms}

    def measurement_reference(self) -> dict | None:
        """What ``childnet.measure`` needs to time this LUT's speed reference (its
        space's name/width/classes, arch, seed, ``latency_ms``), or ``None``."""
        ref = self.speed_reference()
        if ref is None:
            return None
        return {"space": {k: self.space_record.get(k) for k in ("name", "width", "num_classes")}, **ref}

    def to_dict(self) -> dict:
        return self.data


def _energy_kinds(data: dict, version: int, source: str, f: _Fields) -> dict[str, str]:
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


def _tensors(data: dict, f: _Fields, energy_kind: str) -> CostTensors:
    if energy_kind not in ENERGY_KINDS:
        raise UserError(f"lut.energy_kind: expected one of {', '.join(ENERGY_KINDS)}, got {energy_kind!r}")
    if not isinstance(data, dict):
        f.fail("(top level)", "a JSON object")
    fmt = f.get(data, "format", "format", str)
    if fmt != FORMAT:
        f.fail("format", f"{FORMAT!r}, got {fmt!r}")
    version = f.get(data, "version", "version", int)
    if version not in (1, FORMAT_VERSION):
        f.fail("version", f"1 or {FORMAT_VERSION}, got {version} (written by another version of hwnas)")
    space = f.get(data, "space", "space", dict)
    for key in ("name", "hash", "layers_hash"):
        f.get(space, key, f"space.{key}", str)
    f.get(data, "device", "device", dict)
    energy_source = f.get(data, "energy_source", "energy_source", str)
    ops = f.get(data, "ops", "ops", list)
    if not ops or not all(isinstance(o, str) for o in ops) or len(set(ops)) != len(ops):
        f.fail("ops", "a non-empty list of distinct op names")
    kinds = _energy_kinds(data, version, energy_source, f)
    if kinds and energy_kind not in kinds:
        f.fail("energy_kinds", f"{energy_kind} energy (lut.energy_kind: {energy_kind}), got {list(kinds)} only")
    has_energy = bool(kinds)
    en_key = kinds.get(energy_kind, "energy_mj")

    fixed = f.get(data, "fixed", "fixed", dict)
    fixed_lat = _cost(f, f.get(fixed, "latency_ms", "fixed.latency_ms", float), "fixed.latency_ms", zero_ok=True)
    fixed_en = f.get(fixed, en_key, f"fixed.{en_key}", float, nullable=not has_energy)
    if fixed_en is not None:
        _cost(f, fixed_en, f"fixed.{en_key}", zero_ok=True)
    if not has_energy and fixed_en is not None:
        f.fail("fixed.energy_mj", "null when energy_source is 'none'")

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

    calibration = data.get("calibration")
    if calibration is not None:
        # total' = scale * total + offset keeps the model additive: scale every entry
        # and the fixed part, add the offset to the fixed part.
        f.check(calibration, "calibration", dict)
        scale = f.get(calibration, "latency_scale", "calibration.latency_scale", float)
        offset = f.get(calibration, "latency_offset_ms", "calibration.latency_offset_ms", float)
        if scale <= 0:
            f.fail("calibration.latency_scale", f"a positive number, got {scale}")
        lat = lat * scale
        fixed_lat = fixed_lat * scale + offset
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


def _cost(f: _Fields, value: float, field: str, zero_ok: bool) -> float:
    """A cost is finite and positive (0 allowed where ``zero_ok``)."""
    if value < 0 or (value == 0 and not zero_ok):
        f.fail(field, f"a {'non-negative' if zero_ok else 'positive'} number, got {value}")
    return value


def space_from_definition(d: dict) -> SearchSpace:
    """Rebuild a space from ``SearchSpace.definition()`` (how a LUT stores it)."""
    return SearchSpace(
        name=d["name"],
        input_shape=tuple(d["input_shape"]),
        stem_channels=d["stem_channels"],
        stem_stride=d["stem_stride"],
        stages=tuple(Stage(*s) for s in d["stages"]),
        head_channels=d["head_channels"],
        num_classes=d["num_classes"],
        ops=tuple(d["ops"]),
        width=d["width"],
    )


def lut_from_dict(data: dict, name: str = "<memory>", energy_kind: str = "dynamic") -> Lut:
    return Lut(data, name, energy_kind)


def load_lut(spec: str, energy_kind: str = "dynamic") -> Lut:
    """Read a LUT: a JSON file path or ``builtin:<name>``; its energy of ``energy_kind``
    (``dynamic`` or ``total``, config ``lut.energy_kind``). Bad files raise a one-line
    ``UserError`` naming the file and the field."""
    spec = str(spec)
    if spec.startswith("builtin:"):
        name = spec.split(":", 1)[1]
        path = BUILTIN_DIR / f"{name}.json"
        if name not in builtin_names():  # a name, never a path ("builtin:../x" stays inside the package)
            raise UserError(
                f"unknown builtin LUT {spec!r}; expected one of {', '.join('builtin:' + n for n in builtin_names())}"
            )
    else:
        path = Path(spec)
        if not path.is_file():
            raise UserError(f"LUT {spec}: no such file")
    try:
        text = path.read_text()
    except OSError as err:
        raise UserError(f"LUT {spec}: cannot read ({err.strerror})") from None
    return Lut(parse_json(text, f"LUT {spec}"), spec, energy_kind)


def save_lut(lut: Lut | dict, path: str | os.PathLike) -> Path:
    """Write atomically (``hwnas.io``: temporary file in the same directory, fsync, rename)."""
    data = lut.to_dict() if isinstance(lut, Lut) else lut
    return atomic_write_json(path, data)
