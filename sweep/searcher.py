"""How Optuna proposes knobs inside Ray Tune, and how many trials a sweep has.

``objectives`` turns ``--objective`` into Ray Tune metric/mode lists. ``SweepOptunaSearch``
is Ray's ``OptunaSearch`` told only each trial's *final* result: per-epoch rows carry
no test accuracy yet, and the study has no pruner, so intermediate values would be
noise. A trial that ends without all objective values (stopped early, failed) is
told to Optuna as pruned/failed, so its knobs stay in the study.

``BudgetedSearch`` is Ray's ``SearchGenerator`` whose trial budget can grow on resume:
``Tuner.restore`` keeps the ``num_samples`` of the first run, so the budget is the
``trials`` recorded in the experiment's ``sweep.json``, which ``sweep.run --resume
--trials N`` updates before restoring.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ray.tune.search import ConcurrencyLimiter
from ray.tune.search.optuna import OptunaSearch
from ray.tune.search.search_generator import SearchGenerator

from hwnas.errors import UserError

__all__ = ["OBJECTIVES", "BudgetedSearch", "SweepOptunaSearch", "make_search_alg", "objectives"]

OBJECTIVES = ("multi", "accuracy", "latency", "energy")
_METRIC = {"accuracy": ("test_acc", "max"), "latency": ("lat_ms", "min"), "energy": ("energy_mj", "min")}


def objectives(objective: str, has_energy: bool) -> tuple[list[str], list[str]]:
    """Ray Tune metric and mode lists: multi = max accuracy, min LUT latency, min LUT
    energy (energy dropped when the LUT has none)."""
    if objective not in OBJECTIVES:
        raise UserError(f"objective {objective!r}: expected one of {', '.join(OBJECTIVES)}")
    if objective == "energy" and not has_energy:
        raise UserError("objective energy: the LUT has no energy data; use --objective accuracy|latency|multi")
    names = ["accuracy", "latency"] + (["energy"] if has_energy else []) if objective == "multi" else [objective]
    return [_METRIC[n][0] for n in names], [_METRIC[n][1] for n in names]


class SweepOptunaSearch(OptunaSearch):
    """``OptunaSearch`` fed with final results only (see the module docstring)."""

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        pass  # objectives exist only at the end of a trial; the study has no pruner

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        metrics = self.metric if isinstance(self.metric, list) else [self.metric]
        values = [None if result is None else result.get(m) for m in metrics]
        complete = all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)
        # Ray's OptunaSearch tells Optuna COMPLETE with None values when a trial ends
        # early; Optuna refuses that and the trial would stay RUNNING in the study.
        super().on_trial_complete(trial_id, result if complete else None, error=error)


def _read_budget(experiment_dir: str | Path) -> int | None:
    path = Path(experiment_dir) / "sweep.json"
    try:
        return int(json.loads(path.read_text())["trials"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class BudgetedSearch(SearchGenerator):
    """``SearchGenerator`` whose budget is ``sweep.json``'s ``trials`` (see module docstring)."""

    def add_configurations(self, experiments) -> None:
        super().add_configurations(experiments)
        self._total_samples = _read_budget(self._experiment.path) or self._total_samples

    def set_state(self, state: dict) -> None:
        super().set_state(state)  # the state of the interrupted run: counter, its budget
        budget = _read_budget(self._experiment.path)
        if budget is not None:
            self._total_samples = budget


def make_search_alg(space, metrics: list[str], modes: list[str], *, concurrency: int, seed: int) -> BudgetedSearch:
    """Optuna (TPE; multi-objective when several metrics) behind a concurrency limit."""
    many = len(metrics) > 1
    searcher = SweepOptunaSearch(space, metric=metrics if many else metrics[0],
                                 mode=modes if many else modes[0], seed=seed)
    return BudgetedSearch(ConcurrencyLimiter(searcher, max_concurrent=concurrency))
