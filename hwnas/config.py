"""Typed configs: one dataclass per stage, loaded from YAML, overridable from the CLI
with ``section.key=value``, unknown keys rejected, the resolved config saved with
every run.

``ExperimentConfig`` gathers the stages; each stage reads only its own section.

This is the one place values are checked, once, before anything runs: types (an
enumeration is a ``Literal``), then the range rules in ``RULES`` (batch sizes >= 1,
learning rates >= 0, ...). ``load_config``, ``config_from_dict`` (a recorded config)
and overrides all go through it, and ``check_config`` re-checks a config object that
code has changed. Every failure is one ``UserError`` line naming ``section.key``, the
value and what is allowed. Overrides are YAML values; a number written ``1e-3``
(YAML 1.1 reads that as a string) is taken as the number.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from hwnas.data import NUM_CLASSES
from hwnas.errors import UserError
from hwnas.io import atomic_write_text
from hwnas.space import SearchSpace, get_space

__all__ = [
    "BaselinesConfig",
    "BudgetConfig",
    "ChildConfig",
    "DataConfig",
    "ExperimentConfig",
    "LossConfig",
    "LutConfig",
    "MeasureConfig",
    "SearchConfig",
    "SpaceConfig",
    "SweepConfig",
    "check_config",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "apply_overrides",
    "override_value",
    "save_config",
]


@dataclass
class SpaceConfig:
    preset: Literal["fbnet-cifar", "fbnet-imagenet", "fbnet-cpu", "hanna-cifar"] = "fbnet-cpu"  # hwnas.space.PRESETS
    width: float = 1.0
    num_classes: int | None = None  # None: the dataset's


@dataclass
class DataConfig:
    dataset: Literal["fashion-mnist", "cifar10", "cifar100"] = "fashion-mnist"  # hwnas.data.NUM_CLASSES
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
    # which energy the loss, estimates and budgets use: dynamic (total - idle power x time, as the HANNA
    # report measured it) or total (everything the device drew); a LUT without that kind is refused at load
    energy_kind: Literal["dynamic", "total"] = "dynamic"


@dataclass
class LossConfig:
    form: Literal["hanna", "fbnet"] = "hanna"  # hanna: CE + a*LAT^b + g*ENER^d ; fbnet: CE * a * log(LAT)^b
    alpha: float = 0.2
    beta: float = 0.6
    gamma: float = 0.0
    delta: float = 0.6


@dataclass
class SearchConfig:
    epochs: int = 90  # total, warm-up included
    warmup_epochs: int = 10  # weights only
    mode: Literal["exact", "single_path", "naive"] = "exact"  # supernet.mixed.MODES
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
    export: Literal["torchscript", "export", "none"] = "torchscript"  # childnet.export.EXPORT_FORMATS or none


@dataclass
class MeasureConfig:
    device: str = "local"  # local | a Ray custom resource name, e.g. rpi4
    meter: Literal["none", "rapl", "ina219"] = "none"  # hwnas.meters
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
class BudgetConfig:
    """What the recommended model must meet (``sweep.budget``); null: no limit. Optuna
    learns it as a constraint (``sweep.searcher``), ``pareto.budget`` judges it."""

    max_latency_ms: float | None = None
    max_energy_mj: float | None = None  # needs a LUT with energy


@dataclass
class SweepConfig:
    trials: int = 30
    mode: Literal["latency", "energy", "any"] = "any"
    objective: Literal["multi", "accuracy", "latency", "energy"] = "multi"
    strategy: Literal["dnas", "random"] = "dnas"  # dnas: a supernet search per trial | random: uniformly drawn architectures
    concurrency: int = 2
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0  # trials run on the node sweep.run runs on; a cluster's devices only measure
    measure_timeout_s: float = 900.0  # a device measurement that takes longer fails the trial (device gone?)
    alpha: tuple[float, float] = (0.01, 2.0)
    beta: tuple[float, float] = (0.3, 1.5)
    gamma: tuple[float, float] = (0.01, 2.0)
    delta: tuple[float, float] = (0.3, 1.5)
    dominance: tuple[float, float] = (0.05, 0.95)  # vENER/vLAT in latency mode (inverse in energy)
    # relative: sample cost_share = (vLAT + vENER) / CE0 and derive alpha, gamma from the
    # LUT's start costs (sweep.knobs docs in sweep/knobs.py); absolute: alpha, gamma in their ranges
    knobs: Literal["relative", "absolute"] = "relative"
    cost_share: tuple[float, float] = (0.01, 1.0)
    scheduler: Literal["none", "asha"] = "none"
    share_warmup: bool = True
    reuse_children: bool = True
    seed: int = 0
    budget: BudgetConfig = field(default_factory=BudgetConfig)


@dataclass
class BaselinesConfig:
    """Which hand-designed baselines a sweep trains with the childnet recipe, measures and
    reports (top-level ``baselines``), each a width multiplier (``hwnas.baselines``); null: left
    out. None by default: a config names the ones it can afford (configs/default.yaml)."""

    mobilenet_v2: float | None = None
    resnet18: float | None = None
    mnasnet: float | None = None

    def widths(self) -> dict[str, float]:
        """``{name: width}`` of the chosen baselines, in ``hwnas.baselines.BASELINES`` order."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}


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
    baselines: BaselinesConfig = field(default_factory=BaselinesConfig)

    def search_space(self, width: float | None = None) -> SearchSpace:
        """The search space this config describes (the one place it is built): the preset
        at ``width`` (default ``space.width``; the supernet may train at ``search.proxy_width``)
        with ``space.num_classes`` or else the dataset's classes."""
        classes = self.space.num_classes or NUM_CLASSES[self.data.dataset]
        return get_space(self.space.preset, self.space.width if width is None else width, classes)


@dataclass(frozen=True)
class Range:
    """A number's allowed interval: ``low``/``high`` (None: unbounded), open or closed."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False  # value > low (else >=)
    high_open: bool = False  # value < high (else <=)

    def allows(self, v) -> bool:
        if self.low is not None and (v <= self.low if self.low_open else v < self.low):
            return False
        return self.high is None or (v < self.high if self.high_open else v <= self.high)

    def __str__(self) -> str:
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return (f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}")


AT_LEAST_1 = Range(1)
NON_NEGATIVE = Range(0)
POSITIVE = Range(0, low_open=True)
FRACTION = Range(0, 1, high_open=True)  # [0, 1)
SEED = Range(0, 2**63 - 1)
WIDTH = Range(0, 16, low_open=True)

# Range rules per section (None values of optional fields are always allowed).
RULES: dict[type, dict[str, Range]] = {
    SpaceConfig: {"width": WIDTH, "num_classes": Range(2, 100_000)},
    DataConfig: {"train_size": AT_LEAST_1, "test_size": AT_LEAST_1, "arch_fraction": Range(0, 1, True, True),
                 "batch_size": AT_LEAST_1, "seed": SEED},
    LossConfig: {"alpha": NON_NEGATIVE, "beta": NON_NEGATIVE, "gamma": NON_NEGATIVE, "delta": NON_NEGATIVE},
    SearchConfig: {"epochs": AT_LEAST_1, "warmup_epochs": NON_NEGATIVE, "w_lr": NON_NEGATIVE,
                   "w_momentum": FRACTION, "w_weight_decay": NON_NEGATIVE, "theta_lr": NON_NEGATIVE,
                   "theta_weight_decay": NON_NEGATIVE, "temperature": POSITIVE, "temperature_decay": NON_NEGATIVE,
                   "proxy_width": WIDTH, "steps_per_epoch": AT_LEAST_1, "threads": AT_LEAST_1, "seed": SEED,
                   "arch_seed": SEED},
    ChildConfig: {"epochs": NON_NEGATIVE, "lr": NON_NEGATIVE, "momentum": FRACTION, "weight_decay": NON_NEGATIVE,
                  "batch_size": AT_LEAST_1, "label_smoothing": FRACTION, "threads": AT_LEAST_1, "seed": SEED},
    MeasureConfig: {"threads": AT_LEAST_1, "warmup": NON_NEGATIVE, "repeats": AT_LEAST_1, "rounds": AT_LEAST_1,
                    "batch_size": AT_LEAST_1, "max_rel_iqr": POSITIVE, "tries": AT_LEAST_1},
    BudgetConfig: {"max_latency_ms": POSITIVE, "max_energy_mj": POSITIVE},
    BaselinesConfig: {"mobilenet_v2": WIDTH, "resnet18": WIDTH, "mnasnet": WIDTH},
    SweepConfig: {"trials": AT_LEAST_1, "concurrency": AT_LEAST_1, "cpus_per_trial": POSITIVE,
                  "gpus_per_trial": NON_NEGATIVE, "measure_timeout_s": POSITIVE, "seed": SEED},
}
# Rules between fields of one section: (holds, message with the section's fields).
RELATIONS: dict[type, list[tuple]] = {
    ExperimentConfig: [(lambda c: (c.space.num_classes or NUM_CLASSES[c.data.dataset]) >= NUM_CLASSES[c.data.dataset],
                        "space.num_classes={0.space.num_classes} but {0.data.dataset} has more classes")],
    SearchConfig: [(lambda s: s.warmup_epochs <= s.epochs,
                    "need warmup_epochs <= epochs, got warmup_epochs={0.warmup_epochs}, epochs={0.epochs}")],
}
MAX_INT = 2**63 - 1  # larger integers are refused everywhere (torch seeds and counts are int64)
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")  # YAML 1.1 reads "1e-3" as a string


def _coerce(value, tp, where: str):
    """Check/convert ``value`` to the annotated type ``tp``; one-line error otherwise."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed or isinstance(value, bool):
            raise UserError(f"{where} {value!r}: expected one of {', '.join(map(str, allowed))}")
        return value
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
            raise UserError(f"{where}: expected a list of {len(args)} values, got {_short(value)}")
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):  # a nested section object (check_config): check it again
            value = dataclasses.asdict(value)
        return _from_dict(tp, value, where)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise UserError(f"{where}: expected true/false, got {_short(value)}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > MAX_INT:
                raise UserError(f"{where}: expected an integer of at most 2^63-1, got one of {len(str(value))} digits")
            return value
        raise UserError(f"{where}: expected an integer, got {_short(value)}")
    if tp is float:
        if isinstance(value, str) and value.strip().lower().lstrip("+-") in ("inf", "infinity", "nan"):
            # an override or flag written "inf": YAML reads it as a string
            raise UserError(f"{where}: expected a finite number, got {_short(value)}")
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            value = float(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError:
                value = math.inf
            if not math.isfinite(value):
                raise UserError(f"{where}: expected a finite number, got {_short(value)}")
            return value
        raise UserError(f"{where}: expected a number, got {_short(value)}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise UserError(f"{where}: expected a string, got {_short(value)}")
    raise TypeError(f"unsupported config type {tp} at {where}")


def _short(value) -> str:
    """``repr`` cut to one short line (a value may be a huge list or nested mapping)."""
    text = " ".join(repr(value).split())
    return text if len(text) <= 80 else text[:77] + "..."


def _check_rules(cls, obj, where: str, keys=None) -> None:
    """The range rules of ``cls`` on ``obj``'s fields (``keys``: only those)."""
    for key, rule in RULES.get(cls, {}).items():
        if keys is not None and key not in keys:
            continue
        value = getattr(obj, key)
        if value is not None and not rule.allows(value):
            kind = "an integer" if isinstance(value, int) else "a number"
            raise UserError(f"{where}.{key}: expected {kind} {rule}, got {_short(value)}" if where else
                            f"{key}: expected {kind} {rule}, got {_short(value)}")


def _check_relations(cls, obj, where: str) -> None:
    for holds, message in RELATIONS.get(cls, ()):
        if not holds(obj):
            raise UserError(f"{where or 'config'}: {message.format(obj)}")
    if cls is ExperimentConfig:
        _check_baselines_fit(obj)


def _from_dict(cls, data, where: str):
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{where or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            raise UserError(f"{where or 'config'}: unknown key {_short(key)}; expected one of {', '.join(names)}")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}" if where else k) for k, v in data.items()}
    obj = cls(**kwargs)
    _check_rules(cls, obj, where)
    _check_relations(cls, obj, where)
    return obj


def _check_baselines_fit(cfg) -> None:
    """Every chosen baseline can be adapted to the space's input (``hwnas.baselines``)."""
    if not isinstance(cfg, ExperimentConfig) or not cfg.baselines.widths():
        return
    from hwnas.baselines import check_adaptable
    from hwnas.space import PRESETS

    preset = PRESETS[cfg.space.preset]
    for name in cfg.baselines.widths():
        check_adaptable(name, preset["input_shape"], preset["stem_stride"])


def _sourced(source: str, build):
    """``build()`` with ``source`` (a file, "resumed config") prefixed to its one-line error."""
    try:
        return build()
    except UserError as err:
        raise UserError(f"{source}: {err}") from None


def check_config(cfg) -> None:
    """Check a config object again (types of enumerations and every range rule), e.g.
    one that code changed after loading. One-line ``UserError``."""
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        section = getattr(cfg, f.name)
        if not dataclasses.is_dataclass(section):
            continue
        section_hints = typing.get_type_hints(type(section))
        for g in dataclasses.fields(section):
            _coerce(getattr(section, g.name), section_hints[g.name], f"{f.name}.{g.name}")
        _check_rules(hints[f.name], section, f.name)
        _check_relations(hints[f.name], section, f.name)
    _check_relations(type(cfg), cfg, "")


def config_from_dict(data: dict, cls=ExperimentConfig, source: str = "config"):
    return _sourced(source, lambda: _from_dict(cls, data, ""))


def config_to_dict(cfg) -> dict:
    def plain(v):
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(dataclasses.asdict(cfg))


def override_value(dotted: str, raw: str):
    """The YAML value of an override's right side (empty: null); one line if it is not YAML."""
    if raw == "":
        return None
    try:
        return yaml.safe_load(raw)
    except (yaml.YAMLError, RecursionError) as err:
        first = (str(err).strip().splitlines() or ["nested too deeply"])[0]
        raise UserError(f"override {dotted}: value {_short(raw)} is not valid YAML ({first})") from None


def _set_override(data: dict, item: str, cls) -> None:
    if "=" not in item:
        raise UserError(f"override {_short(item)}: expected section.key=value")
    dotted, raw = item.split("=", 1)
    value = override_value(dotted, raw)
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
            if node.get(key) is None:  # absent, or written "budget:" (null: the defaults)
                node[key] = {}
            node = node[key]
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
        except (OSError, UnicodeDecodeError) as err:
            raise UserError(f"{path}: cannot read ({getattr(err, 'strerror', None) or type(err).__name__})") from None
        except (yaml.YAMLError, RecursionError) as err:
            first = (str(err).strip().splitlines() or ["nested too deeply"])[0]
            raise UserError(f"{path}: not valid YAML ({first})") from None
        if not isinstance(data, dict):
            raise UserError(f"{path}: expected a mapping at the top level")
    apply_overrides(data, overrides, cls)
    return _sourced(source, lambda: _from_dict(cls, data, ""))


def apply_overrides(data: dict, overrides, cls=ExperimentConfig) -> dict:
    """Set each ``section.key=value`` of ``overrides`` in the config mapping ``data`` (in
    place; unknown keys and non-YAML values are one-line errors); the config is checked
    when it is built from ``data``."""
    for item in overrides:
        _set_override(data, item, cls)
    return data


def save_config(cfg, path: str | Path) -> None:
    atomic_write_text(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
