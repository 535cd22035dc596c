"""Dynamic energy as HANNA measured it: a session's idle power, total and dynamic energy
in measurements and LUTs, and ``lut.energy_kind`` choosing which one the loss uses."""

import json
import time

import pytest
import torch
from lut_dicts import v1_lut_dict

import lut.session as session_mod
from hwnas.config import load_config
from hwnas.errors import UserError
from hwnas.meters import Meter
from hwnas.space import get_space
from hwnas.target import DeployTarget
from hwnas.timing import metered_energy
from lut import cache_path, ensure_lut, load_lut, profile_lut, save_lut
from lut.table import lut_from_dict

IDLE_W = 0.24 * 5.1  # the HANNA report's Pi 3B at rest: 0.24 A at 5.1 V = 1.224 W
ACTIVE_W = 0.74 * 5.1  # its highest draw under inference: 0.74 A
CALL_S = 1 / 64  # one inference, exactly representable


class Device:
    """A simulated board: a clock and an energy counter that grows at the power drawn."""

    def __init__(self):
        self.t = 0.0
        self.joules = 0.0

    def __call__(self) -> float:  # the clock
        return self.t

    def spend(self, seconds: float, watts: float) -> None:
        self.t += seconds
        self.joules += seconds * watts


class CounterMeter(Meter):
    """An in-memory meter reading the simulated board's energy counter (like RAPL)."""

    source = "test-counter"

    def __init__(self, device: Device):
        self.device = device

    def start(self) -> None:
        self._start = self.device.joules

    def stop(self) -> float:
        return self.device.joules - self._start


class Inference(torch.nn.Module):
    def __init__(self, device: Device):
        super().__init__()
        self.device = device

    def forward(self, x):
        self.device.spend(CALL_S, ACTIVE_W)
        return x


def test_idle_total_and_dynamic_energy_of_a_known_device():
    device = Device()
    meter = CounterMeter(device)
    assert meter.idle_w is None
    idle = meter.measure_idle(seconds=2.0, clock=device, sleep=lambda s: device.spend(s, IDLE_W))
    assert idle == meter.idle_w == pytest.approx(1.224, rel=1e-12)
    r = metered_energy(Inference(device), torch.ones(1), meter, threads=1, min_seconds=0.25, clock=device)
    assert r["calls"] == 16
    assert r["seconds"] == pytest.approx(0.25, rel=1e-12)
    assert r["idle_w"] == pytest.approx(1.224, rel=1e-12)
    assert r["energy_mj"] == pytest.approx(ACTIVE_W * CALL_S * 1e3, rel=1e-12)  # 58.96875 mJ per call
    assert r["energy_dynamic_mj"] == pytest.approx((ACTIVE_W - IDLE_W) * CALL_S * 1e3, rel=1e-12)  # 39.84375


def test_without_an_idle_measurement_there_is_no_dynamic_part():
    device = Device()
    r = metered_energy(Inference(device), torch.ones(1), CounterMeter(device), threads=1, min_seconds=0.1, clock=device)
    assert r["energy_mj"] == pytest.approx(ACTIVE_W * CALL_S * 1e3)
    assert r["energy_dynamic_mj"] is None


class WallMeter(Meter):
    """A meter of known power over real time: idle while ``measure_idle`` sleeps, active otherwise.
    Like a sampling meter it keeps the interval it integrated over (``last_seconds``), so the
    split into total and dynamic is exact whatever the machine's load; its measurements last
    ``min_seconds`` = 20 ms (a profile meters 70 blocks; the base's 0.2 s floor is for real meters)."""

    source = "test-wall"
    min_seconds = 0.02

    def __init__(self):
        self.watts = ACTIVE_W

    def measure_idle(self, seconds=0.5, clock=time.perf_counter, sleep=time.sleep):
        self.watts = IDLE_W
        try:
            return super().measure_idle(seconds, clock, sleep)
        finally:
            self.watts = ACTIVE_W

    def start(self) -> None:
        self._t0 = time.perf_counter()

    def stop(self) -> float:
        self.last_seconds = time.perf_counter() - self._t0
        return self.watts * self.last_seconds


EAGER = DeployTarget("pytorch")  # the eager path: no lowering needed to check the meter's arithmetic


@pytest.mark.slow
def test_a_metered_profile_records_idle_total_and_dynamic(monkeypatch):
    monkeypatch.setattr(session_mod, "get_meter", lambda name, *replay: WallMeter())
    space = get_space("fbnet-cpu", width=0.25)
    lut = profile_lut(
        space, context="isolated", meter="wall", warmup=1, repeats=2, rounds=1, progress=False, target=EAGER
    )
    d = lut.data
    assert d["energy_source"] == "test-wall"
    assert d["energy_kinds"] == ["total", "dynamic"]
    assert d["protocol"]["energy"]["idle_w"] == pytest.approx(IDLE_W, rel=1e-3)
    entry = d["layers"][1]["ops"]["k3_e6"]
    # every call drew ACTIVE_W for the whole timed interval: dynamic / total = (active - idle) / active
    assert entry["energy_dynamic_mj"] / entry["energy_mj"] == pytest.approx(1 - IDLE_W / ACTIVE_W, rel=1e-3)
    dynamic, total = lut_from_dict(d, energy_kind="dynamic"), lut_from_dict(d, energy_kind="total")
    assert lut.energy_kind == dynamic.energy_kind == "dynamic"
    assert total.energy_kind == "total"
    arch = ["k3_e6"] * space.num_layers
    assert dynamic.energy_mj(arch) < total.energy_mj(arch)
    assert torch.equal(
        total.cost_tensors().energy_mj[1],
        torch.tensor([d["layers"][1]["ops"][op]["energy_mj"] for op in space.ops], dtype=torch.float64),
    )


def _v1_meter_lut() -> dict:
    cell = {"latency_ms": 0.1, "energy_mj": 0.02}
    return v1_lut_dict(lambda layer, j: dict(cell), energy_source="rapl", fixed={"latency_ms": 1.0, "energy_mj": 0.5})


def test_version_1_files_stay_readable_with_the_kind_their_source_had(tmp_path):
    path = save_lut(_v1_meter_lut(), tmp_path / "old.json")
    old = load_lut(str(path), energy_kind="total")  # a v1 meter reading is total energy
    assert old.energy_kind == "total"
    assert old.energy_mj(["k3_e1"] * 8) == pytest.approx(0.5 + 8 * 0.02)
    with pytest.raises(UserError, match=r"old.json: field energy_kinds: expected dynamic energy .*\['total'\] only"):
        load_lut(str(path))


def test_a_version_2_file_needs_energy_kinds(tmp_path):
    d = dict(_v1_meter_lut(), version=2)
    with pytest.raises(UserError, match="field energy_kinds: expected a list"):
        lut_from_dict(d, "x.json")
    d["energy_kinds"] = ["peak"]
    with pytest.raises(UserError, match=r"field energy_kinds: expected a non-empty list .*'peak'"):
        lut_from_dict(d, "x.json")


def test_a_cached_lut_of_the_old_format_is_profiled_again(tmp_path):
    space = get_space("fbnet-cpu", width=0.25)
    cached = cache_path(space, tmp_path)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(_v1_meter_lut()))
    calls = []

    def fake_profile(space, **kw):
        calls.append(kw)
        d = _v1_meter_lut()
        d.update(version=2, energy_source="model:test", energy_kinds=["dynamic"], protocol={"median_rel_iqr": 0.01})
        for layer in d["layers"]:
            for e in layer["ops"].values():
                e.update(energy_mj=None, energy_dynamic_mj=0.01)
        d["fixed"] = {"latency_ms": 1.0, "energy_mj": None, "energy_dynamic_mj": 0.1}
        return lut_from_dict(d, "profiled")

    with pytest.raises(UserError, match=r"field energy_kinds: expected total energy"):
        ensure_lut("auto", space, tmp_path, profile=fake_profile, energy_kind="total")
    lut = ensure_lut("auto", space, tmp_path, profile=fake_profile)
    assert len(calls) == 2
    assert lut.energy_kind == "dynamic"
    assert json.loads(cached.read_text())["version"] == 2


def test_config_energy_kind_is_checked_at_load(tmp_path):
    assert load_config(None).lut.energy_kind == "dynamic"
    assert load_config(None, ["lut.energy_kind=total"]).lut.energy_kind == "total"
    with pytest.raises(UserError, match="lut.energy_kind"):
        load_config(None, ["lut.energy_kind=static"])


def test_a_measurement_session_records_idle_total_and_dynamic(tmp_path, monkeypatch):
    import childnet.measure as measure_mod
    from childnet.export import save_model_data
    from hwnas.network import build_network

    monkeypatch.setattr(measure_mod, "get_meter", lambda name, *replay: WallMeter())
    space = get_space("fbnet-cpu", width=0.25)
    arch = ["k3_e1"] * space.num_layers
    path = save_model_data(
        build_network(space, arch),
        tmp_path / "m.weights.pt",
        {
            "input_shape": list(space.input_shape),
            "ops": arch,
            "space": {"name": space.name, "width": space.width, "num_classes": space.num_classes},
        },
    )
    m = measure_mod.measure_file(path, repeats=2, warmup=0, rounds=1, tries=1, meter="wall", target=EAGER)
    assert m["energy_source"] == "test-wall"
    assert m["idle_w"] == pytest.approx(IDLE_W, rel=1e-3)
    assert m["energy_dynamic_mj"] / m["energy_mj"] == pytest.approx(1 - IDLE_W / ACTIVE_W, rel=1e-3)


def test_a_trials_measured_energy_is_of_the_configured_kind():
    from sweep.trial import _final_row

    arch = {"ops": ["skip"], "lut_latency_ms": 5.0, "lut_energy_mj": 2.0}
    metrics = {
        "test_acc": 0.9,
        "lut": {"lut_latency_ms": 5.0, "lut_energy_mj": 2.0},
        "measured": {"latency_ms": 4.0, "energy_mj": 3.0, "energy_dynamic_mj": 1.5},
    }
    budget = {"max_latency_ms": None, "max_energy_mj": 2.5}
    dynamic = _final_row(arch, metrics, 1.0, budget, "dynamic")
    total = _final_row(arch, metrics, 1.0, budget, "total")
    assert dynamic["measured_energy_mj"] == 1.5
    assert dynamic["within_budget"] is True
    assert total["measured_energy_mj"] == 3.0
    assert total["within_budget"] is False
