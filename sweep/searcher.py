"""How Optuna proposes knobs inside Ray Tune, and how many trials a sweep has.

``objectives`` turns ``--objective`` into Ray Tune metrics and their directions (Ray's ``mode``). ``SweepOptunaSearch``
is Ray's ``OptunaSearch`` told only each trial's *final* result: per-epoch rows carry
no test accuracy yet, and the study has no pruner, so intermediate values would be
noise. A trial that ends without all objective values (stopped early, failed) is
told to Optuna as pruned/failed, so its knobs stay in the study.

With a budget (``sweep.budget``) Optuna learns it as a constraint: each completed
trial's constraint values, its LUT latency/energy minus the limits (<= 0: within),
are stored as the Optuna trial's user attr ``constraints`` before the trial is told,
and the sampler (TPE, seeded as without a budget) reads them through its
``constraints_func`` (``budget_constraints``), so feasible trials rank first. The LUT
estimate, not the measurement: on this host nothing is measured until every trial has
ended.

The study lives in an SQLite file in the experiment directory (``sweep.experiment.study_storage``:
``<experiment>/optuna.db``, named after the folder the sweep started in), so
``optuna-dashboard sqlite:///<experiment>/optuna.db`` shows it and ``optuna.load_study``
reads it. Ray pickles the searcher with the study on every experiment checkpoint; the
storage pickles as its URL, the file where the sweep started. A moved or renamed
experiment (``mv experiments/default experiments/run1``, a copy to try a variant) must not
go on writing there: a sweep runs inside ``sweep_at``, which makes what is restored use
the folder where the experiment is now.

``TrialLimitSearch`` is Ray's ``SearchGenerator`` whose number of trials can grow on resume:
``Tuner.restore`` keeps the ``num_samples`` of the first run, so the limit is the
``trials`` recorded in the experiment's ``sweep.json``, which ``sweep.run --resume
--trials N`` updates before restoring. ("Budget" means the latency/energy limits above;
the class was ``BudgetedSearch``, a name pickled searcher states still use.)
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import warnings
from pathlib import Path

import optuna
from ray.tune.search import ConcurrencyLimiter
from ray.tune.search.optuna import OptunaSearch
from ray.tune.search.search_generator import SearchGenerator

from hwnas.domains import OBJECTIVES
from hwnas.errors import UserError
from hwnas.keys import upgrade
from hwnas.layout import RECORD

__all__ = [
    "CONSTRAINTS_ATTR",
    "OBJECTIVES",
    "SweepOptunaSearch",
    "TrialLimitSearch",
    "budget_constraints",
    "constraint_values",
    "make_search_alg",
    "objectives",
    "sweep_at",
]

_METRIC = {"accuracy": ("test_acc", "max"), "latency": ("lut_latency_ms", "min"), "energy": ("lut_energy_mj", "min")}
CONSTRAINTS_ATTR = "constraints"  # the Optuna trial's user attr holding its constraint values
_LIMITS = (("max_latency_ms", "lut_latency_ms"), ("max_energy_mj", "lut_energy_mj"))  # budget key, final-row key
# where the experiment this process sweeps is now (sweep_at)
_HERE: dict = {}


@contextlib.contextmanager
def sweep_at(experiment: Path, study: dict | None):
    """The body (making or restoring the ``Tuner`` and its ``fit``) sweeps ``experiment``, whose
    study is sweep.json's ``study`` (None: none). Ray's and Optuna's pickled state name the
    folder the sweep started in: a restored searcher's experiment is moved here (its trial
    limit is read and its new trials are made here), and an Optuna storage unpickled in the body opens this study's file
    (``RDBStorage.__setstate__`` is replaced for the body: unpickling a storage opens its
    database, and the old URL would open, or create tables in, another folder's file; Ray
    unpickles them itself, in ``Tuner.restore`` and in ``fit``)."""
    setstate = optuna.storages.RDBStorage.__setstate__
    url = study and study["storage"]

    def here(storage, state: dict) -> None:
        setstate(storage, dict(state, url=url) if url else state)

    _HERE["experiment"] = Path(experiment)
    optuna.storages.RDBStorage.__setstate__ = here
    try:
        yield
    finally:
        optuna.storages.RDBStorage.__setstate__ = setstate
        _HERE.clear()


def objectives(objective: str, has_energy: bool) -> tuple[list[str], list[str]]:
    """Ray Tune metrics and their directions (max/min, Ray's ``mode``): multi = max accuracy, min LUT latency, min LUT
    energy (energy dropped when the LUT has none)."""
    if objective not in OBJECTIVES:
        raise UserError(f"objective {objective!r}: expected one of {', '.join(OBJECTIVES)}")
    if objective == "energy" and not has_energy:
        raise UserError("objective energy: the LUT has no energy data; use --objective accuracy|latency|multi")
    names = ["accuracy", "latency"] + (["energy"] if has_energy else []) if objective == "multi" else [objective]
    return [_METRIC[n][0] for n in names], [_METRIC[n][1] for n in names]


def constraint_values(result: dict, budget: dict) -> list[float] | None:
    """The trial's LUT latency/energy minus each set limit of ``budget`` (<= 0: within),
    in the order latency, energy; None when a limited cost is missing from ``result`` (a row
    of a trial from before the keys were renamed is read under the new names)."""
    result = upgrade(result, "result_row")
    values = []
    for limit_key, cost_key in _LIMITS:
        limit, cost = budget.get(limit_key), result.get(cost_key)
        if limit is None:
            continue
        if not (isinstance(cost, (int, float)) and math.isfinite(cost)):
            return None
        values.append(float(cost) - limit)
    return values


def budget_constraints(trial) -> list[float]:
    """Optuna's ``constraints_func``: what ``SweepOptunaSearch`` stored in the trial (a
    trial that ended without its costs: none, i.e. not known to be infeasible)."""
    return list(trial.user_attrs.get(CONSTRAINTS_ATTR, []))


class SweepOptunaSearch(OptunaSearch):
    """``OptunaSearch`` fed with final results only, and told the budget's constraint
    values (see the module docstring). ``budget``: ``sweep.budget`` as a dict, or None."""

    budget: dict | None = None  # also for a searcher pickled before budgets existed

    def __init__(self, *args, budget: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.budget = budget

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        pass  # objectives exist only at the end of a trial; the study has no pruner

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        metrics = self.metric if isinstance(self.metric, list) else [self.metric]
        values = [None if result is None else result.get(m) for m in metrics]
        complete = all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)
        self._store_constraints(trial_id, result)
        # Ray's OptunaSearch tells Optuna COMPLETE with None values when a trial ends
        # early; Optuna refuses that and the trial would stay RUNNING in the study.
        super().on_trial_complete(trial_id, result if complete else None, error=error)

    def _store_constraints(self, trial_id: str, result: dict | None) -> None:
        """The user attr the sampler's ``constraints_func`` reads, set before Optuna is told."""
        if not self.budget or result is None or trial_id in self._completed_trials or trial_id not in self._ot_trials:
            return
        values = constraint_values(result, self.budget)
        if values is not None:
            self._ot_trials[trial_id].set_user_attr(CONSTRAINTS_ATTR, values)


def _read_trial_limit(experiment_dir: str | Path) -> int | None:
    path = Path(experiment_dir) / RECORD
    try:
        return int(json.loads(path.read_text())["trials"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class TrialLimitSearch(SearchGenerator):
    """``SearchGenerator`` whose number of trials is ``sweep.json``'s ``trials`` (see module docstring)."""

    def add_configurations(self, experiments) -> None:
        super().add_configurations(experiments)
        self._total_samples = _read_trial_limit(self._experiment.path) or self._total_samples

    def set_state(self, state: dict) -> None:
        super().set_state(state)  # the state of the interrupted run: counter, its number of trials
        self._move_to_here()
        limit = _read_trial_limit(self._experiment.path)
        if limit is not None:
            self._total_samples = limit

    def _move_to_here(self) -> None:
        """The pickled experiment's storage moved to where the experiment is now (``sweep_at``),
        as Ray moves the restored trials' (``TuneController._restore_trials``): its path is where
        the trial limit is read, its spec what new trials are made from."""
        here, storage = _HERE.get("experiment"), self._experiment.storage
        if here is None:
            return
        moved = copy.copy(storage)
        moved.storage_fs_path = here.parent.as_posix()
        moved.experiment_dir_name = here.name
        self._experiment.storage = self._experiment.spec["storage"] = moved


BudgetedSearch = TrialLimitSearch  # its old name: Ray Tune states pickled before the rename (a resumed sweep) name it


def _constrained_tpe(seed: int):
    """Ray's default sampler, ``TPESampler(seed=seed)``, reading ``budget_constraints``."""
    with warnings.catch_warnings():
        # Optuna 5 deprecates constraints_func (FutureWarning; Trial.set_constraint instead,
        # which Optuna 4, still allowed by pyproject, lacks); 4.x flags it experimental.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, constraints_func=budget_constraints)


def make_search_alg(
    knob_sampler,
    metrics: list[str],
    directions: list[str],
    *,
    concurrency: int,
    seed: int,
    budget: dict | None = None,
    study: dict | None = None,
) -> TrialLimitSearch:
    """Optuna (TPE; multi-objective when several metrics; constrained by ``budget`` when
    one is set) behind a concurrency limit. ``study``: ``study_storage(...)`` to keep the
    study in a file (None: in memory, inside Ray's searcher state only)."""
    many = len(metrics) > 1
    storage = optuna.storages.RDBStorage(study["storage"]) if study else None
    # Ray ignores seed when given a sampler: the constrained sampler carries it
    sampler = _constrained_tpe(seed) if budget else None
    searcher = SweepOptunaSearch(
        knob_sampler,
        metric=metrics if many else metrics[0],
        mode=directions if many else directions[0],
        seed=None if sampler else seed,
        sampler=sampler,
        budget=budget,
        storage=storage,
        study_name=study["study_name"] if study else None,
    )
    return TrialLimitSearch(ConcurrencyLimiter(searcher, max_concurrent=concurrency))
