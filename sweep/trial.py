"""One sweep trial, as a Ray Tune function trainable: supernet search with the trial's
knobs, then retraining of the found childnet, then its measurement on the device.

The trial works in Ray's trial working directory (the process's cwd), which Ray
copies to ``<experiment>/<trial>/`` at every checkpoint and at the end
(``SyncConfig(sync_artifacts=True)``), giving the layout of ``docs/formats.md``::

    config.yaml  trial_state.json  search/{arch.json,theta.json,events...}  child/{metrics.json,...}

Every epoch is reported with a checkpoint of that directory, taken after the stage
wrote its own resumable checkpoint, so an interrupted trial restarts from its last
reported epoch and a finished trial only re-reports its final row. ``trial_state.json``
holds the phase, the work seconds so far and one entry per start (a resumed start
names the phase and epoch it resumed from).

Rows always carry ``phase``, ``epoch``, ``test_acc``, ``lut_latency_ms``, ``lut_energy_mj``,
``measured_latency_ms``, ``val_acc`` and ``trial_seconds`` (null until known) so
that Ray Tune's metric checks, the searcher and the scheduler see every key; in a resumed
sweep whose study names metrics by their old names (``hwnas.keys.metric_aliases``) each
such value is reported under the old name too. The final
(``done``) row marks whether the childnet meets ``sweep.budget`` (``within_budget``,
``budget_basis``: ``pareto.budget``'s rule on the costs known then; on this host the
measurement comes later, so the row's basis is the LUT and the report judges again).
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from ray import tune

from childnet.train import run_child
from hwnas.config import ExperimentConfig, config_from_dict, save_config
from hwnas.device_name import is_local
from hwnas.domains import KNOBS
from hwnas.errors import UserError
from hwnas.io import atomic_write_json, read_json
from hwnas.keys import upgrade
from hwnas.layout import ARCH, CHECKPOINT, CONFIG, METRICS, TRIAL_STATE, child_dir, search_dir
from pareto.budget import judge
from supernet.search import run_search
from sweep.budget import budget_dict
from sweep.device import measure_on_device
from sweep.measurements import PENDING
from sweep.reuse import ChildRegistry, child_key

__all__ = ["TrialContext", "apply_knobs", "run_trial", "sweep_trial", "trial_dirname"]

_ALWAYS = ("test_acc", "lut_latency_ms", "lut_energy_mj", "measured_latency_ms", "measured_energy_mj", "val_acc")


def trial_dirname(trial_id: str) -> str:
    """A trial's directory name in the experiment (short and stable: Ray's default
    embeds every knob value)."""
    return f"trial_{trial_id}"


@dataclass(frozen=True)
class TrialContext:
    """What every trial of a sweep shares (passed with ``tune.with_parameters``)."""

    config: dict  # resolved ExperimentConfig of the sweep (lut.path: the experiment's LUT)
    warmup_path: str | None = None  # shared weights-only warm-up, None: each trial warms up
    children_dir: str | None = None  # childnet reuse registry, None: no reuse
    reference: dict | None = None  # the LUT's speed reference (childnet.measure), None: the space's own
    # old metric name -> new: the study of an experiment from before the rename knows the old names
    metric_aliases: dict = field(default_factory=dict)


@dataclass
class TrialState:
    phase: str = "search"  # search | child | done
    epoch: int = 0  # last reported epoch of the phase
    seconds: float = 0.0  # own work time over all starts, up to the last checkpoint
    starts: list = field(default_factory=list)
    final: dict | None = None  # the final row once done

    @classmethod
    def load(cls, path: Path) -> TrialState:
        if not path.is_file():
            return cls()
        state = read_json(path, "trial state", dict)
        # the final row of a trial finished before a key was renamed, re-reported on resume
        return cls(**dict(state, final=upgrade(state.get("final"), "result_row", str(path))))

    def save(self, path: Path) -> None:
        atomic_write_json(path, self.__dict__)


def apply_knobs(base: dict, knobs: dict) -> ExperimentConfig:
    """The trial's config: the sweep's with the loss knobs replaced, and its own
    ``search.arch_seed`` (from the knobs: stable across a resume). Why: with one seed
    for all, every trial drew the same Gumbel noise and neighbouring knobs ended in the
    same architecture (30 trials, 12 architectures); independent searches explore."""
    data = json.loads(json.dumps(base))
    data["loss"].update({k: float(knobs[k]) for k in KNOBS})
    digest = hashlib.sha256(json.dumps([float(knobs[k]) for k in KNOBS]).encode()).hexdigest()
    data["search"]["arch_seed"] = int(digest[:8], 16)
    return config_from_dict(data, source="trial config")


def _own_work_dir(work: Path, trial_dir: str | None) -> None:
    """``UserError`` unless ``work`` is the trial's own working directory. Why: the trial
    empties ``work`` before restoring; with ``RAY_CHDIR_TO_TRIAL_DIR=0`` (documented by
    Ray) the cwd stays the user's folder, which must never be emptied."""
    if not trial_dir or work.resolve() != Path(trial_dir).resolve():
        raise UserError(
            f"sweep trial: the working directory {work} is not the trial's own ({trial_dir}); "
            f"refusing to empty it (is RAY_CHDIR_TO_TRIAL_DIR=0 set? unset it)"
        )


def _restore(work: Path, trial_dir: str | None = None) -> TrialState:
    """Empty the working directory, then fill it from the last checkpoint (if any).
    ``work`` must be the trial's own working directory (``trial_dir``; in Ray 2.x
    ``get_storage().trial_working_directory``, the ``working_dirs/<trial>`` folder Ray
    changes into; ``get_trial_dir()`` is the driver's staging folder instead), else
    nothing is touched."""
    if trial_dir is None:
        trial_dir = tune.get_context().get_storage().trial_working_directory
    _own_work_dir(work, trial_dir)
    for child in work.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return TrialState()
    with checkpoint.as_directory() as src:
        shutil.copytree(src, work, dirs_exist_ok=True)
    return TrialState.load(work / TRIAL_STATE)


def _finite(metrics: dict, keys, where: str) -> None:
    for key in keys:
        value = metrics.get(key)
        if isinstance(value, float) and not math.isfinite(value):
            raise FloatingPointError(f"{where}: {key} is {value} at epoch {metrics.get('epoch')}")


class _Reporter:
    """Reports rows with a checkpoint of the working directory and keeps the work clock."""

    def __init__(self, work: Path, state: TrialState, aliases: dict | None = None):
        self.work, self.state, self.aliases = work, state, aliases or {}
        self.started = time.perf_counter()
        self.base_seconds = state.seconds

    def seconds(self) -> float:
        return self.base_seconds + time.perf_counter() - self.started

    def report(self, row: dict) -> None:
        self.state.seconds = self.seconds()
        self.state.epoch = row.get("epoch", 0)
        self.state.save(self.work / TRIAL_STATE)
        full = {key: None for key in _ALWAYS}
        full.update(row, phase=self.state.phase, trial_seconds=self.state.seconds)
        full.update({old: full.get(new) for old, new in self.aliases.items()})
        tune.report(full, checkpoint=tune.Checkpoint.from_directory(str(self.work)))


def run_trial(context: TrialContext, make_config, search) -> None:
    """The phases every trial goes through, resumable: restore the working directory,
    build the trial's config (``make_config()``), run ``search(cfg, work, reporter)``
    unless done before (it writes ``search/arch.json`` and returns the row that opens
    the child phase), then retrain and measure the childnet and report the final row."""
    work = Path.cwd()
    state = _restore(work)
    state.starts.append({"phase": state.phase, "epoch": state.epoch, "resumed": bool(state.starts)})
    reporter = _Reporter(work, state, context.metric_aliases)
    if state.phase == "done":  # finished before the interruption was recorded: only re-report
        reporter.report(state.final)
        return
    cfg = make_config()
    save_config(cfg, work / CONFIG)
    if state.phase == "search":
        row = search(cfg, work, reporter)
        state.phase, state.epoch = "child", 0
        reporter.report(row)
    arch = upgrade(read_json(search_dir(work) / ARCH, "architecture", dict), "arch", str(search_dir(work) / ARCH))
    metrics = _child(cfg, arch, work, context, reporter, resumed=state.epoch > 0)
    state.phase = "done"
    state.final = _final_row(arch, metrics, reporter.seconds(), budget_dict(cfg.sweep.budget), cfg.lut.energy_kind)
    reporter.report(state.final)


def sweep_trial(knobs: dict, context: TrialContext) -> None:
    """Ray Tune function trainable (``tune.with_parameters(sweep_trial, context=...)``)."""
    run_trial(
        context,
        lambda: apply_knobs(context.config, knobs),
        lambda cfg, work, reporter: _search(cfg, work, context, reporter),
    )


def _search(cfg: ExperimentConfig, work: Path, context: TrialContext, reporter: _Reporter) -> dict:
    """The supernet search; returns the row that opens the child phase."""
    last_val = {}

    def on_search_epoch(m: dict) -> None:
        _finite(m, ("train_ce", "val_acc"), "supernet search diverged")
        last_val["val_acc"] = m.get("val_acc")
        # expected_latency_ms/expected_energy_mj: the expected LUT cost under P(theta)
        row = {k: v for k, v in m.items() if k not in ("seconds", "phase")}
        row.update(search_epoch=m.get("epoch"), epoch_seconds=m.get("seconds"))
        reporter.report(row)

    run_search(
        cfg,
        search_dir(work),
        resume=(search_dir(work) / CHECKPOINT).is_file(),
        warmup_path=context.warmup_path,
        on_epoch=on_search_epoch,
    )
    return {"epoch": 0, "val_acc": last_val.get("val_acc")}


def _child(
    cfg: ExperimentConfig, arch: dict, work: Path, context: TrialContext, reporter: _Reporter, resumed: bool
) -> dict:
    """Retrain and measure the childnet (or reuse an identical one's result)."""
    out = child_dir(work)
    registry = ChildRegistry(context.children_dir) if context.children_dir else None
    key = child_key(cfg, arch["ops"])
    found = registry.lookup(key) if registry else None
    if found is not None:
        metrics = dict(found["metrics"], reused_from=found["trial"])
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / METRICS, metrics)
        return metrics

    def on_child_epoch(m: dict) -> None:
        _finite(m, ("train_loss",), "childnet training diverged")
        row = {f"child_{k}": v for k, v in m.items() if k not in ("epoch", "epochs", "phase")}
        row.update(epoch=m.get("epoch"), epochs=m.get("epochs"))
        reporter.report(row)

    run_child(
        cfg, arch, out, resume=resumed, on_epoch=on_child_epoch, measure_with=lambda path: _measure(path, cfg, context)
    )
    metrics = upgrade(read_json(out / METRICS, "childnet result", dict), "metrics", str(out / METRICS))
    if registry is not None:
        registry.register(key, trial_dirname(tune.get_context().get_trial_id()), metrics)
    return metrics


def _measure(path: Path, cfg: ExperimentConfig, context: TrialContext) -> dict:
    """A device of its own is measured now; the local host, which also trains, later
    in the sweep's quiet measurement phase (``sweep.measurements``)."""
    if is_local(cfg.measure.device):
        return dict(PENDING)
    return measure_on_device(
        path, cfg.measure, cfg.sweep.measure_timeout_s, reference=context.reference, target=cfg.deploy.target()
    )


def _final_row(
    arch: dict, metrics: dict, seconds: float, budget: dict | None = None, energy_kind: str = "dynamic"
) -> dict:
    measured = metrics.get("measured") or {}
    lut = metrics.get("lut") or {}
    # measured energy of the kind the LUT estimates are (lut.energy_kind): total or dynamic
    measured_energy = measured.get("energy_dynamic_mj" if energy_kind == "dynamic" else "energy_mj")
    verdict = judge(
        budget,
        measured.get("latency_ms"),
        lut.get("lut_latency_ms", arch.get("lut_latency_ms")),
        measured_energy,
        lut.get("lut_energy_mj", arch.get("lut_energy_mj")),
    )
    return {
        "epoch": metrics.get("epochs", 0),
        "test_acc": metrics.get("test_acc"),
        "lut_latency_ms": lut.get("lut_latency_ms", arch.get("lut_latency_ms")),
        "lut_energy_mj": lut.get("lut_energy_mj", arch.get("lut_energy_mj")),
        "measured_latency_ms": measured.get("latency_ms"),
        "measured_energy_mj": measured_energy,
        "measured_device": measured.get("device"),
        "measured_node": measured.get("node"),
        "params": metrics.get("params"),
        "flops": metrics.get("flops"),
        "ops": " ".join(arch["ops"]),
        "reused_from": metrics.get("reused_from"),
        "trial_seconds": seconds,
        "within_budget": verdict["within_budget"],
        "budget_basis": verdict["budget_basis"],
    }
