"""sweep.budget: refused at start when unreachable; every trial marked against it; the
recommended model (pareto.budget's one rule) in report.json, report.html and sweep.run's summary."""

import json
import os

import pandas as pd
import pytest
import torch

from hwnas.config_sections import BudgetConfig
from hwnas.errors import UserError
from lut.cost import CostTensors
from pareto.budget import budget_of, judge, recommend
from pareto.report import build_report
from sweep.budget import budget_dict, cheapest_costs, check_budget_reachable
from testdata import write_rows_experiment

# 2 layers x 2 ops; cheapest network: 1 + 2 + 1 = 4 ms, 0.5 + 0.25 + 0.25 = 1 mJ
COST = CostTensors(
    op_names=("a", "b"),
    latency_fixed_ms=1.0,
    latency_ms=torch.tensor([[2.0, 3.0], [4.0, 1.0]]),
    energy_fixed_mj=0.5,
    energy_mj=torch.tensor([[0.25, 0.5], [0.25, 0.75]]),
    energy_source="model:horowitz45nm",
)


# --- the start check ------------------------------------------------------------------


def test_cheapest_network_is_fixed_plus_each_layers_cheapest_op():
    assert cheapest_costs(COST) == (4.0, 1.0)


@pytest.mark.parametrize(
    "budget, match",
    [
        (
            BudgetConfig(max_latency_ms=3.9),
            "sweep.budget.max_latency_ms 3.9: no architecture of the space can meet it on LUT t.json; expected >= 4",
        ),
        (
            BudgetConfig(max_energy_mj=0.9),
            "sweep.budget.max_energy_mj 0.9: no architecture of the space can meet it on LUT t.json; expected >= 1",
        ),
    ],
)
def test_unreachable_budget_is_refused_with_the_smallest_possible_value(budget, match):
    with pytest.raises(UserError) as err:
        check_budget_reachable(budget, COST, "t.json")
    assert match in str(err.value)
    assert "\n" not in str(err.value)


def test_reachable_budget_and_no_budget_pass():
    check_budget_reachable(BudgetConfig(max_latency_ms=4.0, max_energy_mj=1.0), COST, "t.json")
    check_budget_reachable(BudgetConfig(), COST, "t.json")
    assert budget_dict(BudgetConfig()) is None
    assert budget_dict(BudgetConfig(max_latency_ms=5.0)) == {"max_latency_ms": 5.0, "max_energy_mj": None}


def test_energy_budget_needs_a_lut_with_energy():
    from lut import load_lut

    lut = load_lut("builtin:rpi4-hwnasbench")  # latency only
    with pytest.raises(UserError, match="sweep.budget.max_energy_mj 2: LUT builtin:rpi4-hwnasbench has no energy data"):
        check_budget_reachable(BudgetConfig(max_energy_mj=2.0), lut.cost_tensors(), lut.name)


def test_sweep_run_refuses_an_unreachable_budget_before_ray_and_writes_nothing(tmp_path, capsys, monkeypatch):
    from lut import load_lut
    from sweep import run, startup

    lut = load_lut("builtin:rpi4-hwnasbench")
    monkeypatch.setattr(startup, "_lut_of", lambda cfg, experiment, record: (lut, lut.name, {"spec": lut.name}))
    monkeypatch.setattr(startup, "connect", lambda address: pytest.fail("Ray started"))
    with pytest.raises(SystemExit) as exit_:
        run.main(["--max-latency-ms", "0.01", "--storage", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2
    assert err.startswith("error: sweep.budget.max_latency_ms 0.01: ")
    assert "\n" not in err
    assert "expected >= " in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--max-latency-ms", "-2"], "sweep.budget.max_latency_ms: expected a number > 0, got -2.0"),
        (["--max-energy-mj", "inf"], "sweep.budget.max_energy_mj: expected a finite number, got 'inf'"),
        (["--max-energy-mj", "0"], "sweep.budget.max_energy_mj: expected a number > 0, got 0.0"),
    ],
)
def test_budget_flags_are_checked_like_the_config(tmp_path, capsys, argv, match):
    from sweep.run import main

    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--storage", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2
    assert match in err
    assert "\n" not in err
    assert list(tmp_path.iterdir()) == []


def test_budget_flags_become_overrides():
    from sweep.options import build_parser, flag_overrides

    args = build_parser().parse_args(["--max-latency-ms", "5", "--max-energy-mj", "0.5"])
    assert flag_overrides(args) == ["sweep.budget.max_latency_ms=5", "sweep.budget.max_energy_mj=0.5"]


# --- the rule ---------------------------------------------------------------------------


def _cand(tid, acc, lut_ms, measured_ms=None, lut_mj=None):
    return {
        "trial_id": tid,
        "test_acc": acc,
        "lut_latency_ms": lut_ms,
        "measured_latency_ms": measured_ms,
        "lut_energy_mj": lut_mj,
        "measured_energy_mj": None,
    }


def test_judge_uses_the_measurement_where_measured():
    budget = {"max_latency_ms": 5.0, "max_energy_mj": None}
    assert judge(budget, None, 4.0) == {
        "within_budget": True,
        "budget_basis": "lut",
        "budget_excess": pytest.approx(-0.2),
    }
    assert judge(budget, 6.0, 4.0) == {
        "within_budget": False,
        "budget_basis": "measured",
        "budget_excess": pytest.approx(0.2),
    }
    both = {"max_latency_ms": 5.0, "max_energy_mj": 1.0}
    assert judge(both, 4.0, 9.0, None, 1.5)["budget_basis"] == "measured+lut"
    assert judge(both, 4.0, 9.0, None, None)["within_budget"] is None  # energy limited, unknown
    assert judge(None, 4.0, 9.0) == {"within_budget": None, "budget_basis": None, "budget_excess": None}


def test_recommend_the_most_accurate_within_the_budget():
    budget = {"max_latency_ms": 5.0, "max_energy_mj": None}
    cands = [
        _cand("fast", 0.80, 3.0),
        _cand("best", 0.85, 4.9),
        _cand("slow", 0.90, 6.0),
        _cand("measured_slow", 0.95, 2.0, measured_ms=5.5),
    ]  # its LUT says within; measured: not
    rec = recommend(cands, budget)
    assert (rec["trial_id"], rec["meets_budget"], rec["basis"]) == ("best", True, "lut")


def test_recommend_the_closest_when_none_meets():
    budget = {"max_latency_ms": 2.0, "max_energy_mj": 1.0}
    cands = [
        _cand("a", 0.9, 3.0, lut_mj=0.5),
        _cand("b", 0.7, 2.2, lut_mj=1.1),
        _cand("c", 0.8, 2.1, measured_ms=2.6, lut_mj=0.9),
    ]
    rec = recommend(cands, budget)
    # excess: a 50 %, b max(10 %, 10 %) = 10 %, c measured 30 %
    assert (rec["trial_id"], rec["meets_budget"]) == ("b", False)
    assert rec["budget_excess"] == pytest.approx(0.1)


def test_recommend_without_budget_is_the_most_accurate():
    rec = recommend([_cand("a", 0.8, 1.0), _cand("b", 0.9, 9.0, measured_ms=8.0), _cand("n", None, 0.1)], None)
    assert (rec["trial_id"], rec["meets_budget"], rec["budget"], rec["basis"]) == ("b", None, None, "measured")
    assert recommend([_cand("n", None, 0.1)], None) is None


def test_budget_of_a_sweep_record():
    assert budget_of({"config": {"sweep": {"budget": {"max_latency_ms": 3, "max_energy_mj": None}}}}) == {
        "max_latency_ms": 3.0,
        "max_energy_mj": None,
    }
    assert budget_of({"config": {"sweep": {"trials": 3}}}) is None  # an experiment from before budgets
    assert budget_of({"config": {"sweep": {"budget": {"max_latency_ms": None, "max_energy_mj": None}}}}) is None


# --- the report and the summary --------------------------------------------------------

ROWS = [
    {"test_acc": 0.80, "lut_latency_ms": 3.0, "lut_energy_mj": 0.4},
    {"test_acc": 0.86, "lut_latency_ms": 4.5, "lut_energy_mj": 0.6, "measured_latency_ms": 6.0},  # measured over
    {"test_acc": 0.84, "lut_latency_ms": 4.8, "lut_energy_mj": 0.5},
    {"test_acc": 0.90, "lut_latency_ms": 9.0, "lut_energy_mj": 1.2},
]


def _report(tmp_path, budget, rows=ROWS):
    root = write_rows_experiment(str(tmp_path / "exp"), rows, budget=budget)
    report = build_report(root, str(tmp_path / "out"))
    return root, report


def test_report_recommends_the_best_within_the_budget_with_its_files(tmp_path):
    budget = {"max_latency_ms": 5.0, "max_energy_mj": None}
    root = write_rows_experiment(str(tmp_path / "exp"), ROWS, budget=budget)
    for name in ("model.pte", "model.weights.pt"):  # the deployed file metrics.json names (ExecuTorch)
        open(os.path.join(root, "trial_00002", "child", name), "wb").close()
    report = build_report(root, str(tmp_path / "out"))
    rec = report["recommended"]
    assert report["budget"] == budget
    assert (rec["trial_id"], rec["test_acc"], rec["meets_budget"], rec["basis"]) == ("00002", 0.84, True, "lut")
    assert rec["budget"] == budget
    assert rec["measured_latency_ms"] is None
    assert rec["lut_latency_ms"] == 4.8
    assert rec["model"] == os.path.join(os.path.abspath(root), "trial_00002", "child", "model.pte")
    assert (rec["target"], rec["target_label"]) == ("executorch-fp32", "ExecuTorch fp32 (1.5.1)")
    assert rec["weights"].endswith("trial_00002/child/model.weights.pt")
    # each energy under its own name: the LUT's estimate, no measurement; the basis says which one counts
    assert (rec["lut_energy_mj"], rec["lut_energy_source"], rec["energy_basis"]) == (0.5, "model:horowitz45nm", "lut")
    assert rec["measured_energy_mj"] is None, "an unmetered childnet has no measured energy"
    assert "energy_mj" not in rec, "report.json's recommended says which energy it is (lut_ or measured_)"
    with open(tmp_path / "out" / "report.json", encoding="utf-8") as fh:
        assert json.load(fh)["recommended"] == rec
    trials = pd.read_csv(tmp_path / "out" / "trials.csv", dtype={"trial_id": str}).set_index("trial_id")
    assert trials["within_budget"].tolist() == [True, False, True, False]
    assert trials["budget_basis"].tolist() == ["lut", "measured", "lut", "lut"]


def test_report_names_the_closest_when_none_meets(tmp_path, capsys):
    from pareto.report import main

    _, report = _report(tmp_path, {"max_latency_ms": 2.5, "max_energy_mj": None})
    rec = report["recommended"]
    assert (rec["trial_id"], rec["meets_budget"]) == ("00000", False)
    assert rec["budget_excess"] == pytest.approx(0.2)
    assert "no finished childnet meets the budget" in rec["note"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert "No finished childnet meets the budget (max latency 2.5 ms); the closest, 20.0 % over" in html
    assert main([str(tmp_path / "exp"), "--out", str(tmp_path / "out")]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("recommended:")]
    assert len(line) == 1
    assert "NO model meets the budget (max latency 2.5 ms); closest, 20.0 % over" in line[0]


def test_report_without_budget_recommends_the_most_accurate(tmp_path):
    _, report = _report(tmp_path, None)
    rec = report["recommended"]
    assert report["budget"] is None
    assert (rec["trial_id"], rec["meets_budget"], rec["budget"]) == ("00003", None, None)
    assert rec["note"].startswith("no budget")
    assert rec["model"] is None  # no exported file in this experiment
    html = (tmp_path / "out" / "report.html").read_text()
    assert "budget: no budget" in html


def test_recommended_section_opens_the_page(tmp_path):
    _report(tmp_path, {"max_latency_ms": 5.0, "max_energy_mj": 0.55})
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.index("<h2>Recommended model</h2>") < html.index("<h2>Fronts and hypervolume</h2>")
    assert "budget: max latency 5 ms, max energy 0.55 mJ" in html


def test_measured_latency_decides_over_the_lut(tmp_path):
    rows = [dict(ROWS[1], measured_latency_ms=4.0), ROWS[2]]  # trial 0: LUT 4.5, measured 4.0
    _, report = _report(tmp_path, {"max_latency_ms": 4.2, "max_energy_mj": None}, rows)
    rec = report["recommended"]
    assert (rec["trial_id"], rec["meets_budget"], rec["basis"], rec["measured_latency_ms"]) == (
        "00000",
        True,
        "measured",
        4.0,
    )


def test_sweep_summary_names_the_same_model_as_the_report(tmp_path):
    from pareto.recommended import recommended_line
    from sweep.summary import recommendation

    root, report = _report(tmp_path, {"max_latency_ms": 5.0, "max_energy_mj": None})
    line = recommendation(tmp_path / "exp")
    assert line == recommended_line(report["recommended"])
    assert line.startswith("recommended: 00002 test_acc=0.8400 latency=4.8 ms (LUT host.json)")
    assert "meets the budget (max latency 5 ms)" in line
    assert "\n" not in line


def test_final_row_marks_the_budget():
    from sweep.trial import _final_row

    arch = {"ops": ["skip"], "lut_latency_ms": 4.0, "lut_energy_mj": None}
    metrics = {"test_acc": 0.8, "lut": {"lut_latency_ms": 4.0, "lut_energy_mj": None}, "measured": {"latency_ms": 6.0}}
    row = _final_row(arch, metrics, 1.0, {"max_latency_ms": 5.0, "max_energy_mj": None})
    assert (row["within_budget"], row["budget_basis"]) == (False, "measured")
    pending = dict(metrics, measured={"latency_ms": None, "pending": True})
    row = _final_row(arch, pending, 1.0, {"max_latency_ms": 5.0, "max_energy_mj": None})
    assert (row["within_budget"], row["budget_basis"]) == (True, "lut")
    assert _final_row(arch, metrics, 1.0)["within_budget"] is None
