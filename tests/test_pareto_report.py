"""pareto.report on synthetic experiment directories: files, statuses, fronts, bad input, HTML."""

import json
import os
import re

import pandas as pd
import pytest

from pareto.dominance import nondominated_mask, to_costs
from pareto.report import build_report, main
from testdata import write_synthetic_experiment

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
    assert "no energy data" in html
    assert "no baselines in the experiment" in html


def test_no_measurement_gives_an_empty_measured_front(tmp_path):
    root = write_synthetic_experiment(str(tmp_path / "exp"), trials=8, measured=False)
    report = build_report(root, str(tmp_path / "out"))
    measured = [f for f in report["fronts"] if f["name"] == "measured"][0]
    assert measured["trial_ids"] == []
    assert measured["hypervolume"] is None
    assert measured["left_out"] == 4
    assert all(s["n"] == 0 for s in report["lut_vs_measured"])


def test_a_damaged_file_is_refused_unless_skipped(tmp_path, capsys):
    root = write_synthetic_experiment(str(tmp_path / "exp"), trials=10)
    dirs = sorted(d for d in os.listdir(root) if d.startswith("trial_"))
    with open(os.path.join(root, dirs[2], "result.json"), "a") as fh:
        fh.write('{"epoch": 4, "phase": "se')  # a running trial's half-written last line, as while Ray appends
    assert main([root, "--out", str(tmp_path / "first")]) == 0
    warnings = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("warning: ")]
    assert len(warnings) == 1
    assert "result.json: line 4 is truncated or invalid JSON (skipped" in warnings[0]

    metrics = os.path.join(root, dirs[6], "child", "metrics.json")
    text = open(metrics).read()
    open(metrics, "w").write(text[: len(text) // 2])
    assert main([root, "--out", str(tmp_path / "out")]) == 2  # left out, it would change the recommended model
    err = capsys.readouterr().err
    assert err.startswith(f"error: experiment file {metrics}: not valid JSON (truncated?)")
    assert "--skip-unreadable" in err
    assert len(err.strip().splitlines()) == 1
    assert not os.path.exists(tmp_path / "out")

    assert main([root, "--out", str(tmp_path / "out"), "--skip-unreadable"]) == 0
    warnings = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("warning: ")]
    assert len(warnings) == 2
    assert f"{metrics}: not valid JSON" in warnings[0] + warnings[1]
    trials = pd.read_csv(tmp_path / "out" / "trials.csv", dtype={"trial_id": str})
    assert len(trials) == 10
    assert trials.set_index("trial_dir").loc[dirs[6], "status"] == "unreadable"
    assert trials.set_index("trial_dir").loc[dirs[2], "status"] == "running"
    html = open(tmp_path / "out" / "report.html", encoding="utf-8").read()
    assert "unreadable" in html
    assert "Problems reading the experiment (2)" in html


def test_a_finished_trials_bad_last_line_is_damage(tmp_path, capsys):
    root = write_synthetic_experiment(str(tmp_path / "exp"), trials=6)
    dirs = sorted(d for d in os.listdir(root) if d.startswith("trial_"))
    result = os.path.join(root, dirs[5], "result.json")
    text = open(result).read()
    open(result, "w").write(text[: len(text) - 20])  # its done row cut: metrics.json says Ray finished it
    assert main([root, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{result}: line " in err
    assert "not valid JSON (damaged)" in err
    assert len(err.strip().splitlines()) == 1


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
    assert err.startswith("error: ")
    assert message in err
    assert len(err.strip().splitlines()) == 1
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
    assert err.startswith("error: --out ")
    assert "not a directory" in err
    assert len(err.strip().splitlines()) == 1


def test_pareto_never_imports_training_code():
    import subprocess
    import sys

    # every pareto module; of hwnas only its torch-free core (errors, io, records, keys, layout, measured, diff, stats)
    code = (
        "import importlib, pkgutil, sys, pareto\n"
        "for m in pkgutil.iter_modules(pareto.__path__): importlib.import_module('pareto.' + m.name)\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'torch', 'lut', 'supernet', 'childnet', 'sweep', 'ray'})\n"
        "bad += sorted(m for m in sys.modules if m.startswith('hwnas.') and m not in "
        "('hwnas.errors', 'hwnas.io', 'hwnas.records', 'hwnas.keys', 'hwnas.layout', 'hwnas.measured',"
        " 'hwnas.diff', 'hwnas.stats',"
        " 'hwnas.domains', 'hwnas.op_names'))\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "", f"pareto imports {out.strip()}"


def test_pareto_keeps_no_copy_of_hwnas_core():
    """Bad input is ``hwnas.errors.UserError``, a stop is ``hwnas.errors``' and files are
    written by ``hwnas.io``: the copies the old import wall made (``ParetoInputError``, its
    signal handling, ``write_all``, ``Unreadable``) must not come back."""
    import importlib
    import inspect
    import pkgutil

    import pareto

    for info in pkgutil.iter_modules(pareto.__path__):
        module = importlib.import_module(f"pareto.{info.name}")
        own = [n for n, v in vars(module).items() if inspect.isclass(v) and v.__module__ == module.__name__]
        errors = [n for n in own if issubclass(getattr(module, n), BaseException)]
        assert not errors, f"{module.__name__} defines {errors}: raise hwnas.errors.UserError"
        source = inspect.getsource(module)
        for copy in ("signal.signal(", "os.replace(", "os.fsync(", "tempfile."):
            assert copy not in source, f"{module.__name__} uses {copy}: hwnas.errors / hwnas.io own that"


def test_the_deployment_target_is_named_wherever_latency_appears(default_report):
    _, out, report = default_report
    assert report["deploy"] == {
        "runtime": "executorch",
        "precision": "fp32",
        "runtime_version": "1.5.1",
        "target": "executorch-fp32",
        "label": "ExecuTorch fp32 (1.5.1)",
        "source": "trials",
        "lut": {"runtime": "executorch", "precision": "fp32", "runtime_version": "1.5.1"},
        "trials": [{"target": "executorch-fp32", "runtime_version": "1.5.1", "n": 26}],
        "agree": True,
        "note": None,
    }
    assert report["recommended"]["target_label"] == "ExecuTorch fp32 (1.5.1)"
    assert {r["target"] for r in report["baselines"]} == {"executorch-fp32"}  # baselines timed in the same target
    assert report["baselines"][0]["model"] == "baselines/mobilenet_v2.pte"
    stats = {s["lut"]: s for s in report["lut_vs_measured"]}
    assert (stats["host.json"]["lut_target"], stats["host.json"]["same_target"]) == ("executorch-fp32", True)
    assert (stats["builtin:rpi4-hwnasbench"]["lut_target"], stats["builtin:rpi4-hwnasbench"]["same_target"]) == (
        "pytorch-fp32",
        False,
    )
    html = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    for text in (
        "deployment target: ExecuTorch fp32 (1.5.1)</b>",  # the page's first section
        "LUTs describe: builtin:rpi4-hwnasbench: PyTorch eager fp32, host.json: ExecuTorch fp32",
        "<h2>Table 1: baselines and front childnets, measured in ExecuTorch fp32 (1.5.1)</h2>",
        "<h2>Table 2: childnets vs baselines, speed-up in ExecuTorch fp32 (1.5.1)</h2>",
        "<h2>LUT estimate vs measurement in ExecuTorch fp32 (1.5.1)</h2>",
        "measured latency ms [ExecuTorch fp32 (1.5.1)]",  # the recommended model's table
        "measured lat ms [ExecuTorch fp32 (1.5.1)]",  # the Pareto table
        "measured latency (ms, ExecuTorch fp32 (1.5.1))",  # the charts' axis titles
        "measured on device, ExecuTorch fp32 (1.5.1)",
    ):
        assert text in html, text
    assert html.index("deployment target: ExecuTorch fp32") < html.index("<h2>Recommended model</h2>")
    assert "int8" not in re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)  # fp32: no int8 columns
    trials = pd.read_csv(os.path.join(out, "trials.csv"), dtype={"trial_id": str})
    finished = trials[trials["status"] == "finished"]
    assert (finished["deploy_target"] == "executorch-fp32").all()
    assert (finished["model_file"] == "model.pte").all()
    assert (finished["measured_target"] == "executorch-fp32").all()
    assert (finished["deploy_agreement"] == 1.0).all()
    assert finished["test_acc_int8"].isna().all()
    assert finished["int8_drop_points"].isna().all()
    assert (finished["lut_target[builtin:rpi4-hwnasbench]"] == "pytorch-fp32").all()


def test_int8_accuracy_and_its_drop_in_points(tmp_path, capsys):
    from testdata import write_rows_experiment

    rows = [
        {"test_acc": 0.87, "test_acc_int8": 0.86, "lut_latency_ms": 1.0, "measured_latency_ms": 0.9, "alpha": 0.5},
        {"test_acc": 0.80, "test_acc_int8": 0.7925, "lut_latency_ms": 0.5, "measured_latency_ms": 0.4, "alpha": 1.0},
    ]
    root = write_rows_experiment(str(tmp_path / "exp"), rows, precision="int8")
    open(os.path.join(root, "trial_00000", "child", "model.pte"), "wb").close()
    assert main([root, "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "deployment target: ExecuTorch int8 (1.5.1)" in out
    assert "recommended: 00000 test_acc=0.8700 test_acc_int8=0.8600 (-1.00 points)" in out
    assert "in ExecuTorch int8 (1.5.1)" in out
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["deploy"]["target"] == "executorch-int8"
    assert report["deploy"]["agree"] is True
    trials = pd.read_csv(tmp_path / "out" / "trials.csv", dtype={"trial_id": str}).set_index("trial_id")
    assert trials.loc["00000", "test_acc_int8"] == 0.86
    assert trials.loc["00000", "int8_drop_points"] == pytest.approx(1.0)
    assert trials.loc["00001", "int8_drop_points"] == pytest.approx(0.75)
    rec = report["recommended"]
    assert (rec["test_acc"], rec["test_acc_int8"]) == (0.87, 0.86)
    assert rec["int8_drop_points"] == pytest.approx(1.0)
    assert rec["model"].endswith("trial_00000/child/model.pte")
    assert rec["target"] == "executorch-int8"
    table1 = {r["name"]: r for r in report["baselines"]}
    assert table1["00000"]["int8_drop_points"] == pytest.approx(1.0)
    assert table1["00000"]["test_acc_int8"] == 0.86
    html = (tmp_path / "out" / "report.html").read_text()
    for text in (
        "test acc int8",
        "int8 drop (points)",
        "model (deployment, ExecuTorch int8 (1.5.1): ExecuTorch program: data, loaded by the ExecuTorch runtime)",
    ):
        assert text in html, text


def test_trials_of_different_targets_are_said_to_disagree(tmp_path, capsys):
    root = write_synthetic_experiment(str(tmp_path / "exp"), trials=6, failed=0, running=0, baselines=False)
    metrics_path = os.path.join(root, "trial_00005", "child", "metrics.json")
    metrics = json.loads(open(metrics_path).read())
    metrics["measured"]["deploy"] = {"runtime": "onnxruntime", "precision": "fp32", "runtime_version": "1.23.2"}
    open(metrics_path, "w").write(json.dumps(metrics))
    assert main([root, "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    deploy = report["deploy"]
    assert deploy["target"] == "executorch-fp32"
    assert deploy["agree"] is False  # the most common one, flagged
    assert deploy["trials"] == [
        {"target": "executorch-fp32", "runtime_version": "1.5.1", "n": 5},
        {"target": "onnxruntime-fp32", "runtime_version": "1.23.2", "n": 1},
    ]
    assert "disagree on the targets: 5 in ExecuTorch fp32 (1.5.1), 1 in ONNX Runtime fp32 (1.23.2)" in deploy["note"]
    assert (
        "the search LUT describes ExecuTorch fp32 (1.5.1), the trials ExecuTorch fp32, ONNX Runtime fp32"
        in (deploy["note"])
    )
    assert "warning: deployment target: the finished trials disagree" in err
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<p class=note>deployment target: the finished trials disagree on the targets" in html


def test_a_baseline_timed_in_another_target_has_no_speedup(tmp_path):
    from testdata import write_rows_experiment

    rows = [{"test_acc": 0.86, "lut_latency_ms": 0.2, "measured_latency_ms": 0.25, "alpha": 1.0}]
    deploy = {"runtime": "torchscript", "precision": "fp32", "runtime_version": "2.9.1", "file": "mnasnet.pt"}
    measured = {"latency_ms": 1.0, "energy_mj": None, "energy_source": "none"}
    base = {"name": "mnasnet", "test_acc": 0.8, "measured": measured}
    root = write_rows_experiment(str(tmp_path / "exp"), rows, baselines=[dict(base, deploy=deploy)])
    (row,) = build_report(root, str(tmp_path / "out"))["comparison"]
    assert row["speedup"] is None
    assert "speed-up n/a (timed in different deployment targets)" in row["summary"]
    root = write_rows_experiment(str(tmp_path / "same"), rows, baselines=[base])  # names none: the experiment's
    (row,) = build_report(root, str(tmp_path / "out2"))["comparison"]
    assert row["speedup"] == pytest.approx(4.0)


def test_a_torchscript_model_is_labeled_code(tmp_path):
    from testdata import write_rows_experiment

    root = write_rows_experiment(
        str(tmp_path / "exp"), [{"test_acc": 0.8, "lut_latency_ms": 1.0, "alpha": 1.0}], runtime="torchscript"
    )
    open(os.path.join(root, "trial_00000", "child", "model.pt"), "wb").close()
    report = build_report(root, str(tmp_path / "out"))
    assert report["deploy"]["label"] == "TorchScript fp32 (2.9.1; deprecated by PyTorch)"
    assert report["deploy"]["source"] == "trials"  # exported, not measured: the exported file's target
    assert report["recommended"]["model"].endswith("trial_00000/child/model.pt")
    html = (tmp_path / "out" / "report.html").read_text()
    assert "TorchScript fp32 (2.9.1; deprecated by PyTorch): TorchScript: code, trusted sources only)" in html


def test_the_target_comes_from_the_lut_file_when_no_trial_names_one(tmp_path):
    from testdata import write_rows_experiment

    root = write_rows_experiment(str(tmp_path / "exp"), [{"test_acc": 0.8, "lut_latency_ms": 1.0, "alpha": 1.0}])
    for name in ("sweep.json", "trial_00000/child/metrics.json"):
        data = json.loads(open(os.path.join(root, name)).read())
        for record in (data, data.get("lut", {}), data.get("measured", {})):
            record.pop("deploy", None)
        for est in data.get("lut_estimates", []):
            est.pop("target")
        if name == "sweep.json":
            data["lut"]["path"] = os.path.join(root, "lut.json")
            data["config"].pop("deploy")
        open(os.path.join(root, name), "w").write(json.dumps(data))
    lut = {"deploy": {"runtime": "onnxruntime", "precision": "int8", "runtime_version": "1.23.2"}}
    open(os.path.join(root, "lut.json"), "w").write(json.dumps(lut))
    deploy = build_report(root, str(tmp_path / "out"))["deploy"]
    assert (deploy["label"], deploy["source"], deploy["agree"]) == ("ONNX Runtime int8 (1.23.2)", "lut", True)
    os.unlink(os.path.join(root, "lut.json"))
    deploy = build_report(root, str(tmp_path / "out"))["deploy"]
    assert (deploy["target"], deploy["label"], deploy["source"]) == (None, "target unknown", None)
