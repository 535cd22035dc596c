"""The sampling meters (pmic, fnirsi, um) driven by recordings of their devices' output
(tests/data/meters/README.md cites every source). These tests replay recordings: no
test here touches hardware, and a replayed measurement says so (``replay:<meter>``)."""

import builtins
import json
import sys
import time
from pathlib import Path

import pytest

from hwnas.errors import UserError
from hwnas.meters import MIN_SAMPLES, get_meter
from hwnas.meters.base import Meter
from hwnas.meters.fnirsi import FnirsiMeter, crc8, decode_packet, encode_packet
from hwnas.meters.pmic import DEFAULT_A, DEFAULT_B, PmicMeter, calibration, parse_pmic, rail_sum
from hwnas.meters.replay import ReplayTransport, load_recording
from hwnas.meters.sampled import BadReading, window_energy
from hwnas.meters.um import UmMeter, decode_frame, encode_frame
from hwnas.timing import metered_energy

DATA = Path(__file__).parent / "data" / "meters"


def _frames(name):
    return json.loads((DATA / name).read_text())["frames"]


def _one_line(err) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


# --- pmic: real vcgencmd pmic_read_adc text -------------------------------------------------


def test_pmic_parses_the_published_captures():
    jfikar, zeus = (text for _, text in _frames("pmic-real.json"))
    rails = parse_pmic(jfikar)
    assert len(rails) == 12
    assert "EXT5V" not in rails
    assert "BATT" not in rails  # voltage only: no power
    assert rails["VDD_CORE"] == (0.89745940, 10.87674000)
    assert rail_sum(jfikar) == pytest.approx(10.7999, abs=1e-4)  # the core alone: 10.876 A x 0.897 V = 9.76 W
    assert rail_sum(zeus) == pytest.approx(7.2398, abs=1e-4)
    # the published calibration, jfikar/RPi5-power: real W = 1.1451 x PMIC W + 0.5879
    assert (DEFAULT_A, DEFAULT_B) == (1.1451, 0.5879)
    assert PmicMeter(object()).watts(zeus) == pytest.approx(1.1451 * 7.2398 + 0.5879, abs=1e-3)


def test_pmic_calibration_is_settable_and_checked(monkeypatch):
    assert calibration({}) == (1.1451, 0.5879)
    assert calibration({"HWNAS_PMIC_A": "1", "HWNAS_PMIC_B": "0"}) == (1.0, 0.0)
    monkeypatch.setenv("HWNAS_PMIC_A", "1.2")
    monkeypatch.setenv("HWNAS_PMIC_B", "0.25")
    meter = PmicMeter(object())
    assert (meter.a, meter.b) == (1.2, 0.25)
    assert meter.describe()["calibration"]["a"] == 1.2
    with pytest.raises(UserError) as err:
        calibration({"HWNAS_PMIC_A": "lots"})
    assert _one_line(err) == "HWNAS_PMIC_A: expected a number, got 'lots'"


def test_pmic_refuses_readings_outside_physical_bounds():
    meter = PmicMeter(object(), a=1.0, b=0.0)
    with pytest.raises(BadReading, match=r"reading 36.000 W outside 0-30 W"):
        meter.watts("  VDD_CORE_A current(7)=40.00000000A\n  VDD_CORE_V volt(15)=0.90000000V\n")
    with pytest.raises(BadReading, match="not a physical reading"):
        meter.watts("  VDD_CORE_A current(7)=nanA\n  VDD_CORE_V volt(15)=0.90000000V\n")
    with pytest.raises(BadReading, match="no rail with both"):
        meter.watts("     EXT5V_V volt(24)=5.09066000V\n")


# --- fnirsi: HID packets ----------------------------------------------------------------------


def test_fnirsi_crc_is_the_published_one():
    # reveng's model for the packets: width=8 poly=0x39 init=0x42 ... check=0x4b (baryluk/fnirsi-usb-power-data-logger)
    assert crc8(b"123456789") == 0x4B


def test_fnirsi_decodes_the_published_fnb48_readings():
    packets = [bytes.fromhex(p) for _, p in _frames("fnirsi-real-0v.json")]
    samples = [s for p in packets for s in decode_packet(p)]
    assert [s["current"] for s in samples[:4]] == [0.00011, 0.0, 0.00011, 0.0]
    assert [s["dn"] for s in samples[4:]] == [1.032, 1.029, 1.029, 1.042]
    assert all(s["voltage"] == 0.0 and s["temp_c"] == 30.5 for s in samples)
    bad = bytearray(packets[0])
    bad[63] ^= 0xFF
    assert decode_packet(bytes(bad)) is None  # a bad CRC: dropped
    other = bytearray(packets[0])
    other[1] = 0x03
    other[63] = crc8(bytes(other[1:63]))
    assert decode_packet(bytes(other)) is None  # not a data packet
    assert decode_packet(encode_packet(samples[:4])) == samples[:4]


def test_fnirsi_refuses_the_0v_recording_in_one_line():
    meter = get_meter("fnirsi", replay=str(DATA / "fnirsi-real-0v.json"))
    assert meter.source == "replay:fnirsi"
    assert meter.sample_rate_hz == pytest.approx(100.0)
    meter.start()
    time.sleep(0.1)
    with pytest.raises(UserError) as err:
        meter.stop()
    assert _one_line(err) == "meter fnirsi: voltage 0.00000 V outside 4-5.5 V (USB 5 V); measurement refused"


# --- um: serial frames ------------------------------------------------------------------------


def test_um_decodes_the_published_um34c_readings():
    frames = [bytes.fromhex(p) for _, p in _frames("um-real.json")]
    readings = [decode_frame(f) for f in frames]
    assert all(len(f) == 130 for f in frames)
    assert {r["model"] for r in readings} == {"UM34C"}
    assert all(r["voltage"] == pytest.approx(5.19) and r["current"] == 0 and r["temp_c"] == 21 for r in readings)
    assert [r["dp"] for r in readings[3:6]] == [0.0, 0.01, 0.01]
    bad = bytearray(frames[0])
    bad[3] ^= 0x01  # the voltage's low byte, one the UM34C checksums
    assert decode_frame(bytes(bad)) is None
    um25c = decode_frame(encode_frame("UM25C", 5.123, 0.4567))
    assert (um25c["voltage"], um25c["current"]) == (pytest.approx(5.123), pytest.approx(0.4567))
    assert encode_frame("UM24C", 5.0, 1.0)[128:] == b"\xff\xf1"
    assert decode_frame(encode_frame("UM24C", 5.0, 1.0))


def test_um_refuses_a_voltage_outside_usb_bounds():
    meter = UmMeter(object())
    with pytest.raises(BadReading, match=r"voltage 9.000 V outside 4-5.5 V"):
        meter.decode(0.0, encode_frame("UM25C", 9.0, 1.0))
    with pytest.raises(BadReading, match="above 6 A or 30 W"):
        meter.decode(0.0, encode_frame("UM25C", 5.0, 6.2))
    assert meter.decode(1.0, encode_frame("UM34C", 5.0, 0.5)) == [(1.0, pytest.approx(2.5))]


# --- replay and measurement -------------------------------------------------------------------


def test_replay_plays_frames_at_their_times_and_loops():
    transport = ReplayTransport(DATA / "um-real.json", "um", speed=2.0, clock=lambda: 0.0, sleep=lambda s: None)
    times = [transport.read()[0] for _ in range(13)]
    recorded = [t for t, _ in _frames("um-real.json")]  # 12 frames, the first at 0
    period = transport.period
    assert period == pytest.approx(recorded[-1] * 12 / 11)  # one more mean interval after the last frame
    assert times == pytest.approx([t / 2 for t in recorded[1:]] + [period / 2, (period + recorded[1]) / 2])
    assert transport.sample_rate_hz == pytest.approx(12 / period * 2)


def test_replay_without_loop_holds_the_last_frame():
    clock = iter([0.0, 0.0, 1e6, 1e6])  # the first read starts the recording, the next comes long after it ends
    transport = ReplayTransport(
        DATA / "um-synthetic-session.json", "um", clock=lambda: next(clock), sleep=lambda s: None
    )
    _, first = transport.read()
    assert decode_frame(bytes.fromhex(first))["current"] == pytest.approx(0.2)  # 1 W idle first
    _, payload = transport.read()
    assert decode_frame(bytes.fromhex(payload))["current"] == pytest.approx(0.4)  # 2 W held


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"meter": "um"}, "meter: expected 'pmic' (the meter replaying it), got 'um'"),
        ({"frames": [[0.0, "x"]]}, "frames: expected a list of at least 2 [seconds, payload] pairs"),
        ({"frames": [[1.0, "x"], [0.5, "y"]]}, "frames[1]: expected [seconds, payload] with seconds >= 0"),
        ({"format": "csv"}, "format: expected 'hwnas-meter-recording'"),
    ],
)
def test_bad_recording_is_one_line(tmp_path, change, message):
    data = {**json.loads((DATA / "pmic-real.json").read_text()), **change}
    path = tmp_path / "rec.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UserError) as err:
        load_recording(path, "pmic")
    assert message in _one_line(err)
    assert str(path) in str(err.value)


def test_window_energy_holds_the_edges():
    samples = [(1.0, 2.0), (2.0, 4.0)]
    assert window_energy(samples, 0.0, 3.0) == pytest.approx(2.0 + 3.0 + 4.0)


@pytest.mark.parametrize(("name", "speed"), [("pmic", 4.0), ("fnirsi", 4.0), ("um", 20.0)])
def test_a_2w_step_over_1w_idle_for_3s_is_3j_dynamic(name, speed):
    """The synthetic step recordings (2 W for 3 s over 1 W): the idle measured from the
    lead, the step measured whole with idle on both sides, 3.0 J dynamic within 2 %."""
    data = json.loads((DATA / f"{name}-synthetic-step.json").read_text())
    step = data["step"]
    meter = get_meter(name, replay=str(DATA / f"{name}-synthetic-step.json"), replay_speed=speed)
    if name == "pmic":
        meter.a, meter.b = 1.0, 0.0  # the recording holds raw rail sums
    idle_w = meter.measure_idle(seconds=(step["start_s"] - 1.0) / speed - 0.3)
    t_open = meter.transport.started_at  # the idle measurement's first read began the recording
    assert idle_w == pytest.approx(1.0, rel=1e-3)
    margin = max(0.5, (meter.min_seconds * speed - step["seconds"]) / 2 + 0.5)
    time.sleep(max(0.0, t_open + (step["start_s"] - margin) / speed - time.perf_counter()))
    meter.start()
    time.sleep((step["seconds"] + 2 * margin) / speed)
    joules = meter.stop()
    dynamic_scaled = (joules - idle_w * meter.last_seconds) * speed  # the recording's joules
    assert dynamic_scaled == pytest.approx(3.0, rel=0.02)
    assert meter.samples_taken() >= MIN_SAMPLES


def test_measurement_lasts_long_enough_for_the_meters_samples():
    """metered_energy's duration comes from the meter: 20 samples at 2/s is 10 s."""

    class SlowMeter(Meter):
        source = "test"
        sample_rate_hz = 2.0

        def start(self):
            pass

        def stop(self):
            return 1.0

    assert SlowMeter().min_seconds == 10.0  # 20 samples at 2/s
    now = [0.0]

    def module(x):  # each call takes 0.5 s
        now[0] += 0.5

    energy = metered_energy(module, 0, SlowMeter(), 1, clock=lambda: now[0])
    assert energy["calls"] == 20
    assert energy["seconds"] == 10.0  # after one untimed warm-up call
    assert energy["energy_mj"] == pytest.approx(1e3 / 20)


def test_too_few_samples_is_one_line():
    meter = get_meter("um", replay=str(DATA / "um-real.json"))
    meter.start()
    time.sleep(0.2)
    with pytest.raises(UserError) as err:
        meter.stop()
    assert "expected >= 20 at" in _one_line(err)
    assert "is the meter still connected?" in str(err.value)


# --- absent meters: one line naming what is missing ---------------------------------------------


def test_absent_meters_say_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no vcgencmd here
    with pytest.raises(UserError) as err:
        get_meter("pmic")
    assert _one_line(err).startswith("meter pmic: no vcgencmd on this machine")
    monkeypatch.setenv("HWNAS_UM_DEVICE", str(tmp_path / "rfcomm7"))
    with pytest.raises(UserError) as err:
        get_meter("um")
    assert _one_line(err).startswith(f"meter um: no such serial device {tmp_path / 'rfcomm7'}")
    real_import = builtins.__import__

    def no_optional(name, *args, **kwargs):
        if name.split(".")[0] in ("usb", "serial"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    for mod in [m for m in sys.modules if m.split(".")[0] in ("usb", "serial")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", no_optional)
    with pytest.raises(UserError) as err:
        get_meter("fnirsi")
    assert _one_line(err) == "meter fnirsi needs pyusb: pip install 'hwnas[fnirsi]'"
    with pytest.raises(UserError) as err:
        get_meter("um")
    assert _one_line(err) == "meter um needs pyserial: pip install 'hwnas[um]'"


def test_fnirsi_without_a_device_is_one_line():
    pytest.importorskip("usb")
    with pytest.raises(UserError) as err:
        get_meter("fnirsi")
    assert _one_line(err).startswith("meter fnirsi: ")


def test_only_sampling_meters_replay():
    with pytest.raises(UserError) as err:
        get_meter("rapl", replay=str(DATA / "pmic-real.json"))
    assert _one_line(err) == "--meter-replay: meter 'rapl' cannot replay; expected one of pmic, fnirsi, um"
    assert get_meter("pmic", replay=str(DATA / "pmic-real.json")).source == "replay:pmic"
    assert FnirsiMeter(object()).source == "meter:fnirsi"  # a real transport: a measurement


def test_a_ratio_never_mixes_energy_sources():
    from pareto.baseline_tables import _energy_pair

    child = {"energy_basis": "measured", "measured_energy_mj": 1.0, "measured_energy_source": "meter:pmic"}
    base = {"energy_basis": "measured", "measured_energy_mj": 3.0, "measured_energy_source": "meter:fnirsi"}
    assert _energy_pair(child, base) == (None, None)
    assert _energy_pair(child, dict(base, measured_energy_source="replay:pmic")) == (None, None)
    assert _energy_pair(child, dict(base, measured_energy_source="meter:pmic")) == (3.0, "measured")


# --- end to end: lut.profile and childnet.measure against the replayed devices ------------------

SESSION = {"pmic": 5.0, "fnirsi": 5.0, "um": 50.0}  # the session recordings' replay speeds (README)
FAST_TIMING = ["--warmup", "1", "--repeats", "2", "--rounds", "1", "--per-op", "1", "--fit-per-op", "1"]
FAST_TIMING += ["--no-progress"]
# A replayed meter's floor on one measurement (base.MIN_SECONDS, 0.2 s: a real meter's resolution)
# lowered so that a profile's 70 entries take 3.5 s, not 14 s; each still holds >= MIN_SAMPLES
# samples (fnirsi: 500/s, pmic: 200/s as replayed), which is what the entries' checks need.
REPLAY_MIN_SECONDS = 0.05


@pytest.fixture
def short_meter_windows(monkeypatch):
    """``base.MIN_SECONDS`` at ``REPLAY_MIN_SECONDS`` for the profiles of this test."""
    from hwnas.meters import base

    monkeypatch.setattr(base, "MIN_SECONDS", REPLAY_MIN_SECONDS)


def _profile_flags(width: str, runtime: str) -> list:
    """``lut.profile``'s flags for a quick fbnet-cpu profile at ``width`` timed in ``runtime``."""
    return ["--space", "fbnet-cpu", "--width", width, "--runtime", runtime, *FAST_TIMING]


def _replay_flags(name):
    recording = DATA / f"{name}-synthetic-session.json"
    return ["--meter", name, "--meter-replay", str(recording), "--meter-replay-speed", str(SESSION[name])]


def _check_replayed_lut(out: Path, name: str) -> None:
    from hwnas.meters import base
    from lut.table import load_lut

    data = json.loads(out.read_text())
    assert data["energy_source"] == f"replay:{name}"
    assert data["energy_kinds"] == ["total", "dynamic"]
    note = data["protocol"]["energy"]
    assert note["meter"] == f"replay:{name}"
    assert note["replay"]["synthetic"] is True
    assert note["min_samples"] == 20
    assert note["min_seconds"] == pytest.approx(max(base.MIN_SECONDS, 20 / note["sample_rate_hz"]))
    watts = {"pmic": 1.1451 + 0.5879, "fnirsi": 1.0, "um": 1.0}[name]  # the session idles at 1 W (pmic: calibrated)
    assert note["idle_w"] == pytest.approx(watts, rel=1e-3)
    entries = [e for layer in data["layers"] for e in layer["ops"].values() if e["measured"]]
    assert all(e["energy_mj"] > e["energy_dynamic_mj"] > 0 for e in entries)
    load_lut(str(out), "dynamic")  # a valid LUT


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fnirsi", "um"])  # pmic: in the sweep test below
def test_lut_profile_with_a_replayed_meter(tmp_path, name, short_meter_windows):
    """``lut.profile --meter <name> --meter-replay FILE``: a LUT with both energy kinds, whose
    source and protocol say the energy is a replay of a synthetic recording (timed in PyTorch:
    the energy does not depend on the runtime, ONNX Runtime's fit took 5 s more)."""
    from lut.profile import main as profile_main

    out = tmp_path / "lut.json"
    profile_main([*_profile_flags("0.25", "pytorch"), "--out", str(out), *_replay_flags(name)])
    _check_replayed_lut(out, name)


@pytest.mark.slow
def test_childnet_measure_with_replayed_meters(tmp_path, capsys, space):
    """``childnet.measure --meter <name> --meter-replay FILE`` for the three meters: the
    metrics say replay:<name>, with total and dynamic energy from the recording."""
    from childnet.export import save_model_data
    from childnet.measure import main as measure_main
    from hwnas.network import build_network

    arch = ["k3_e1"] * space.num_layers
    meta = {"input_shape": [3, 32, 32], "ops": arch}
    meta["space"] = {"name": space.name, "width": space.width, "num_classes": space.num_classes}
    path = save_model_data(build_network(space, arch), tmp_path / "m.weights.pt", meta)
    flags = ["--model", str(path), "--runtime", "pytorch", "--repeats", "2", "--warmup", "0", "--rounds", "1"]
    for name in SESSION:
        measure_main([*flags, *_replay_flags(name)])
        out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert out["energy_source"] == f"replay:{name}"
        assert out["energy_mj"] > out["energy_dynamic_mj"] > 0
        assert out["idle_w"] > 0
    with pytest.raises(SystemExit) as code:
        measure_main([*flags, "--meter", "fnirsi", "--meter-replay", str(DATA / "fnirsi-real-0v.json")])
    assert code.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "error: meter fnirsi: voltage 0.00000 V outside 4-5.5 V (USB 5 V); measurement refused"
    )


@pytest.mark.slow
def test_energy_dominant_smoke_sweep_against_a_replayed_lut(tmp_path, run_smoke_sweep, short_meter_windows):
    """The issue's "done when": a LUT profiled with a replayed meter drives an energy-dominant
    smoke sweep, whose measurements replay the meter too; every record names the replay. One
    baseline and no final stage: the final model's training is not what this test is about."""
    from hwnas.layout import PARAMS
    from hwnas.measured import measured_baselines, read_childnet
    from lut.profile import main as profile_main

    lut = tmp_path / "pmic-lut.json"
    smoke = _profile_flags("0.5", "onnxruntime")  # configs/sweep-smoke.yaml's space and target
    profile_main([*smoke, "--out", str(lut), *_replay_flags("pmic")])
    _check_replayed_lut(lut, "pmic")
    recording = DATA / "pmic-synthetic-session.json"
    run = run_smoke_sweep(
        *("--name", "energy", "--trials", "1", "--mode", "energy", "--set", f"lut.path={lut}"),
        *("--set", "measure.meter=pmic", "--set", f"measure.meter_replay={recording}"),
        *("--set", "measure.meter_replay_speed=5", "--set", "search.epochs=2", "--set", "child.epochs=1"),
        *("--set", "final.epochs=0", "--set", "baselines.mobilenet_v2=null", "--set", "baselines.mnasnet=null"),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    experiment = tmp_path / "experiments" / "energy"
    trials = sorted(experiment.glob("trial_*"))
    assert len(trials) == 1
    for t in trials:
        params = json.loads((t / PARAMS).read_text())
        assert params["dominant"] == "energy"
        metrics = read_childnet(t)  # the quiet phase's measurement joined (hwnas.measured)
        assert metrics["lut"]["energy_source"] == "replay:pmic"
        assert metrics["measured"]["energy_source"] == "replay:pmic"
        assert metrics["measured"]["energy_mj"] > 0
    (baseline,) = measured_baselines(experiment)
    assert (baseline["name"], baseline["measured"]["energy_source"]) == ("resnet18", "replay:pmic")
    assert baseline["measured"]["energy_mj"] > 0


def test_the_measured_front_compares_energy_of_one_source_only():
    import pandas as pd

    from pareto.analysis import front_specs

    trials = pd.DataFrame(
        {"measured_energy_mj": [1.0, 2.0, None], "measured_energy_source": ["meter:pmic", "meter:um", "none"]}
    )
    (measured,) = front_specs(trials, [])
    assert measured["objectives"] == [("test_acc", "max"), ("measured_latency_ms", "min")]
    assert measured["label"] == "measured on device (energy left out: measured by meter:pmic, meter:um)"
    trials["measured_energy_source"] = ["replay:pmic", "replay:pmic", "none"]
    (measured,) = front_specs(trials, [])
    assert measured["objectives"][-1] == ("measured_energy_mj", "min")
    assert measured["label"] == "measured on device"
