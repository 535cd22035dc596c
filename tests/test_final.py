"""The take-home model: ``childnet.finalize`` trains an architecture with the ``final``
recipe (not the childnet's), records where it came from, exports and measures it; the
sweep's final stage picks the recommended model (and the next ones for ``top_k``)."""

import json
from pathlib import Path

import pytest

from childnet.finalize import final_config, finalize, main
from hwnas.config import load_config
from hwnas.errors import UserError
from pareto.experiment import read_experiment
from pareto.recommended import recommended_model, recommended_models
from testdata import write_synthetic_experiment

ROOT = Path(__file__).resolve().parents[1]
ARCH = ["k3_e3", "skip", "k5_e1_g2", "skip", "k3_e6", "k5_e3", "skip", "k3_e1"]


def _cfg(smoke_lut, *extra):
    return load_config(
        ROOT / "configs" / "sweep-smoke.yaml",
        [f"lut.path={smoke_lut}", "data.test_size=100", "final.train_size=300", *extra],
    )


def test_the_final_recipe_replaces_the_childnet_recipe_on_the_whole_split(smoke_lut):
    cfg = _cfg(
        smoke_lut,
        "final.epochs=7",
        "final.lr=0.05",
        "final.label_smoothing=0.2",
        "final.threads=2",
        "final.augment=true",
    )
    final = final_config(cfg)
    assert (final.child.epochs, final.child.lr, final.child.label_smoothing) == (7, 0.05, 0.2)
    assert final.child.threads == 2
    assert final.child.export == "deploy"
    assert final.data.train_size == 300  # final.train_size, not data's 640
    assert final.data.augment is True
    whole = final_config(load_config(ROOT / "configs" / "sweep-smoke.yaml", ["final.train_size=null"]))
    assert whole.data.train_size is None  # the whole training split


def test_finalize_trains_exports_measures_and_records_its_origin(tmp_path, smoke_lut, one_thread, capsys):
    cfg = _cfg(smoke_lut, "final.epochs=2")
    out = tmp_path / "final"
    result = finalize(cfg, ARCH, out, origin={"trial": "abc", "proxy_test_acc": 0.5})
    written = json.loads((out / "metrics.json").read_text())
    assert written == json.loads(json.dumps(result))
    assert written["final"]["trial"] == "abc"
    assert written["final"]["proxy_test_acc"] == 0.5
    assert written["final"]["recipe"]["epochs"] == 2 == written["epochs"]
    assert written["ops"] == ARCH
    assert 0 <= written["test_acc"] <= 1
    assert (out / written["model"]).is_file()
    assert written["model"] == "model.onnx"  # the smoke config's target
    assert written["deploy"]["deploy_agreement"] >= 0.99
    assert written["measured"]["latency_ms"] > 0

    # the CLI resumes the finished run: nothing is trained again (the checkpoint holds both epochs)
    arch = tmp_path / "arch.json"
    arch.write_text(json.dumps({"ops": ARCH}))
    argv = ["--arch", str(arch), "--config", str(ROOT / "configs" / "sweep-smoke.yaml"), "--out", str(out)]
    main([*argv, "--resume", f"lut.path={smoke_lut}", "data.test_size=100", "final.train_size=300", "final.epochs=2"])
    printed = capsys.readouterr().out
    assert "final epoch" not in printed
    again = json.loads((out / "metrics.json").read_text())
    assert again["test_acc"] == written["test_acc"]
    assert "final" in again
    assert again["final"].get("trial") is None


def test_final_section_rules_are_checked_at_load():
    for override, field in (("final.top_k=0", "final.top_k"), ("final.label_smoothing=1.5", "final.label_smoothing")):
        with pytest.raises(UserError, match=field.replace(".", r"\.")):
            load_config(ROOT / "configs" / "sweep-smoke.yaml", [override])


def test_top_k_follows_the_recommendation_rule_over_distinct_architectures(tmp_path):
    exp = read_experiment(write_synthetic_experiment(str(tmp_path / "s"), trials=12, failed=0, running=0))
    first, second, third = recommended_models(exp, 3)
    assert first["trial_id"] == recommended_model(exp)["trial_id"]
    assert len({first["ops"], second["ops"], third["ops"]}) == 3
    assert first["test_acc"] >= second["test_acc"] >= third["test_acc"]  # no budget: the most accurate first
    assert len(recommended_models(exp, 50)) == len({t for t in exp.trials["ops"].dropna()})


def test_a_final_model_below_its_proxy_is_said_in_the_line_and_the_report():
    from pareto.final_model import final_line, final_section

    row = {"trial_id": "t1", "test_acc": 0.095, "proxy_test_acc": 0.53, "epochs": 1, "model": "/m.onnx"}
    assert "warning: the final model tests below its proxy-trained childnet (0.0950 < 0.5300)" in final_line([row])
    assert "did not beat the search" in final_section([row])[1]
    better = dict(row, test_acc=0.6)
    assert "warning" not in final_line([better])
    assert "did not beat" not in final_section([better])[1]


def test_a_final_models_energies_keep_their_names_and_the_page_shows_the_measured_one(tmp_path):
    from pareto.final_model import final_section, read_final_models

    root = Path(write_synthetic_experiment(str(tmp_path / "s"), trials=4, failed=0, running=0))
    metrics = json.loads((root / "trial_00000" / "child" / "metrics.json").read_text())
    metrics["lut"] = next(e for e in metrics["lut_estimates"] if e["lut_energy_mj"] is not None)  # modeled energy
    metrics["final"] = {"recipe": {"epochs": 9}, "trial": "trial_00000", "proxy_test_acc": 0.5}
    for name, meter_mj in (("trial_00000", None), ("trial_00001", 0.123)):
        metrics["measured"] = dict(metrics["measured"], energy_mj=meter_mj, energy_source="meter:pmic")
        (root / "final" / name).mkdir(parents=True)
        (root / "final" / name / "metrics.json").write_text(json.dumps(dict(metrics, final=dict(metrics["final"]))))
    rows = {r["folder"]: r for r in read_final_models(str(root), [])}
    lut_only, metered = rows["final/trial_00000"], rows["final/trial_00001"]
    lut_mj = metrics["lut"]["lut_energy_mj"]
    energies = ("measured_energy_mj", "lut_energy_mj", "energy_basis")
    assert [lut_only[k] for k in energies] == [None, lut_mj, "lut"], "no meter: the LUT's energy counts"
    assert [metered[k] for k in energies] == [0.123, lut_mj, "measured"], "metered: the meter's counts, both kept"
    assert lut_only["lut_latency_ms"] == metrics["lut"]["lut_latency_ms"], "the final model's LUT latency"
    assert "energy_mj" not in metered, "final_models say which energy each is"
    # the page's "energy mJ" column is the energy_basis one, with its source
    html = final_section([metered, lut_only])[1]
    assert "<td data-v='0.123'>0.123</td><td class=l>meter:pmic</td>" in html, "the measured energy shown"
    assert f">{lut_mj:.4g}</td><td class=l>model:horowitz45nm</td>" in html, "else the LUT's, its source named"


def test_a_resumed_sweep_starts_no_process_for_a_phase_with_nothing_to_do(tmp_path, fault_template, monkeypatch):
    """``sweep.run --resume`` of a finished sweep: nothing waits for a measurement and the final
    model is trained, so neither phase starts its process (4 s each, for nothing); what they say
    comes from the files. A childnet waiting, ``--remeasure`` or a final model gone: they do."""
    import shutil

    import sweep.final
    import sweep.measurements
    from hwnas.layout import METRICS
    from sweep.experiment import read_record

    class Started(Exception):
        """The phase started its process (stood in for: nothing after it runs)."""

    started = []

    def child(argv, lock=None):
        started.append(argv[2])
        raise Started

    monkeypatch.setattr(sweep.measurements, "run_child", child)
    monkeypatch.setattr(sweep.final, "run_child", child)
    experiment = fault_template.restore(tmp_path)
    _, cfg = read_record(experiment)
    phase = sweep.measurements.measurement_phase(cfg, experiment)
    assert (phase["timed"], phase["distinct"], phase["baselines"]) == (0, 0, 0)
    stage = sweep.final.final_stage(cfg, experiment)
    [final_dir] = (experiment / "final").iterdir()
    assert [m["trial"] for m in stage["models"]] == [final_dir.name.removeprefix("trial_")]
    assert stage["models"][0]["test_acc"] == json.loads((final_dir / METRICS).read_text())["test_acc"]
    assert started == []

    with pytest.raises(Started):
        sweep.measurements.measurement_phase(cfg, experiment, remeasure=True)
    metrics = sorted(experiment.glob("trial_*/child/metrics.json"))[0]
    waiting = json.loads(metrics.read_text())
    (experiment / "measurements.json").unlink()  # every model waits again
    with pytest.raises(Started):
        sweep.measurements.measurement_phase(cfg, experiment)
    assert waiting["measured"]["pending"]
    shutil.rmtree(final_dir)
    with pytest.raises(Started):
        sweep.final.final_stage(cfg, experiment)
    assert started == ["sweep.measurements"] * 2 + ["sweep.final"]
