"""The deployment target: lowering to ExecuTorch (XNNPACK) and ONNX Runtime, fp32 and int8;
the deployed file a childnet writes, checked on the test split; loading files as data;
timing them in their runtime; and every bad input as one line."""

import json
import sys

import pytest
import torch

from childnet.deploy import deployed_predictions
from childnet.measure import main as measure_main
from childnet.measure import measure_file
from childnet.train import run_child
from hwnas.config import load_config
from hwnas.data import TensorLoader, make_splits
from hwnas.errors import UserError
from hwnas.layout import WEIGHTS
from hwnas.network import build_network
from hwnas.target import DeployTarget, require_runtime
from hwnas.timing.lower import lower
from hwnas.timing.runtime import load_program, read_program

SMALL = [
    "space.preset=fbnet-cpu",
    "space.width=0.5",
    "data.train_size=256",
    "data.test_size=1000",
    "child.epochs=1",
    "child.batch_size=64",
    "child.threads=1",
    "deploy.calibration_batches=2",
]
ARCH = ["k3_e3", "skip", "k5_e1_g2", "skip", "k3_e6", "k5_e3", "skip", "k3_e1"]
ET, ORT = DeployTarget("executorch"), DeployTarget("onnxruntime")

# lowers and trains for four deployment targets
pytestmark = [pytest.mark.heavy, pytest.mark.usefixtures("one_thread")]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cost):
    """One childnet trained once and deployed in each runtime and precision."""
    out = {}
    for target in (ET, ORT, DeployTarget("executorch", "int8"), DeployTarget("onnxruntime", "int8")):
        folder = tmp_path_factory.mktemp(target.key)
        cfg = load_config(None, SMALL + [f"deploy.runtime={target.runtime}", f"deploy.precision={target.precision}"])
        out[target.key] = (cfg, folder, run_child(cfg, ARCH, folder, measure_with=False, cost=cost))
    return out


@pytest.mark.parametrize("target", [ET, ORT], ids=lambda t: t.key)
def test_a_lowered_network_computes_what_pytorch_computes(trained, space, target):
    """The network ``trained`` lowered (``hwnas.timing.lower``, 6 s in ExecuTorch: not lowered a
    second time here) gives the PyTorch network's outputs on a random input, not only its classes."""
    from childnet.export import load_model_data

    _, folder, _ = trained[target.key]
    net, _ = load_model_data(folder / WEIGHTS)
    runner = load_program(read_program(folder / target.file_name, target), target)
    torch.manual_seed(0)
    x = torch.randn(1, *space.input_shape)
    with torch.inference_mode():
        assert torch.allclose(runner(x), net.eval()(x), atol=1e-4)
    assert runner.input_shape == [1, *space.input_shape]


@pytest.mark.parametrize("key", ["executorch-fp32", "onnxruntime-fp32"])
def test_the_deployed_fp32_file_agrees_with_pytorch_on_the_test_split(trained, key):
    cfg, folder, metrics = trained[key]
    target = cfg.deploy.target()
    assert metrics["model"] == target.file_name
    assert (folder / target.file_name).is_file()
    assert metrics["deploy"]["runtime"] == target.runtime
    assert metrics["deploy"]["precision"] == "fp32"
    assert metrics["deploy"]["runtime_version"]
    assert metrics["deploy"]["deploy_agreement"] >= 0.999
    # again, from the file on disk (not what training recorded): loaded as data by its runtime
    from childnet.export import load_model_data

    model, meta = load_model_data(folder / WEIGHTS)
    runner = load_program(read_program(folder / target.file_name, target), target)
    d, shape = cfg.data, tuple(meta["input_shape"])  # the shape the model was trained at
    splits = make_splits(d.dataset, shape, d.root, False, d.train_size, d.test_size, d.arch_fraction, d.seed)
    agree, acc = deployed_predictions(model, runner, TensorLoader(splits.test, 64, shuffle=False))
    assert agree >= 0.999
    assert acc == pytest.approx(metrics["test_acc"], abs=0.002)


@pytest.mark.parametrize("key", ["executorch-int8", "onnxruntime-int8"])
def test_int8_accuracy_is_measured_on_the_quantized_file(trained, key):
    cfg, folder, metrics = trained[key]
    deployed = metrics["deploy"]
    assert deployed["precision"] == "int8"
    assert 0.0 < deployed["test_acc_int8"] <= 1.0
    # the int8 program is smaller than the fp32 one, and its accuracy is its own (not copied)
    fp32 = trained[f"{cfg.deploy.runtime}-fp32"]
    assert (folder / metrics["model"]).stat().st_size < 0.8 * (fp32[1] / fp32[2]["model"]).stat().st_size
    assert abs(deployed["test_acc_int8"] - metrics["test_acc"]) < 0.05
    assert "test_acc_int8" not in fp32[2]["deploy"]


def test_the_device_times_the_deployed_file_in_its_runtime(trained, capsys):
    cfg, folder, _ = trained["onnxruntime-fp32"]
    m = measure_file(folder / "model.onnx", target=ORT, repeats=3, rounds=1, warmup=1, tries=1)
    assert m["deploy"]["runtime"] == "onnxruntime"
    assert m["latency_ms"] > 0
    assert m["energy_source"] == "none"
    measure_main(["--model", str(folder / "model.onnx"), "--runtime", "onnxruntime", "--repeats", "3", "--rounds", "1"])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["deploy"]["runtime"] == "onnxruntime"
    assert printed["latency_ms"] > 0


def _one_line(capsys, main, argv) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err
    return err


def test_a_file_that_is_not_what_it_claims_is_one_line(tmp_path, trained, capsys):
    fake = tmp_path / "model.pte"
    fake.write_bytes(b"\x00" * 64)
    assert "not an ExecuTorch program" in _one_line(capsys, measure_main, ["--model", str(fake)])
    onnx_as_pte = tmp_path / "other.pte"
    onnx_as_pte.write_bytes((trained["onnxruntime-fp32"][1] / "model.onnx").read_bytes())
    assert "not an ExecuTorch program" in _one_line(capsys, measure_main, ["--model", str(onnx_as_pte)])
    bad_onnx = tmp_path / "model.onnx"
    bad_onnx.write_bytes(b"PK\x03\x04 not a graph")
    err = _one_line(capsys, measure_main, ["--model", str(bad_onnx), "--runtime", "onnxruntime"])
    assert "onnxruntime cannot load it" in err
    pte = trained["executorch-fp32"][1] / "model.pte"
    err = _one_line(capsys, measure_main, ["--model", str(pte), "--runtime", "onnxruntime"])
    assert "runs .onnx files, got .pte" in err


def test_an_onnx_graph_pointing_to_external_data_is_refused(tmp_path, trained):
    import onnx

    model = onnx.load(str(trained["onnxruntime-fp32"][1] / "model.onnx"))
    tensor = model.graph.initializer[0]
    tensor.data_location = onnx.TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    path = tmp_path / "model.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(UserError, match="external data"):
        load_program(read_program(path, ORT), ORT)


def test_a_lut_of_another_target_is_refused(trained, capsys):
    from lut.validate import main as validate_main

    published = "builtin:rpi4-hwnasbench"  # eager PyTorch on a Pi 4, as HW-NAS-Bench measured it
    pte = trained["executorch-fp32"][1] / "model.pte"
    err = _one_line(capsys, measure_main, ["--model", str(pte), "--lut", published])
    assert "describes pytorch fp32, not the deployment target executorch fp32" in err
    err = _one_line(capsys, validate_main, ["--lut", published, "--archs", "2", "--runtime", "executorch"])
    assert "not the deployment target executorch fp32" in err


def test_a_runtime_that_is_not_installed_names_the_package(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_onnxruntime(name, *args, **kwargs):
        if name.startswith("onnxruntime"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "onnxruntime", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_onnxruntime)
    with pytest.raises(UserError, match="runtime onnxruntime is not installed on this device.*pip install onnxruntime"):
        require_runtime("onnxruntime")


def test_an_empty_calibration_set_is_one_line(space):
    net = build_network(space, ARCH).eval()
    with pytest.raises(UserError, match="int8 calibration set is empty"):
        lower(net, torch.zeros(1, *space.input_shape), DeployTarget("onnxruntime", "int8"), calibration=[])


def test_an_op_xnnpack_cannot_run_is_named_with_its_layer():
    class Odd(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 4, 3)
            self.rank = torch.nn.Identity()

        def forward(self, x):
            return torch.cumsum(self.conv(x), dim=1)

    with pytest.raises(UserError, match=r"cannot lower op .*cumsum.* at layer"):
        lower(Odd(), torch.zeros(1, 1, 8, 8), ET)
    portable = []  # a baseline keeps it, listed, and is timed with it
    program = lower(Odd(), torch.zeros(1, 1, 8, 8), ET, portable=portable)
    assert len(portable) == 1
    assert "cumsum" in portable[0]
    assert load_program(program, ET)(torch.zeros(1, 1, 8, 8)).shape == (1, 4, 6, 6)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["deploy.runtime=tflite"], "deploy.runtime"),
        (["deploy.runtime=torchscript", "deploy.precision=int8"], "precision=int8 needs runtime executorch"),
        (["deploy.calibration_batches=0"], "deploy.calibration_batches"),
    ],
)
def test_bad_deploy_settings_are_refused_at_load(overrides, message):
    with pytest.raises(UserError, match=message):
        load_config(None, overrides)
