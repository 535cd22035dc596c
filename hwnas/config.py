"""Typed configs: one dataclass per stage, loaded from YAML, overridable from the CLI
with ``section.key=value``, unknown keys rejected, the resolved config saved with
every run.

``ExperimentConfig`` gathers the stages; each stage reads only its own section.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hwnas.errors import UserError

__all__ = [
    "ChildConfig",
    "DataConfig",
    "ExperimentConfig",
    "LossConfig",
    "LutConfig",
    "MeasureConfig",
    "SearchConfig",
    "SpaceConfig",
    "SweepConfig",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "save_config",
]


@dataclass
class SpaceConfig:
    preset: str = "fbnet-cpu"
    width: float = 1.0
    num_classes: int | None = None  # None: the dataset's


@dataclass
class DataConfig:
    dataset: str = "fashion-mnist"  # fashion-mnist | cifar10 | cifar100
    root: str | None = None  # None: the dataset's usual places (Debian package, ./data)
    download: bool = False
    train_size: int | None = None  # subset of the training split (seeded); None: all
    test_size: int | None = None  # subset of the test split; None: all
    arch_fraction: float = 0.2  # share of the (subset) train split used for theta
    batch_size: int = 128
    augment: bool = False  # random crop + flip (CIFAR)
    seed: int = 0


@dataclass
class LutConfig:
    path: str = "builtin:rpi4-hwnasbench"  # a LUT file or builtin:<name>
    energy: bool = True  # False: search ignores energy even if the LUT has it


@dataclass
class LossConfig:
    form: str = "hanna"  # hanna: CE + a*LAT^b + g*ENER^d ; fbnet: CE * a * log(LAT)^b
    alpha: float = 0.2
    beta: float = 0.6
    gamma: float = 0.0
    delta: float = 0.6


@dataclass
class SearchConfig:
    epochs: int = 90  # total, warm-up included
    warmup_epochs: int = 10  # weights only
    mode: str = "exact"  # exact | single_path | naive
    w_lr: float = 0.1
    w_momentum: float = 0.9
    w_weight_decay: float = 1e-4
    theta_lr: float = 0.01
    theta_weight_decay: float = 5e-4
    temperature: float = 5.0
    temperature_decay: float = 0.045  # T_e = T_0 * exp(-decay * e)
    proxy_width: float | None = None  # train the supernet narrower than the LUT's width
    steps_per_epoch: int | None = None  # cap on weight steps per epoch (None: whole split)
    threads: int | None = None  # torch threads; None: leave as is
    seed: int = 0
    # seed of the Gumbel noise once theta trains (None: seed); not part of the shared
    # warm-up, so a sweep gives each trial its own (sweep.trial.apply_knobs)
    arch_seed: int | None = None


@dataclass
class ChildConfig:
    epochs: int = 120
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-5
    batch_size: int = 128
    label_smoothing: float = 0.0
    threads: int | None = None
    seed: int = 0
    export: str = "torchscript"  # torchscript | none


@dataclass
class MeasureConfig:
    device: str = "local"  # local | a Ray custom resource name, e.g. rpi4
    meter: str = "none"  # none | rapl | ina219
    threads: int = 1
    warmup: int = 10
    # whole-model timing (childnet.measure): the LUT's protocol; a sample is the mean of
    # back-to-back calls lasting >= 10 ms (hwnas.speed.MIN_SAMPLE_MS)
    repeats: int = 150
    rounds: int = 30
    batch_size: int = 1
    max_rel_iqr: float = 0.05  # a measurement noisier than this (IQR / median) is timed again
    tries: int = 3  # timings per model at most, the quietest kept (still noisy: flagged)

    def protocol(self) -> dict:
        """The keyword arguments of ``childnet.measure.measure_files`` (device aside)."""
        return {k: getattr(self, k) for k in ("threads", "warmup", "repeats", "rounds", "meter", "batch_size",
                                              "max_rel_iqr", "tries")}


@dataclass
class SweepConfig:
    trials: int = 30
    mode: str = "any"  # latency | energy | any
    objective: str = "multi"  # multi | accuracy | latency | energy
    strategy: str = "dnas"  # dnas: a supernet search per trial | random: uniformly drawn architectures
    concurrency: int = 2
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0  # > 0 keeps trials on GPU nodes (a cluster's devices only measure)
    measure_timeout_s: float = 900.0  # a device measurement that takes longer fails the trial (device gone?)
    alpha: tuple[float, float] = (0.01, 2.0)
    beta: tuple[float, float] = (0.3, 1.5)
    gamma: tuple[float, float] = (0.01, 2.0)
    delta: tuple[float, float] = (0.3, 1.5)
    dominance: tuple[float, float] = (0.05, 0.95)  # vENER/vLAT in latency mode (inverse in energy)
    # relative: sample cost_share = (vLAT + vENER) / CE0 and derive alpha, gamma from the
    # LUT's start costs (sweep.knobs docs in sweep/knobs.py); absolute: alpha, gamma in their ranges
    knobs: str = "relative"
    cost_share: tuple[float, float] = (0.01, 1.0)
    scheduler: str = "none"  # none | asha
    share_warmup: bool = True
    reuse_children: bool = True
    seed: int = 0


@dataclass
class ExperimentConfig:
    space: SpaceConfig = field(default_factory=SpaceConfig)
    data: DataConfig = field(default_factory=DataConfig)
    lut: LutConfig = field(default_factory=LutConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    child: ChildConfig = field(default_factory=ChildConfig)
    measure: MeasureConfig = field(default_factory=MeasureConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)


def _coerce(value, tp, where: str):
    """Check/convert ``value`` to the annotated type ``tp``; one-line error otherwise."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except UserError as err:
                errors.append(str(err))
        raise UserError(errors[0] if errors else f"{where}: bad value {value!r}")
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise UserError(f"{where}: expected a list of {len(args)} values, got {value!r}")
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if dataclasses.is_dataclass(tp):
        return _from_dict(tp, value, where)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise UserError(f"{where}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise UserError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise UserError(f"{where}: expected a finite number, got {value!r}")
            return float(value)
        raise UserError(f"{where}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise UserError(f"{where}: expected a string, got {value!r}")
    raise TypeError(f"unsupported config type {tp} at {where}")


def _from_dict(cls, data, where: str):
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            raise UserError(f"{where}: unknown key {key!r}; expected one of {', '.join(names)}")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}" if where else k) for k, v in data.items()}
    return cls(**kwargs)


def config_from_dict(data: dict, cls=ExperimentConfig, source: str = "config"):
    return _from_dict(cls, data, source)


def config_to_dict(cfg) -> dict:
    def plain(v):
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(dataclasses.asdict(cfg))


def _set_override(data: dict, item: str, cls) -> None:
    if "=" not in item:
        raise UserError(f"override {item!r}: expected section.key=value")
    dotted, raw = item.split("=", 1)
    value = yaml.safe_load(raw) if raw != "" else None
    keys = dotted.split(".")
    node, tp = data, cls
    for i, key in enumerate(keys):
        names = {f.name for f in dataclasses.fields(tp)} if dataclasses.is_dataclass(tp) else set()
        if key not in names:
            raise UserError(f"override {dotted}: unknown key {key!r}" + (f"; expected one of {', '.join(sorted(names))}" if names else ""))
        if i == len(keys) - 1:
            node[key] = value
        else:
            tp = typing.get_type_hints(tp)[key]
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise UserError(f"override {dotted}: {key} is not a section")


def load_config(path: str | Path | None, overrides=(), cls=ExperimentConfig):
    """Load a YAML config (``None``: defaults), apply ``key=value`` overrides, validate."""
    data: dict = {}
    source = "config"
    if path is not None:
        path = Path(path)
        source = str(path)
        if not path.is_file():
            raise UserError(f"config file {path} not found")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise UserError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
        if not isinstance(data, dict):
            raise UserError(f"{path}: expected a mapping at the top level")
    for item in overrides:
        _set_override(data, item, cls)
    return _from_dict(cls, data, source)


def save_config(cfg, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
