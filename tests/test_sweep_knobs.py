"""HANNA dominance: start costs under uniform theta, feasible-by-construction knob
proposals for each sweep.dominant, range checks (with the config's), objectives."""

import math

import optuna
import pytest
import torch

from hwnas.config import load_config
from hwnas.config_sections import SweepConfig
from hwnas.errors import UserError
from lut.cost import CostTensors
from sweep.knobs import KnobSampler, StartCosts, check_dominant_fits_lut, dominance_of, start_costs
from sweep.searcher import objectives


def _cost(energy=True):
    lat = torch.tensor([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]])
    ener = torch.tensor([[10.0, 0.0, 20.0], [1.0, 2.0, 3.0]]) if energy else None
    return CostTensors(("a", "b", "c"), 0.5, lat, 7.0 if energy else None, ener, "model:x" if energy else "none")


def test_start_costs_are_fixed_plus_mean_over_ops_per_layer():
    start = start_costs(_cost())
    assert start.lat0_ms == pytest.approx(0.5 + 2.0 + 4.0)
    assert start.ener0_mj == pytest.approx(7.0 + 10.0 + 2.0)
    assert start_costs(_cost(energy=False)).ener0_mj is None
    assert start_costs(_cost(), use_energy=False).ener0_mj is None


def test_dominance_matches_the_hanna_report_example():
    # HANNA report: LAT0 = 3.5 s, ENER0 = 18.43 J, alpha=.5 beta=1.5 gamma=.5 delta=.5
    d = dominance_of({"alpha": 0.5, "beta": 1.5, "gamma": 0.5, "delta": 0.5}, StartCosts(3.5, 18.43))
    assert d["v_lat"] == pytest.approx(0.5 * 3.5**1.5)
    assert d["v_ener"] == pytest.approx(0.5 * 18.43**0.5)
    assert d["dominant"] == "latency"
    assert d["dominance"] == pytest.approx(d["v_ener"] / d["v_lat"])


def _proposals(knob_sampler, n=40):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append(knob_sampler(trial) | {"_sampled": dict(trial.params)})
        study.tell(trial, 0.0)
    return out


@pytest.mark.parametrize("mode", ["latency", "energy"])
def test_every_proposal_is_feasible_for_its_mode(mode):
    start = StartCosts(12.0, 3.0)
    sweep = SweepConfig(dominance=(0.05, 0.95), knobs="absolute")
    knob_sampler = KnobSampler(sweep, mode, start)
    for p in _proposals(knob_sampler):
        v_lat = p["alpha"] * start.lat0_ms ** p["beta"]
        v_ener = p["gamma"] * start.ener0_mj ** p["delta"]
        assert (v_lat > v_ener) if mode == "latency" else (v_ener > v_lat)
        assert p["dominant"] == mode
        ratio = (v_ener / v_lat) if mode == "latency" else (v_lat / v_ener)
        assert p["dominance"] == pytest.approx(ratio)
        assert 0.05 <= ratio <= 0.95
        assert p["_sampled"]["dominance"] == pytest.approx(ratio)
        derived = "gamma" if mode == "latency" else "alpha"
        assert derived not in p["_sampled"]
        assert knob_sampler.derived == derived == p["derived"]
        for k in ("alpha", "beta", "gamma", "delta"):
            if k != derived:
                low, high = getattr(sweep, k)
                assert low <= p[k] <= high


def test_any_mode_samples_all_four_in_range_and_labels_dominance():
    sweep = SweepConfig(knobs="absolute")
    props = _proposals(KnobSampler(sweep, "any", StartCosts(12.0, 3.0)))
    assert {p["dominant"] for p in props} == {"latency", "energy"}  # both occur: nothing is constrained
    for p in props:
        assert set(p["_sampled"]) == {"alpha", "beta", "gamma", "delta"}


@pytest.mark.parametrize("mode", ["latency", "energy", "any"])
def test_relative_knobs_set_the_cost_terms_share_of_the_start_loss(mode):
    start = StartCosts(1.3, 0.04, ce0=0.45)  # the default sweep's scale: LAT0 ~1 ms, CE0 after warm-up
    sweep = SweepConfig(cost_share=(0.01, 1.0), dominance=(0.05, 0.95))
    knob_sampler = KnobSampler(sweep, mode, start)
    assert knob_sampler.derived == "alpha,gamma"
    props = _proposals(knob_sampler, 60)
    for p in props:
        v_lat, v_ener = p["alpha"] * start.lat0_ms ** p["beta"], p["gamma"] * start.ener0_mj ** p["delta"]
        assert (
            (v_lat + v_ener) / start.ce0 == pytest.approx(p["_sampled"]["cost_share"]) == pytest.approx(p["cost_share"])
        )
        assert 0.01 <= p["cost_share"] <= 1.0
        if mode != "any":
            assert p["dominant"] == mode
            assert 0.05 <= p["dominance"] <= 0.95
    if mode == "any":
        assert {p["dominant"] for p in props} == {"latency", "energy"}
    # the sampled share spans two decades, so alpha does too: it steers cost, not noise
    alphas = sorted(p["alpha"] for p in props)
    assert alphas[-1] / alphas[0] > 30


def test_relative_knobs_without_energy_put_the_whole_share_on_latency():
    start = StartCosts(2.0, None, ce0=0.5)
    for p in _proposals(KnobSampler(SweepConfig(), "latency", start, delta_fixed=0.7), n=5):
        assert p["gamma"] == 0.0
        assert p["alpha"] * 2.0 ** p["beta"] == pytest.approx(p["cost_share"] * 0.5)


def test_no_energy_means_gamma_zero_and_latency_dominant():
    props = _proposals(KnobSampler(SweepConfig(), "latency", StartCosts(12.0, None), delta_fixed=0.7), n=5)
    for p in props:
        assert p["gamma"] == 0.0
        assert p["delta"] == 0.7
        assert p["dominant"] == "latency"
        assert p["v_ener"] == 0.0


def _ranges(*overrides):
    """The config with ``overrides``: knob ranges are checked where every config rule is (hwnas.config_rules)."""
    return load_config(None, list(overrides))


def test_negative_range_is_one_line_error():
    with pytest.raises(UserError, match=r"sweep.alpha = \[-0.1, 1.0\].*must not be negative") as err:
        _ranges("sweep.alpha=[-0.1, 1.0]", "sweep.dominant=latency")
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match="low <= high"):
        _ranges("sweep.beta=[2.0, 1.0]")
    with pytest.raises(UserError, match="must be < 1"):
        _ranges("sweep.dominance=[0.5, 1.5]", "sweep.dominant=latency")
    _ranges("sweep.dominance=[0.5, 1.5]", "sweep.dominant=any")
    with pytest.raises(UserError, match=r"sweep.dominant 'fast': expected one of latency, energy, any"):
        _ranges("sweep.dominant=fast")
    with pytest.raises(UserError, match=r"sweep.knobs 'big': expected one of relative, absolute"):
        _ranges("sweep.knobs=big")
    with pytest.raises(UserError, match=r"sweep.cost_share = \[0.0, 1.0\]"):
        _ranges("sweep.cost_share=[0.0, 1.0]")


def test_energy_dominant_needs_energy():
    with pytest.raises(UserError, match="no energy"):
        check_dominant_fits_lut("energy", StartCosts(1.0, None))
    check_dominant_fits_lut("latency", StartCosts(1.0, None))


def test_objectives():
    assert objectives("multi", True) == (["test_acc", "lut_latency_ms", "lut_energy_mj"], ["max", "min", "min"])
    assert objectives("multi", False) == (["test_acc", "lut_latency_ms"], ["max", "min"])
    assert objectives("latency", True) == (["lut_latency_ms"], ["min"])
    with pytest.raises(UserError):
        objectives("energy", False)
    with pytest.raises(UserError):
        objectives("speed", True)


def test_knob_sampler_survives_pickle():
    import pickle

    knob_sampler = KnobSampler(SweepConfig(), "latency", StartCosts(2.0, 1.0))
    assert pickle.loads(pickle.dumps(knob_sampler)) == knob_sampler
    assert all(
        math.isfinite(v) for p in _proposals(knob_sampler, 3) for k, v in p.items() if k in "alpha beta gamma delta"
    )
    # a searcher state pickled before the rename names the class KnobSpace: a resumed sweep still loads it
    old = pickle.dumps(knob_sampler, protocol=0).replace(b"\nKnobSampler\n", b"\nKnobSpace\n")
    assert b"KnobSpace" in old
    assert pickle.loads(old) == knob_sampler
    # ... and, before sweep.mode became sweep.dominant, its fields (and its SweepConfig's) "mode"
    older = old.replace(b"dominant", b"mode")
    assert b"dominant" not in older
    assert pickle.loads(older) == knob_sampler
    # ... and, before LAT0 had its own name, its start costs "latency_ms", "energy_mj" and "ce"
    start = pickle.dumps(knob_sampler, protocol=0)
    oldest = start.replace(b"lat0_ms", b"latency_ms").replace(b"ener0_mj", b"energy_mj").replace(b"ce0", b"ce")
    assert b"lat0_ms" not in oldest and b"latency_ms" in oldest
    assert pickle.loads(oldest) == knob_sampler


def test_the_knobs_record_names_the_start_costs_lat0_ener0_ce0():
    start = KnobSampler(SweepConfig(), "latency", StartCosts(2.0, 1.0, ce0=0.5)).record()["start"]
    assert start == {"lat0_ms": 2.0, "ener0_mj": 1.0, "ce0": 0.5}
