"""The rules a config value must meet, checked once, at load: types (an enumeration is a
``Literal``), then the range rules in ``RULES`` (batch sizes >= 1, learning rates >= 0, knob
ranges positive, ...), the checks ``SHARED`` with code that reads the same values from files
(a search space, a deployment target) and the rules between fields in ``RELATIONS``. Every
failure is one ``UserError`` line naming ``section.key``, the value and what is allowed. A
number written ``1e-3`` (YAML 1.1 reads that as a string) is taken as the number. The
allowed values themselves (each ``Literal`` and ``Range``) are defined in ``hwnas.domains``.

Nothing else re-checks a loaded config: stages trust it. Code handed the same settings
another way (a CLI's flags, a file) checks them with the same rules: a ``SHARED`` function
(``hwnas.space.check_space_args``, ``hwnas.target.DeployTarget``) or a table of
``hwnas.domains`` (``TIMING_RULES``: ``childnet.measure``).
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from typing import Literal

from hwnas.config_sections import (
    BaselinesConfig,
    BudgetConfig,
    ChildConfig,
    DataConfig,
    DeployConfig,
    ExperimentConfig,
    FinalConfig,
    LossConfig,
    MeasureConfig,
    SearchConfig,
    SpaceConfig,
    SweepConfig,
)
from hwnas.data import NUM_CLASSES, OWN_DATASETS
from hwnas.device_name import device_resource
from hwnas.domains import (
    AT_LEAST_1,
    FRACTION,
    NON_NEGATIVE,
    POSITIVE,
    SEED,
    TIMING_RULES,
    WIDTH,
    KnobRange,
    Range,
    check_value,
)
from hwnas.domains import short_repr as _short
from hwnas.errors import UserError
from hwnas.space import check_space_args

__all__ = ["KNOB_RANGES", "RELATIONS", "RULES", "SHARED", "Range", "check_config"]


KNOB_RANGES = ("alpha", "beta", "gamma", "delta", "dominance", "cost_share")  # sweep's sampled (low, high)

# Range rules per section (None values of optional fields are always allowed).
RULES: dict[type, dict[str, Range | KnobRange]] = {
    DataConfig: {
        "train_size": AT_LEAST_1,
        "test_size": AT_LEAST_1,
        "arch_fraction": Range(0, 1, True, True),
        "batch_size": AT_LEAST_1,
        "seed": SEED,
        "test_fraction": Range(0, 1, True, True),
        "memory_budget_mb": POSITIVE,
        "workers": Range(0, 64),
    },
    LossConfig: {"alpha": NON_NEGATIVE, "beta": NON_NEGATIVE, "gamma": NON_NEGATIVE, "delta": NON_NEGATIVE},
    SearchConfig: {
        "epochs": AT_LEAST_1,
        "warmup_epochs": NON_NEGATIVE,
        "w_lr": NON_NEGATIVE,
        "w_momentum": FRACTION,
        "w_weight_decay": NON_NEGATIVE,
        "theta_lr": NON_NEGATIVE,
        "theta_weight_decay": NON_NEGATIVE,
        "temperature": POSITIVE,
        "temperature_decay": NON_NEGATIVE,
        "proxy_width": WIDTH,
        "steps_per_epoch": AT_LEAST_1,
        "threads": AT_LEAST_1,
        "seed": SEED,
        "arch_seed": SEED,
    },
    ChildConfig: {
        "epochs": NON_NEGATIVE,
        "lr": NON_NEGATIVE,
        "momentum": FRACTION,
        "weight_decay": NON_NEGATIVE,
        "batch_size": AT_LEAST_1,
        "label_smoothing": FRACTION,
        "threads": AT_LEAST_1,
        "seed": SEED,
    },
    DeployConfig: {"calibration_batches": AT_LEAST_1},
    FinalConfig: {
        "epochs": NON_NEGATIVE,
        "lr": NON_NEGATIVE,
        "weight_decay": NON_NEGATIVE,
        "label_smoothing": FRACTION,
        "train_size": AT_LEAST_1,
        "batch_size": AT_LEAST_1,
        "threads": AT_LEAST_1,
        "top_k": Range(1, 10),
        "seed": SEED,
    },
    MeasureConfig: TIMING_RULES,
    BudgetConfig: {"max_latency_ms": POSITIVE, "max_energy_mj": POSITIVE},
    BaselinesConfig: {"mobilenet_v2": WIDTH, "resnet18": WIDTH, "mnasnet": WIDTH},
    SweepConfig: {
        "trials": AT_LEAST_1,
        "concurrency": AT_LEAST_1,
        "cpus_per_trial": POSITIVE,
        "gpus_per_trial": NON_NEGATIVE,
        "measure_timeout_s": POSITIVE,
        "seed": SEED,
        **dict.fromkeys(KNOB_RANGES, KnobRange()),
    },
}
# Rules between fields of one section: (holds, message with the section's fields).
RELATIONS: dict[type, list[tuple]] = {
    ExperimentConfig: [
        (  # the user's own data: its classes are counted when it is read (hwnas.data)
            lambda c: (
                c.data.dataset not in NUM_CLASSES
                or (c.space.num_classes or NUM_CLASSES[c.data.dataset]) >= NUM_CLASSES[c.data.dataset]
            ),
            "space.num_classes={0.space.num_classes} but {0.data.dataset} has more classes",
        )
    ],
    DataConfig: [
        (
            lambda d: d.dataset not in OWN_DATASETS or d.root,
            "root is required for dataset {0.dataset} (the image folder or the .npz file)",
        )
    ],
    SearchConfig: [
        (
            lambda s: s.warmup_epochs <= s.epochs,
            "need warmup_epochs <= epochs, got warmup_epochs={0.warmup_epochs}, epochs={0.epochs}",
        )
    ],
    SweepConfig: [
        (  # sampled as the minor term's share of the major one (sweep.knobs)
            lambda s: s.dominant == "any" or s.dominance[1] < 1,
            "dominance = [{0.dominance[0]}, {0.dominance[1]}]: the minor/major term ratio must be < 1 "
            "for {0.dominant}-dominant knobs",
        )
    ],
}
# Sections whose values are also read from files and flags, not only from configs: one
# function holds their rules and is called here and by the code that reads those files.
SHARED: dict[type, typing.Callable] = {
    SpaceConfig: lambda s, where: check_space_args(s.preset, s.width, s.num_classes, s.input_size, where),
    DeployConfig: lambda d, where: d.target(),  # hwnas.target.DeployTarget (LUTs and measurements name one)
    # hwnas.device_name: local or a Ray resource, as lut.profile --device
    MeasureConfig: lambda m, where: device_resource(
        m.device, f"{where}.device" if where else "device", old_spelling=False
    ),
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


def _check_rules(cls, obj, where: str) -> None:
    """The range rules of ``cls`` on ``obj``'s fields, then its ``SHARED`` check."""
    for key, rule in RULES.get(cls, {}).items():
        check_value(f"{where}.{key}" if where else key, getattr(obj, key), rule)
    if cls in SHARED:
        SHARED[cls](obj, where)


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
    c, size, _ = preset["input_shape"]
    shape = (cfg.space.channels or c, cfg.space.input_size or size, cfg.space.input_size or size)
    for name in cfg.baselines.widths():
        check_adaptable(name, shape, preset["stem_stride"])


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
