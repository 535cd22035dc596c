"""Optuna inside Ray Tune: only final results reach the study; failed and early-stopped
trials stay in it with their knobs; the number of trials comes from sweep.json."""

import json

import optuna
import pytest

from hwnas.config_sections import SweepConfig
from hwnas.errors import UserError
from sweep.experiment import study_storage, write_json
from sweep.knobs import KnobSampler, StartCosts
from sweep.searcher import SweepOptunaSearch, TrialLimitSearch, _read_trial_limit, make_search_alg

METRICS, DIRECTIONS = ["test_acc", "lut_latency_ms", "lut_energy_mj"], ["max", "min", "min"]


def _searcher():
    return SweepOptunaSearch(
        KnobSampler(SweepConfig(), "latency", StartCosts(2.0, 1.0)), metric=METRICS, mode=DIRECTIONS, seed=0
    )


def test_final_result_completes_failed_and_stopped_trials_keep_their_knobs():
    s = _searcher()
    for tid in ("a", "b", "c"):
        assert {"alpha", "beta", "gamma", "delta", "dominance"} <= set(s.suggest(tid))
    s.on_trial_result("a", {"test_acc": None, "lut_latency_ms": 3.0, "lut_energy_mj": None, "training_iteration": 1})
    s.on_trial_complete("a", {"test_acc": 0.8, "lut_latency_ms": 1.5, "lut_energy_mj": 0.2})
    s.on_trial_complete("b", None, error=True)  # e.g. NaN loss: the trial raised
    # stopped during the search
    s.on_trial_complete("c", {"test_acc": None, "lut_latency_ms": 2.0, "lut_energy_mj": None})
    trials = {t.number: t for t in s._ot_study.get_trials(deepcopy=False)}
    assert [trials[i].state for i in range(3)] == [
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.FAIL,
        optuna.trial.TrialState.PRUNED,
    ]
    assert trials[0].values == [0.8, 1.5, 0.2]
    assert all({"cost_share", "beta", "delta", "dominance"} <= set(t.params) for t in trials.values())


def test_the_number_of_trials_is_read_from_sweep_json(tmp_path):
    assert _read_trial_limit(tmp_path) is None
    write_json(tmp_path / "sweep.json", {"trials": 12})
    assert _read_trial_limit(tmp_path) == 12


def test_search_alg_is_a_trial_limited_generator_with_a_concurrency_limit():
    alg = make_search_alg(
        KnobSampler(SweepConfig(), "any", StartCosts(2.0, 1.0)), ["test_acc"], ["max"], concurrency=3, seed=1
    )
    assert isinstance(alg, TrialLimitSearch)
    assert alg.searcher.max_concurrent == 3
    assert alg.searcher.searcher.metric == "test_acc"


@pytest.mark.parametrize("metric", ["test_acc", "lut_latency_ms"])
def test_single_objective_ignores_intermediate_rows(metric):
    s = SweepOptunaSearch(KnobSampler(SweepConfig(), "any", StartCosts(2.0, 1.0)), metric=metric, mode="max", seed=0)
    s.suggest("t")
    s.on_trial_result("t", {metric: None, "training_iteration": 1})  # must not reach optuna
    s.on_trial_complete("t", {metric: 0.5})
    assert s._ot_study.trials[0].value == 0.5


def test_asha_rungs_on_search_epochs_only():
    from ray.tune.schedulers import ASHAScheduler, TrialScheduler

    from hwnas.config import ExperimentConfig
    from sweep.tuner import _scheduler

    cfg = ExperimentConfig()
    assert _scheduler(cfg) is None  # off by default
    cfg.sweep.scheduler = "asha"
    asha = _scheduler(cfg)
    assert isinstance(asha, ASHAScheduler)
    assert asha.metric == "val_acc"
    assert asha._time_attr == "search_epoch"

    class Trial:
        def __init__(self, tid):
            self.trial_id = tid

    good, bad = Trial("good"), Trial("bad")
    for t in (good, bad):
        asha.on_trial_add(None, t)
    assert asha.on_trial_result(None, good, {"search_epoch": 1, "val_acc": 0.8}) == TrialScheduler.CONTINUE
    assert asha.on_trial_result(None, bad, {"search_epoch": 1, "val_acc": 0.1}) == TrialScheduler.STOP
    # childnet rows carry no search_epoch: retraining is never cut
    assert asha.on_trial_result(None, good, {"epoch": 1, "phase": "child", "val_acc": None}) == TrialScheduler.CONTINUE


BUDGET = {"max_latency_ms": 2.0, "max_energy_mj": 0.5}


def _budgeted(budget=BUDGET, seed=0):
    return make_search_alg(
        KnobSampler(SweepConfig(), "latency", StartCosts(2.0, 1.0)),
        METRICS,
        DIRECTIONS,
        concurrency=2,
        seed=seed,
        budget=budget,
    ).searcher.searcher


def test_constraint_values_are_lut_costs_minus_the_budget():
    from sweep.searcher import constraint_values

    assert constraint_values({"lut_latency_ms": 2.5, "lut_energy_mj": 0.25}, BUDGET) == [0.5, -0.25]
    latency_only = {"max_latency_ms": 2.0, "max_energy_mj": None}
    assert constraint_values({"lut_latency_ms": 1.5, "lut_energy_mj": None}, latency_only) == [-0.5]
    assert constraint_values({"lut_latency_ms": None}, BUDGET) is None  # a cost the budget limits is unknown
    # the last row of a trial from before the rename (--rebuild-study reads Ray Tune's record of it)
    assert constraint_values({"latency_ms": 2.5, "energy_mj": 0.25}, BUDGET) == [0.5, -0.25]


def test_optuna_is_told_the_budget_constraints_before_the_trial_completes():
    from sweep.searcher import CONSTRAINTS_ATTR, budget_constraints

    s = _budgeted()
    assert s._sampler._constraints_func is budget_constraints
    for tid in ("over", "within", "stopped"):
        s.suggest(tid)
    s.on_trial_complete("over", {"test_acc": 0.9, "lut_latency_ms": 3.0, "lut_energy_mj": 0.4})
    s.on_trial_complete("within", {"test_acc": 0.8, "lut_latency_ms": 1.5, "lut_energy_mj": 0.5})
    s.on_trial_complete("stopped", {"test_acc": None, "lut_latency_ms": None, "lut_energy_mj": None})
    trials = s._ot_study.get_trials(deepcopy=False)
    assert [t.user_attrs.get(CONSTRAINTS_ATTR) for t in trials] == [pytest.approx([1.0, -0.1]), [-0.5, 0.0], None]
    # what the sampler stored through its constraints_func: the feasibility TPE ranks by
    assert [list(t.constraints.values()) for t in trials] == [pytest.approx([1.0, -0.1]), [-0.5, 0.0], []]
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 2 + [optuna.trial.TrialState.PRUNED]


def test_budget_keeps_the_seeded_tpe_sampler_and_none_changes_nothing():
    plain = _budgeted(budget=None, seed=7)
    assert plain._sampler is None
    assert plain._seed == 7
    assert plain.budget is None
    constrained = _budgeted(seed=7)
    assert isinstance(constrained._sampler, optuna.samplers.TPESampler)
    # same seed, same sampler: the same first proposals
    assert [constrained.suggest(f"t{i}") for i in range(3)] == [plain.suggest(f"t{i}") for i in range(3)]


def test_budgeted_searcher_survives_ray_save_and_restore(tmp_path):
    s = _budgeted()
    s.suggest("a")
    s.save(str(tmp_path / "s.pkl"))
    again = _budgeted(budget=None)
    again.restore(str(tmp_path / "s.pkl"))
    assert again.budget == BUDGET
    again.on_trial_complete("a", {"test_acc": 0.7, "lut_latency_ms": 2.5, "lut_energy_mj": 0.1})
    assert again._ot_study.trials[0].user_attrs["constraints"] == [0.5, pytest.approx(-0.4)]


def test_study_in_the_experiment_file_survives_ray_save_and_restore(tmp_path):
    experiment = tmp_path / "exp"
    experiment.mkdir()
    study = study_storage(experiment)
    assert study == {"storage": f"sqlite:///{experiment.resolve()}/optuna.db", "study_name": "exp"}
    knob_sampler = KnobSampler(SweepConfig(), "any", StartCosts(2.0, 1.0))
    s = make_search_alg(knob_sampler, METRICS[:2], DIRECTIONS[:2], concurrency=2, seed=0, study=study).searcher.searcher
    s.suggest("a")
    s.on_trial_complete("a", {"test_acc": 0.5, "lut_latency_ms": 1.0})
    s.save(str(tmp_path / "s.pkl"))
    again = make_search_alg(knob_sampler, METRICS[:2], DIRECTIONS[:2], concurrency=2, seed=0).searcher.searcher
    again.restore(str(tmp_path / "s.pkl"))  # a resumed sweep: the pickled study writes to the same file
    again.suggest("b")
    again.on_trial_complete("b", {"test_acc": 0.6, "lut_latency_ms": 2.0})
    loaded = optuna.load_study(**study)
    assert [t.values for t in loaded.trials] == [[0.5, 1.0], [0.6, 2.0]]
    assert all("beta" in t.params for t in loaded.trials)


def _ray_state(experiment, trials: list) -> None:
    """An experiment_state file as Ray Tune writes it: per trial its JSON and its runtime JSON."""
    data = [
        [
            json.dumps({"trial_id": t, "status": status, "config": config, "experiment_tag": f"{i + 1}_x"}),
            json.dumps({"last_result": result or {}}),
        ]
        for i, (t, status, config, result) in enumerate(trials)
    ]
    write_json(experiment / "experiment_state-2026-12-05_10-00-00.json", {"trial_data": data})


def test_a_lost_study_is_refused_then_rebuilt_as_it_was_and_the_resumed_searcher_goes_on(tmp_path):
    from sweep.study import check_study, rebuild_study

    experiment = tmp_path / "exp"
    experiment.mkdir()
    study = study_storage(experiment)
    knob_sampler = KnobSampler(SweepConfig(), "latency", StartCosts(2.0, 1.0))
    s = make_search_alg(
        knob_sampler, METRICS, DIRECTIONS, concurrency=4, seed=0, budget=BUDGET, study=study
    ).searcher.searcher
    results = {
        "done": ("TERMINATED", {"test_acc": 0.8, "lut_latency_ms": 1.5, "lut_energy_mj": 0.2}),
        "failed": ("ERROR", None),
        "stopped": ("TERMINATED", {"test_acc": None, "lut_latency_ms": 2.5, "lut_energy_mj": None}),
        "running": ("RUNNING", {"test_acc": None, "lut_latency_ms": None, "lut_energy_mj": None}),
    }
    configs = {t: s.suggest(t) for t in results}
    for t, (status, result) in results.items():
        if status != "RUNNING":
            s.on_trial_complete(t, result, error=status == "ERROR")
    s.save(str(tmp_path / "searcher.pkl"))  # Ray Tune's searcher state, taken with the experiment state
    _ray_state(experiment, [(t, status, configs[t], result) for t, (status, result) in results.items()])
    original = optuna.load_study(**study).trials
    record = {"metrics": METRICS, "directions": DIRECTIONS, "optuna": study}
    assert check_study(experiment, record, rebuild=False) is False

    (experiment / "optuna.db").write_bytes((experiment / "optuna.db").read_bytes()[:5000])  # truncated
    with pytest.raises(UserError, match=r"optuna.db: damaged .*--rebuild-study"):
        check_study(experiment, record, rebuild=False)
    (experiment / "optuna.db").unlink()
    with pytest.raises(UserError, match=r"optuna.db: not found; resume with --rebuild-study"):
        check_study(experiment, record, rebuild=False)
    assert check_study(experiment, record, rebuild=True) is True

    assert rebuild_study(experiment, record, knob_sampler, BUDGET) == (4, None)  # it was lost: nothing to keep
    rebuilt = optuna.load_study(**study).trials
    for old, new in zip(original, rebuilt, strict=True):
        assert (new.number, new._trial_id, new.state, new.values) == (old.number, old._trial_id, old.state, old.values)
        assert new.distributions == old.distributions
        assert new.params == pytest.approx(old.params, rel=1e-12)
        assert (new.user_attrs, new.constraints) == (old.user_attrs, old.constraints)
    # the resumed searcher (its pickle names the trials by their ids) tells the rebuilt study
    again = make_search_alg(knob_sampler, METRICS, DIRECTIONS, concurrency=4, seed=0, budget=BUDGET).searcher.searcher
    again.restore(str(tmp_path / "searcher.pkl"))
    again.on_trial_complete("running", {"test_acc": 0.7, "lut_latency_ms": 1.0, "lut_energy_mj": 0.3})
    again.suggest("next")
    final = optuna.load_study(**study).trials
    assert final[3].state == optuna.trial.TrialState.COMPLETE
    assert final[3].values == [0.7, 1.0, 0.3]
    assert len(final) == 5
    assert final[4].state == optuna.trial.TrialState.RUNNING
