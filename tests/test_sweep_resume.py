"""Kill a running sweep with SIGKILL, resume it: every trial finishes exactly once,
interrupted trials continue from their checkpoints, the baselines the kill lost train again.
(A moved or renamed experiment resumes where it is: tests/test_faults_signals.py.)

One real (tiny) sweep on real Fashion-MNIST images: configs/sweep-smoke.yaml with a
quickly profiled LUT for its space, 2 trials, one baseline (the cheapest: whether baselines
train again does not depend on how many), no final stage (tests/test_contract.py reads one;
here it would train twice and nothing looks at it)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hwnas.measured import measured_baselines
from hwnas.records import BaselineRecord, check_record, result_rows

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _trials(experiment: Path) -> list[Path]:
    return sorted(p for p in experiment.glob("trial_*") if p.is_dir())


def _sweep(storage: Path, *args, name: str = "smoke") -> list[str]:
    return [sys.executable, "-m", "sweep.run", "--storage", str(storage), "--name", name, *args]


# the first run's settings (the resumed runs read them from sweep.json)
_SETS = ("baselines.mobilenet_v2=null", "baselines.mnasnet=null", "final.epochs=0")


def test_a_killed_sweep_resumes_every_trial_once(tmp_path, smoke_lut):
    storage = tmp_path / "experiments"
    experiment = storage / "smoke"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    first = subprocess.Popen(
        _sweep(
            storage,
            *("--config", str(ROOT / "configs" / "sweep-smoke.yaml"), "--trials", "2"),
            *(a for s in (f"lut.path={smoke_lut}", *_SETS) for a in ("--set", s)),
        ),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # kill once a trial is in the middle of its work (reported epochs, not done)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and first.poll() is None:
            rows = {t.name: result_rows(t) for t in _trials(experiment)}
            if any(len(r) >= 2 and r[-1]["phase"] != "done" for r in rows.values()):
                break
            time.sleep(0.2)
        assert first.poll() is None, "the sweep ended before it could be interrupted"
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    interrupted = {t.name for t in _trials(experiment) if result_rows(t) and result_rows(t)[-1]["phase"] != "done"}
    assert interrupted

    resumed = subprocess.run(
        _sweep(storage, "--resume"), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"python -m pareto.report {experiment}" in resumed.stdout

    trials = _trials(experiment)
    assert len(trials) == 2
    # the baseline trained with the childnet recipe (3 epochs), timed in the quiet phase
    baselines = json.loads((experiment / "baselines.json").read_text())
    assert [(b["name"], b["width"], b["epochs"]) for b in baselines] == [("resnet18", 0.125, 3)]
    for b in baselines:
        check_record(b, BaselineRecord, "baselines.json row")
        assert b["measured"]["pending"], "the quiet phase writes measurements.json only"
    measured = [b["measured"] for b in measured_baselines(experiment)]  # joined (hwnas.measured)
    assert all(0 <= b["test_acc"] <= 1 for b in baselines)
    assert all(m["latency_ms"] > 0 and "pending" not in m for m in measured), measured
    assert "baselines trained: resnet18 (width 0.125)" in resumed.stdout  # the kill lost them: again
    for trial in trials:
        rows = result_rows(trial)
        assert rows[-1]["phase"] == "done"
        assert 0 <= rows[-1]["test_acc"] <= 1
        assert rows[-1]["lut_latency_ms"] > 0
        assert rows[-1]["trial_seconds"] > 0
        assert all("phase" in r and "test_acc" in r for r in rows)
        assert (trial / "search" / "arch.json").is_file()
        assert (trial / "child" / "metrics.json").is_file()
        assert (trial / "config.yaml").is_file()
        # no epoch of any phase was reported twice: nothing ran again
        keys = [(r["phase"], r["epoch"]) for r in rows if r["phase"] != "done"]
        assert len(keys) == len(set(keys)), keys
        state = json.loads((trial / "trial_state.json").read_text())
        fresh = [s for s in state["starts"] if not s["resumed"]]
        assert len(fresh) == 1, state["starts"]  # started from scratch exactly once
        if trial.name in interrupted:
            again = [s for s in state["starts"] if s["resumed"]]
            assert again, state["starts"]
            # continued from a checkpoint: a later epoch or phase, never search epoch 0
            assert all(s["phase"] != "search" or s["epoch"] > 0 for s in again), again
