"""A trial that fails is recorded as failed with its reason and the sweep goes on; a
device resource that no node has stops the sweep at start with one line (a measurement
on a device that is gone: tests/test_device_loss.py)."""

import json
import pickle
from pathlib import Path

import optuna
import pytest

from hwnas.records import result_rows

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_failing_trials_are_recorded_and_the_sweep_goes_on(tmp_path, smoke_lut, run_smoke_sweep):
    # alpha up to 1e60 overflows float32 in the architecture loss (inf) for some proposals:
    # the search raises "search diverged", and only those trials fail. No baselines, no
    # final stage: nothing here reads them (tests/test_sweep_resume.py, test_contract.py do).
    run = run_smoke_sweep(
        "--name",
        "fail",
        "--trials",
        "4",
        "--set",
        f"lut.path={smoke_lut}",
        "--set",
        "sweep.knobs=absolute",
        "--set",
        "sweep.alpha=[0.01, 1.0e+60]",
        "--set",
        "search.epochs=3",
        "--set",
        "child.epochs=1",
        "--set",
        "baselines=null",
        "--set",
        "final.epochs=0",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    experiment = tmp_path / "experiments" / "fail"
    trials = sorted(experiment.glob("trial_*"))
    assert len(trials) == 4
    failed = [t for t in trials if (t / "error.txt").is_file()]
    done = [t for t in trials if not (t / "error.txt").is_file()]
    assert failed
    assert done
    for t in failed:
        assert "search diverged" in (t / "error.txt").read_text()
        assert json.loads((t / "params.json").read_text())["alpha"] > 1e30  # knobs stay visible
    for t in done:
        assert result_rows(t)[-1]["phase"] == "done"
    assert f"{len(failed)} failed" in run.stdout
    assert "search diverged" in run.stdout

    # Optuna's study (Ray Tune's searcher state) holds the failed proposals as FAIL with their knobs
    state_file = sorted(experiment.glob("searcher-state-*.pkl"))[-1]
    study = pickle.loads(state_file.read_bytes())["_ot_study"]
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.FAIL) == len(failed)
    assert states.count(optuna.trial.TrialState.COMPLETE) == len(done)
    assert all("alpha" in t.params for t in study.trials)
    # the same study in the experiment's own file, as optuna-dashboard opens it
    record = json.loads((experiment / "sweep.json").read_text())
    assert record["optuna"]["storage"] == f"sqlite:///{experiment.resolve()}/optuna.db"
    stored = optuna.load_study(study_name=record["optuna"]["study_name"], storage=record["optuna"]["storage"])
    assert [t.state for t in stored.trials] == states
    assert [t.params for t in stored.trials] == [t.params for t in study.trials]


def test_missing_device_resource_stops_at_start(tmp_path, smoke_lut, run_smoke_sweep):
    run = run_smoke_sweep("--name", "pi", "--set", "measure.device=rpi4", "--set", f"lut.path={smoke_lut}", timeout=120)
    assert run.returncode == 2
    err = run.stderr.strip().splitlines()[-1]
    assert err.startswith("error: measure.device 'rpi4': no node in the Ray cluster has resource 'rpi4'"), err
    assert not (tmp_path / "experiments" / "pi").exists()
