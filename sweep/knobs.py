"""HANNA knobs and their dominance: which cost term leads the loss at the search start.

The loss is ``CE + alpha*LAT^beta + gamma*ENER^delta``. The HANNA report judges a knob
set by ``vLAT = alpha*LAT0^beta`` and ``vENER = gamma*ENER0^delta``, where LAT0/ENER0
are the expected latency/energy at the search start (uniform theta: the fixed part
plus, per layer, the mean over ops). A knob set is *latency-dominant* when
``vLAT > vENER`` and *energy-dominant* otherwise.

``KnobSampler`` is Optuna's define-by-run function, parametrized so that every proposal is
feasible for the sweep's ``sweep.dominant`` (latency, energy or any; formerly ``sweep.mode``)
instead of rejecting infeasible ones. The knob ranges are checked with the config
(``hwnas.config_rules``). Two scales (``sweep.knobs``):

- ``relative`` (default): Optuna samples the cost terms' share of the loss at the
  start, ``cost_share = (vLAT + vENER) / CE0`` (log scale, ``sweep.cost_share``, default
  0.01-1), where CE0 is the shared warm-up's last training cross-entropy; how that
  share splits between the terms (latency/energy-dominant: the minor/major ratio
  ``dominance``; any: ``lat_share`` in 0.05-0.95); ``beta`` and ``delta``. ``alpha`` and
  ``gamma`` are derived. Why: with the absolute ranges below on the default sweep
  (LAT0 ~1-4 ms, alpha up to 2) the cost term outweighed CE (0.3-0.6 after warm-up)
  for most proposals and a third of the trials became the all-skip network; a share
  of the loss means the same on every LUT, device and dataset.
- ``absolute``: ``alpha, beta, gamma, delta`` in their configured ranges, as the HANNA
  report sets them; latency-dominant: ``gamma`` is derived from the sampled ratio
  ``dominance = vENER/vLAT`` (energy-dominant: the mirror image, ``alpha`` derived); the
  derived knob is not bound by its range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwnas.config_sections import SweepConfig, renamed_state
from hwnas.domains import KNOBS
from hwnas.errors import UserError
from hwnas.keys import upgrade
from lut.cost import CostTensors

__all__ = [
    "KnobSampler",
    "StartCosts",
    "check_dominant_fits_lut",
    "dominance_of",
    "start_costs",
]


@dataclass(frozen=True)
class StartCosts:
    """Expected LUT cost of the supernet at the search start (uniform theta), LAT0 and ENER0,
    and the cross-entropy the cost terms compete with there, CE0 (sweep.json ``knobs.start``)."""

    lat0_ms: float
    ener0_mj: float | None  # None: the LUT has no energy (the energy term is off)
    ce0: float = 1.0  # the shared warm-up's last training CE (else ln(classes): an untrained net's)

    def __setstate__(self, state: dict) -> None:
        # a searcher state pickled before the rename names them latency_ms, energy_mj, ce (a resumed sweep)
        self.__dict__.update(upgrade(state, "start"))


def start_costs(cost: CostTensors, use_energy: bool = True) -> StartCosts:
    """LAT0 = fixed + sum over layers of the mean over ops (uniform theta); same for energy."""
    lat = float(cost.latency_fixed_ms + cost.latency_ms.double().mean(dim=1).sum())
    energy = None
    if use_energy and cost.has_energy:
        energy = float(cost.energy_fixed_mj + cost.energy_mj.double().mean(dim=1).sum())
    return StartCosts(lat, energy)


def dominance_of(knobs: dict, start: StartCosts) -> dict:
    """vLAT, vENER and which term dominates, for knobs ``alpha, beta, gamma, delta``."""
    v_lat = knobs["alpha"] * start.lat0_ms ** knobs["beta"]
    v_ener = 0.0 if start.ener0_mj is None else knobs["gamma"] * start.ener0_mj ** knobs["delta"]
    dominant = "latency" if v_lat > v_ener else "energy"
    minor, major = sorted((v_lat, v_ener))
    return {"v_lat": v_lat, "v_ener": v_ener, "dominant": dominant, "dominance": minor / major if major > 0 else 0.0}


def check_dominant_fits_lut(dominant: str, start: StartCosts) -> None:
    """Energy-dominant knobs need a LUT with energy (and ``lut.energy: true``)."""
    if dominant == "energy" and start.ener0_mj is None:
        raise UserError(
            "sweep.dominant energy: the LUT has no energy data (or lut.energy is false); "
            "use --dominant latency or a LUT with energy"
        )


LAT_SHARE = (0.05, 0.95)  # dominant any, relative knobs: vLAT / (vLAT + vENER)


def _suggest(trial, name: str, bounds: tuple[float, float]) -> float:
    low, high = bounds
    if low == high:
        return trial.suggest_float(name, low, high)
    # knobs span decades (0.01..2): sample them on a log scale
    return trial.suggest_float(name, low, high, log=True)


@dataclass(frozen=True)
class KnobSampler:
    """Optuna define-by-run function drawing the HANNA knobs of one sweep (picklable: Ray Tune
    saves it with the searcher). Returns the derived values (the derived knob and its
    name, vLAT, vENER, dominant, dominance) so each trial's params record them."""

    sweep: SweepConfig
    dominant: str  # sweep.dominant: latency, energy or any
    start: StartCosts
    delta_fixed: float = 0.6  # delta when the LUT has no energy (the term is off)

    def __setstate__(self, state: dict) -> None:
        # a searcher state pickled before the rename stores the field as "mode" (a resumed sweep)
        self.__dict__.update(renamed_state(state, "mode", "dominant"))

    @property
    def derived(self) -> str | None:
        """Which knobs are derived from sampled values (None: all four are sampled)."""
        if self.sweep.knobs == "relative":
            return "alpha" if self.start.ener0_mj is None else "alpha,gamma"
        if self.start.ener0_mj is None:
            return None
        return {"latency": "gamma", "energy": "alpha", "any": None}[self.dominant]

    def record(self) -> dict:
        """sweep.json's ``knobs``: the scale, the derived knobs, the parametrization, the start costs."""
        how = (
            "sampled: cost_share = (vLAT + vENER) / CE0, its split, beta, delta; derived: alpha, gamma"
            if self.sweep.knobs == "relative"
            else f"sampled: the minor/major term ratio 'dominance' in sweep.dominance; derived: {self.derived}"
            if self.derived
            else "all four knobs sampled in their ranges"
        )
        start = {"lat0_ms": self.start.lat0_ms, "ener0_mj": self.start.ener0_mj, "ce0": self.start.ce0}
        return {"scale": self.sweep.knobs, "derived": self.derived, "parametrization": how, "start": start}

    def __call__(self, trial) -> dict:
        knobs = self._relative(trial) if self.sweep.knobs == "relative" else self._absolute(trial)
        out = dict(knobs, derived=self.derived or "none")  # which knob came from sampled values
        out.update(dominance_of(knobs, self.start))
        out["cost_share"] = (out["v_lat"] + out["v_ener"]) / self.start.ce0
        if not all(math.isfinite(v) for v in knobs.values()):
            raise ValueError(f"non-finite knobs {knobs}")  # cannot happen with positive ranges
        return out

    def _relative(self, trial) -> dict:
        """Sample the cost terms' share of the loss at the start, ``cost_share =
        (vLAT + vENER) / CE0`` (log scale in ``sweep.cost_share``), how it splits between
        the terms (the dominance ratio; ``LAT_SHARE`` when either may dominate), ``beta`` and
        ``delta``; derive ``alpha = vLAT / LAT0^beta`` and ``gamma = vENER / ENER0^delta``."""
        s, start = self.sweep, self.start
        share = _suggest(trial, "cost_share", s.cost_share) * start.ce0
        beta = _suggest(trial, "beta", s.beta)
        if start.ener0_mj is None:
            return {"alpha": share / start.lat0_ms**beta, "beta": beta, "gamma": 0.0, "delta": self.delta_fixed}
        delta = _suggest(trial, "delta", s.delta)
        if self.dominant == "any":
            lat_share = trial.suggest_float("lat_share", *LAT_SHARE)
        else:
            ratio = _suggest(trial, "dominance", s.dominance)  # minor / major
            lat_share = 1 / (1 + ratio) if self.dominant == "latency" else ratio / (1 + ratio)
        return {
            "alpha": lat_share * share / start.lat0_ms**beta,
            "beta": beta,
            "gamma": (1 - lat_share) * share / start.ener0_mj**delta,
            "delta": delta,
        }

    def _absolute(self, trial) -> dict:
        """The four knobs in their configured ranges (the HANNA report's own knobs);
        latency/energy-dominant: the minor term's knob is derived from the sampled ratio."""
        s, start = self.sweep, self.start
        if start.ener0_mj is None:  # no energy: the energy term is off, latency dominates by definition
            knobs = {
                "alpha": _suggest(trial, "alpha", s.alpha),
                "beta": _suggest(trial, "beta", s.beta),
                "gamma": 0.0,
                "delta": self.delta_fixed,
            }
        elif self.dominant == "latency":
            alpha, beta = _suggest(trial, "alpha", s.alpha), _suggest(trial, "beta", s.beta)
            delta, ratio = _suggest(trial, "delta", s.delta), _suggest(trial, "dominance", s.dominance)
            v_lat = alpha * start.lat0_ms**beta
            knobs = {"alpha": alpha, "beta": beta, "gamma": ratio * v_lat / start.ener0_mj**delta, "delta": delta}
        elif self.dominant == "energy":
            gamma, delta = _suggest(trial, "gamma", s.gamma), _suggest(trial, "delta", s.delta)
            beta, ratio = _suggest(trial, "beta", s.beta), _suggest(trial, "dominance", s.dominance)
            v_ener = gamma * start.ener0_mj**delta
            knobs = {"alpha": ratio * v_ener / start.lat0_ms**beta, "beta": beta, "gamma": gamma, "delta": delta}
        else:
            knobs = {k: _suggest(trial, k, getattr(s, k)) for k in KNOBS}
        return knobs


KnobSpace = KnobSampler  # its old name: Ray Tune searcher states pickled before the rename (a resumed sweep) name it
