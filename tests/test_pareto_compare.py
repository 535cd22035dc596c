"""pareto.report --vs: two fronts, hypervolumes with one shared reference point (checked by
hand), the LUT fallback when nothing is measured; knob effects (Spearman of alpha vs LUT latency)."""

import json
import os

import numpy as np
import pytest
from scipy.stats import spearmanr

from pareto.compare import compare_experiments
from pareto.experiment import read_experiment
from pareto.knob_effects import knob_effects, spearman
from pareto.report import build_report, main
from testdata import write_rows_experiment, write_synthetic_experiment

# (test_acc, measured latency); the LUT latency is twice the measured one
SELF = [(0.9, 2.0), (0.8, 1.0)]
OTHER = [(0.85, 1.5), (0.7, 3.0)]


def _rows(points, measured=True, knobs=True):
    rows = []
    for i, (acc, lat) in enumerate(points):
        row = {"test_acc": acc, "lut_latency_ms": 2 * lat, "measured_latency_ms": lat if measured else None}
        if knobs:
            row.update(alpha=0.1 * (i + 1), beta=0.5, gamma=0.0, delta=0.6)
        rows.append(row)
    return rows


@pytest.fixture
def pair(tmp_path):
    a = write_rows_experiment(str(tmp_path / "dnas"), _rows(SELF))
    b = write_rows_experiment(str(tmp_path / "random"), _rows(OTHER, knobs=False), strategy="random")
    return a, b


def test_hypervolumes_by_hand_with_one_reference_point(pair):
    comparison = compare_experiments(read_experiment(pair[0]), read_experiment(pair[1])).summary
    # worst accuracy over both 0.7, range 0.2 -> 0.68; worst latency 3.0, range 2.0 -> 3.2
    # the reference point names its latency for what it is: measured on both sides
    assert comparison["reference_point"] == pytest.approx({"test_acc": 0.68, "measured_latency_ms": 3.2})
    # self: [0.68,0.9]x[2,3.2] + [0.68,0.8]x[1,3.2] - overlap [0.68,0.8]x[2,3.2] = .264 + .264 - .144
    assert comparison["hv_self"] == pytest.approx(0.384)
    # other: only the box of (0.85, 1.5) counts, .17 x 1.7
    assert comparison["hv_other"] == pytest.approx(0.289)
    assert comparison["hv_ratio"] == pytest.approx(0.384 / 0.289)
    assert comparison["metric"]["latency"] == "measured"
    assert comparison["metric"]["note"] is None
    assert (comparison["strategy_self"], comparison["strategy_other"]) == ("dnas", "random")
    # (0.7, 3.0) is dominated by (0.85, 1.5): off the front, and it adds nothing to hv_other
    assert sorted(comparison["front_self"]) == ["00000", "00001"]
    assert comparison["front_other"] == ["00000"]


def test_nothing_measured_falls_back_to_the_search_lut_and_says_so(tmp_path):
    a = write_rows_experiment(str(tmp_path / "a"), _rows(SELF))
    b = write_rows_experiment(str(tmp_path / "b"), _rows(OTHER, measured=False), lut="other.json")
    comparison = compare_experiments(read_experiment(a), read_experiment(b)).summary
    metric = comparison["metric"]
    assert metric["latency"] == "search_lut"
    assert metric["columns"] == {"self": "lut_latency_ms[host.json]", "other": "lut_latency_ms[other.json]"}
    assert "nothing measured in other" in metric["note"]
    assert "not a measurement" in metric["note"]
    # LUT latencies are twice the measured ones: every area doubles, the ratio stays
    assert comparison["reference_point"] == pytest.approx({"test_acc": 0.68, "lut_latency_ms": 6.4}), "a LUT latency"
    assert comparison["hv_self"] == pytest.approx(2 * 0.384)
    assert comparison["hv_ratio"] == pytest.approx(0.384 / 0.289)


def test_report_vs_writes_json_html_and_prints_the_line(pair, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([pair[0], "--out", str(out), "--vs", pair[1]]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"hv_self=0.384 hv_other=0.289 hv_ratio={0.384 / 0.289:.6g}"
    report = json.loads((out / "report.json").read_text())
    vs = report["comparison_vs"]
    assert vs["other"] == os.path.abspath(pair[1])
    assert vs["hv_self"] == pytest.approx(0.384)
    assert set(vs) >= {"other", "hv_self", "hv_other", "hv_ratio", "reference_point", "metric"}
    assert report["strategy"] == "dnas"
    html = (out / "report.html").read_text()
    assert "Comparison with random" in html
    assert "hypervolume reference point (shared)" in html
    assert "this (dnas): front" in html
    assert "random (random): front" in html


def test_report_without_vs_has_null_comparison(pair, tmp_path):
    assert build_report(pair[1], str(tmp_path / "out"))["comparison_vs"] is None


def test_missing_vs_is_one_line(pair, tmp_path, capsys):
    assert main([pair[0], "--out", str(tmp_path / "out"), "--vs", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --vs ")
    assert "no such experiment directory" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_alpha_that_lowers_latency_gives_minus_one(tmp_path):
    rows = [
        {
            "test_acc": 0.8 + 0.01 * i,
            "lut_latency_ms": 5.0 - i,
            "lut_energy_mj": 1.0 - 0.1 * i,
            "alpha": 0.1 * (i + 1),
            "beta": 1.0 - 0.1 * i,
            "gamma": 0.5,
            "delta": 0.6,
        }
        for i in range(5)
    ]
    root = write_rows_experiment(str(tmp_path / "exp"), rows)
    report = build_report(root, str(tmp_path / "out"))
    assert report["knob_effects"]["spearman_alpha_lat"] == pytest.approx(-1.0)
    assert report["knob_effects"]["n"] == 5
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Accuracy and LUT cost against each knob" in html
    assert "LUT energy mJ (MODELED)" in html


def test_random_experiment_has_no_knob_effects(tmp_path):
    root = write_rows_experiment(str(tmp_path / "exp"), _rows(OTHER, knobs=False), strategy="random")
    report = build_report(root, str(tmp_path / "out"))
    assert report["knob_effects"] == {"spearman_alpha_lat": None, "n": 0, "latency_column": "lut_latency_ms[host.json]"}
    assert report["strategy"] == "random"
    assert "a random-architecture experiment has no knobs" in (tmp_path / "out" / "report.html").read_text()


def test_spearman_matches_scipy_with_ties_and_gaps():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 40).astype(float)
    y = x * -0.5 + rng.integers(0, 3, 40)
    x[3], y[7] = np.nan, np.nan
    ok = ~(np.isnan(x) | np.isnan(y))
    rho, n = spearman(x, y)
    assert n == 38
    assert rho == pytest.approx(spearmanr(x[ok], y[ok]).statistic)
    assert spearman([1, 2], [3, 3]) == (None, 2)
    assert spearman([1], [2]) == (None, 1)


def test_knob_effects_on_the_synthetic_sweep():
    import pandas as pd

    trials = pd.DataFrame({"status": ["finished"] * 4 + ["running"], "alpha": [1, 2, 3, 4, 5], "lat": [4, 3, 2, 1, 9]})
    assert knob_effects(trials, "lat") == {"spearman_alpha_lat": pytest.approx(-1.0), "n": 4, "latency_column": "lat"}
    assert knob_effects(trials, None)["spearman_alpha_lat"] is None


def test_synthetic_default_report_still_has_knob_effects(tmp_path):
    root = write_synthetic_experiment(str(tmp_path / "exp"), trials=12)
    effects = build_report(root, str(tmp_path / "out"))["knob_effects"]
    assert effects["n"] == 8
    assert -1 <= effects["spearman_alpha_lat"] <= 1
