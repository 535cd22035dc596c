"""Trustworthy cost numbers: the graph-context fit, the robust speed reference, the
clean-LUT cache rule and the sweep's quiet measurement phase (fake devices and
clocks: no timed assertions)."""

import json
from pathlib import Path

import pytest
import torch

from hwnas.config import ExperimentConfig, load_config
from hwnas.errors import UserError
from hwnas.layout import MEASUREMENTS
from hwnas.measured import join_baseline, join_metrics, read_measurements
from hwnas.space import get_space
from hwnas.timing.speed import _level
from lut import cache as cache_mod
from lut import load_lut
from lut.graph_fit import design_matrix, fit_entries
from lut.protocol import design_archs
from sweep.experiment import read_baselines, read_metrics
from sweep.measurements import PENDING, measure_pending, pending_models

ROOT = Path(__file__).resolve().parents[1]


# --- the graph context: entries fitted to whole networks ---------------------------------


def test_fit_entries_recovers_every_network_and_every_op_difference():
    space = get_space("fbnet-cpu", width=0.25)
    archs = design_archs(space, 12, seed=3)
    keys = ["fixed"] + sorted(
        {
            (space.layers[i].shape_key, op)
            for a in archs
            for i, op in enumerate(a)
            if not (
                op == "skip"
                and space.layers[i].in_channels == space.layers[i].out_channels
                and space.layers[i].stride == 1
            )
        },
        key=str,
    )
    X = design_matrix(space, archs, keys)
    g = torch.Generator().manual_seed(0)
    truth = 0.05 + torch.rand(len(keys), generator=g, dtype=torch.float64)
    y = X @ truth
    # a prior of the wrong scale and shape (eager timings): the fit must still predict the networks
    prior = 1.7 * truth * (1 + 0.3 * torch.rand(len(keys), generator=g, dtype=torch.float64))
    b, scale, floored = fit_entries(X, y, prior)
    assert floored == 0
    assert 1 / 2.21 < scale < 1 / 1.7  # the prior is 1.7-2.21x the truth
    assert torch.allclose(X @ b, y, rtol=2e-3)
    held_out = design_matrix(space, design_archs(space, 3, seed=99), keys)
    assert torch.allclose(held_out @ b, held_out @ truth, rtol=1e-2)


def test_fit_entries_keeps_a_block_above_its_floor():
    X = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]] * 2, dtype=torch.float64)
    y = torch.tensor([1.0, 0.2] * 2, dtype=torch.float64)  # the second op would fit below zero
    b, _, floored = fit_entries(X, y, torch.tensor([0.5, 0.3, 0.3], dtype=torch.float64))
    assert floored >= 1
    assert (b > 0).all()


# --- the speed reference ----------------------------------------------------------------


def test_one_disturbed_reference_reading_does_not_scale_its_neighbours():
    readings = [2.0, 2.0, 9.0, 2.0, 2.0, 2.0]  # a load spike during one reading only
    assert [_level(readings, i) for i in range(len(readings) - 1)] == [2.0, 2.0, 2.0, 2.0, 2.0]
    drifting = [1.0, 2.0, 3.0, 4.0, 5.0]  # a linear drift: the mean of the two around
    assert [_level(drifting, i) for i in range(4)] == [1.5, 2.5, 3.5, 4.5]


# --- only a clean LUT is cached ---------------------------------------------------------


@pytest.fixture(scope="module")
def smoke(smoke_lut):
    """``(space, target, lut)``: the session's smoke LUT (tests/conftest.py) with its space and
    target. The tests below fake its noise and protocol fields; any profiled LUT would do."""
    cfg = load_config(ROOT / "configs" / "sweep-smoke.yaml")
    return cfg.search_space(), cfg.deploy.target(), load_lut(str(smoke_lut))


def _with_noise(lut, median_rel_iqr, reference_jitter):
    data = json.loads(json.dumps(lut.data))
    data["protocol"]["median_rel_iqr"] = median_rel_iqr
    data["protocol"]["reference"]["jitter"] = reference_jitter
    return type(lut)(data, name="fake")


class FakeProfiler:
    """Hands out LUTs with the given noise, one per call."""

    def __init__(self, lut, noise):
        self.lut, self.noise, self.calls = lut, list(noise), 0

    def __call__(self, space, **kwargs):
        self.calls += 1
        return _with_noise(self.lut, *self.noise.pop(0))


def test_noisy_profiles_are_retried_and_the_clean_one_cached(smoke, tmp_path):
    space, target, profiled = smoke
    fake = FakeProfiler(profiled, [(0.30, 0.40), (0.05, 0.02)])
    lut = ensure = cache_mod.ensure_lut("auto", space, tmp_path, profile=fake, target=target)
    assert fake.calls == 2
    assert lut.protocol["median_rel_iqr"] == 0.05
    assert [t["noisy"] for t in lut.protocol["tries"]] == [True, False]
    cached = load_lut(str(cache_mod.cache_path(space, tmp_path, target)))
    assert cached.protocol["median_rel_iqr"] == 0.05
    assert ensure.name == str(cache_mod.cache_path(space, tmp_path, target))
    # the next run reuses it without profiling
    again = cache_mod.ensure_lut("auto", space, tmp_path, profile=FakeProfiler(profiled, []), target=target)
    assert again.protocol["median_rel_iqr"] == 0.05


def test_a_device_that_stays_busy_gives_a_warned_uncached_lut(smoke, tmp_path, capsys):
    space, target, profiled = smoke
    fake = FakeProfiler(profiled, [(0.30, 0.40), (0.20, 0.75), (0.25, 0.01)])
    lut = cache_mod.ensure_lut("auto", space, tmp_path, profile=fake, tries=3, target=target)
    assert fake.calls == 3  # bounded
    assert lut.protocol["median_rel_iqr"] == 0.20  # the quietest of the three
    assert not cache_mod.cache_path(space, tmp_path, target).exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"warning: LUT for {space.name} profiled 3 times")
    assert "not cached" in err[0]


@pytest.mark.parametrize(
    ("change", "calls"),
    [
        (lambda d: None, 0),  # the control: a current, clean cached LUT is used as it is
        (lambda d: d["device"].update(torch="1.0.0"), 1),
        (lambda d: d["protocol"].update(threads=2), 1),
        (lambda d: d["protocol"].update(version=2), 1),
        (lambda d: d["protocol"].update(median_rel_iqr=0.5), 1),
    ],
    ids=["current", "torch", "threads", "protocol", "noisy"],
)
def test_a_cached_lut_of_another_torch_threads_protocol_or_noisy_is_profiled_again(smoke, tmp_path, change, calls):
    space, target, profiled = smoke
    clean = _with_noise(profiled, 0.05, 0.02)
    data = json.loads(json.dumps(clean.data))
    change(data)
    path = cache_mod.cache_path(space, tmp_path, target)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data))
    fake = FakeProfiler(profiled, [(0.05, 0.02)])
    cache_mod.ensure_lut("auto", space, tmp_path, profile=fake, threads=1, target=target)
    assert fake.calls == calls


# --- the quiet measurement phase --------------------------------------------------------


def _trial(root, name, ops, reused_from=None):
    child = root / name / "child"
    child.mkdir(parents=True)
    if reused_from is None:
        (child / "model.weights.pt").write_bytes(b"model of " + name.encode())
    (child / "metrics.json").write_text(
        json.dumps(
            {
                "ops": ops,
                "test_acc": 0.8,
                "reused_from": reused_from,
                "model": None if reused_from else "model.pt",
                "weights": None if reused_from else "model.weights.pt",
                "measured": dict(PENDING),
            }
        )
    )


@pytest.fixture()
def experiment(tmp_path):
    root = tmp_path / "exp"
    _trial(root, "trial_a", ["k3_e1", "skip"])
    _trial(root, "trial_b", ["k3_e1", "skip"], reused_from="trial_a")  # reused childnet
    _trial(root, "trial_c", ["k3_e1", "skip"])  # same architecture, trained again
    _trial(root, "trial_d", ["k5_e3", "k3_e1"])
    (root / "baselines").mkdir()
    (root / "baselines" / "resnet18.weights.pt").write_bytes(b"baseline")
    (root / "baselines.json").write_text(json.dumps([{"name": "resnet18", "measured": dict(PENDING)}]))
    return root


class FakeDevice:
    """Stands for childnet.measure.measure_files: a latency per file, groups of two."""

    def __init__(self, fail_after_groups=None):
        self.timed, self.fail_after = [], fail_after_groups

    def __call__(self, paths, on_group):
        for start in range(0, len(paths), 2):
            if self.fail_after is not None and start // 2 == self.fail_after:
                raise KeyboardInterrupt  # the sweep is killed here
            group = {
                i: {"latency_ms": 1.0 + i, "rel_iqr": 0.01, "noisy": i == 0}
                for i in range(start, min(start + 2, len(paths)))
            }
            self.timed.extend(paths[i] for i in group)
            on_group(group)
        return []


def _measured(experiment) -> dict:
    """Each trial's measurement and the baseline's, as the readers see them (``hwnas.measured``)."""
    models = read_measurements(experiment)
    out = {t: join_metrics(read_metrics(experiment / t / "child" / "metrics.json"), models)["measured"] for t in TRIALS}
    (baseline,) = read_baselines(experiment)
    return {**out, "baseline": join_baseline(baseline, models)["measured"]}


TRIALS = ("trial_a", "trial_b", "trial_c", "trial_d")


def test_each_distinct_architecture_and_baseline_is_timed_once_and_recorded_once(experiment):
    assert {k: v["trials"] for k, v in pending_models(experiment).items()} == {
        "k3_e1 skip": ["trial_a", "trial_b", "trial_c"],
        "k5_e3 k3_e1": ["trial_d"],
    }
    written = {p: p.read_bytes() for p in [*experiment.glob("*/child/metrics.json"), experiment / "baselines.json"]}
    device = FakeDevice()
    phase = measure_pending(ExperimentConfig(), experiment, None, measure_fn=device)
    assert len(device.timed) == 3
    assert phase["timed"] == 3
    assert phase["distinct"] == 2
    assert len(phase["noisy"]) == 1  # flagged, never silently
    assert {p: p.read_bytes() for p in written} == written, "measurements.json is the one place they are written"
    recorded = json.loads((experiment / MEASUREMENTS).read_text())["models"]
    assert recorded["k3_e1 skip"]["model_of"] == "trial_a"
    assert "model_of" not in recorded["baseline:resnet18"]
    measured = _measured(experiment)
    assert measured["trial_a"] == measured["trial_b"] == measured["trial_c"]
    assert measured["trial_b"]["model_of"] == "trial_a"
    assert "pending" not in measured["trial_a"]
    assert measured["trial_d"]["latency_ms"] != measured["trial_a"]["latency_ms"]
    assert measured["baseline"]["latency_ms"] is not None
    assert "pending" not in measured["baseline"]
    # run again (a resumed sweep): nothing waits, nothing is timed
    again = FakeDevice()
    phase = measure_pending(ExperimentConfig(), experiment, None, measure_fn=again)
    assert (phase["timed"], phase["distinct"], phase["baselines"]) == (0, 0, 0)
    assert again.timed == []


def test_a_phase_killed_midway_resumes_without_timing_again(experiment):
    with pytest.raises(KeyboardInterrupt):
        measure_pending(ExperimentConfig(), experiment, None, measure_fn=FakeDevice(fail_after_groups=1))
    recorded = json.loads((experiment / MEASUREMENTS).read_text())["models"]
    assert len(recorded) == 2  # the first group was recorded before the kill
    device = FakeDevice()
    measure_pending(ExperimentConfig(), experiment, None, measure_fn=device)
    assert len(device.timed) == 1
    assert device.timed[0] not in {v["model"] for v in recorded.values()}
    assert all(m["latency_ms"] for m in _measured(experiment).values())


def _killed_midway(experiment) -> dict:
    """A phase killed after its first group: measurements.json holds 2 entries."""
    with pytest.raises(KeyboardInterrupt):
        measure_pending(ExperimentConfig(), experiment, None, measure_fn=FakeDevice(fail_after_groups=1))
    return json.loads((experiment / MEASUREMENTS).read_text())


@pytest.mark.parametrize("damage", ["truncated", "entry"])
def test_a_damaged_measurement_record_is_refused_then_remeasured_on_request(experiment, damage):
    state = _killed_midway(experiment)
    every = _all_models(experiment)
    path = experiment / MEASUREMENTS
    lost = sorted(state["models"])[0]
    if damage == "truncated":
        path.write_text(path.read_text()[:200])
    else:
        state["models"][lost]["measured"] = "garbled"
        path.write_text(json.dumps(state))
    damaged = path.read_bytes()
    device = FakeDevice()
    with pytest.raises(UserError, match=rf"^measurement record {path}: .*--remeasure") as err:
        measure_pending(ExperimentConfig(), experiment, None, measure_fn=device)
    assert "\n" not in str(err.value)
    assert device.timed == []
    assert path.read_bytes() == damaged  # nothing rewritten
    measure_pending(ExperimentConfig(), experiment, None, measure_fn=device, remeasure=True)
    kept = {} if damage == "truncated" else {k: v for k, v in state["models"].items() if k != lost}
    # timed again: what could not be read (and what was never timed); not again: what could
    assert sorted(device.timed) == sorted(every - {v["model"] for v in kept.values()})
    assert path.with_name(MEASUREMENTS + ".damaged").read_bytes() == damaged  # kept, as it was
    assert all(m["latency_ms"] for m in _measured(experiment).values())


def _all_models(experiment) -> set:
    """What the phase times: each distinct childnet's model file and the baseline's."""
    return {item["model"] for item in pending_models(experiment).values()} | {
        str(experiment / "baselines" / "resnet18.weights.pt")
    }


def test_a_damaged_childnet_result_is_named_never_skipped(experiment):
    path = experiment / "trial_d" / "child" / "metrics.json"
    path.write_text(path.read_text()[:40])
    device = FakeDevice()
    with pytest.raises(UserError, match=rf"^childnet result {path}: not valid JSON"):
        measure_pending(ExperimentConfig(), experiment, None, measure_fn=device)
    assert device.timed == []
    assert not (experiment / MEASUREMENTS).exists()


def test_trials_on_the_host_leave_their_childnet_for_the_phase():
    from sweep.trial import TrialContext, _measure

    cfg = ExperimentConfig()
    assert _measure("model.pt", cfg, TrialContext(config={}))["pending"] is True
