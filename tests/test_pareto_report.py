"""pareto.report on synthetic experiment directories: files, statuses, fronts, bad input, HTML."""

import json
import os
import re

import pandas as pd
import pytest

from pareto.dominance import nondominated_mask, to_costs
from pareto.report import build_report, main
from pareto.synthetic import write_synthetic_experiment

RPI = "lut_latency_ms[builtin:rpi4-hwnasbench]"
HOST_LAT = "lut_latency_ms[host.json]"
HOST_EN = "lut_energy_mj[host.json]"


@pytest.fixture(scope="module")
def default_report(tmp_path_factory):
    root = write_synthetic_experiment(str(tmp_path_factory.mktemp("exp") / "exp"), trials=30)
    out = os.path.join(root, "report")  # inside the experiment, as scripts/sweep.sh does
    report = build_report(root, out)
    return root, out, report


def test_writes_four_files_with_one_row_per_trial(default_report):
    root, out, report = default_report
    assert sorted(f for f in os.listdir(out)) == ["pareto.csv", "report.html", "report.json", "trials.csv"]
    trials = pd.read_csv(os.path.join(out, "trials.csv"), dtype={"trial_id": str})
    assert len(trials) == 30
    assert trials["status"].value_counts().to_dict() == {"finished": 26, "failed": 2, "running": 2}
    failed = trials[trials["status"] == "failed"]
    assert (failed["reason"] == "RuntimeError: synthetic failure: loss became NaN at epoch 2").all()
    for col in (
        "alpha",
        "beta",
        "gamma",
        "delta",
        "dominant",
        "ops",
        "test_acc",
        "params",
        "flops",
        RPI,
        HOST_LAT,
        HOST_EN,
        "lut_energy_source[host.json]",
        "measured_latency_ms",
        "measured_energy_mj",
        "measured_device",
        "measured_energy_source",
        "wall_seconds",
    ):
        assert col in trials.columns
    finished = trials[trials["status"] == "finished"]
    assert finished["ops"].str.split().map(len).eq(22).all()
    assert finished["measured_energy_mj"].isna().all()  # no meter: missing, never zero
    assert (finished["lut_energy_source[host.json]"] == "model:horowitz45nm").all()
    assert report["counts"] == {"trials": 30, "finished": 26, "failed": 2, "running": 2}


def test_running_trial_takes_values_from_result_rows(default_report):
    _, out, _ = default_report
    trials = pd.read_csv(os.path.join(out, "trials.csv"), dtype={"trial_id": str})
    running = trials[trials["status"] == "running"]
    assert running["test_acc"].isna().all()
    assert running[RPI].notna().all()  # from search/arch.json
    assert (running["wall_seconds"] == 30.0).all()  # last result.json row's time_total_s


def test_fronts_match_brute_force_and_pareto_csv(default_report):
    _, out, report = default_report
    trials = pd.read_csv(os.path.join(out, "trials.csv"), dtype={"trial_id": str})
    pareto = pd.read_csv(os.path.join(out, "pareto.csv"), dtype={"trial_id": str})
    finished = trials[trials["status"] == "finished"]
    fronts = {f["name"]: f for f in report["fronts"]}
    assert set(fronts) == {"lut:builtin:rpi4-hwnasbench", "lut:host.json", "measured"}
    # host LUT has (modeled) energy: 3 objectives; the rpi4 LUT has none: 2
    assert [o["column"] for o in fronts["lut:host.json"]["objectives"]] == ["test_acc", HOST_LAT, HOST_EN]
    assert len(fronts["lut:builtin:rpi4-hwnasbench"]["objectives"]) == 2
    for name, columns in (
        ("lut:host.json", ["test_acc", HOST_LAT, HOST_EN]),
        ("measured", ["test_acc", "measured_latency_ms"]),
    ):
        costs = to_costs(finished[columns].to_numpy(), [True] + [False] * (len(columns) - 1))
        expected = set(finished["trial_id"][nondominated_mask(costs)])
        assert set(fronts[name]["trial_ids"]) == expected
        on = pareto[pareto[f"on_front[{name}]"]]
        assert set(on["trial_id"]) == expected
        assert on["fronts"].str.contains(name, regex=False).all()
        ref = fronts[name]["reference_point"]
        acc, lat = finished["test_acc"], finished[columns[1]]
        assert ref["test_acc"] == pytest.approx(acc.min() - 0.1 * (acc.max() - acc.min()))
        assert ref[columns[1]] == pytest.approx(lat.max() + 0.1 * (lat.max() - lat.min()))
        assert fronts[name]["hypervolume"] > 0
    union = set().union(*(f["trial_ids"] for f in report["fronts"]))
    assert set(pareto["trial_id"]) == union


def test_lut_vs_measured_stats(default_report):
    _, _, report = default_report
    stats = {s["lut"]: s for s in report["lut_vs_measured"]}
    assert stats["host.json"]["same_device"] is True
    assert stats["builtin:rpi4-hwnasbench"]["same_device"] is False
    assert stats["host.json"]["n"] == 26
    assert 0 <= stats["host.json"]["within_10pct"] <= 1
    # the synthetic rpi4 LUT is ~3x the host measurement: far off, but ranks agree
    assert stats["builtin:rpi4-hwnasbench"]["within_10pct"] == 0
    assert stats["builtin:rpi4-hwnasbench"]["kendall_tau"] > 0.5


def test_html_is_self_contained_and_has_the_figures(default_report):
    _, out, _ = default_report
    html = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    # nothing loaded from the network: no script/link/img tag points outside (plotly.js's own
    # code, inlined, mentions URLs in strings for map tiles it never loads here)
    assert not re.search(r"<script[^>]*\ssrc\s*=", html)
    markup = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", markup)
    # bubble chart (one LUT with energy), two knob charts, knob panels, accuracy vs latency, LUT vs measured
    assert html.count('class="plotly-graph-div"') == 6
    for text in (
        "Latency x energy",
        "alpha and beta vs latency",
        "gamma and delta vs energy",
        "Accuracy and LUT cost against each knob",
        "Spearman rank correlation of alpha",
        "Accuracy vs latency per cost source",
        "LUT-estimated vs measured latency",
        "y = x",
        "baseline: mobilenet_v2",
        "Table 1: baselines and front childnets",
        "Table 2: childnets vs baselines",
        "MODELED: model:horowitz45nm",
        "loss became NaN at epoch 2",
        "class='sortable'",
        "class=arch",
    ):
        assert text in html, text


def test_no_energy_anywhere_still_reports(tmp_path):
    root = write_synthetic_experiment(str(tmp_path / "exp"), trials=12, energy=False, baselines=False)
    report = build_report(root, str(tmp_path / "out"))
    assert report["energy_available"] is False
    assert all(len(f["objectives"]) == 2 for f in report["fronts"])
    html = open(tmp_path / "out" / "report.html", encoding="utf-8").read()
    assert "no energy data" in html and "no baselines in the experiment" in html


def test_no_measurement_gives_an_empty_measured_front(tmp_path):
    root = write_synthetic_experiment(str(tmp_path / "exp"), trials=8, measured=False)
    report = build_report(root, str(tmp_path / "out"))
    measured = [f for f in report["fronts"] if f["name"] == "measured"][0]
    assert measured["trial_ids"] == [] and measured["hypervolume"] is None and measured["left_out"] == 4
    assert all(s["n"] == 0 for s in report["lut_vs_measured"])


def test_truncated_json_gives_a_partial_report(tmp_path, capsys):
    root = write_synthetic_experiment(str(tmp_path / "exp"), trials=10)
    dirs = sorted(d for d in os.listdir(root) if d.startswith("trial_"))
    metrics = os.path.join(root, dirs[6], "child", "metrics.json")
    text = open(metrics).read()
    open(metrics, "w").write(text[: len(text) // 2])
    with open(os.path.join(root, dirs[7], "result.json"), "a") as fh:
        fh.write('{"epoch": 4, "phase": "do')  # half-written last line, as while Ray appends
    assert main([root, "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    warnings = [ln for ln in captured.err.splitlines() if ln.startswith("warning: ")]
    assert len(warnings) == 2
    assert "child/metrics.json: truncated or invalid JSON" in warnings[0] + warnings[1]
    assert "result.json: line 5 is truncated or invalid JSON (skipped)" in warnings[0] + warnings[1]
    trials = pd.read_csv(tmp_path / "out" / "trials.csv", dtype={"trial_id": str})
    assert len(trials) == 10
    assert trials.set_index("trial_dir").loc[dirs[6], "status"] == "unreadable"
    assert trials.set_index("trial_dir").loc[dirs[7], "status"] == "finished"
    html = open(tmp_path / "out" / "report.html", encoding="utf-8").read()
    assert "unreadable" in html and "Problems reading the experiment (2)" in html


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: None, "no such experiment directory"),
        (lambda p: os.makedirs(p), "no trial folders"),
        (
            lambda p: (os.makedirs(os.path.join(p, "report")), open(os.path.join(p, "sweep.json"), "w").write("{}")),
            "no trial folders",
        ),
    ],
)
def test_empty_or_missing_experiment_is_one_line(tmp_path, capsys, make, message):
    root = str(tmp_path / "exp")
    make(root)
    assert main([root, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert not os.path.exists(tmp_path / "out")  # nothing half-written


def test_report_json_has_no_nan(default_report):
    _, out, _ = default_report

    def refuse(constant):
        raise AssertionError(f"{constant} in report.json")

    json.loads(open(os.path.join(out, "report.json")).read(), parse_constant=refuse)


def test_rerun_does_not_read_its_own_output(default_report):
    root, out, _ = default_report
    again = build_report(root, out)
    assert again["counts"]["trials"] == 30
    assert not [f for f in os.listdir(out) if ".tmp-" in f]


def test_ray_status_read_best_effort(tmp_path):
    root = write_synthetic_experiment(str(tmp_path / "exp"), trials=6, failed=0, running=2)
    # shape of Ray Tune 2.60's experiment_state: trial_data = [[trial json, runtime json], ...]
    state = {
        "trial_data": [
            [json.dumps({"trial_id": "00000", "status": "ERROR"}), "{}"],
            [json.dumps({"trial_id": "00001", "status": "RUNNING"}), "{}"],
            [json.dumps({"trial_id": "00004", "status": "TERMINATED"}), "{}"],
        ]
    }
    (tmp_path / "exp" / "experiment_state-2026-11-23_19-00-00.json").write_text(json.dumps(state))
    report = build_report(root, str(tmp_path / "out"))
    trials = pd.read_csv(tmp_path / "out" / "trials.csv", dtype={"trial_id": str}).set_index("trial_id")
    assert trials.loc["00000", "status"] == "failed"  # Ray says ERROR although error.txt is missing
    assert "marked the trial ERROR" in trials.loc["00000", "reason"]
    assert trials.loc["00001", "ray_status"] == "RUNNING"
    assert trials.loc["00004", "ray_status"] == "TERMINATED"
    assert pd.isna(trials.loc["00005", "ray_status"])
    assert report["problems"] == []
    (tmp_path / "exp" / "experiment_state-2026-11-23_19-00-00.json").write_text('{"trial_data": 5}')
    report = build_report(root, str(tmp_path / "out"))
    assert report["problems"] == [
        "experiment_state-2026-11-23_19-00-00.json: not understood (Ray-internal format); ray_status left empty"
    ]


def test_out_that_is_a_file_is_one_line(tmp_path, capsys):
    root = write_synthetic_experiment(str(tmp_path / "exp"), trials=3)
    (tmp_path / "out").write_text("not a folder")
    assert main([root, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out ") and "not a directory" in err and len(err.strip().splitlines()) == 1


def test_pareto_never_imports_training_code():
    import subprocess
    import sys

    code = (
        "import sys, pareto.report, pareto.front, pareto.synthetic\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'torch', 'hwnas', 'lut', 'supernet', 'childnet', 'sweep', 'ray'})\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
