"""The Ray Tune ``Tuner`` of a sweep, new or restored.

Ray Tune owns trials, checkpoints, failures, resume and scheduling:
``FailureConfig(max_failures=0)`` records a failing trial as ERROR with its reason
(``error.txt``) and goes on; ``CheckpointConfig(num_to_keep=1)`` keeps the last
epoch's checkpoint; ``SyncConfig(sync_artifacts=True)`` copies each trial's working
directory (search/, child/, config.yaml) into its trial directory; ``Tuner.restore``
resumes unfinished trials from their checkpoints and keeps finished and failed ones.
``tuner.pkl`` holds only the ``Tuner``'s settings, which this module makes from the sweep's
recorded config: a lost or damaged one is written again by making the same ``Tuner``
(``rebuild_tuner``, ``sweep.run --resume --rebuild-tuner``) before restoring.
``sweep.strategy: random`` swaps the trainable and the searcher (``sweep.random_arch``)
and keeps all the rest. Optuna's study is kept in ``<experiment>/optuna.db``
(``sweep.experiment.study_storage``). The experiment's folder may have been moved or
renamed since it started: ``sweep.run`` makes and runs the ``Tuner`` inside
``sweep.searcher.sweep_at``, so that what is restored is found where it is now.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ray import tune
from ray.tune.schedulers import ASHAScheduler

from hwnas.config import ExperimentConfig, config_to_dict
from hwnas.errors import DiskFull, UserError, disk_full_in
from hwnas.layout import CHILDREN, TUNER
from hwnas.ray_connect import this_node_resource
from sweep.budget import budget_dict
from sweep.experiment import absolute_paths, set_aside
from sweep.knobs import KnobSampler
from sweep.random_arch import make_random_search_alg, random_trial
from sweep.searcher import make_search_alg
from sweep.trial import TrialContext, sweep_trial, trial_dirname

__all__ = ["StopOnFullDisk", "build_tuner", "check_trials_fit", "trial_dirname_creator"]


def trial_dirname_creator(trial) -> str:
    return trial_dirname(trial.trial_id)


def _trainable(cfg: ExperimentConfig, experiment: Path, warmup: dict | None, reference: dict | None, aliases: dict):
    base = absolute_paths(config_to_dict(cfg), Path.cwd())  # lut.path: the experiment's LUT (sweep.run)
    context = TrialContext(
        config=base,
        warmup_path=warmup["path"] if warmup else None,  # where it is now (sweep.prepare.ensure_warmup)
        children_dir=str(experiment / CHILDREN) if cfg.sweep.reuse_children else None,
        reference=reference,
        metric_aliases=aliases,
    )
    # Trials stay on the driver's node (its disk holds the experiment; on a cluster only
    # measurements go to the devices), whether or not they ask for a GPU.
    resources = {"cpu": cfg.sweep.cpus_per_trial, "gpu": cfg.sweep.gpus_per_trial, this_node_resource(): 0.001}
    function = random_trial if cfg.sweep.strategy == "random" else sweep_trial
    return tune.with_resources(tune.with_parameters(function, context=context), resources)


class StopOnFullDisk(tune.Callback):
    """The first trial that fails on a full disk stops the sweep (``DiskFull``: one line, exit 2,
    ``hwnas.errors.cli_main``) instead of every later trial failing the same way. Raised before
    Ray Tune saves its state again, so the trials still running resume from their checkpoints."""

    def on_trial_error(self, iteration, trials, trial, **info):
        try:
            text = Path(trial.error_file).read_text(errors="replace") if trial.error_file else ""
        except OSError:
            text = ""
        if disk_full_in(RuntimeError(text[-4000:])) is not None:
            raise DiskFull(getattr(trial, "path", None) or trial.local_path)  # the trial's folder in --storage


class _NoDiskFullTraceback(logging.Filter):
    """Drops Tune's traceback of a trial that failed on a full disk: ``StopOnFullDisk`` ends
    the sweep with the one line that says what to do, and the traceback would bury it."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return exc is None or disk_full_in(exc) is None


logging.getLogger("ray.tune.execution.tune_controller").addFilter(_NoDiskFullTraceback())


def check_trials_fit(cfg: ExperimentConfig, node_ip: str, resources: dict) -> None:
    """``UserError`` when one trial cannot fit on this node (``resources``: its totals):
    trials stay on the node ``sweep.run`` runs on, so a trial asking for a GPU a CPU-only
    head does not have would wait forever."""
    for key, name in (("cpus_per_trial", "CPU"), ("gpus_per_trial", "GPU")):
        wanted, has = getattr(cfg.sweep, key), resources.get(name, 0.0)
        if wanted > has:
            raise UserError(
                f"sweep.{key} {wanted:g}: this node ({node_ip}), where the trials run, has {has:g} "
                f"{name}{'s' if name == 'CPU' else ''}; lower it (--set sweep.{key}=...) or run "
                f"sweep.run on a node that has them"
            )


def _scheduler(cfg: ExperimentConfig):
    if cfg.sweep.scheduler != "asha":
        return None
    # Rungs on the supernet's validation accuracy during the search; rows of the
    # childnet phase carry no search_epoch, so ASHA leaves retraining alone.
    return ASHAScheduler(
        time_attr="search_epoch",
        metric="val_acc",
        mode="max",
        max_t=max(2, cfg.search.epochs),
        grace_period=1,
        reduction_factor=2,
        stop_last_trials=False,
    )


def build_tuner(
    cfg: ExperimentConfig,
    experiment: Path,
    knob_sampler: KnobSampler,
    metrics: list[str],
    directions: list[str],
    *,
    warmup: dict | None,
    resume: bool,
    study: dict | None = None,
    reference: dict | None = None,
    rebuild_tuner: bool = False,
    metric_aliases: dict | None = None,
) -> tune.Tuner:
    """``study``: sweep.json's ``optuna`` (where the study is now; None: no study, strategy random);
    ``reference``: the LUT's speed reference, for measurements on a device of its own;
    ``rebuild_tuner``: write ``tuner.pkl`` again (the damaged one kept as ``tuner.pkl.damaged``);
    ``metric_aliases``: old metric names the experiment's study knows -> new (``hwnas.keys``)."""
    trainable = _trainable(cfg, experiment, warmup, reference, metric_aliases or {})
    # With num_to_keep=1 Ray Tune snapshots the experiment state after every trial
    # checkpoint (so a resume never points at a deleted checkpoint) and warns that this
    # is frequent; the state is tiny here, so the warning is noise.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    if resume:
        if rebuild_tuner:
            if (experiment / TUNER).exists():
                set_aside(experiment / TUNER)
            _new_tuner(cfg, experiment, trainable, knob_sampler, metrics, directions, study)  # Ray writes tuner.pkl
        return tune.Tuner.restore(str(experiment), trainable, resume_unfinished=True, resume_errored=False)
    return _new_tuner(cfg, experiment, trainable, knob_sampler, metrics, directions, study)


def _new_tuner(cfg: ExperimentConfig, experiment: Path, trainable, knob_sampler, metrics, directions, study):
    """The sweep's ``Tuner`` (making it writes its settings, ``tuner.pkl``)."""
    if cfg.sweep.strategy == "random":
        search_alg = make_random_search_alg(cfg.search_space(), concurrency=cfg.sweep.concurrency, seed=cfg.sweep.seed)
    else:
        search_alg = make_search_alg(
            knob_sampler,
            metrics,
            directions,
            concurrency=cfg.sweep.concurrency,
            seed=cfg.sweep.seed,
            budget=budget_dict(cfg.sweep.budget),
            study=study,
        )
    return tune.Tuner(
        trainable,
        # reuse_actors: a finished trial's worker process runs the next trial (no new
        # process, no second `import torch`: seconds per trial on a small machine).
        tune_config=tune.TuneConfig(
            search_alg=search_alg,
            scheduler=_scheduler(cfg),
            num_samples=cfg.sweep.trials,
            trial_dirname_creator=trial_dirname_creator,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=experiment.name,
            storage_path=str(experiment.parent),
            failure_config=tune.FailureConfig(max_failures=0),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            sync_config=tune.SyncConfig(sync_artifacts=True),
            callbacks=[StopOnFullDisk()],
        ),
    )
