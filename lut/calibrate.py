"""A LUT's latency calibration: a one-parameter fit of its raw estimates to whole
networks measured right after profiling (``lut.profile --calibrate N``; estimates
apply it, see ``lut/README.md``)."""

from __future__ import annotations

from hwnas.space import SearchSpace
from hwnas.timing import TimingProtocol, sample_archs
from lut.table import Lut
from lut.validate import measure_against

__all__ = ["CALIBRATION_SEED", "calibrate", "fit_scale"]

# calibration networks are drawn with their own seed, so that lut.validate's default
# seeds (0, 1, ...) test on other networks than the ones the calibration was fit to
CALIBRATION_SEED = 1_000_003


def fit_scale(raw_predicted_ms, measured_ms) -> float:
    """Least-squares ``scale`` of ``measured ~ scale * raw_predicted`` (through the
    origin: one parameter, so a few networks determine it and ranks are kept)."""
    num = sum(p * m for p, m in zip(raw_predicted_ms, measured_ms, strict=True))
    den = sum(p * p for p in raw_predicted_ms)
    return num / den


def calibrate(data: dict, space: SearchSpace, n: int, timing: TimingProtocol, *, seed: int, progress: bool) -> dict:
    """Measure ``n`` whole networks (drawn with ``CALIBRATION_SEED + seed``) and fit the
    LUT's calibration block to them."""
    seed = CALIBRATION_SEED + seed
    archs = sample_archs(space, n, seed)
    # measured at the LUT's reference speed, like its entries
    r = measure_against(Lut(data, name="uncalibrated"), archs, timing, seed=seed, progress=progress)
    predicted, measured = r["predicted_ms"], r["measured_ms"]
    return {
        "latency_scale": fit_scale(predicted, measured),
        "latency_offset_ms": 0.0,
        "fit": "least squares, measured = scale * raw estimate",
        "archs": archs,
        "seed": seed,
        "raw_predicted_ms": predicted,
        "measured_ms": measured,
    }
