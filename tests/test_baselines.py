"""Baselines (issue 12): built for the space's input and classes at the configured width,
trained with the childnet recipe (one loop, same seeds -> same weights), data files that
rebuild them, the unadaptable-baseline error, and HANNA's Tables 1 and 2 from known numbers."""

import json
from pathlib import Path

import pytest
import torch

from hwnas.baselines import BASELINES, baseline_model, check_adaptable
from hwnas.config import load_config
from hwnas.errors import UserError
from hwnas.space import PRESETS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", BASELINES)
def test_baseline_fits_the_space_input_classes_and_width(name, tmp_path):
    from childnet.export import load_model_data, save_model_data

    preset = PRESETS["fbnet-cpu"]
    shape, stride = list(preset["input_shape"]), preset["stem_stride"]
    torch.manual_seed(0)
    narrow = baseline_model(name, 7, shape, 0.25, stride).eval()
    wide = baseline_model(name, 7, shape, 1.0, stride)
    assert narrow(torch.zeros(2, *shape)).shape == (2, 7)
    assert sum(p.numel() for p in narrow.parameters()) < sum(p.numel() for p in wide.parameters()) / 3
    stem = next(m for m in narrow.modules() if isinstance(m, torch.nn.Conv2d))
    assert stem.in_channels == 3
    assert stem.stride == (stride, stride)  # the space's stem downsampling
    one_channel = baseline_model(name, 10, [1, 32, 32], 0.25, stride).eval()
    assert one_channel(torch.zeros(1, 1, 32, 32)).shape == (1, 10)

    meta = {"input_shape": shape, "baseline": name, "num_classes": 7, "width": 0.25, "stem_stride": stride}
    path = save_model_data(narrow, tmp_path / f"{name}.weights.pt", meta)
    rebuilt, read = load_model_data(path)  # rebuilt from the registry, weights loaded strictly
    assert read["width"] == 0.25
    assert read["stem_stride"] == stride
    x = torch.randn(1, *shape)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), narrow(x))


def test_a_baseline_that_cannot_take_the_input_is_one_line(monkeypatch, tmp_path, capsys):
    check_adaptable("resnet18", (3, 16, 16), 2)  # downsamples 16x: fits
    with pytest.raises(
        UserError,
        match=r"^baseline mobilenet_v2: cannot be adapted to inputs of 3x16x16: it "
        r"downsamples 32x .*baselines.mobilenet_v2: null",
    ):
        check_adaptable("mobilenet_v2", (3, 16, 16), 2)
    # a space with a smaller input: refused when the config loads, before anything runs
    monkeypatch.setitem(PRESETS, "fbnet-cpu", {**PRESETS["fbnet-cpu"], "input_shape": (3, 16, 16)})
    with pytest.raises(UserError, match="baseline mnasnet: cannot be adapted"):
        load_config(None, ["baselines.mnasnet=0.5"])
    load_config(None, ["baselines.resnet18=0.5"])
    from sweep.run import main

    with pytest.raises(SystemExit) as exit_:
        main(["--storage", str(tmp_path)])  # configs/default.yaml names mobilenet_v2 first
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "baseline mobilenet_v2: cannot be adapted" in err
    assert list(tmp_path.iterdir()) == []


def test_baselines_config_is_checked_at_load():
    cfg = load_config(ROOT / "configs" / "default.yaml")
    assert cfg.baselines.widths() == {"mobilenet_v2": 0.5, "resnet18": 0.25, "mnasnet": 0.5}
    assert load_config(None).baselines.widths() == {}
    with pytest.raises(
        UserError, match=r"baselines.vgg: unknown key 'vgg'; expected one of mnasnet, mobilenet_v2, resnet18"
    ):
        load_config(None, ["baselines.vgg=1"])
    with pytest.raises(UserError, match=r"baselines.resnet18: expected a number in \(0, 16\]"):
        load_config(None, ["baselines.resnet18=0"])


TINY = [
    "data.train_size=96",
    "data.test_size=64",
    "data.batch_size=32",
    "child.epochs=2",
    "child.batch_size=32",
    "child.threads=1",
    "child.export=none",
    "baselines.mobilenet_v2=0.25",
    "baselines.resnet18=0.125",
]


@pytest.mark.slow
def test_baselines_are_trained_by_the_childnet_loop_reproducibly(tmp_path, monkeypatch):
    import childnet.recipe
    from sweep.baselines import train_baselines

    cfg = load_config(ROOT / "configs" / "sweep-smoke.yaml", TINY + ["baselines.mnasnet=null"])
    calls = []
    loop = childnet.recipe.train_and_test

    def spy(model, cfg_, splits, *args, **kwargs):
        calls.append((cfg_.child, len(splits.train), len(splits.test)))
        return loop(model, cfg_, splits, *args, **kwargs)

    monkeypatch.setattr(childnet.recipe, "train_and_test", spy)
    first = train_baselines(cfg, tmp_path / "a")
    # the experiment's childnet recipe and split: the whole (subset) train split, the test split
    assert calls == [(cfg.child, 96, 64)] * 2
    assert [r["name"] for r in first] == ["mobilenet_v2", "resnet18"]
    assert [r["width"] for r in first] == [0.25, 0.125]
    assert all(r["epochs"] == 2 for r in first)
    assert all(0 <= r["test_acc"] <= 1 and r["train_seconds"] > 0 and r["flops"] > 0 for r in first)
    assert all(r["model_energy_source"] == "model:horowitz45nm" and r["model_energy_mj"] > 0 for r in first)

    second = train_baselines(cfg, tmp_path / "b")  # same seeds: the same networks, bit for bit
    assert [r["test_acc"] for r in second] == [r["test_acc"] for r in first]
    for name in ("mobilenet_v2", "resnet18"):
        a = torch.load(tmp_path / "a" / f"{name}.weights.pt", weights_only=True)["state_dict"]
        b = torch.load(tmp_path / "b" / f"{name}.weights.pt", weights_only=True)["state_dict"]
        assert all(torch.equal(a[k], b[k]) for k in a)
    other = load_config(ROOT / "configs" / "sweep-smoke.yaml", TINY + ["baselines.mnasnet=null", "child.seed=1"])
    train_baselines(other, tmp_path / "c")
    c = torch.load(tmp_path / "c" / "resnet18.weights.pt", weights_only=True)["state_dict"]
    assert not torch.equal(c["fc.weight"], b["fc.weight"])

    calls.clear()
    again = train_baselines(cfg, tmp_path / "a")  # once per experiment: read back, not trained again
    assert calls == []
    assert again == first


def test_a_resumed_sweep_starts_no_baseline_training_when_baselines_json_is_there(tmp_path, monkeypatch):
    """``sweep.prepare.start_baselines``: the sweep's record names a ``baselines.json`` that is
    there -> no task (once per experiment); the file gone (a kill lost it) or none recorded -> the
    training task starts (Ray's task factory stood in for: no Ray here); none configured -> none."""
    import sweep.prepare as prepare

    started = []

    class Task:
        def options(self, **_):
            return self

        def remote(self, cfg, out):
            started.append(out)
            return "task"

    monkeypatch.setattr(prepare.ray, "remote", lambda fn: Task())
    cfg = load_config(ROOT / "configs" / "sweep-smoke.yaml", TINY)
    (tmp_path / "baselines.json").write_text("[]")
    assert prepare.start_baselines(cfg, tmp_path, "baselines.json") is None
    assert started == []
    assert prepare.start_baselines(cfg, tmp_path, None) == "task"
    assert prepare.start_baselines(cfg, tmp_path, "gone.json") == "task"
    assert started == [str(tmp_path / "baselines")] * 2
    none = load_config(ROOT / "configs" / "sweep-smoke.yaml", ["baselines=null"])
    assert prepare.start_baselines(none, tmp_path, None) is None


def _row(name, acc, latency, energy=None, model_energy=None):
    return {
        "name": name,
        "width": 0.5,
        "test_acc": acc,
        "latency_ms": latency,
        "energy_mj": energy,
        "energy_source": "rapl" if energy is not None else "none",
        "params": 1000,
        "flops": 4000,
        "model_energy_mj": model_energy,
        "model_energy_source": "model:horowitz45nm",
    }


def test_tables_one_and_two_from_known_numbers(tmp_path):
    from pareto.report import build_report
    from testdata import write_rows_experiment

    rows = [
        {"test_acc": 0.86, "lut_latency_ms": 0.2, "measured_latency_ms": 0.25, "lut_energy_mj": 0.01, "alpha": 1.0},
        {"test_acc": 0.88, "lut_latency_ms": 0.4, "measured_latency_ms": 0.5, "lut_energy_mj": 0.04, "alpha": 0.5},
        {"test_acc": 0.80, "lut_latency_ms": 0.9, "measured_latency_ms": 1.0, "lut_energy_mj": 0.09, "alpha": 0.1},
        # trial 3 found trial 0's architecture (synthetic ops: op number t of FBNET_OPS in every layer)
        {
            "test_acc": 0.86,
            "lut_latency_ms": 0.2,
            "measured_latency_ms": 0.25,
            "lut_energy_mj": 0.01,
            "alpha": 0.9,
            "ops": ["k3_e1"] * 22,
        },
    ]
    baselines = [_row("mobilenet_v2", 0.90, 1.5, model_energy=0.06), _row("resnet18", 0.85, 2.0)]
    root = write_rows_experiment(str(tmp_path / "exp"), rows, baselines=baselines)
    report = build_report(root, str(tmp_path / "out"))

    table1 = report["baselines"]
    assert [r["kind"] for r in table1] == ["baseline", "baseline", "childnet", "childnet"]
    mnv2, r18, fast, accurate = table1
    assert (mnv2["lut_latency_ms"], mnv2["measured_latency_ms"], mnv2["macs"]) == (None, 1.5, 2000)
    assert (mnv2["model_energy_mj"], mnv2["model_energy_source"], mnv2["energy_basis"]) == (
        0.06,
        "model:horowitz45nm",
        "model",
    )
    assert mnv2["measured_energy_mj"] is None, "the baseline had no meter"
    assert (r18["measured_energy_mj"], r18["model_energy_mj"], r18["energy_basis"]) == (None, None, None)
    assert "energy_mj" not in mnv2, "Table 1's rows say which energy they hold (measured_, lut_, model_)"
    # the measured front: trial 2 (0.80 at 1.0 ms) is dominated; fastest first
    assert (fast["name"], fast["front"], fast["lut_latency_ms"], fast["energy_basis"]) == (
        "00000",
        "measured",
        0.2,
        "lut",
    )
    assert (fast["lut_energy_mj"], fast["lut_energy_source"], fast["measured_energy_mj"]) == (
        0.01,
        "model:horowitz45nm",
        None,
    )
    assert fast["same_as"] == ["00003"]  # one row per architecture

    comparison = {(r["childnet"], r["baseline"]): r for r in report["comparison"]}
    assert len(comparison) == 4
    a = comparison[("00000", "mobilenet_v2")]
    assert a["acc_diff_points"] == pytest.approx(-4.0)
    assert a["speedup"] == pytest.approx(6.0)
    assert a["latency_basis"] == "measured"
    assert a["energy_ratio"] == pytest.approx(6.0)
    assert a["energy_basis"] == "model:horowitz45nm"
    b = comparison[("00001", "resnet18")]
    assert b["acc_diff_points"] == pytest.approx(3.0)
    assert b["speedup"] == pytest.approx(4.0)
    assert b["energy_ratio"] is None
    assert b["energy_basis"] is None  # no energy for that baseline
    assert "6.00x faster (measured), 6.00x less energy (model:horowitz45nm), -4.00 points" in a["summary"]

    html = (tmp_path / "out" / "report.html").read_text()
    assert "Table 1: baselines and front childnets" in html
    assert "Table 2: childnets vs baselines" in html
    # Table 1's "energy mJ" is the energy_basis one with its source: the baseline's modeled, the childnet's LUT
    assert ">0.06</td><td class=l>model:horowitz45nm</td><td class=l>model</td>" in html, "baseline energy shown"
    assert ">0.01</td><td class=l>model:horowitz45nm</td><td class=l>lut</td>" in html, "childnet energy shown"
    assert json.loads((tmp_path / "out" / "report.json").read_text())["comparison"][0]["speedup"] is not None


def test_unmeasured_childnets_have_no_speedup(tmp_path):
    from pareto.report import build_report
    from testdata import write_rows_experiment

    rows = [{"test_acc": 0.86, "lut_latency_ms": 0.2, "alpha": 1.0}]
    root = write_rows_experiment(str(tmp_path / "exp"), rows, baselines=[_row("mnasnet", 0.8, 1.0)])
    report = build_report(root, str(tmp_path / "out"))
    assert report["baselines"][1]["front"] == "lut:host.json"  # nothing measured: the LUT's front, said so
    (row,) = report["comparison"]
    assert row["speedup"] is None
    assert row["latency_basis"] is None
    assert row["acc_diff_points"] == pytest.approx(6.0)
