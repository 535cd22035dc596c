"""Agreement between LUT-estimated and measured latency: within +-10 %, MAPE, Kendall tau-b."""

import numpy as np

__all__ = ["kendall_tau_b", "estimate_error_stats"]


def kendall_tau_b(x, y) -> float | None:
    """Kendall's tau-b (ties corrected) of two equal-length samples; None below 2 points or when
    one sample is constant. O(n^2) pairs, chunked: fine for the thousands of trials a sweep has."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(x)
    if n < 2:
        return None
    concordant_minus_discordant = 0.0
    tied_x = tied_y = pairs = 0
    for start in range(0, n, 512):
        i = np.arange(start, min(start + 512, n))[:, None]
        j = np.arange(n)[None, :]
        upper = j > i
        dx = np.sign(x[j] - x[i])[upper]
        dy = np.sign(y[j] - y[i])[upper]
        concordant_minus_discordant += float(np.sum(dx * dy))
        tied_x += int(np.sum(dx == 0))
        tied_y += int(np.sum(dy == 0))
        pairs += int(upper.sum())
    denom = np.sqrt(float(pairs - tied_x) * float(pairs - tied_y))
    return None if denom == 0 else float(concordant_minus_discordant / denom)


def estimate_error_stats(estimated, measured) -> dict:
    """Error of ``estimated`` against ``measured`` over rows where both are finite and measured > 0.

    ``within_10pct``: fraction of rows with ``|est - meas| <= 0.10 * meas``; ``mape_pct``: mean of
    ``|est - meas| / meas`` in percent; ``kendall_tau``: rank agreement (does the LUT order the
    networks as the device does?). None when there are no rows.
    """
    est = np.asarray(estimated, dtype=float)
    meas = np.asarray(measured, dtype=float)
    ok = np.isfinite(est) & np.isfinite(meas) & (meas > 0)
    est, meas = est[ok], meas[ok]
    if len(est) == 0:
        return {"n": 0, "within_10pct": None, "mape_pct": None, "kendall_tau": None, "median_ratio": None}
    rel = np.abs(est - meas) / meas
    return {
        "n": int(len(est)),
        "within_10pct": float(np.mean(rel <= 0.10)),
        "mape_pct": float(np.mean(rel) * 100.0),
        "kendall_tau": kendall_tau_b(est, meas),
        "median_ratio": float(np.median(est / meas)),
    }
