"""--strategy random: reproducible uniform architectures proposed through Ray Tune's
searcher machinery, a bad strategy refused in one line, and (slow) a tiny random sweep
in the experiment layout that pareto reads."""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from hwnas.config import ExperimentConfig
from hwnas.errors import UserError
from hwnas.space import get_space
from sweep.options import check_static
from sweep.random_arch import RandomArchSearcher, draw_architecture, make_random_search_alg
from sweep.run import main
from sweep.searcher import TrialLimitSearch

ROOT = Path(__file__).resolve().parents[1]
SPACE = get_space("fbnet-cpu", 1.0, 10)


def test_architecture_depends_on_seed_and_index_only():
    a = draw_architecture(SPACE.ops, SPACE.num_layers, seed=3, index=5)
    assert a == draw_architecture(SPACE.ops, SPACE.num_layers, seed=3, index=5)
    assert len(a) == SPACE.num_layers
    assert set(a) <= set(SPACE.ops)
    others = {tuple(draw_architecture(SPACE.ops, SPACE.num_layers, seed=s, index=i)) for s, i in ((3, 6), (4, 5))}
    assert tuple(a) not in others


def test_ops_are_drawn_uniformly_per_layer():
    counts = Counter(op for i in range(400) for op in draw_architecture(SPACE.ops, SPACE.num_layers, 0, i))
    expected = 400 * SPACE.num_layers / len(SPACE.ops)
    assert set(counts) == set(SPACE.ops)
    assert all(abs(n - expected) < 0.2 * expected for n in counts.values()), counts


def test_searcher_counts_proposals_and_resumes_where_it_stopped(tmp_path):
    s = RandomArchSearcher(SPACE.ops, SPACE.num_layers, seed=1)
    first = [s.suggest(f"t{i}") for i in range(3)]
    assert [c["arch_index"] for c in first] == [0, 1, 2]
    assert first[2]["ops"] == draw_architecture(SPACE.ops, SPACE.num_layers, 1, 2)
    s.save(str(tmp_path / "state.pkl"))
    again = RandomArchSearcher(("skip",), 1, seed=9)
    again.restore(str(tmp_path / "state.pkl"))
    assert again.suggest("t3") == s.suggest("t3")
    assert again.suggest("t4")["arch_index"] == 4


def test_search_alg_is_budgeted_and_limited():
    alg = make_random_search_alg(SPACE, concurrency=2, seed=0)
    assert isinstance(alg, TrialLimitSearch)
    assert alg.searcher.max_concurrent == 2
    assert isinstance(alg.searcher.searcher, RandomArchSearcher)


def test_bad_strategy_is_one_line(tmp_path, capsys):
    cfg = ExperimentConfig()
    cfg.sweep.strategy = "greedy"
    with pytest.raises(UserError, match=r"sweep.strategy 'greedy': expected one of dnas, random"):
        check_static(cfg)
    with pytest.raises(SystemExit) as exit_:
        main(["--set", "sweep.strategy=greedy", "--storage", str(tmp_path)])
    assert exit_.value.code == 2
    assert "sweep.strategy 'greedy'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_random_sweep_layout_is_read_by_pareto(tmp_path):
    """Two random trials of the smoke config (22-layer fbnet-cifar, builtin LUT): no
    warm-up, arch.json with ops, LUT estimate and picked=random, params.json with the ops.
    Both at once (nothing here depends on the order); no final stage (nothing reads it here,
    tests/test_contract.py checks one)."""
    from pareto.columns import lut_columns
    from pareto.experiment import read_experiment

    cmd = [
        sys.executable,
        "-m",
        "sweep.run",
        "--strategy",
        "random",
        "--trials",
        "2",
        "--concurrency",
        "2",
        "--set",
        "final.epochs=0",
        "--config",
        str(ROOT / "configs" / "smoke.yaml"),
        "--storage",
        str(tmp_path),
        "--name",
        "rnd",
    ]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    experiment = tmp_path / "rnd"
    record = json.loads((experiment / "sweep.json").read_text())
    assert record["strategy"] == "random"
    assert record["warmup"] is None
    assert not (experiment / "warmup.pt").exists()

    trials = sorted(p for p in experiment.glob("trial_*") if p.is_dir())
    assert len(trials) == 2
    for trial in trials:
        params = json.loads((trial / "params.json").read_text())
        arch = json.loads((trial / "search" / "arch.json").read_text())
        assert arch["picked"] == "random"
        assert arch["ops"] == params["ops"]
        assert arch["ops"] == draw_architecture(get_space("fbnet-cifar", 1.0, 10).ops, 22, 0, params["arch_index"])
        assert arch["lut_latency_ms"] > 0
        assert arch["lut"] == "builtin:rpi4-hwnasbench"
        assert (trial / "child" / "metrics.json").is_file()

    exp = read_experiment(str(experiment))
    rows = exp.trials
    assert (rows["status"] == "finished").all()
    assert len(rows) == 2
    assert sorted(rows["ops"]) == sorted(" ".join(json.loads((t / "params.json").read_text())["ops"]) for t in trials)
    assert rows[lut_columns("builtin:rpi4-hwnasbench")["latency"]].notna().all()
    assert rows["measured_latency_ms"].notna().all()
    assert rows["alpha"].isna().all()
    assert exp.sweep["strategy"] == "random"
