"""The issue's "done when", on configs/smoke.yaml: the search CLI writes a 22-op
arch.json, theta history and TensorBoard events; the childnet CLI writes metrics.json
with the test accuracy and a measured latency. Two search epochs (one warm-up, one of
theta: every kind of epoch once) and one timing of the childnet (no retry of a noisy
one): what is checked does not depend on more."""

import json
from pathlib import Path

import pytest

from childnet.train import main as child_main
from supernet.search import main as search_main

SMOKE = Path(__file__).resolve().parents[1] / "configs" / "smoke.yaml"
SEARCH = ["--config", str(SMOKE), "search.epochs=2"]


@pytest.mark.slow
def test_smoke_config_search_then_childnet(tmp_path, capsys):
    search_main([*SEARCH, "--out", str(tmp_path / "S")])
    arch = json.loads((tmp_path / "S" / "arch.json").read_text())
    assert len(arch["ops"]) == 22
    assert arch["space"]["name"] == "fbnet-cifar"
    assert arch["space"]["width"] == 1.0
    assert arch["proxy_width"] == 0.25
    assert arch["lut"] == "builtin:rpi4-hwnasbench"
    assert arch["lut_energy_mj"] is None
    assert arch["energy_source"] == "none"
    assert len(json.loads((tmp_path / "S" / "theta.json").read_text())) == 2
    assert list((tmp_path / "S").glob("events.out.tfevents.*"))
    assert "epoch 2/2" in capsys.readouterr().out

    # resuming a finished search does no more epochs and keeps the result
    search_main([*SEARCH, "--out", str(tmp_path / "S"), "--resume"])
    assert "epoch" not in capsys.readouterr().out.split("{")[0]
    assert json.loads((tmp_path / "S" / "arch.json").read_text())["ops"] == arch["ops"]

    child = ["--arch", str(tmp_path / "S" / "arch.json"), "--config", str(SMOKE), "--out", str(tmp_path / "C")]
    child_main([*child, "measure.tries=1"])
    metrics = json.loads((tmp_path / "C" / "metrics.json").read_text())
    assert 0 <= metrics["test_acc"] <= 1
    assert metrics["ops"] == arch["ops"]
    assert metrics["lut"]["lut_latency_ms"] == pytest.approx(arch["lut_latency_ms"])
    assert metrics["measured"]["latency_ms"] > 0
    assert metrics["measured"]["energy_source"] == "none"
    # the builtin table measured eager PyTorch: the deployed file is the data file, rebuilt on the device
    assert metrics["model"] == "model.weights.pt"
    assert (tmp_path / "C" / "model.weights.pt").is_file()
    assert metrics["deploy"]["runtime"] == "pytorch"
    assert metrics["measured"]["deploy"]["runtime"] == "pytorch"
