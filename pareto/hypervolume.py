"""Exact hypervolume (2 or 3 objectives) of a set of points, all objectives minimized.

The hypervolume is the volume of the region dominated by the points and bounded by the
reference point. Points not strictly better than the reference in every objective add nothing.
Maximized objectives are negated first (see :func:`pareto.dominance.to_costs`), and so is
their reference value.

Reference point rule used by the report (:func:`default_reference`): the worst value of each
objective over ALL rows that have every objective (not only the front), moved further out by
10 % of that objective's range (best to worst), so that the front's extreme points, which sit
at the worst value of some objective, still count (with the bare worst point a 2-point front
has hypervolume 0). When an objective has no range, the margin is 10 % of its worst value's
magnitude (1.0 if that is 0).
"""

import numpy as np

from .dominance import nondominated_mask

__all__ = ["hypervolume", "default_reference", "REFERENCE_RULE"]

REFERENCE_RULE = (
    "worst value of each objective over the rows used, moved out by 10 % of the "
    "objective's range (10 % of |worst| when all rows tie)"
)


def default_reference(costs, margin: float = 0.1) -> np.ndarray:
    """The documented default reference point of minimized ``costs`` (see the module docstring)."""
    costs = np.asarray(costs, dtype=float)
    if costs.ndim != 2 or len(costs) == 0:
        raise ValueError("need at least one row to build a reference point")
    worst, best = costs.max(axis=0), costs.min(axis=0)
    span = worst - best
    fallback = np.where(worst != 0, np.abs(worst), 1.0)
    return worst + margin * np.where(span > 0, span, fallback)


def hypervolume(costs, reference) -> float:
    """Exact hypervolume of ``costs`` (n x 2 or n x 3, minimized) with respect to ``reference``."""
    costs = np.asarray(costs, dtype=float)
    reference = np.asarray(reference, dtype=float)
    if costs.ndim != 2 or costs.shape[1] not in (2, 3):
        raise ValueError("hypervolume needs 2 or 3 objectives")
    if reference.shape != (costs.shape[1],):
        raise ValueError("reference point must have one value per objective")
    inside = costs[(costs < reference).all(axis=1)]
    if len(inside) == 0:
        return 0.0
    inside = np.unique(inside[nondominated_mask(inside)], axis=0)
    if costs.shape[1] == 2:
        return _hv2(inside, reference)
    return _hv3(inside, reference)


def _hv2(front: np.ndarray, reference: np.ndarray) -> float:
    """Staircase area: sort by f1 ascending (f2 then descends on a front)."""
    front = front[np.argsort(front[:, 0])]
    right = np.append(front[1:, 0], reference[0])
    return float(np.sum((right - front[:, 0]) * (reference[1] - front[:, 1])))


def _hv3(front: np.ndarray, reference: np.ndarray) -> float:
    """Slice along f3: between consecutive f3 levels the dominated region's cross-section is the
    2-D dominated area of the points at or below that level. Points are sorted by f1 once; a
    slice's area is the integral over f1 of (ref2 - running minimum of f2 over included points),
    with excluded points counted at f2 = ref2 (no contribution). O(n^2) with O(n) numpy per slice.
    """
    by_f1 = front[np.argsort(front[:, 0], kind="stable")]
    widths = np.diff(np.append(by_f1[:, 0], reference[0]))
    levels = np.sort(front[:, 2])
    bounds = np.append(levels, reference[2])
    volume = 0.0
    for i, level in enumerate(levels):
        thickness = bounds[i + 1] - level
        if thickness <= 0:
            continue
        f2 = np.where(by_f1[:, 2] <= level, by_f1[:, 1], reference[1])
        volume += float(np.sum(widths * (reference[1] - np.minimum.accumulate(f2)))) * thickness
    return float(volume)
