"""Agreement between LUT estimates and measurements (pure helpers)."""

from __future__ import annotations

import math

__all__ = ["kendall_tau", "mape", "within_fraction"]


def within_fraction(predicted, measured, tolerance: float = 0.10) -> float:
    """Share of pairs with ``|predicted - measured| <= tolerance * measured``."""
    pairs = list(zip(predicted, measured, strict=True))
    return sum(abs(p - m) <= tolerance * abs(m) for p, m in pairs) / len(pairs)


def mape(predicted, measured) -> float:
    """Mean absolute percentage error, in percent."""
    pairs = list(zip(predicted, measured, strict=True))
    return 100.0 * sum(abs(p - m) / abs(m) for p, m in pairs) / len(pairs)


def kendall_tau(x, y) -> float:
    """Kendall's tau-b (ties in either list handled); ``nan`` if a list is constant."""
    x, y = list(x), list(y)
    if len(x) != len(y):
        raise ValueError("kendall_tau: lists of different length")
    concordant = discordant = ties_x = ties_y = 0
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    denom = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return (concordant - discordant) / denom if denom else float("nan")
