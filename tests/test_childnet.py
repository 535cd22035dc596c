"""Childnet: plain network, training, FLOPs, export with metadata, measurement,
metrics.json, exact resume and bad input."""

import json

import pytest
import torch

from childnet.export import load_exported
from childnet.measure import main as measure_main
from childnet.measure import measure_file
from childnet.train import main as train_main
from childnet.train import run_child
from hwnas.config import load_config
from hwnas.errors import UserError
from hwnas.flops import count_flops
from hwnas.network import build_network
from hwnas.space import get_space
from hwnas.target import DeployTarget

SMALL = [
    "space.preset=fbnet-cpu",
    "space.width=0.5",
    "data.train_size=96",
    "data.test_size=64",
    "child.epochs=2",
    "child.batch_size=32",
    "child.threads=1",
    "measure.warmup=1",
    "measure.repeats=3",
    # the deprecated TorchScript path (model.pt + the data file it is measured from); the default
    # ExecuTorch and ONNX Runtime files are tested in test_deploy.py
    "deploy.runtime=torchscript",
]
ARCH = ["k3_e3", "skip", "k5_e1_g2", "skip", "k3_e6", "k5_e3", "skip", "k3_e1"]


def config(*overrides):
    return load_config(None, SMALL + list(overrides))


def test_flops_of_the_all_skip_network_by_hand():
    space = get_space("fbnet-cpu", 1.0, 10)
    net = build_network(space, ["skip"] * space.num_layers)
    # stem 3->16 k3 s2 at 16x16; skip projections 16->24 s2 (8x8), 24->32 s2 (4x4),
    # 32->64 and 64->96 at 4x4; identity skips vanish; head 96->384 at 4x4; fc 384->10
    macs = 3 * 16 * 9 * 256 + 16 * 24 * 64 + 24 * 32 * 16 + 32 * 64 * 16 + 64 * 96 * 16 + 96 * 384 * 16 + 384 * 10
    assert count_flops(net, space.input_shape) == 2 * macs
    assert sum(1 for _ in net.children()) == 1 + 4 + 1  # stem, 4 projections, head


@pytest.fixture(scope="module")
def trained_child(tmp_path_factory, cost):
    """``(folder, result, the epochs' rows)`` of ``ARCH`` trained once with ``config()``, unmeasured;
    the tests only read it (training is deterministic: the resume test checks exactly that)."""
    folder, seen = tmp_path_factory.mktemp("child"), []
    result = run_child(config(), {"ops": ARCH}, folder, measure_with=False, cost=cost, on_epoch=seen.append)
    return folder, result, seen


@pytest.mark.slow
def test_run_child_writes_metrics_and_a_loadable_model(trained_child, cost, space):
    tmp_path, result, seen = trained_child
    assert [m["epoch"] for m in seen] == [1, 2], "on_epoch was not called once per epoch"
    assert seen[0]["phase"] == "child", "epoch rows are not labelled as the child phase"
    assert {"train_loss", "train_acc", "seconds", "epochs"} <= set(seen[0])
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(result))
    assert 0 <= metrics["test_acc"] <= 1, "test accuracy is not a fraction"
    assert metrics["ops"] == ARCH, "metrics.json names another architecture"
    net = build_network(space, ARCH)
    assert metrics["params"] == sum(p.numel() for p in net.parameters())
    assert metrics["flops"] == count_flops(net, space.input_shape)
    assert metrics["lut"] == {
        "name": "builtin:rpi4-hwnasbench",
        "lut_latency_ms": pytest.approx(
            1.5 + sum(float(cost.latency_ms[l, space.ops.index(op)]) for l, op in enumerate(ARCH)), rel=1e-6
        ),
        "lut_energy_mj": None,
        "energy_source": "none",
        "target": "torchscript-fp32",
    }
    assert metrics["lut_estimates"][0]["name"] == "builtin:rpi4-hwnasbench"
    assert metrics["model"] == "model.pt", "the TorchScript file is not the recorded model"
    assert metrics["deploy"]["runtime"] == "torchscript", "deploy.runtime not recorded"
    measured = metrics["measured"]
    assert measured["latency_ms"] is None, "a latency without a measurement"
    assert measured["energy_mj"] is None, "an energy without a measurement"
    assert "note" in measured, "no note says why nothing was measured"
    assert metrics["space"]["layers_hash"] == space.layers_hash()
    # the exported file carries its input shape and computes what the trained model does
    module, meta = load_exported(tmp_path / "model.pt")
    assert meta["input_shape"] == [3, 32, 32], "the exported file has another input shape"
    assert meta["ops"] == ARCH, "the exported file has another architecture"
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    net.load_state_dict(state["model"])
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(module(x), net.eval()(x), rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_measure_on_this_host_and_by_callable(tmp_path, cost):
    result = run_child(config("child.epochs=1"), ARCH, tmp_path / "host", cost=cost)
    measured = result["measured"]
    recorded = json.loads((tmp_path / "host" / "metrics.json").read_text())["measured"]
    assert recorded == json.loads(json.dumps(measured)), "metrics.json holds another measurement than returned"
    # a median and its spread of a half-width 8-layer net at 32x32, timed as measure.* says
    assert 0 < measured["latency_ms"] < 1000, f"implausible latency {measured['latency_ms']} ms"
    assert measured["latency_iqr_ms"] >= 0, "negative spread"
    assert measured["rel_iqr"] == pytest.approx(measured["latency_iqr_ms"] / measured["latency_ms"])
    assert measured["noisy"] == (measured["rel_iqr"] > 0.05), "noisy flag disagrees with measure.max_rel_iqr"
    assert 1 <= measured["tries"] <= 3, "timed more often than measure.tries allows"
    assert measured["warmup"] == 1, "measure.warmup=1 not used"
    assert measured["threads"] == 1, "measure.threads not used"
    assert measured["batch_size"] == 1, "measure.batch_size not used"
    assert measured["device"], "the host is not named"
    assert measured["energy_mj"] is None, "energy made up without a meter"
    assert measured["energy_source"] == "none"
    paths = []

    def remote(path):
        paths.append(path)
        return {
            "latency_ms": 1.0,
            "latency_iqr_ms": 0.0,
            "energy_mj": 2.0,
            "energy_source": "ina219",
            "device": "rpi4",
            "threads": 4,
            "batch_size": 1,
        }

    result = run_child(config("child.epochs=1"), ARCH, tmp_path / "remote", cost=cost, measure_with=remote)
    assert paths == [tmp_path / "remote" / "model.weights.pt"], "the callable was not given the data file"
    assert result["measured"]["device"] == "rpi4", "the callable's measurement was not recorded"


@pytest.mark.slow
def test_resumed_child_equals_uninterrupted(tmp_path, cost, trained_child):
    whole_folder, whole, _ = trained_child

    def crash(m):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_child(config(), ARCH, tmp_path / "cut", measure_with=False, cost=cost, on_epoch=crash)
    resumed = run_child(config(), ARCH, tmp_path / "cut", measure_with=False, cost=cost, resume=True)
    assert resumed["test_acc"] == whole["test_acc"]
    a = torch.load(whole_folder / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_with_another_config_names_what_differs(tmp_path, cost):
    def crash(m):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_child(config(), ARCH, tmp_path / "cut", measure_with=False, cost=cost, on_epoch=crash)
    with pytest.raises(UserError, match=r"another config or architecture: child.lr: 0.1 -> 0.05$"):
        run_child(config("child.lr=0.05"), ARCH, tmp_path / "cut", measure_with=False, cost=cost, resume=True)


@pytest.mark.slow
def test_measure_cli_prints_json(tmp_path, capsys, space):
    from childnet.export import save_model_data

    path = save_model_data(
        build_network(space, ARCH),
        tmp_path / "m.weights.pt",
        {
            "input_shape": [3, 32, 32],
            "ops": ARCH,
            "space": {"name": space.name, "width": space.width, "num_classes": space.num_classes},
        },
    )
    measure_main(["--model", str(path), "--repeats", "2", "--warmup", "1", "--runtime", "torchscript"])
    out = json.loads(capsys.readouterr().out)
    assert out["latency_ms"] > 0, "no latency printed"
    assert out["energy_source"] == "none", "an energy source without a meter"
    assert out["energy_mj"] is None, "an energy without a meter"
    assert out["deploy"]["runtime"] == "torchscript"
    eager = measure_file(path, repeats=2, warmup=0, batch_size=2, target=DeployTarget("pytorch"))
    assert eager["batch_size"] == 2, "batch_size not used"
    assert eager["deploy"]["runtime"] == "pytorch", "the target's runtime not recorded"


def test_measure_rejects_a_file_that_is_not_a_model(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(SystemExit) as exit_info:
        measure_main(["--model", str(bad), "--runtime", "pytorch"])
    assert exit_info.value.code == 2, "a bad input must exit 2"
    assert "not an exported childnet" in capsys.readouterr().err, "the error does not say what the file is not"


@pytest.mark.slow
def test_data_file_rebuilds_the_trained_network(trained_child):
    from childnet.export import load_model_data

    tmp_path = trained_child[0]
    net, meta = load_model_data(tmp_path / "model.weights.pt")
    module, _ = load_exported(tmp_path / "model.pt")  # the deployment artifact: same function
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(net(x), module(x), rtol=1e-4, atol=1e-5)
    assert meta["ops"] == ARCH, "the exported file has another architecture"
    assert json.loads((tmp_path / "metrics.json").read_text())["weights"] == "model.weights.pt", (
        "metrics.json does not name the data file"
    )


def test_bad_architectures_are_one_clear_error(tmp_path, cost):
    with pytest.raises(UserError, match="expected 8 ops for space fbnet-cpu, got 3"):
        run_child(config(), ["skip"] * 3, tmp_path, cost=cost)
    with pytest.raises(UserError, match="unknown op 'k9_e9'"):
        run_child(config(), ["k9_e9"] + ARCH[1:], tmp_path, cost=cost)
    arch = tmp_path / "arch.json"
    arch.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        run_child(config(), arch, tmp_path, cost=cost)
    arch.write_text(json.dumps({"space": {"name": "fbnet-cpu", "layers_hash": "0000"}, "ops": ARCH}))
    with pytest.raises(UserError, match="searched in space fbnet-cpu"):
        run_child(config(), arch, tmp_path, cost=cost)


def test_train_cli_lut_for_another_space(tmp_path, capsys):
    arch = tmp_path / "arch.json"
    arch.write_text(json.dumps({"ops": ARCH}))
    cfg = tmp_path / "c.yaml"
    cfg.write_text("space: {preset: fbnet-cpu, width: 0.5}\ndata: {train_size: 32}\n")
    with pytest.raises(SystemExit) as exit_info:
        train_main(["--arch", str(arch), "--config", str(cfg), "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2, "a bad input must exit 2"
    assert "made for space fbnet-cifar" in capsys.readouterr().err
    assert not (tmp_path / "out" / "metrics.json").exists()


@pytest.mark.slow
def test_measure_module_needs_only_torch_and_hwnas_basics():
    # it runs on a Raspberry Pi with torch alone: no training, LUT or sweep code
    import subprocess
    import sys

    code = (
        "import sys, childnet.measure; print(sorted(m for m in ('yaml', 'lut', 'supernet', 'tensorboardX', 'ray', "
        "'optuna', 'pandas', 'hwnas.config', 'hwnas.data', 'childnet.train', 'childnet.recipe') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
