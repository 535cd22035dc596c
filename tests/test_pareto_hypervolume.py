"""Hypervolume against hand-computed cases and an exact grid brute force; error statistics."""

import itertools

import numpy as np
import pytest
from scipy.stats import kendalltau

from hwnas.stats import estimate_error_stats, kendall_tau
from pareto.dominance import to_costs
from pareto.hypervolume import default_reference, hypervolume


def grid_hypervolume(points, reference):
    """Exact by coordinate compression: a grid cell is dominated when its lower corner is."""
    points = np.asarray(points, dtype=float)
    axes = [np.unique(np.append(points[:, d], reference[d])) for d in range(points.shape[1])]
    axes = [a[a <= reference[d]] for d, a in enumerate(axes)]
    total = 0.0
    for cell in itertools.product(*[range(len(a) - 1) for a in axes]):
        lower = np.array([axes[d][i] for d, i in enumerate(cell)])
        if np.any(np.all(points <= lower, axis=1)):
            total += np.prod([axes[d][i + 1] - axes[d][i] for d, i in enumerate(cell)])
    return total


def test_2d_staircase_by_hand():
    # (1,3), (2,2), (3,1) with reference (4,4): 1*1 + 1*2 + 1*3 = 6
    assert hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4]) == pytest.approx(6.0)


def test_3d_single_box_and_overlap_by_hand():
    assert hypervolume([[1, 1, 1]], [3, 3, 3]) == pytest.approx(8.0)
    # boxes of 2 and 4 overlapping in a unit cube: 2 + 4 - 1 = 5
    assert hypervolume([[1, 2, 2], [2, 1, 1]], [3, 3, 3]) == pytest.approx(5.0)


def test_dominated_duplicate_and_outside_points_add_nothing():
    base = hypervolume([[1, 3], [3, 1]], [4, 4])
    assert base == pytest.approx(3 * 1 + 1 * 2)  # 5
    assert hypervolume([[1, 3], [3, 1], [3, 3], [1, 3], [5, 0], [0, 4]], [4, 4]) == pytest.approx(base)
    assert hypervolume([[5, 5]], [4, 4]) == 0.0


def test_maximized_objective_is_flipped():
    # accuracy (max) vs latency (min): points (0.9, 10), (0.8, 5); reference acc 0.7, lat 12
    costs = to_costs([[0.9, 10], [0.8, 5]], maximize=[True, False])
    reference = np.array([-0.7, 12.0])
    # staircase over -acc: -0.9 (width to -0.8 = 0.1, height 12-10 = 2) + -0.8 (width to -0.7 = 0.1, height 7)
    assert hypervolume(costs, reference) == pytest.approx(0.1 * 2 + 0.1 * 7)


def test_default_reference_is_worst_plus_tenth_of_range():
    ref = default_reference([[1, 5, 2], [3, 1, 2], [2, 2, 9]])
    # ranges 2, 4, 7 -> worst + 0.2, 0.4, 0.7
    assert ref.tolist() == pytest.approx([3.2, 5.4, 9.7])
    # no range: 10 % of |worst|, or 1.0 when worst is 0
    assert default_reference([[-0.5, 0.0], [-0.5, 0.0]]).tolist() == pytest.approx([-0.45, 0.1])


def test_two_extreme_points_count_with_default_reference():
    # with the bare worst point as reference this front would have hypervolume 0
    costs = np.array([[-0.44, 0.13], [-0.385, 0.063]])
    ref = default_reference(costs)
    assert hypervolume(costs, ref) > 0
    expected = (
        (ref[0] - (-0.44)) * (ref[1] - 0.13)
        + (ref[0] - (-0.385)) * (ref[1] - 0.063)
        - (ref[0] - (-0.385)) * (ref[1] - 0.13)
    )
    assert hypervolume(costs, ref) == pytest.approx(expected)


@pytest.mark.parametrize("k", [2, 3])
def test_matches_exact_grid_brute_force(k):
    rng = np.random.default_rng(11 + k)
    for _ in range(15):
        points = rng.integers(0, 7, size=(int(rng.integers(1, 9)), k)).astype(float)
        reference = np.full(k, 6.5)
        assert hypervolume(points, reference) == pytest.approx(grid_hypervolume(points, reference))


def test_kendall_tau_matches_scipy_with_ties():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, 700)
    y = x + rng.integers(0, 4, 700)
    assert kendall_tau(x, y) == pytest.approx(kendalltau(x, y).statistic)
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(kendall_tau([1, 1], [1, 2]))
    assert np.isnan(kendall_tau([1], [2]))


def test_error_stats_by_hand():
    stats = estimate_error_stats([10, 11, 15, np.nan], [10, 10, 10, 10])
    assert stats["n"] == 3
    assert stats["within_10pct"] == pytest.approx(2 / 3)  # 0 % and 10 % in, 50 % out
    assert stats["mape_pct"] == pytest.approx((0 + 10 + 50) / 3)
    assert estimate_error_stats([], [])["mape_pct"] is None
