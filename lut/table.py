"""The LUT file: read, check, write. The format is documented in ``lut/README.md``.

A ``Lut`` is an additive cost model (``TableCost``) plus what the file says about
where its numbers come from (space, device, protocol, energy source, calibration).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import torch

from hwnas.errors import UserError
from hwnas.space import SearchSpace, Stage
from lut.cost import CostTensors, TableCost

__all__ = ["FORMAT", "FORMAT_VERSION", "Lut", "builtin_names", "load_lut", "lut_from_dict", "save_lut",
           "space_from_definition"]

FORMAT = "hwnas-lut"
FORMAT_VERSION = 1
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
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
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

    def __init__(self, data: dict, name: str = "<memory>"):
        self.data = data
        self.name = name
        super().__init__(_tensors(data, _Fields(name)))

    # what the file says about itself
    @property
    def space(self) -> dict:
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

    def check_space(self, space: SearchSpace) -> None:
        """``UserError`` unless ``space`` has the same searchable layers as this LUT."""
        if space.layers_hash() != self.space["layers_hash"]:
            raise UserError(
                f"LUT {self.name}: made for space {self.space['name']} (width {self.space.get('width')}, "
                f"layers_hash {self.space['layers_hash']}), not for {space.name} (width {space.width}, "
                f"layers_hash {space.layers_hash()})")
        if tuple(space.ops) != self.op_names:
            raise UserError(f"LUT {self.name}: ops {list(self.op_names)} differ from the space's {list(space.ops)}")

    def search_space(self) -> SearchSpace:
        """The space this LUT was made for, rebuilt from ``space.definition``."""
        definition = self.space.get("definition")
        try:
            space = space_from_definition(definition)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise UserError(f"LUT {self.name}: field space.definition: expected a search space definition "
                            "(name, input_shape, stem_channels, stem_stride, stages, head_channels, num_classes, "
                            "ops, width)") from None
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
        return {"space": {k: self.space.get(k) for k in ("name", "width", "num_classes")}, **ref}

    def to_dict(self) -> dict:
        return self.data


def _tensors(data: dict, f: _Fields) -> CostTensors:
    if not isinstance(data, dict):
        f.fail("(top level)", "a JSON object")
    fmt = f.get(data, "format", "format", str)
    if fmt != FORMAT:
        f.fail("format", f"{FORMAT!r}, got {fmt!r}")
    version = f.get(data, "version", "version", int)
    if version != FORMAT_VERSION:
        f.fail("version", f"{FORMAT_VERSION}, got {version} (written by another version of hwnas)")
    space = f.get(data, "space", "space", dict)
    for key in ("name", "hash", "layers_hash"):
        f.get(space, key, f"space.{key}", str)
    f.get(data, "device", "device", dict)
    energy_source = f.get(data, "energy_source", "energy_source", str)
    ops = f.get(data, "ops", "ops", list)
    if not ops or not all(isinstance(o, str) for o in ops) or len(set(ops)) != len(ops):
        f.fail("ops", "a non-empty list of distinct op names")
    has_energy = energy_source != "none"

    fixed = f.get(data, "fixed", "fixed", dict)
    fixed_lat = f.get(fixed, "latency_ms", "fixed.latency_ms", float)
    fixed_en = f.get(fixed, "energy_mj", "fixed.energy_mj", float, nullable=not has_energy)
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
            lat[i, j] = f.get(entry, "latency_ms", f"{where}.latency_ms", float)
            e = f.get(entry, "energy_mj", f"{where}.energy_mj", float, nullable=not has_energy)
            if has_energy:
                en[i, j] = e
            elif e is not None:
                f.fail(f"{where}.energy_mj", "null when energy_source is 'none'")

    calibration = data.get("calibration")
    if calibration is not None:
        # total' = scale * total + offset keeps the model additive: scale every entry
        # and the fixed part, add the offset to the fixed part.
        f.check(calibration, "calibration", dict)
        scale = f.get(calibration, "latency_scale", "calibration.latency_scale", float)
        offset = f.get(calibration, "latency_offset_ms", "calibration.latency_offset_ms", float)
        lat = lat * scale
        fixed_lat = fixed_lat * scale + offset
    return CostTensors(op_names=tuple(ops), latency_fixed_ms=fixed_lat, latency_ms=lat,
                       energy_fixed_mj=fixed_en, energy_mj=en, energy_source=energy_source)


def space_from_definition(d: dict) -> SearchSpace:
    """Rebuild a space from ``SearchSpace.definition()`` (how a LUT stores it)."""
    return SearchSpace(name=d["name"], input_shape=tuple(d["input_shape"]), stem_channels=d["stem_channels"],
                       stem_stride=d["stem_stride"], stages=tuple(Stage(*s) for s in d["stages"]),
                       head_channels=d["head_channels"], num_classes=d["num_classes"], ops=tuple(d["ops"]),
                       width=d["width"])


def lut_from_dict(data: dict, name: str = "<memory>") -> Lut:
    return Lut(data, name)


def load_lut(spec: str) -> Lut:
    """Read a LUT: a JSON file path or ``builtin:<name>``. Bad files raise a one-line
    ``UserError`` naming the file and the field."""
    spec = str(spec)
    if spec.startswith("builtin:"):
        name = spec.split(":", 1)[1]
        path = BUILTIN_DIR / f"{name}.json"
        if not path.is_file():
            raise UserError(f"unknown builtin LUT {spec!r}; expected one of "
                            f"{', '.join('builtin:' + n for n in builtin_names())}")
    else:
        path = Path(spec)
        if not path.is_file():
            raise UserError(f"LUT {spec}: no such file")
    try:
        text = path.read_text()
    except OSError as err:
        raise UserError(f"LUT {spec}: cannot read ({err.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(f"LUT {spec}: not valid JSON (truncated?): {err.msg} at line {err.lineno} "
                        f"column {err.colno}") from None
    return Lut(data, spec)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_lut(lut: Lut | dict, path: str | os.PathLike) -> Path:
    """Write atomically (temporary file in the same directory + ``os.replace``)."""
    data = lut.to_dict() if isinstance(lut, Lut) else lut
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a LUT is an ordinary file
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
