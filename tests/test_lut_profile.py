"""Profiling a LUT on this machine (tiny spaces, few repeats), the cache, validation,
the energy model and the Ray device path."""

import json
from collections import Counter

import pytest
import torch

from hwnas.errors import UserError
from hwnas.flops import count_macs
from hwnas.space import get_space
from hwnas.stats import kendall_tau, mape, within_fraction
from hwnas.target import DeployTarget
from hwnas.timing import TimingProtocol
from hwnas.timing.speed import REFERENCE_SEED, reference_arch, sample_archs
from lut import cache_path, ensure_lut, load_lut, profile_lut, save_lut
from lut import profile as profile_mod
from lut.cache import NOISE_LIMITS
from lut.energy_model import Horowitz45nm, count_bytes_moved
from lut.protocol import design_archs
from lut.validate import main as validate_main
from lut.validate import validate_lut

# ONNX Runtime: its programs lower in 0.1 s (ExecuTorch: seconds each; its lowering is tested
# in test_deploy.py); the profile's code path is the same for both runtimes
FAST = dict(warmup=1, repeats=2, rounds=1, per_op=1, fit_per_op=1, progress=False, target=DeployTarget("onnxruntime"))
EAGER = DeployTarget("pytorch")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def cpu_lut():
    """fbnet-cpu at width 0.25 profiled once, with a calibration on 2 networks (for
    ``test_calibrate_records_fit_and_networks``; the other tests read it as any LUT)."""
    return profile_lut(get_space("fbnet-cpu", width=0.25), calibrate=2, **FAST)


def test_profiled_lut_has_every_layer_and_op(cpu_lut, tmp_path):
    space = get_space("fbnet-cpu", width=0.25)
    cpu_lut.check_space(space)
    d = cpu_lut.data
    assert len(d["layers"]) == space.num_layers
    assert d["ops"] == list(space.ops)
    for layer, entry in zip(space.layers, d["layers"]):
        assert set(entry["ops"]) == set(space.ops)
        for op, e in entry["ops"].items():
            identity = op == "skip" and layer.in_channels == layer.out_channels and layer.stride == 1
            assert e["measured"] is (not identity)
            # a model's energy is dynamic only (no static part): energy_mj (total) stays null
            assert e["energy_mj"] is None
            assert (e["latency_ms"] == 0.0) if identity else (e["latency_ms"] > 0 and e["energy_dynamic_mj"] > 0)
    assert set(d["fixed"]["parts"]) == {"stem", "head"}
    assert d["fixed"]["parts"]["head"]["latency_ms"] > 0
    assert d["energy_source"] == "model:horowitz45nm"
    assert cpu_lut.has_energy
    assert d["energy_kinds"] == ["dynamic"]
    assert cpu_lut.energy_kind == "dynamic"
    assert d["protocol"]["context"] == "graph"
    assert d["protocol"]["statistic"] == "median"
    design = d["protocol"]["design"]  # whole ONNX Runtime networks fitted, fit_per_op per (layer, op)
    assert design["networks"] == len(space.ops)
    assert design["target"] == "onnxruntime-fp32"
    assert len(design["networks_ms"]) == design["networks"]
    assert len(design["prior_ms"]) == design["unknowns"]
    assert d["deploy"]["runtime"] == "onnxruntime"
    assert cpu_lut.target == DeployTarget("onnxruntime")
    assert 0 <= design["fit_rel_rmse"] < float("inf")  # how small is timing: bench/lut_validate.py measures it
    assert d["device"]["threads"] == 1
    assert d["device"]["torch"] == torch.__version__
    back = load_lut(str(save_lut(cpu_lut, tmp_path / "cpu.json")))
    assert back.data == json.loads(json.dumps(cpu_lut.data))
    arch = sample_archs(space, 1, 3)[0]
    assert back.latency_ms(arch) == pytest.approx(cpu_lut.latency_ms(arch))


def test_balanced_design():
    space = get_space("fbnet-cifar")
    archs = design_archs(space, per_op=2, seed=1)
    assert len(archs) == 18
    for layer in range(22):
        assert Counter(a[layer] for a in archs) == {op: 2 for op in space.ops}


@pytest.mark.heavy
def test_isolated_fbnet_cifar_one_entry_per_layer_shared_by_shape():
    space = get_space("fbnet-cifar", width=0.25)
    lut = profile_lut(space, context="isolated", energy_model=None, **{**FAST, "target": EAGER})
    assert lut.num_layers == 22
    assert lut.energy_source == "none"
    assert lut.energy_mj(["k3_e1"] * 22) is None
    assert all(e["energy_mj"] is None for l in lut.data["layers"] for e in l["ops"].values())
    t = lut.cost_tensors().latency_ms
    by_shape = {}
    for layer in space.layers:
        by_shape.setdefault(layer.shape_key, []).append(layer.index)
    for rows in by_shape.values():
        assert all(torch.equal(t[rows[0]], t[r]) for r in rows)


def test_energy_model_numbers():
    conv = torch.nn.Conv2d(4, 8, 1, bias=False)
    x = torch.randn(1, 4, 2, 2)
    assert count_macs(conv, x) == 8 * 4 * 4
    assert count_bytes_moved(conv, x) == (16 + 32 + 32) * 4  # input, output, weight in fp32
    assert Horowitz45nm().energy_mj(conv, x) == pytest.approx((128 * 4.6 + 320 * 12.5) * 1e-9)
    assert Horowitz45nm().source == "model:horowitz45nm"


def test_metrics():
    assert kendall_tau([1, 2, 3], [10, 20, 30]) == 1.0
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    assert within_fraction([1.0, 1.2, 0.95], [1.0, 1.0, 1.0]) == pytest.approx(2 / 3)
    assert mape([1.1, 0.8], [1.0, 1.0]) == pytest.approx(15.0)


@pytest.mark.slow
def test_ensure_lut_profiles_once_then_uses_cache(tmp_path, monkeypatch):
    # the cache rules are under test, not this machine's quiet: with 2 timed calls a busy
    # machine's profile is noisy and (rightly) not cached, which test_measurement_fidelity covers
    for name in NOISE_LIMITS:
        monkeypatch.setitem(NOISE_LIMITS, name, float("inf"))
    space = get_space("fbnet-cpu", width=0.25)
    first = ensure_lut("auto", space, tmp_path, **{k: v for k, v in FAST.items() if k != "progress"})
    path = cache_path(space, tmp_path, FAST["target"])
    assert path.is_file()
    assert first.name == str(path)

    def boom(*a, **k):
        raise AssertionError("profiled again")

    monkeypatch.setattr(profile_mod, "profile_lut", boom)
    again = ensure_lut("auto", space, tmp_path, target=FAST["target"])
    assert again.data == json.loads(path.read_text())
    with pytest.raises(UserError, match="layers_hash"):
        ensure_lut(str(path), get_space("fbnet-cpu", width=0.5))
    # a cache entry timed by an older protocol is profiled again and replaced
    old = json.loads(path.read_text())
    old["protocol"]["version"] = 1
    path.write_text(json.dumps(old))
    with pytest.raises(AssertionError, match="profiled again"):
        ensure_lut("auto", space, tmp_path, target=FAST["target"])


def test_validate_prints_table_and_summary_line(cpu_lut, tmp_path, capsys):
    path = save_lut(cpu_lut, tmp_path / "cpu.json")
    # 2 timed calls in 1 round (the whole-model default's 30 rounds would time each network 30 times)
    quick = ["--repeats", "2", "--rounds", "1"]
    validate_main(["--lut", str(path), "--archs", "3", "--seed", "1", "--no-progress", *quick])
    lines = capsys.readouterr().out.strip().splitlines()
    rows = [l for l in lines[1:-1] if l.split()[0].isdigit()]
    assert len(rows) == 3
    assert lines[0].split()[:3] == ["#", "lut_ms", "measured_ms"]
    assert lines[-2].startswith("speed_factor=")
    last = dict(kv.split("=") for kv in lines[-1].split())
    assert set(last) == {"within_10pct", "kendall_tau", "mape"}
    assert 0.0 <= float(last["within_10pct"]) <= 1.0


def test_validate_result_is_consistent(cpu_lut):
    r = validate_lut(cpu_lut, 2, seed=0, repeats=2, rounds=1, progress=False)
    assert r["predicted_ms"] == [cpu_lut.latency_ms(a) for a in r["archs"]]
    assert all(m > 0 for m in r["measured_ms"])
    # measurements are brought to the LUT's speed by the reference network's ratio
    ref = cpu_lut.protocol["reference"]
    assert r["speed_factor"] == pytest.approx(r["reference_ms"] / ref["latency_ms"])
    assert r["measured_ms"] == pytest.approx([m / r["speed_factor"] for m in r["measured_now_ms"]])


def test_profiled_lut_records_its_speed_reference(cpu_lut):
    ref = cpu_lut.protocol["reference"]
    space = get_space("fbnet-cpu", width=0.25)
    assert ref["arch"] == reference_arch(space)
    assert ref["seed"] == REFERENCE_SEED
    assert ref["latency_ms"] > 0
    assert ref["readings"] >= 2


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda ref: ref.pop("latency_ms"), "field protocol.reference.latency_ms: expected a finite number (missing)"),
        (lambda ref: ref.update(latency_ms=0), "field protocol.reference.latency_ms: expected a positive number"),
        (lambda ref: ref.update(arch=ref["arch"][:-1]), "field protocol.reference.arch: expected 8 ops"),
        (lambda ref: ref.update(seed="7"), "field protocol.reference.seed: expected an integer"),
    ],
)
def test_malformed_speed_reference_is_one_line(cpu_lut, tmp_path, change, message, capsys):
    data = json.loads(json.dumps(cpu_lut.data))
    change(data["protocol"]["reference"])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SystemExit) as exit_:
        validate_main(["--lut", str(path), "--archs", "2", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2
    assert message in err
    assert len(err.splitlines()) == 1


class _DriftingDevice:
    """A device slowing down linearly: every call (reference reading or unit visit)
    takes its base time times ``1 + 0.1 * t`` and advances ``t`` by one."""

    def __init__(self):
        self.t = 0

    def run(self, base_ms):
        ms = base_ms * (1 + 0.1 * self.t)
        self.t += 1
        return ms

    def read(self):  # the reference network: 2 ms at t = 0
        return self.run(2.0)

    def due(self):
        return True


def test_interleaving_divides_out_a_linear_drift():
    from hwnas.timing.speed import NoBar as _NoBar
    from hwnas.timing.speed import interleaved as _interleaved

    device = _DriftingDevice()
    base = {"a": 1.0, "b": 3.0}
    ratios = _interleaved(
        list(base),
        lambda unit: None,
        lambda unit: {unit: [device.run(base[unit])]},
        TimingProtocol(warmup=0, rounds=3),
        seed=0,
        reference=device,
        bar=_NoBar(),
    )
    # the device is 1.6x slower at the end, yet every visit's ratio is its base time / 2 ms
    assert device.t == 13
    assert ratios["a"] == pytest.approx([0.5] * 3)
    assert ratios["b"] == pytest.approx([1.5] * 3)


def test_interleaving_uses_the_mean_of_the_readings_around_a_visit():
    from hwnas.timing.speed import NoBar as _NoBar
    from hwnas.timing.speed import interleaved as _interleaved

    class Readings:
        values = iter([2.0, 4.0, 6.0])

        def read(self):
            return next(self.values)

        def due(self):
            return True

    ratios = _interleaved(
        ["u", "v"],
        lambda unit: None,
        lambda unit: {unit: [6.0]},
        TimingProtocol(warmup=0, rounds=1),
        seed=0,
        reference=Readings(),
        bar=_NoBar(),
    )
    assert sorted(ratios.values()) == [[6.0 / 5.0], [6.0 / 3.0]]


def test_bad_device_and_cli_writes_nothing(tmp_path, capsys):
    with pytest.raises(UserError, match="--device 'ray:': expected local .this host. or the Ray resource"):
        profile_lut(get_space("fbnet-cpu", width=0.25), device="ray:", **FAST)
    out = tmp_path / "x.json"
    with pytest.raises(SystemExit) as exit_:
        profile_mod.main(["--space", "fbnet-tiny", "--out", str(out)])
    assert exit_.value.code == 2
    assert "unknown search space 'fbnet-tiny'" in capsys.readouterr().err
    assert not out.exists()


def test_unreachable_ray_address_is_one_line(free_port):
    with pytest.raises(UserError, match="cannot connect to Ray at 127.0.0.1:") as err:
        profile_lut(get_space("fbnet-cpu", width=0.25), device="rpi4", address=f"127.0.0.1:{free_port}", **FAST)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("device", ["rpi4", "ray:rpi4"])
def test_the_cli_names_a_device_by_its_resource_and_the_old_spelling_still_works(
    device, free_port, tmp_path, capsys, monkeypatch
):
    from hwnas import keys

    monkeypatch.setattr(keys, "_TOLD", set())
    out = tmp_path / "x.json"
    argv = ["--space", "fbnet-cpu", "--width", "0.25", "--device", device, "--address", f"127.0.0.1:{free_port}"]
    with pytest.raises(SystemExit) as exit_:
        profile_mod.main([*argv, "--out", str(out)])
    assert exit_.value.code == 2
    old = ["--device ray:rpi4 is deprecated, read as rpi4; use --device rpi4"] if device.startswith("ray:") else []
    err = capsys.readouterr().err.splitlines()
    assert err[:-1] == old, "the old spelling: one deprecation line; the resource name alone: none"
    assert err[-1].startswith(f"error: --address 127.0.0.1:{free_port}: cannot connect to Ray"), err
    assert not out.exists()


def test_the_help_says_local_is_this_host():
    text = " ".join(profile_mod.build_parser().format_help().split())
    assert "local (this host) or the Ray resource a device's node offers, e.g. rpi4" in text
    assert "a resource named local cannot be meant" in text


@pytest.mark.slow
def test_ray_device_runs_on_node_with_resource_and_fails_fast_without():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=1, resources={"testdev": 1}, include_dashboard=False, logging_level="ERROR")
    try:
        space = get_space("fbnet-cpu", width=0.25)
        # where the profile runs is under test, not how: the quickest profile (eager, each block alone)
        quick = {**FAST, "target": EAGER, "context": "isolated", "energy_model": None}
        lut = profile_lut(space, device="testdev", **quick)
        assert lut.data["device"]["ray_resource"] == "testdev"
        assert lut.num_layers == space.num_layers
        with pytest.raises(UserError, match="no node in the Ray cluster has resource 'rpi4'.*testdev"):
            profile_lut(space, device="rpi4", **quick)
    finally:
        ray.shutdown()


def test_fit_scale_least_squares_through_origin():
    from lut.calibrate import fit_scale

    assert fit_scale([1.0, 2.0], [2.0, 4.0]) == pytest.approx(2.0)
    assert fit_scale([1.0, 3.0], [1.0, 2.0]) == pytest.approx((1 + 6) / (1 + 9))


@pytest.mark.slow
def test_calibrate_records_fit_and_networks(cpu_lut):
    space, lut = get_space("fbnet-cpu", width=0.25), cpu_lut
    cal = lut.calibration
    assert len(cal["archs"]) == 2
    assert all(len(a) == space.num_layers for a in cal["archs"])
    assert cal["archs"] != sample_archs(space, 2, 0)  # validate's default networks are other ones
    assert cal["latency_scale"] > 0
    assert cal["latency_offset_ms"] == 0.0
    raw = sum(p * m for p, m in zip(cal["raw_predicted_ms"], cal["measured_ms"])) / sum(
        p * p for p in cal["raw_predicted_ms"]
    )
    assert cal["latency_scale"] == pytest.approx(raw)
    # estimates apply it: the calibrated LUT reproduces scale * raw estimate
    assert lut.latency_ms(cal["archs"][0]) == pytest.approx(cal["latency_scale"] * cal["raw_predicted_ms"][0])
    with pytest.raises(UserError, match="--calibrate"):
        profile_lut(space, calibrate=1, **FAST)


def test_fit_networks_per_op_follow_the_runtime_unless_given():
    """ExecuTorch lowering costs seconds per network, so its fit takes 2 per (layer, op);
    ONNX Runtime lowers in 0.1 s and needs 4 to rank as well (lut/README)."""
    from lut.profile import fit_per_op_for

    assert fit_per_op_for(DeployTarget("executorch")) == 2
    assert fit_per_op_for(DeployTarget("executorch", "int8")) == 2
    assert fit_per_op_for(DeployTarget("onnxruntime")) == 4
    assert fit_per_op_for(DeployTarget("executorch"), 5) == 5
