"""Pareto dominance on a cost matrix (every objective minimized).

Definition: row ``i`` is dominated when some row ``j`` is at least as good in every objective
and strictly better in at least one. Rows that are not dominated form the front. Consequences:
exact duplicates dominate neither each other, so both stay on the front (or both leave it);
a row that ties another in one objective and is worse in the other is dominated.
"""

import numpy as np

__all__ = ["nondominated_mask", "to_costs"]

# Block sizes for the n-D sweep: a (block x front-chunk x objectives) boolean array stays a
# few tens of MB at most, whatever the number of rows.
_BLOCK = 1024
_FRONT_CHUNK = 4096
_STRONG = 256  # rows used to pre-filter large n-D tables


def to_costs(values, maximize) -> np.ndarray:
    """Float cost matrix with maximized objectives negated, so that smaller is better everywhere."""
    costs = np.array(values, dtype=float, copy=True)
    if costs.ndim != 2:
        raise ValueError("values must be a 2-D array (rows x objectives)")
    signs = np.where(np.asarray(maximize, dtype=bool), -1.0, 1.0)
    return costs * signs


def nondominated_mask(costs) -> np.ndarray:
    """Boolean mask of the rows of ``costs`` (n x k, minimized, finite) that are on the front."""
    costs = np.asarray(costs, dtype=float)
    if costs.ndim != 2:
        raise ValueError("costs must be a 2-D array (rows x objectives)")
    n, k = costs.shape
    if n == 0:
        return np.zeros(0, dtype=bool)
    if not np.all(np.isfinite(costs)):
        raise ValueError("costs must be finite (drop rows with missing objectives first)")
    if k == 1:
        return costs[:, 0] == costs[:, 0].min()
    if k == 2:
        return _mask_2d(costs)
    return _mask_nd(costs)


def _mask_2d(costs: np.ndarray) -> np.ndarray:
    """O(n log n) sweep: sort by (f1, f2); a row survives when it has the smallest f2 of its f1
    group and that f2 is strictly below every f2 seen at a strictly smaller f1."""
    f1, f2 = costs[:, 0], costs[:, 1]
    order = np.lexsort((f2, f1))
    s1, s2 = f1[order], f2[order]
    group_start = np.searchsorted(s1, s1, side="left")
    best_before = np.concatenate(([np.inf], np.minimum.accumulate(s2)))[group_start]
    keep_sorted = (s2 == s2[group_start]) & (s2 < best_before)
    mask = np.zeros(len(costs), dtype=bool)
    mask[order] = keep_sorted
    return mask


def _dominated_by(candidates: np.ndarray, others: np.ndarray) -> np.ndarray:
    """For each candidate row: is it dominated by any row of ``others``? (chunked over others)

    Built column by column on 2-D (candidate x other) arrays: with 2 or 3 objectives this is
    several times faster than reducing a 3-D array along its short last axis."""
    hit = np.zeros(len(candidates), dtype=bool)
    for start in range(0, len(others), _FRONT_CHUNK):
        block = others[start : start + _FRONT_CHUNK]
        le = np.ones((len(candidates), len(block)), dtype=bool)
        lt = np.zeros_like(le)
        for d in range(candidates.shape[1]):
            column, cand = block[None, :, d], candidates[:, d, None]
            le &= column <= cand
            lt |= column < cand
        hit |= (le & lt).any(axis=1)
    return hit


def _mask_nd(costs: np.ndarray) -> np.ndarray:
    """Pre-filter with a few strong rows, then the exact block sweep on what is left.

    The rows with the best rank sums dominate most of a large table; any row they dominate is
    off the front, and since the strong rows kept are mutually non-dominated they survive the
    filter, so whatever they dominated transitively is still caught by the sweep.
    """
    n = len(costs)
    if n <= 4 * _BLOCK:
        return _sweep_nd(costs)
    ranks = np.argsort(np.argsort(costs, axis=0), axis=0).sum(axis=1)
    strong = costs[np.argsort(ranks, kind="stable")[:_STRONG]]
    strong = strong[_sweep_nd(strong)]
    alive = np.ones(n, dtype=bool)
    for start in range(0, n, _BLOCK):
        alive[start : start + _BLOCK] = ~_dominated_by(costs[start : start + _BLOCK], strong)
    mask = np.zeros(n, dtype=bool)
    kept = np.flatnonzero(alive)
    mask[kept] = _sweep_nd(costs[kept])
    return mask


def _sweep_nd(costs: np.ndarray) -> np.ndarray:
    """Sort lexicographically, then sweep in blocks against the front found so far.

    A dominator is lexicographically strictly smaller than the row it dominates, so a row only
    needs checking against earlier rows: the front so far, and the earlier rows of its own block.
    Cost is about n x |front| comparisons: fast for the fronts real data has (tens to a few
    thousand rows); a pathological all-on-the-front table of 100,000 rows would be slow.
    """
    order = np.lexsort(costs.T[::-1])
    ranked = costs[order]
    keep_sorted = np.zeros(len(ranked), dtype=bool)
    front = np.empty((0, costs.shape[1]))
    for start in range(0, len(ranked), _BLOCK):
        block = ranked[start : start + _BLOCK]
        alive = ~_dominated_by(block, front)
        survivors = block[alive]
        # within the block; comparing against all survivors is fine: a later row never dominates
        alive_idx = np.flatnonzero(alive)
        inner = ~_dominated_by(survivors, survivors)
        keep_sorted[start + alive_idx[inner]] = True
        front = np.vstack([front, survivors[inner]])
    mask = np.zeros(len(costs), dtype=bool)
    mask[order] = keep_sorted
    return mask
