"""The config sections: one dataclass per stage, gathered by ``ExperimentConfig``; each
stage reads only its own section. Defaults live here; the rules a value must meet live in
``hwnas.config_rules``, loading and overrides in ``hwnas.config`` (the public entry point).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from hwnas.data import dataset_classes
from hwnas.device_name import LOCAL
from hwnas.domains import (
    Dominant,
    EnergyKind,
    Execution,
    KnobScale,
    LossForm,
    Meter,
    Objective,
    Precision,
    Runtime,
    Scheduler,
    Strategy,
)
from hwnas.space import SearchSpace, get_space
from hwnas.target import DeployTarget
from hwnas.timing.settings import MAX_REL_IQR, MODEL_TIMING, TRIES

__all__ = [
    "BaselinesConfig",
    "BudgetConfig",
    "ChildConfig",
    "DataConfig",
    "DeployConfig",
    "FinalConfig",
    "ExperimentConfig",
    "LossConfig",
    "LutConfig",
    "MeasureConfig",
    "SearchConfig",
    "SpaceConfig",
    "SweepConfig",
    "renamed_state",
]


@dataclass
class SpaceConfig:
    preset: Literal["fbnet-cifar", "fbnet-imagenet", "fbnet-cpu", "hanna-cifar"] = "fbnet-cpu"  # hwnas.space.PRESETS
    width: float = 1.0
    num_classes: int | None = None  # None: the dataset's
    input_size: int | None = None  # height = width of the input images; None: the preset's (32 or 224)
    channels: Literal[1, 3] | None = None  # 1 gray, 3 RGB; None: the preset's (3)


@dataclass
class DataConfig:
    # built-in names, or the user's own: imagefolder (root: a folder, one sub-folder per class) or
    # npz (root: a .npz file with arrays x, y); hwnas.data.DATASETS
    dataset: Literal["fashion-mnist", "cifar10", "cifar100", "imagefolder", "npz"] = "fashion-mnist"
    root: str | None = None  # None: the dataset's usual places (Debian package, ./data); imagefolder/npz need it
    download: bool = False
    train_size: int | None = None  # subset of the training split (seeded); None: all
    test_size: int | None = None  # subset of the test split; None: all
    arch_fraction: float = 0.2  # share of the (subset) train split used for theta
    batch_size: int = 128
    augment: bool = False  # random crop + flip (CIFAR)
    seed: int = 0
    # imagefolder/npz without a given test split: the share of each class held out for testing (seeded)
    test_fraction: float = 0.2
    # decoded images (N x C x H x W bytes) above this stream from disk in batches instead of living in memory
    memory_budget_mb: float = 1024.0
    workers: int = 2  # processes decoding batches when streaming
    bad_files: Literal["error", "skip"] = (
        "error"  # imagefolder: an unreadable image file stops (or is skipped, counted)
    )


@dataclass
class LutConfig:
    path: str = "builtin:rpi4-hwnasbench"  # a LUT file or builtin:<name>
    energy: bool = True  # False: search ignores energy even if the LUT has it
    # which energy the loss, estimates and budgets use: dynamic (total - idle power x time, as the HANNA
    # report measured it) or total (everything the device drew); a LUT without that kind is refused at load
    energy_kind: EnergyKind = "dynamic"


@dataclass
class LossConfig:
    form: LossForm = "hanna"  # hanna: CE + a*LAT^b + g*ENER^d ; fbnet: CE * a * log(LAT)^b
    alpha: float = 0.2
    beta: float = 0.6
    gamma: float = 0.0
    delta: float = 0.6


@dataclass
class SearchConfig:
    epochs: int = 90  # total, warm-up included
    warmup_epochs: int = 10  # weights only
    execution: Execution = "exact"  # how the supernet runs (supernet.mixed)
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
    # deploy: write the deploy target's file (model.pte / model.onnx / model.pt) and the data file; none: neither
    export: Literal["deploy", "none"] = "deploy"


@dataclass
class DeployConfig:
    """What the user deploys (``hwnas.target``): the LUT is profiled, childnets exported and
    measured in this runtime and precision. torchscript is deprecated (old setups only);
    pytorch (eager) is what the published tables (builtin:*) measured."""

    runtime: Runtime = "executorch"
    precision: Precision = "fp32"
    calibration_batches: int = 8  # int8: training batches the post-training quantization is calibrated on

    def target(self) -> DeployTarget:
        return DeployTarget(self.runtime, self.precision)


@dataclass
class MeasureConfig:
    device: str = LOCAL  # local (this host) | the Ray resource of a device's node, e.g. rpi4 (hwnas.device_name)
    meter: Meter = "none"  # hwnas.meters
    # pmic/fnirsi/um: replay this recording of the device instead (checks; energy_source replay:<meter>)
    meter_replay: str | None = None
    meter_replay_speed: float = 1.0
    # whole-model timing (childnet.measure): the one default, hwnas.timing.MODEL_TIMING; a
    # sample is the mean of back-to-back calls lasting >= 10 ms (hwnas.timing.MIN_SAMPLE_MS)
    threads: int = MODEL_TIMING.threads
    warmup: int = MODEL_TIMING.warmup
    repeats: int = MODEL_TIMING.repeats
    rounds: int = MODEL_TIMING.rounds
    batch_size: int = 1
    max_rel_iqr: float = MAX_REL_IQR  # a measurement noisier than this (IQR / median) is timed again
    tries: int = TRIES  # timings per model at most, the quietest kept (still noisy: flagged)

    def protocol(self) -> dict:
        """The keyword arguments of ``childnet.measure.measure_files`` (device aside)."""
        out = {
            k: getattr(self, k)
            for k in ("threads", "warmup", "repeats", "rounds", "meter", "batch_size", "max_rel_iqr", "tries")
        }
        if self.meter_replay is not None:  # only then, so older experiments' recorded protocol stays the same
            out.update(meter_replay=self.meter_replay, meter_replay_speed=self.meter_replay_speed)
        return out


@dataclass
class BudgetConfig:
    """What the recommended model must meet (``sweep.budget``); null: no limit. Optuna
    learns it as a constraint (``sweep.searcher``), ``pareto.budget`` judges it."""

    max_latency_ms: float | None = None
    max_energy_mj: float | None = None  # needs a LUT with energy


@dataclass
class SweepConfig:
    trials: int = 30
    dominant: Dominant = "any"  # which cost term leads every trial's knobs (formerly sweep.mode)
    objective: Objective = "multi"
    strategy: Strategy = "dnas"  # dnas: a supernet search per trial | random: uniformly drawn architectures
    concurrency: int = 2
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0  # trials run on the node sweep.run runs on; a cluster's devices only measure
    measure_timeout_s: float = 900.0  # a device measurement that takes longer fails the trial (device gone?)
    alpha: tuple[float, float] = (0.01, 2.0)
    beta: tuple[float, float] = (0.3, 1.5)
    gamma: tuple[float, float] = (0.01, 2.0)
    delta: tuple[float, float] = (0.3, 1.5)
    dominance: tuple[float, float] = (0.05, 0.95)  # the sampled vENER/vLAT when latency-dominant (inverse: energy)
    # relative: sample cost_share = (vLAT + vENER) / CE0 and derive alpha, gamma from the
    # LUT's start costs (sweep.knobs docs in sweep/knobs.py); absolute: alpha, gamma in their ranges
    knobs: KnobScale = "relative"
    cost_share: tuple[float, float] = (0.01, 1.0)
    scheduler: Scheduler = "none"
    share_warmup: bool = True
    reuse_children: bool = True
    seed: int = 0
    budget: BudgetConfig = field(default_factory=BudgetConfig)

    def __setstate__(self, state: dict) -> None:
        # pickled before sweep.mode became sweep.dominant: inside a resumed sweep's searcher state
        self.__dict__.update(renamed_state(state, "mode", "dominant"))


def renamed_state(state: dict, old: str, new: str) -> dict:
    """A pickled object's ``state`` (its ``__dict__``) with the attribute ``old`` named ``new``."""
    return {(new if k == old else k): v for k, v in state.items()}


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
class FinalConfig:
    """The take-home model (``childnet.finalize``): after the measurement phase the sweep's
    recommended childnet is trained again from scratch on the whole training split with this
    longer recipe (the search's childnets only get ``child``'s proxy recipe)."""

    epochs: int = 10  # 0: no final stage
    lr: float = 0.1
    weight_decay: float = 5e-5
    label_smoothing: float = 0.1
    augment: bool = True  # random crop + flip of the training images
    train_size: int | None = None  # None: the whole training split (a subset for quick checks)
    batch_size: int = 128
    threads: int | None = None  # None: every core (nothing else of the sweep runs then)
    top_k: int = 1  # the recommended model and the next best of the report's front
    seed: int = 0


@dataclass
class ExperimentConfig:
    space: SpaceConfig = field(default_factory=SpaceConfig)
    data: DataConfig = field(default_factory=DataConfig)
    lut: LutConfig = field(default_factory=LutConfig)
    deploy: DeployConfig = field(default_factory=DeployConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    child: ChildConfig = field(default_factory=ChildConfig)
    measure: MeasureConfig = field(default_factory=MeasureConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    baselines: BaselinesConfig = field(default_factory=BaselinesConfig)
    final: FinalConfig = field(default_factory=FinalConfig)

    def search_space(self, width: float | None = None) -> SearchSpace:
        """The search space this config describes (the one place it is built): the preset
        at ``width`` (default ``space.width``; the supernet may train at ``search.proxy_width``)
        with ``space.num_classes`` or else the dataset's classes, at ``space.input_size`` and
        ``space.channels`` (None: the preset's input)."""
        classes = self.space.num_classes or len(dataset_classes(self.data.dataset, self.data.root))
        sp = self.space
        return get_space(sp.preset, sp.width if width is None else width, classes, sp.input_size, sp.channels)
