"""Agreement between estimated and measured costs (torch-free: ``lut``, ``pareto`` and the
benches use the same numbers): share within a tolerance, MAPE, Kendall's tau-b."""

from __future__ import annotations

import numpy as np

__all__ = ["estimate_error_stats", "kendall_tau", "mape", "within_fraction"]


def within_fraction(predicted, measured, tolerance: float = 0.10) -> float:
    """Share of pairs with ``|predicted - measured| <= tolerance * |measured|``."""
    p, m = _pairs(predicted, measured)
    return float(np.mean(np.abs(p - m) <= tolerance * np.abs(m)))


def mape(predicted, measured) -> float:
    """Mean absolute percentage error, in percent."""
    p, m = _pairs(predicted, measured)
    return float(100.0 * np.mean(np.abs(p - m) / np.abs(m)))


def kendall_tau(x, y) -> float:
    """Kendall's tau-b (ties in either sample corrected); ``nan`` below 2 points or when one
    sample is constant. O(n^2) pairs, chunked: fine for the thousands of trials a sweep has."""
    x, y = _pairs(x, y)
    n = len(x)
    agreement = 0.0
    tied_x = tied_y = pairs = 0
    for start in range(0, n, 512):
        i = np.arange(start, min(start + 512, n))[:, None]
        j = np.arange(n)[None, :]
        upper = j > i
        dx = np.sign(x[j] - x[i])[upper]
        dy = np.sign(y[j] - y[i])[upper]
        agreement += float(np.sum(dx * dy))
        tied_x += int(np.sum(dx == 0))
        tied_y += int(np.sum(dy == 0))
        pairs += int(upper.sum())
    denom = np.sqrt(float(pairs - tied_x) * float(pairs - tied_y))
    return float(agreement / denom) if denom > 0 else float("nan")


def estimate_error_stats(estimated, measured) -> dict:
    """Error of ``estimated`` against ``measured`` over the rows where both are finite and
    measured > 0: ``n``, ``within_10pct``, ``mape_pct``, ``kendall_tau`` (does the estimate
    order the networks as the device does?), ``median_ratio``; None where undefined (JSON)."""
    est = np.asarray(estimated, dtype=float)
    meas = np.asarray(measured, dtype=float)
    ok = np.isfinite(est) & np.isfinite(meas) & (meas > 0)
    est, meas = est[ok], meas[ok]
    if len(est) == 0:
        return {"n": 0, "within_10pct": None, "mape_pct": None, "kendall_tau": None, "median_ratio": None}
    tau = kendall_tau(est, meas)
    return {
        "n": int(len(est)),
        "within_10pct": within_fraction(est, meas),
        "mape_pct": mape(est, meas),
        "kendall_tau": None if np.isnan(tau) else tau,
        "median_ratio": float(np.median(est / meas)),
    }


def _pairs(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(list(a), dtype=float), np.asarray(list(b), dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"hwnas.stats: samples of different length ({len(a)} and {len(b)})")
    return a, b
