"""The LUT file: read, write, and what it says about itself. The format is documented
in ``lut/README.md`` (constants: ``lut.format``; field checks: ``lut.check``).

A ``Lut`` is an additive cost model (``TableCost``) plus what the file says about
where its numbers come from (space, device, protocol, energy source, calibration).
"""

from __future__ import annotations

import os
from pathlib import Path

from hwnas.errors import UserError
from hwnas.io import atomic_write_json, parse_json
from hwnas.space import SearchSpace, space_from_definition
from hwnas.target import DeployTarget
from lut.check import Fields, cost_tensors
from lut.cost import TableCost

__all__ = [
    "Lut",
    "builtin_names",
    "load_lut",
    "lut_from_dict",
    "save_lut",
    "space_from_definition",
]

BUILTIN_DIR = Path(__file__).parent / "builtin"


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.json"))


class Lut(TableCost):
    """A lookup table read from a file (or produced by ``lut.profile``).

    ``data`` is the parsed file (see ``lut/README.md``). Estimates are
    ``fixed + sum over layers`` of the (calibrated, if the file has a ``calibration``
    block) entries; ``cost_tensors()`` gives them in the LUT's op order.
    """

    def __init__(self, data: dict, name: str = "<memory>", energy_kind: str = "dynamic"):
        self.data = data
        self.name = name
        super().__init__(cost_tensors(data, name, energy_kind))
        self._check_layers()
        self.target  # noqa: B018 -- checked at load: one line for a bad deploy field

    def _check_layers(self) -> None:
        """The layers' shapes are those of the space the file declares (``space.definition``,
        itself checked against ``layers_hash``): a table edited or written for other shapes
        is refused, never used silently. A file without a definition has only its hash."""
        if self.space_record.get("definition") is None:
            return
        space, f = self.search_space(), Fields(self.name)
        layers = self.data["layers"]
        if len(layers) != len(space.layers):
            f.fail("layers", f"the {len(space.layers)} layers of its space {space.name}, got {len(layers)}")
        for i, (record, layer) in enumerate(zip(layers, space.layers)):
            for key in ("index", "in_channels", "out_channels", "stride", "in_hw"):
                if key in record and record[key] != getattr(layer, key):
                    f.fail(
                        f"layers[{i}].{key}",
                        f"{getattr(layer, key)} (layer {i} of its space {space.name}), got {record[key]!r}"[:200],
                    )
            if "shape_key" in record and record["shape_key"] != list(layer.shape_key):
                f.fail(f"layers[{i}].shape_key", f"{list(layer.shape_key)} (layer {i} of its space {space.name})")

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
        shape = self.data.get("input_shape")
        if (
            isinstance(shape, list)
            and list(space.input_shape) != shape
            and space.layers_hash() != self.space_record["layers_hash"]
        ):
            raise UserError(
                f"LUT {self.name}: made for inputs {'x'.join(map(str, shape))}, but the space takes "
                f"{'x'.join(map(str, space.input_shape))} (space.input_size, space.channels); profile a LUT for "
                "that input (lut.path: auto)"
            )
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
        f = Fields(self.name)
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

    @property
    def target(self) -> DeployTarget:
        """The deployment target the entries describe (the file's ``deploy``). Files from
        before it existed: TorchScript for a ``graph``-context profile, else eager PyTorch
        (the published tables measured PyTorch on their devices)."""
        record = self.data.get("deploy")
        if record is None:
            return DeployTarget("torchscript" if self.protocol.get("context") == "graph" else "pytorch")
        try:
            return DeployTarget.from_record(record)
        except UserError as err:
            raise UserError(f"LUT {self.name}: field {err}") from None

    def check_target(self, target: DeployTarget) -> None:
        """``UserError`` unless this LUT describes ``target`` (runtime and precision)."""
        if self.target != target:
            raise UserError(
                f"LUT {self.name}: describes {self.target}, not the deployment target {target}; profile one for "
                f"it (lut.profile --runtime {target.runtime} "
                f"--precision {target.precision}) or set deploy.runtime/deploy.precision to the LUT's"
            )

    def to_dict(self) -> dict:
        return self.data


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
