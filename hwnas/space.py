"""The search space as data.

A space is a fixed macro-architecture (stem, stages, head) whose searchable layers
each pick one op by name. Stage rows are ``(channels, repeats, stride)``; the first
layer of a stage carries its stride. Presets are plain data; ``get_space`` scales
them by a width multiplier and sets the number of classes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

from hwnas.domains import CLASSES, INPUT_SIZE, WIDTH, check_value
from hwnas.errors import UserError
from hwnas.op_names import FBNET_OPS
from hwnas.ops import parse_op

__all__ = [
    "FBNET_OPS",
    "LayerSpec",
    "PRESETS",
    "SearchSpace",
    "Stage",
    "check_space_args",
    "downsampling",
    "get_space",
    "space_from_definition",
    "make_divisible",
]


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a scaled channel count to a multiple of ``divisor`` (MobileNet rule:
    never below ``divisor`` and never more than 10% below ``value``)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


@dataclass(frozen=True)
class Stage:
    channels: int
    repeats: int
    stride: int


@dataclass(frozen=True)
class LayerSpec:
    """One searchable layer at its real shape: input ``(in_channels, in_hw, in_hw)``."""

    index: int
    in_channels: int
    out_channels: int
    stride: int
    in_hw: int

    @property
    def out_hw(self) -> int:
        return (self.in_hw + self.stride - 1) // self.stride

    @property
    def shape_key(self) -> tuple[int, int, int, int]:
        """Layers with equal keys run the same ops on the same input shape."""
        return (self.in_channels, self.out_channels, self.stride, self.in_hw)


@dataclass(frozen=True)
class SearchSpace:
    name: str
    input_shape: tuple[int, int, int]  # (C, H, W), H == W
    stem_channels: int
    stem_stride: int
    stages: tuple[Stage, ...]
    head_channels: int
    num_classes: int
    ops: tuple[str, ...] = FBNET_OPS
    width: float = 1.0
    layers: tuple[LayerSpec, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.input_shape[1] != self.input_shape[2]:
            raise UserError(f"space {self.name}: input must be square, got {self.input_shape}")
        for op in self.ops:
            parse_op(op)  # raises UserError on a malformed op name
        hw = (self.input_shape[1] + self.stem_stride - 1) // self.stem_stride
        channels = self.stem_channels
        layers = []
        for stage in self.stages:
            for r in range(stage.repeats):
                spec = LayerSpec(len(layers), channels, stage.channels, stage.stride if r == 0 else 1, hw)
                layers.append(spec)
                channels, hw = spec.out_channels, spec.out_hw
        object.__setattr__(self, "layers", tuple(layers))

    @property
    def downsampling(self) -> int:
        """How much the stem and stages shrink the input (the product of their strides)."""
        return downsampling(self.stem_stride, self.stages)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def last_channels(self) -> int:
        return self.layers[-1].out_channels if self.layers else self.stem_channels

    def definition(self) -> dict:
        """Everything that defines the networks of this space, as plain JSON data."""
        d = dataclasses.asdict(self)
        d.pop("layers")
        d["stages"] = [[s.channels, s.repeats, s.stride] for s in self.stages]
        d["input_shape"] = list(self.input_shape)
        d["ops"] = list(self.ops)
        return d

    def layers_hash(self) -> str:
        """Hash of what the searchable layers are (shapes and candidate ops). Two spaces
        with the same layers hash share per-layer LUT entries; the head and classifier
        (the LUT's fixed part) may differ, e.g. a 100-class table used for 10 classes."""
        d = {
            "input_shape": list(self.input_shape),
            "ops": list(self.ops),
            "layers": [dataclasses.astuple(l) for l in self.layers],
        }
        return _digest(d)

    def record(self) -> dict:
        """The ``space`` record of arch.json / metrics.json (docs/formats.md)."""
        return {
            "name": self.name,
            "width": self.width,
            "num_classes": self.num_classes,
            "hash": self.hash(),
            "layers_hash": self.layers_hash(),
        }

    def hash(self) -> str:
        """Hash of the full definition (layers, stem, head, classes)."""
        d = self.definition()
        d.pop("name")
        return _digest(d)

    def check_arch(self, ops, source: str = "architecture") -> list[str]:
        """Validate an architecture (one op name per layer); return it as a list."""
        ops = list(ops)
        if len(ops) != self.num_layers:
            raise UserError(f"{source}: expected {self.num_layers} ops for space {self.name}, got {len(ops)}")
        for i, op in enumerate(ops):
            if op not in self.ops:
                raise UserError(f"{source}: layer {i} has unknown op {op!r}; expected one of {', '.join(self.ops)}")
        return ops


def downsampling(stem_stride: int, stages) -> int:
    factor = stem_stride
    for stage in stages:
        factor *= stage.stride
    return factor


def _digest(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _preset(input_shape: tuple, stem: tuple[int, int], stages: tuple, head: int, classes: int) -> dict:
    """A preset's ``SearchSpace`` fields: ``stem`` is ``(channels, stride)``, ``stages``
    rows ``(channels, repeats, stride)``, ``head`` the head conv's channels."""
    fields = {"input_shape": input_shape, "stem_channels": stem[0], "stem_stride": stem[1]}
    return {**fields, "stages": tuple(Stage(*r) for r in stages), "head_channels": head, "num_classes": classes}


# Stage rows (channels, repeats, stride) of the presets' macro-architectures
_FBNET_STAGES = ((16, 1, 1), (24, 4, 1), (32, 4, 2), (64, 4, 2), (112, 4, 1), (184, 4, 2), (352, 1, 1))
_FBNET_IMAGENET_STAGES = ((16, 1, 1), (24, 4, 2), (32, 4, 2), (64, 4, 2), (112, 4, 1), (184, 4, 2), (352, 1, 1))
_CPU_STAGES = ((16, 1, 1), (24, 2, 2), (32, 2, 2), (64, 2, 1), (96, 1, 1))
_HANNA_STAGES = ((16, 1, 1), (24, 4, 2), (32, 4, 2), (64, 4, 1), (112, 4, 1), (184, 4, 1), (352, 1, 1))

PRESETS: dict[str, dict] = {
    # HW-NAS-Bench's CIFAR setting of the FBNet space: 22 searchable layers.
    "fbnet-cifar": _preset((3, 32, 32), stem=(16, 1), stages=_FBNET_STAGES, head=1504, classes=100),
    # The FBNet paper's ImageNet macro-architecture (Table 1 of the paper).
    "fbnet-imagenet": _preset((3, 224, 224), stem=(16, 2), stages=_FBNET_IMAGENET_STAGES, head=1984, classes=1000),
    # Small CPU preset: same 9 ops, 8 searchable layers, the stem halves the resolution
    # so that one sweep trial (search + retrain) fits in well under a minute on 2 cores.
    "fbnet-cpu": _preset((3, 32, 32), stem=(16, 2), stages=_CPU_STAGES, head=384, classes=10),
    # HANNA's CIFAR-10 supernet (hpnair/18663_Project_FBNet, hanna_pytorch/candblks.py get_blocks(cifar10=True),
    # as train_cifar10.py builds it), the space of its Raspberry Pi 3B tables (builtin:rpi3b-hanna): a 3x3
    # stride-2 stem to 16 channels (32 -> 16 px), 22 searchable layers with CIFAR strides 1,2,2,1,1,1,1,
    # a 1x1 conv to 1984 channels, average pool, 10-class linear. Same layer shapes and the same 9 ops in
    # the same column order; what this project's op registry builds differently (recorded in the LUT):
    # - HANNA's blocks, stem and head conv have biases and no batch norm; here every conv has BN and the
    #   stem and head conv a ReLU (HANNA's stem and head are bare convs);
    # - HANNA's grouped blocks (k*_e1_g2) shuffle channels after the expand AND after the project conv;
    #   here only after the expand;
    # - HANNA has no skip in the first layer of a stage (layers 0, 1, 5, 9, 13, 17, 21); here every layer
    #   offers skip (identity at layer 0, a 1x1 conv + BN + ReLU where the shape changes).
    "hanna-cifar": _preset((3, 32, 32), stem=(16, 2), stages=_HANNA_STAGES, head=1984, classes=10),
}


def check_space_args(
    name: str, width: float, num_classes: int | None = None, input_size: int | None = None, where: str = "space"
) -> None:
    """The rules a space's arguments meet, wherever they come from: a config's ``space``
    section (``hwnas.config_rules``), a CLI's flags, a model or LUT file (``get_space``).
    One-line ``UserError`` naming ``<where>.<argument>``; None: the preset's."""
    if name not in PRESETS:
        raise UserError(f"unknown search space {name!r}; expected one of {', '.join(PRESETS)}")
    check_value(f"{where}.width", width, WIDTH)
    check_value(f"{where}.num_classes", num_classes, CLASSES)
    check_value(f"{where}.input_size", input_size, INPUT_SIZE)
    factor = downsampling(PRESETS[name]["stem_stride"], PRESETS[name]["stages"])
    if input_size is not None and input_size < factor:  # no pixels left to stride over
        raise UserError(
            f"{where}.input_size={input_size} is too small for preset {name}, whose stem and stages downsample "
            f"{factor}x; expected >= {factor}"
        )


def get_space(
    name: str,
    width: float = 1.0,
    num_classes: int | None = None,
    input_size: int | None = None,
    channels: int | None = None,
) -> SearchSpace:
    """A preset scaled by ``width`` (channels rounded to multiples of 8), with the input
    ``channels x input_size x input_size`` (None: the preset's). The arguments may come
    from a file or a flag: ``check_space_args`` checks them."""
    check_space_args(name, width, num_classes, input_size)
    p = dict(PRESETS[name])
    scale = (lambda c: c) if width == 1.0 else (lambda c: make_divisible(c * width))
    p["stem_channels"] = scale(p["stem_channels"])
    p["stages"] = tuple(Stage(scale(s.channels), s.repeats, s.stride) for s in p["stages"])
    p["head_channels"] = scale(p["head_channels"])
    if num_classes is not None:
        p["num_classes"] = num_classes
    c, h, _ = p["input_shape"]
    size = h if input_size is None else input_size
    p["input_shape"] = (c if channels is None else channels, size, size)
    return SearchSpace(name=name, width=width, **p)


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
