"""One writer per experiment (issue 22, item 2): the experiment's lock (``hwnas.layout.LOCK``,
``hwnas.lock``) refuses a second ``sweep.run`` (new or ``--resume``), a second measurement
phase and a web sweep job in one line naming the holder's PID and host (exit 2), and writes
nothing; the holder's children share its lock instead of waiting for it; the OS frees it
when the holder dies. The real race of two ``sweep.run`` is a slow test."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from one_line import refused

from hwnas.config import ExperimentConfig, config_to_dict
from hwnas.errors import UserError
from hwnas.layout import LOCK, RECORD
from hwnas.lock import LOCK_FD_ENV
from sweep.experiment import check_unlocked, lock_experiment, write_json

ROOT = Path(__file__).resolve().parents[1]
HOST = socket.gethostname()


def _no_start(*args, **kwargs):
    raise AssertionError("got past the lock check: Ray and the LUT would start now")


def _recorded(experiment: Path) -> Path:
    """A sweep record (what --resume reads) for the default config."""
    write_json(experiment / RECORD, {"config": config_to_dict(ExperimentConfig()), "trials": 30})
    return experiment


def test_a_second_new_sweep_is_refused_naming_the_holder(tmp_path, capsys, monkeypatch):
    from sweep.run import main

    monkeypatch.setattr("sweep.run.connect_and_check", _no_start)
    experiment = tmp_path / "e"
    with lock_experiment(experiment, "sweep.run"):
        err = refused(main, ["--storage", str(tmp_path), "--name", "e"], capsys)
    assert f"experiment {experiment} is in use by sweep.run (PID {os.getpid()} on host {HOST}" in err, err
    assert "wait for it to end or stop it" in err
    assert str(experiment / LOCK) in err
    assert sorted(p.name for p in experiment.iterdir()) == [LOCK]  # nothing else written


def test_resume_while_the_sweep_runs_isrefused(tmp_path, capsys, monkeypatch):
    from sweep.run import main

    monkeypatch.setattr("sweep.run.connect_and_check", _no_start)
    experiment = _recorded(tmp_path / "e")
    before = (experiment / RECORD).read_text()
    with lock_experiment(experiment, "sweep.run"):
        err = refused(main, ["--resume", "--storage", str(tmp_path), "--name", "e"], capsys)
    assert f"is in use by sweep.run (PID {os.getpid()} on host {HOST}" in err, err
    assert (experiment / RECORD).read_text() == before


def test_the_exists_check_runs_again_under_the_lock(tmp_path, capsys, monkeypatch):
    """Two starts of one name at once both pass the first check (no lock, no sweep.json yet);
    the one that locks second finds the other's sweep.json under the lock and stops."""
    from sweep.run import main

    def the_other_start_wins(cfg, experiment, record, address):
        _recorded(experiment)  # what the other sweep.run wrote meanwhile
        return object()

    monkeypatch.setattr("sweep.run.check_data", lambda *a: {})
    monkeypatch.setattr("sweep.run.connect_and_check", the_other_start_wins)
    monkeypatch.setattr("sweep.run.open_record", _no_start)
    err = refused(main, ["--storage", str(tmp_path), "--name", "e"], capsys)
    assert "exists; continue it with --resume" in err, err


def test_the_measurement_phase_on_its_own_is_refused_while_a_sweep_runs(tmp_path, capsys):
    from sweep.measurements import main

    experiment = _recorded(tmp_path / "e")
    with lock_experiment(experiment, "sweep.run"):
        err = refused(main, [str(experiment)], capsys)
    assert f"is in use by sweep.run (PID {os.getpid()}" in err, err
    assert not (experiment / "measurements.json").exists()
    # no sweep there: its own line, and the lock makes no folder
    assert "no sweep experiment at" in refused(main, [str(tmp_path / "none")], capsys)
    assert not (tmp_path / "none").exists()


_TAKE = (
    "import sys; from sweep.experiment import lock_experiment; from hwnas.errors import UserError\n"
    "try:\n    lock = lock_experiment(sys.argv[1], 'child')\nexcept UserError as err:\n"
    "    print(err); sys.exit(2)\nprint('locked', flush=True)\n"
    "import time; time.sleep(float(sys.argv[2]))\n"
)


def _python(*args, **kwargs) -> subprocess.CompletedProcess:
    env = kwargs.pop("env", dict(os.environ))
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-c", *args], capture_output=True, text=True, env=env, timeout=60, **kwargs)


@pytest.mark.heavy
def test_a_child_shares_its_parents_lock_and_others_wait(tmp_path):
    experiment = tmp_path / "e"
    with lock_experiment(experiment, "sweep.run") as lock:
        child = _python(_TAKE, str(experiment), "0", **lock.child())
        assert child.returncode == 0, child.stdout + child.stderr
        assert child.stdout.strip() == "locked", child.stdout + child.stderr
        other = _python(_TAKE, str(experiment), "0")  # no lock handed down: refused
        assert other.returncode == 2, other.stdout
        assert f"in use by sweep.run (PID {os.getpid()}" in other.stdout, other.stdout
        # a descriptor number that is not this lock file's (a stale variable) gives nothing
        stale = _python(_TAKE, str(experiment), "0", env={**os.environ, LOCK_FD_ENV: "0"})
        assert stale.returncode == 2, stale.stdout
    # the child's end did not give up the parent's lock, the parent's end did
    check_unlocked(experiment)


@pytest.mark.heavy
def test_the_os_frees_the_lock_of_a_killed_holder(tmp_path):
    experiment = tmp_path / "e"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    holder = subprocess.Popen(
        [sys.executable, "-c", _TAKE, str(experiment), "60"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match=f"in use by child \\(PID {holder.pid} on host {HOST}, since "):
            check_unlocked(experiment)
        info = json.loads((experiment / LOCK).read_text())
        assert info["pid"] == holder.pid
        assert info["host"] == HOST
        assert info["command"] == "child"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    check_unlocked(experiment)  # no stale lock: the file stays, the lock went with the process
    with lock_experiment(experiment, "sweep.run"):
        assert json.loads((experiment / LOCK).read_text())["pid"] == os.getpid()


def test_a_web_sweep_on_an_experiment_in_use_isrefused(tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from sweep.web.app import create_app

    storage = tmp_path / "experiments"
    client = TestClient(create_app(storage))
    experiment = _recorded(storage / "busy")
    with lock_experiment(experiment, "sweep.run"):
        answer = client.post("/api/sweeps/busy/resume")
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert "\n" not in error, error
    assert f"is in use by sweep.run (PID {os.getpid()} on host {HOST}" in error, error
    assert not (experiment / "job.json").exists()  # nothing started


@pytest.mark.heavy
def test_a_web_sweep_job_holds_the_lock_and_hands_it_to_its_steps(tmp_path):
    from sweep.web.jobs import JOB, LOG, STATE
    from sweep.web.runner import run_steps

    experiment = tmp_path / "e"
    experiment.mkdir()
    step = [sys.executable, "-c", _TAKE, str(experiment), "0"]
    write_json(experiment / JOB, {"kind": "sweep", "name": "e", "steps": [step, step], "pid": None})
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    runner = [sys.executable, "-m", "sweep.web.runner", str(experiment)]
    with open(experiment / LOG, "w") as log:
        done = subprocess.run(runner, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=120)
    assert done.returncode == 0, (experiment / LOG).read_text()
    lines = (experiment / LOG).read_text().splitlines()
    assert lines.count("locked") == 2, lines  # each step took the runner's lock
    # the same job while a terminal's sweep.run holds the experiment: fails at once, one line
    with lock_experiment(experiment, "sweep.run"):
        assert run_steps(experiment) == 2
    state = json.loads((experiment / STATE).read_text())
    assert state["returncode"] == 2
    assert state["step"] == 0


@pytest.mark.slow
def test_two_sweeps_started_at_once_one_runs(tmp_path, smoke_lut):
    """The real race: two ``sweep.run`` of one name started together; exactly one runs (stopped
    here with SIGINT once the other has given up), the other exits 2 naming it."""
    storage = tmp_path / "experiments"
    cmd = [sys.executable, "-m", "sweep.run", "--config", str(ROOT / "configs" / "sweep-smoke.yaml")]
    cmd += ["--storage", str(storage), "--name", "race", "--set", f"lut.path={smoke_lut}"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    runs = [
        subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 240
        while all(r.poll() is None for r in runs) and time.monotonic() < deadline:
            time.sleep(0.2)
        lost = [r for r in runs if r.poll() is not None]
        assert len(lost) == 1, "neither start gave up"
        won = next(r for r in runs if r is not lost[0])
        assert won.poll() is None, "both ended"
        err = lost[0].communicate()[1].strip().splitlines()[-1]
        assert lost[0].returncode == 2, err
        assert err.startswith("error: "), err
        assert (
            f"is in use by sweep.run (PID {won.pid} on host {HOST}" in err or "exists; continue it with --resume" in err
        ), err
        won.send_signal(signal.SIGINT)
        assert won.wait(120) == 130
    finally:
        for r in runs:
            if r.poll() is None:
                r.kill()
            r.communicate()
    record = json.loads((storage / "race" / RECORD).read_text())
    assert len(record["runs"]) == 1  # one writer's record, no second run appended
