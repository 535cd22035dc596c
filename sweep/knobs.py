"""HANNA knobs and their dominance: which cost term leads the loss at the search start.

The loss is ``CE + alpha*LAT^beta + gamma*ENER^delta``. The HANNA report judges a knob
set by ``vLAT = alpha*LAT0^beta`` and ``vENER = gamma*ENER0^delta``, where LAT0/ENER0
are the expected latency/energy at the search start (uniform theta: the fixed part
plus, per layer, the mean over ops). A knob set is *latency-dominant* when
``vLAT > vENER`` and *energy-dominant* otherwise.

``KnobSpace`` is Optuna's define-by-run space. It is parametrized so that every
proposal is feasible for the sweep's mode, instead of rejecting infeasible ones: in
latency mode it samples ``alpha, beta, delta`` and the ratio ``dominance =
vENER/vLAT`` (in the configured range, inside (0, 1)) and derives ``gamma``; energy
mode is the mirror image (samples ``gamma, delta, beta`` and ``dominance =
vLAT/vENER``, derives ``alpha``); ``any`` samples the four knobs in their ranges.
The derived knob is not bound by its configured range (the ratio is what matters).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwnas.config import SweepConfig
from hwnas.errors import UserError
from lut.cost import CostTensors

__all__ = ["MODES", "KnobSpace", "StartCosts", "check_mode_fits_lut", "check_ranges", "dominance_of", "start_costs"]

MODES = ("latency", "energy", "any")


@dataclass(frozen=True)
class StartCosts:
    """Expected LUT cost of the supernet at the search start (uniform theta)."""

    lat_ms: float
    energy_mj: float | None  # None: the LUT has no energy (the energy term is off)


def start_costs(cost: CostTensors, use_energy: bool = True) -> StartCosts:
    """LAT0 = fixed + sum over layers of the mean over ops (uniform theta); same for energy."""
    lat = float(cost.latency_fixed_ms + cost.latency_ms.double().mean(dim=1).sum())
    energy = None
    if use_energy and cost.has_energy:
        energy = float(cost.energy_fixed_mj + cost.energy_mj.double().mean(dim=1).sum())
    return StartCosts(lat, energy)


def dominance_of(knobs: dict, start: StartCosts) -> dict:
    """vLAT, vENER and which term dominates, for knobs ``alpha, beta, gamma, delta``."""
    v_lat = knobs["alpha"] * start.lat_ms ** knobs["beta"]
    v_ener = 0.0 if start.energy_mj is None else knobs["gamma"] * start.energy_mj ** knobs["delta"]
    dominant = "latency" if v_lat > v_ener else "energy"
    minor, major = sorted((v_lat, v_ener))
    return {"v_lat": v_lat, "v_ener": v_ener, "dominant": dominant,
            "dominance": minor / major if major > 0 else 0.0}


_RANGES = ("alpha", "beta", "gamma", "delta", "dominance")


def check_ranges(sweep: SweepConfig, mode: str, source: str = "config") -> None:
    """One-line ``UserError`` for an unknown mode or a knob range that cannot be sampled."""
    if mode not in MODES:
        raise UserError(f"sweep mode {mode!r}: expected one of {', '.join(MODES)}")
    for name in _RANGES:
        low, high = getattr(sweep, name)
        if low < 0 or high < 0:
            raise UserError(f"{source}: sweep.{name} = [{low}, {high}]: knob ranges must not be negative")
        if not 0 < low <= high:
            raise UserError(f"{source}: sweep.{name} = [{low}, {high}]: expected 0 < low <= high")
    low, high = sweep.dominance
    if mode != "any" and high >= 1:
        raise UserError(f"{source}: sweep.dominance = [{low}, {high}]: the minor/major term ratio must be < 1 "
                        f"for {mode}-dominant knobs")


def check_mode_fits_lut(mode: str, start: StartCosts) -> None:
    """Energy-dominant knobs need a LUT with energy (and ``lut.energy: true``)."""
    if mode == "energy" and start.energy_mj is None:
        raise UserError("sweep mode energy: the LUT has no energy data (or lut.energy is false); "
                        "use --mode latency or a LUT with energy")


def _suggest(trial, name: str, bounds: tuple[float, float]) -> float:
    low, high = bounds
    if low == high:
        return trial.suggest_float(name, low, high)
    # knobs span decades (0.01..2): sample them on a log scale
    return trial.suggest_float(name, low, high, log=True)


@dataclass(frozen=True)
class KnobSpace:
    """Optuna define-by-run space for the HANNA knobs of one sweep (picklable: Ray Tune
    saves it with the searcher). Returns the derived values (the derived knob and its
    name, vLAT, vENER, dominant, dominance) so each trial's params record them."""

    sweep: SweepConfig
    mode: str
    start: StartCosts
    delta_fixed: float = 0.6  # delta when the LUT has no energy (the term is off)

    @property
    def derived(self) -> str | None:
        """Which knob is derived from the sampled ratio (None: all four are sampled)."""
        if self.start.energy_mj is None:
            return None
        return {"latency": "gamma", "energy": "alpha", "any": None}[self.mode]

    def __call__(self, trial) -> dict:
        s, start = self.sweep, self.start
        if start.energy_mj is None:  # no energy: the energy term is off, latency dominates by definition
            knobs = {"alpha": _suggest(trial, "alpha", s.alpha), "beta": _suggest(trial, "beta", s.beta),
                     "gamma": 0.0, "delta": self.delta_fixed}
        elif self.mode == "latency":
            alpha, beta = _suggest(trial, "alpha", s.alpha), _suggest(trial, "beta", s.beta)
            delta, ratio = _suggest(trial, "delta", s.delta), _suggest(trial, "dominance", s.dominance)
            v_lat = alpha * start.lat_ms**beta
            knobs = {"alpha": alpha, "beta": beta, "gamma": ratio * v_lat / start.energy_mj**delta, "delta": delta}
        elif self.mode == "energy":
            gamma, delta = _suggest(trial, "gamma", s.gamma), _suggest(trial, "delta", s.delta)
            beta, ratio = _suggest(trial, "beta", s.beta), _suggest(trial, "dominance", s.dominance)
            v_ener = gamma * start.energy_mj**delta
            knobs = {"alpha": ratio * v_ener / start.lat_ms**beta, "beta": beta, "gamma": gamma, "delta": delta}
        else:
            knobs = {k: _suggest(trial, k, getattr(s, k)) for k in ("alpha", "beta", "gamma", "delta")}
        out = dict(knobs, derived=self.derived or "none")  # which knob came from the sampled ratio
        out.update(dominance_of(knobs, start))
        if not all(math.isfinite(v) for v in knobs.values()):
            raise ValueError(f"non-finite knobs {knobs}")  # cannot happen with positive ranges
        return out
