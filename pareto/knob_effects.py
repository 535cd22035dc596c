"""Do the knobs steer cost? Rank correlation of alpha with the found network's LUT latency.

Rules: over FINISHED trials that have both values; Spearman's rho = Pearson's correlation of
the average ranks (ties share their mean rank, as ``scipy.stats.spearmanr`` does), computed with
pandas so the report needs no scipy. None below 2 pairs or when one side is constant. A rho
near -1 means a larger alpha (latency weight of the loss) reliably gave a faster network.
"""

import numpy as np
import pandas as pd

from hwnas.domains import KNOBS

__all__ = ["KNOBS", "knob_effects", "spearman"]


def spearman(x, y) -> tuple[float | None, int]:
    """``(rho, n)`` over the pairs where both are finite (see the module docstring)."""
    pairs = pd.DataFrame(
        {
            "x": pd.to_numeric(pd.Series(np.asarray(x)), errors="coerce"),
            "y": pd.to_numeric(pd.Series(np.asarray(y)), errors="coerce"),
        }
    )
    pairs = pairs[np.isfinite(pairs.to_numpy(dtype=float)).all(axis=1)]
    n = len(pairs)
    if n < 2 or pairs["x"].nunique() < 2 or pairs["y"].nunique() < 2:
        return None, n
    return float(pairs["x"].rank().corr(pairs["y"].rank())), n


def knob_effects(trials: pd.DataFrame, latency_column: str | None) -> dict:
    """report.json's ``knob_effects``: ``{"spearman_alpha_lat", "n", "latency_column"}``."""
    finished = trials[trials["status"] == "finished"]
    if latency_column is None or latency_column not in finished:
        return {"spearman_alpha_lat": None, "n": 0, "latency_column": None}
    rho, n = spearman(finished["alpha"], finished[latency_column])
    return {"spearman_alpha_lat": rho, "n": n, "latency_column": latency_column}
