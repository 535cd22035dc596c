"""The allowed values of a setting, each defined once: an enumeration is a ``Literal`` (what
a config field is annotated with, ``hwnas.config_sections``) and its tuple derived from it
(what a CLI's ``choices``, a record check or a loop uses); a number's interval is a
``Range``. ``hwnas.config_rules`` says which config field takes which; code elsewhere
imports the name from here instead of spelling the values again, and checks a value it
got another way (a flag, a file) with ``check_value``, so its bounds are the config's.
Torch-free and config-free: pareto and the device-side ``childnet.measure`` import it.
"""

from __future__ import annotations

import reprlib
import typing
from dataclasses import dataclass
from typing import Literal

from hwnas.errors import UserError

__all__ = [
    "AT_LEAST_1",
    "CLASSES",
    "DOMINANT",
    "ENERGY_KINDS",
    "EXECUTIONS",
    "FRACTION",
    "INPUT_SIZE",
    "KNOBS",
    "LOSS_FORMS",
    "METERS",
    "NON_NEGATIVE",
    "OBJECTIVES",
    "POSITIVE",
    "PRECISIONS",
    "RUNTIMES",
    "SCHEDULERS",
    "SEED",
    "STRATEGIES",
    "WIDTH",
    "Dominant",
    "EnergyKind",
    "Execution",
    "Knob",
    "KnobRange",
    "KnobScale",
    "LossForm",
    "Meter",
    "Objective",
    "Precision",
    "Range",
    "Runtime",
    "Scheduler",
    "Strategy",
    "TIMING_RULES",
    "check_value",
    "check_values",
    "short_repr",
]

# Which cost term leads the HANNA knobs a sweep proposes (sweep.dominant, --dominant;
# sweep.knobs): every trial latency- or energy-dominant, or either.
Dominant = Literal["latency", "energy", "any"]
# What Optuna optimizes (sweep.objective, --objective; sweep.searcher): multi = accuracy,
# LUT latency and LUT energy.
Objective = Literal["multi", "accuracy", "latency", "energy"]
# How a sweep's trials pick architectures (sweep.strategy): dnas searches a supernet per
# trial; random draws uniformly from the space, the baseline a search has to beat.
Strategy = Literal["dnas", "random"]
Scheduler = Literal["none", "asha"]  # sweep.scheduler: asha stops hopeless searches early
KnobScale = Literal["relative", "absolute"]  # sweep.knobs: how knobs are sampled (sweep.knobs)
Knob = Literal["alpha", "beta", "gamma", "delta"]  # the loss's knobs: CE + alpha*LAT^beta + gamma*ENER^delta
Runtime = Literal["executorch", "onnxruntime", "torchscript", "pytorch"]  # deploy.runtime (hwnas.target)
Precision = Literal["fp32", "int8"]  # deploy.precision
Execution = Literal["exact", "single_path", "naive"]  # search.execution: how the supernet runs (supernet.mixed)
LossForm = Literal["hanna", "fbnet"]  # loss.form: CE + a*LAT^b + g*ENER^d | CE * a * log(LAT)^b (supernet.loss)
EnergyKind = Literal["dynamic", "total"]  # lut.energy_kind: total - idle power x time | all the device drew
Meter = Literal["none", "rapl", "ina219", "pmic", "fnirsi", "um"]  # measure.meter (hwnas.meters)

DOMINANT: tuple[str, ...] = typing.get_args(Dominant)
OBJECTIVES: tuple[str, ...] = typing.get_args(Objective)
STRATEGIES: tuple[str, ...] = typing.get_args(Strategy)
SCHEDULERS: tuple[str, ...] = typing.get_args(Scheduler)
KNOBS: tuple[str, ...] = typing.get_args(Knob)
RUNTIMES: tuple[str, ...] = typing.get_args(Runtime)
PRECISIONS: tuple[str, ...] = typing.get_args(Precision)
EXECUTIONS: tuple[str, ...] = typing.get_args(Execution)
LOSS_FORMS: tuple[str, ...] = typing.get_args(LossForm)
ENERGY_KINDS: tuple[str, ...] = typing.get_args(EnergyKind)
METERS: tuple[str, ...] = typing.get_args(Meter)


def _bounded_repr() -> reprlib.Repr:
    """A ``repr`` that looks at a bounded part of a value: a few levels, a few items per
    list or mapping, the start of a long string or number (``reprlib`` marks the cuts)."""
    r = reprlib.Repr()
    r.maxlevel, r.maxlist, r.maxtuple, r.maxdict, r.maxset = 4, 8, 8, 8, 8
    r.maxstring, r.maxlong, r.maxother = 80, 80, 80
    return r


_REPR = _bounded_repr()


def short_repr(value) -> str:
    """``repr`` cut to one short line; a huge list or nested mapping is never formatted whole."""
    text = " ".join(_REPR.repr(value).split())
    return text if len(text) <= 80 else text[:77] + "..."


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

    def message(self, name: str, v) -> str:
        """The one-line complaint about ``name`` = ``v`` (not allowed)."""
        kind = "an integer" if isinstance(v, int) else "a number"
        return f"{name}: expected {kind} {self}, got {short_repr(v)}"

    def __str__(self) -> str:
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"


@dataclass(frozen=True)
class KnobRange:
    """A sampled knob's ``(low, high)``: Optuna draws it on a log scale, so both ends are
    positive and ``low <= high``."""

    def allows(self, v) -> bool:
        low, high = v
        return 0 < low <= high

    def message(self, name: str, v) -> str:
        low, high = v
        if low < 0 or high < 0:
            return f"{name} = [{low}, {high}]: knob ranges must not be negative"
        return f"{name} = [{low}, {high}]: expected 0 < low <= high"


AT_LEAST_1 = Range(1)
NON_NEGATIVE = Range(0)
POSITIVE = Range(0, low_open=True)
FRACTION = Range(0, 1, high_open=True)  # [0, 1)
SEED = Range(0, 2**63 - 1)
# A search space's arguments, from a config or from a file (hwnas.space.check_space_args)
WIDTH = Range(0, 16, low_open=True)
CLASSES = Range(2, 100_000)
INPUT_SIZE = Range(1, 4096)
# The whole-model timing protocol's settings: measure.* in a config (hwnas.config_rules), the
# flags of childnet.measure (which imports no config code: it runs on the device)
TIMING_RULES = {
    "threads": AT_LEAST_1,
    "warmup": NON_NEGATIVE,
    "repeats": AT_LEAST_1,
    "rounds": AT_LEAST_1,
    "batch_size": AT_LEAST_1,
    "max_rel_iqr": POSITIVE,
    "tries": AT_LEAST_1,
}


def check_value(name: str, value, rule) -> None:
    """One-line ``UserError`` naming ``name`` when ``value`` (None: always allowed) breaks ``rule``."""
    if value is not None and not rule.allows(value):
        raise UserError(rule.message(name, value))


def check_values(values: dict, rules: dict, where: str) -> None:
    """``check_value`` of each ``values[key]`` with ``rules[key]``, named ``<where>.<key>``."""
    for key, value in values.items():
        check_value(f"{where}.{key}", value, rules[key])
