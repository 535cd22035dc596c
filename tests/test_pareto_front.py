"""Front definition (ties, duplicates, 2 and 3 objectives), the front CLI, and the IoTnets check."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from hwnas.errors import UserError
from pareto.dominance import nondominated_mask, to_costs
from pareto.front import front_positions, main

IOTNETS = os.path.join(os.path.dirname(__file__), "data", "iotnets")


def brute_force_mask(costs):
    costs = np.asarray(costs, dtype=float)
    keep = []
    for i in range(len(costs)):
        dominated = any(
            np.all(costs[j] <= costs[i]) and np.any(costs[j] < costs[i]) for j in range(len(costs)) if j != i
        )
        keep.append(not dominated)
    return np.array(keep)


def test_2d_hand_case():
    # minimize both; (3,3) is dominated by (2,2); (4,1) and (1,4) are extremes
    costs = [[1, 4], [2, 2], [3, 3], [4, 1], [5, 5]]
    assert nondominated_mask(costs).tolist() == [True, True, False, True, False]


def test_tie_in_one_objective_worse_in_other_is_dominated():
    # same first objective, worse second: dominated; same second, worse first: dominated
    assert nondominated_mask([[1, 5], [1, 6]]).tolist() == [True, False]
    assert nondominated_mask([[1, 5], [2, 5]]).tolist() == [True, False]
    assert nondominated_mask([[1, 5, 2], [1, 5, 3]]).tolist() == [True, False]


def test_exact_duplicates_both_stay_or_both_leave():
    assert nondominated_mask([[1, 2], [1, 2], [2, 1]]).tolist() == [True, True, True]
    assert nondominated_mask([[1, 2], [3, 3], [3, 3]]).tolist() == [True, False, False]
    assert nondominated_mask([[1, 2, 3], [1, 2, 3], [0, 5, 5]]).tolist() == [True, True, True]


def test_3d_hand_case():
    costs = [[1, 1, 9], [9, 1, 1], [1, 9, 1], [2, 2, 9], [5, 5, 5], [9, 9, 9]]
    assert nondominated_mask(costs).tolist() == [True, True, True, False, True, False]


@pytest.mark.parametrize("k", [2, 3])
def test_matches_brute_force_with_many_ties(k):
    rng = np.random.default_rng(k)
    for _ in range(20):
        costs = rng.integers(0, 6, size=(int(rng.integers(1, 60)), k))
        assert nondominated_mask(costs).tolist() == brute_force_mask(costs).tolist()


def test_3d_blocks_larger_than_one_chunk():
    rng = np.random.default_rng(7)
    # anti-correlated points: a large front spread over several 1024-row blocks
    x = rng.random(2500)
    costs = np.column_stack([x, 1 - x + rng.normal(0, 0.05, 2500), rng.integers(0, 3, 2500)])
    mask = nondominated_mask(costs)
    assert mask.sum() > 50
    sample = rng.choice(2500, 200, replace=False)
    for i in sample:
        dominated = np.any(np.all(costs <= costs[i], axis=1) & np.any(costs < costs[i], axis=1))
        assert mask[i] == (not dominated)


def test_maximize_is_negated():
    costs = to_costs([[0.9, 10], [0.8, 5], [0.7, 6]], maximize=[True, False])
    assert nondominated_mask(costs).tolist() == [True, True, False]


def test_missing_objective_rows_are_left_out():
    table = pd.DataFrame({"acc": [0.9, None, 0.5, 0.95], "lat": [10, 1, 1, "n/a"]})
    front, missing = front_positions(table, [("acc", "max"), ("lat", "min")])
    assert front == [0, 2]
    assert missing == [1, 3]


def test_bad_objectives():
    table = pd.DataFrame({"acc": [1.0], "lat": [2.0]})
    with pytest.raises(UserError, match="given twice"):
        front_positions(table, [("acc", "max"), ("acc", "min")])
    with pytest.raises(UserError, match="no column 'latency'"):
        front_positions(table, [("acc", "max"), ("latency", "min")])
    with pytest.raises(UserError, match="2 or 3 objectives"):
        front_positions(table, [("acc", "max")])


def _iotnets_table(results_file):
    with open(os.path.join(IOTNETS, "NetConfigs.json")) as fh:
        configs = json.load(fh)
    with open(os.path.join(IOTNETS, results_file)) as fh:
        results = json.load(fh)
    # joined by list position, as the reference README says
    return pd.DataFrame({"acc": [c["acc"] for c in configs], "t_avg": [r["t_avg"] for r in results]})


@pytest.mark.parametrize(
    "results_file, authors_picks, front_size",
    [
        ("results_RaspPi.json", [687, 611, 450, 405, 306, 349, 64], 44),
        ("results_MacBookPro.json", [1552, 1420, 1449, 851, 771, 64], 55),
    ],
)
def test_iotnets_authors_pareto_picks_are_on_our_front(results_file, authors_picks, front_size):
    front, missing = front_positions(_iotnets_table(results_file), [("acc", "max"), ("t_avg", "min")])
    assert missing == []
    # every hand-picked network is on the computed front (checked: none is dominated)
    assert set(authors_picks) <= set(front)
    # the authors picked a spread-out subset; the full front is larger
    assert len(front) == front_size


def test_iotnets_fronts_differ_between_devices():
    pi, _ = front_positions(_iotnets_table("results_RaspPi.json"), [("acc", "max"), ("t_avg", "min")])
    mac, _ = front_positions(_iotnets_table("results_MacBookPro.json"), [("acc", "max"), ("t_avg", "min")])
    assert set(pi) != set(mac)
    assert 64 in set(pi) & set(mac)  # the most accurate network is on both


def test_cli_json_last_line(capsys):
    path = os.path.join(IOTNETS, "results_RaspPi.json")
    assert main([path, "--max", "acc", "--min", "t_avg", "--json"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    positions = json.loads(last)
    assert {687, 611, 450, 405, 306, 349, 64} <= set(positions)
    assert positions == sorted(positions)


def test_cli_csv_and_missing_values(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("name,acc,lat,energy\na,0.9,10,1\nb,0.8,,1\nc,0.7,5,2\nd,0.7,5,2\ne,0.6,6,3\n")
    assert main([str(path), "--max", "acc", "--min", "lat", "--min", "energy", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out.strip().splitlines()[-1]) == [0, 2, 3]
    assert "left out 1 row(s) missing an objective: positions 1" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--max", "acc", "--min", "nope"], "no column 'nope'"),
        (["--max", "acc", "--min", "acc"], "objective 'acc' given twice"),
    ],
)
def test_cli_bad_columns_one_line(argv, message, capsys):
    path = os.path.join(IOTNETS, "results_RaspPi.json")
    assert main([path, *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_cli_bad_files_one_line(tmp_path, capsys):
    truncated = tmp_path / "t.json"
    truncated.write_text('[{"acc": 0.9, "lat": 1}, {"acc": 0.')
    assert main([str(truncated), "--max", "acc", "--min", "lat"]) == 2
    err = capsys.readouterr().err
    assert "t.json: not valid JSON" in err
    assert len(err.strip().splitlines()) == 1
    assert main([str(tmp_path / "missing.json"), "--max", "acc", "--min", "lat"]) == 2
    assert "no such file" in capsys.readouterr().err
    notlist = tmp_path / "o.json"
    notlist.write_text('{"acc": 1}')
    assert main([str(notlist), "--max", "acc", "--min", "lat"]) == 2
    assert "expected a JSON list of objects" in capsys.readouterr().err


def test_large_3d_prefilter_matches_plain_sweep():
    from pareto.dominance import _sweep_nd

    rng = np.random.default_rng(5)
    x = rng.integers(0, 40, 9000)
    # correlated with ties and duplicates: exercises the pre-filter path (more than 4096 rows)
    costs = np.column_stack([x, 40 - x + rng.integers(0, 6, 9000), rng.integers(0, 8, 9000)])
    costs = np.vstack([costs, costs[:50]])
    mask = nondominated_mask(costs)
    assert mask.tolist() == _sweep_nd(costs).tolist()
    assert 0 < mask.sum() < len(costs)


def test_cli_hypervolume_with_given_and_default_reference(tmp_path, capsys):
    path = tmp_path / "t.json"
    # maximize acc, minimize lat: front (0.9, 10), (0.8, 5); (0.7, 8) is dominated
    path.write_text(json.dumps([{"acc": 0.9, "lat": 10}, {"acc": 0.8, "lat": 5}, {"acc": 0.7, "lat": 8}]))
    assert main([str(path), "--max", "acc", "--min", "lat", "--ref", "0.7,12"]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("hypervolume=")][0]
    # 0.1 * (12 - 10) + 0.1 * (12 - 5) = 0.9
    assert line.startswith("hypervolume=0.9 reference: acc=0.7, lat=12 (given)")
    assert main([str(path), "--max", "acc", "--min", "lat"]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("hypervolume=")][0]
    # default reference: acc 0.7 - 0.02 = 0.68, lat 10 + 0.5 = 10.5; staircase over -acc:
    # -0.9 to -0.8: 0.1 * (10.5 - 10) = 0.05; -0.8 to -0.68: 0.12 * (10.5 - 5) = 0.66
    assert line.startswith("hypervolume=0.71 reference: acc=0.68, lat=10.5 (default")
    assert main([str(path), "--max", "acc", "--min", "lat", "--ref", "0.7"]) == 2
    assert "error: --ref needs 2 values (one per objective), got 1" in capsys.readouterr().err
