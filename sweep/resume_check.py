"""Every file ``sweep.run --resume`` reads, checked before anything is written.

A file not written yet is legitimately absent (a sweep stopped while preparing has no Ray
Tune state and no study; a trial still running has no ``child/metrics.json``), and a trial
Ray resumes writes its folder again (a kill can cut Ray's copy of it short). A file that
is there but damaged is one ``UserError`` line naming it, what is wrong and what to do, before
``sweep.json`` gets a new run entry and before Ray Tune unpickles anything (it would end in
a traceback). What can be rebuilt from other files is offered as a flag, never done unasked:

- ``optuna.db`` lost or damaged: ``--rebuild-study`` (``sweep.study``: from Ray Tune's record
  of the trials' knobs and results);
- ``tuner.pkl`` (Ray Tune's ``Tuner`` settings) damaged or lost: ``--rebuild-tuner``: the
  sweep makes the same ``Tuner`` from its recorded config, which writes the file again;
- ``measurements.json`` damaged: ``--remeasure`` (``sweep.measurements``: the models whose
  entries cannot be read are timed again).

Ray Tune's own trial and searcher state (``experiment_state-*.json``, ``searcher-state-*.pkl``,
``search_gen_state-*.json``, the newest of each: what Ray reads) cannot be rebuilt here; a
damaged one is named. Pickles are checked by walking their opcodes (``hwnas.io.check_pickle``),
never by loading them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hwnas.errors import UserError
from hwnas.io import check_pickle, load_checkpoint
from hwnas.layout import TUNER, WARMUP
from sweep.experiment import read_baselines, read_metrics, trial_metrics
from sweep.measurements import check_measurements
from sweep.study import RESUMED, check_study, ray_trials
from sweep.trial import trial_dirname

__all__ = ["Repairs", "check_resume"]

_RAY_HINT = (
    "Ray Tune's own state, which cannot be rebuilt: restore it from a backup, or start a new sweep "
    "(another --name); pareto.report still reports the finished trials"
)
_TUNER_HINT = "resume with --rebuild-tuner to write it again from the sweep's recorded config"


@dataclass(frozen=True)
class Repairs:
    """What the resume rebuilds before it starts (each asked for by its flag)."""

    study: bool = False  # optuna.db (--rebuild-study)
    tuner: bool = False  # tuner.pkl (--rebuild-tuner)


def _newest(experiment: Path, pattern: str) -> Path | None:
    found = sorted(experiment.glob(pattern))  # Ray reads the greatest name (a timestamp)
    return found[-1] if found else None


def _check_tuner(experiment: Path, rebuild: bool) -> bool:
    """Whether ``tuner.pkl`` must be written again (only with ``rebuild``). Missing is fine
    before Ray Tune started (no experiment state): the resume then starts the trials."""
    path = experiment / TUNER
    try:
        if path.is_file():
            check_pickle(path, "Ray Tune's tuner settings", _TUNER_HINT)
        elif _newest(experiment, "experiment_state-*.json") is not None:
            raise UserError(f"Ray Tune's tuner settings {path}: not found, but the trials' state is; {_TUNER_HINT}")
        else:
            return False
    except UserError:
        if not rebuild:
            raise
        return True
    return False


def _check_ray_state(experiment: Path) -> None:
    """The newest of each of Ray Tune's state files, as Ray will read them."""
    try:
        ray_trials(experiment)  # experiment_state-*.json: JSON all through
    except UserError as err:
        raise UserError(f"{err}; {_RAY_HINT}") from None
    for pattern, what in (
        ("searcher-state-*.pkl", "Ray Tune's searcher state"),
        ("search_gen_state-*.json", "Ray Tune's search generator state"),  # a pickle, despite its name
    ):
        path = _newest(experiment, pattern)
        if path is not None:
            check_pickle(path, what, _RAY_HINT)


def _check_warmup(experiment: Path, record: dict) -> None:
    """The shared warm-up the trials start from (absent: computed again by the resume)."""
    path = experiment / WARMUP
    if record.get("warmup") and path.is_file():
        load_checkpoint(path, "warm-up file")  # its error says: delete it (the resume computes it again)


def check_resume(
    experiment: Path, record: dict, *, rebuild_study: bool = False, rebuild_tuner: bool = False, remeasure: bool = False
) -> Repairs:
    """``UserError`` naming the first damaged file a resume of ``experiment`` would read
    (module docstring); else what to rebuild, as the flags allow."""
    experiment = Path(experiment)
    tuner = _check_tuner(experiment, rebuild_tuner)
    _check_ray_state(experiment)
    study = check_study(experiment, record, rebuild_study)
    _check_warmup(experiment, record)
    read_baselines(experiment)
    # a trial Ray resumes writes its folder again (a kill can cut Ray's copy of it short)
    resumed = {trial_dirname(t["trial_id"]) for t in ray_trials(experiment) if t["status"] in RESUMED}
    for path in trial_metrics(experiment):
        if path.parent.parent.name not in resumed:
            read_metrics(path)
    if not remeasure:
        check_measurements(experiment)
    return Repairs(study=study, tuner=tuner)
