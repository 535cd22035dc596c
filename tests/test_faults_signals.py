"""Stops and full disks (issue 22, items 5 and 6): SIGINT/SIGTERM end every CLI with one line
and exit 130/143 (never 0, never a traceback), leave no temporary file and nothing half
written; a full disk is one line naming the file, exit 2. A real sweep that Ctrl-C alone
stops in its trials, then resumed, is a slow test. The fault matrix (tests/faults_table.py)
runs the others on real processes: SIGINT to the terminal's whole group and SIGTERM in each
phase of a sweep, pareto.report stopped while it writes, a sweep on a full tmpfs."""

import errno
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faults_table import children, command_line, snapshot

from hwnas.errors import DiskFull, cli_main, resume_hint
from hwnas.io import atomic_save, atomic_write, atomic_write_json, atomic_write_many, read_json

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")


@pytest.fixture(autouse=True)
def pytests_own_handlers():
    """The tests that signal this process run cli_main here: pytest gets its handlers back after."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def _signal_self(signum):
    os.kill(os.getpid(), signum)
    time.sleep(1)  # the handler runs at the next bytecode; never reached


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_a_write_stops_the_cli_with_one_line_and_no_temporary_file(tmp_path, capsys, signum, code):
    atomic_write_json(tmp_path / "state.json", {"ok": 1})

    def half(tmp):
        Path(tmp).write_text('{"half')
        _signal_self(signum)

    @cli_main
    def main():
        resume_hint("continue: python -m x --resume")
        atomic_write(tmp_path / "state.json", half)

    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == code
    name = signal.Signals(signum).name
    assert capsys.readouterr().err == f"stopped by {name}; continue: python -m x --resume\n"
    assert read_json(tmp_path / "state.json") == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_signal_between_a_groups_renames_waits_until_all_are_renamed(tmp_path, capsys, monkeypatch):
    """All or nothing: a signal that lands between two renames is raised after the last."""
    import hwnas.io

    renamed = []

    def replace(src, dst):
        os.rename(src, dst)
        renamed.append(Path(dst).name)
        if len(renamed) == 1:
            _signal_self(signal.SIGTERM)

    monkeypatch.setattr(hwnas.io.os, "replace", replace)

    @cli_main
    def main():
        atomic_write_many([(tmp_path / n, lambda t, n=n: Path(t).write_text(n)) for n in ("a", "b", "c")])

    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 143
    assert renamed == ["a", "b", "c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]
    assert capsys.readouterr().err == "stopped by SIGTERM\n"


def test_a_full_disk_is_one_line_naming_the_file(tmp_path, capsys, monkeypatch):
    import hwnas.io

    atomic_write_json(tmp_path / "state.json", {"ok": 1})

    def full(tmp):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(hwnas.io, "_finish", full)
    with pytest.raises(DiskFull) as err:
        atomic_save({"w": 1}, tmp_path / "warmup.pt")
    assert err.value.errno == errno.ENOSPC
    assert err.value.filename == str(tmp_path / "warmup.pt")

    @cli_main
    def main():
        resume_hint("continue: python -m sweep.run --resume --storage s --name e")
        atomic_write_json(tmp_path / "state.json", {"ok": 2})

    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    assert capsys.readouterr().err == (
        f"error: disk full writing {tmp_path / 'state.json'}: free space there; "
        "continue: python -m sweep.run --resume --storage s --name e\n"
    )
    assert read_json(tmp_path / "state.json") == {"ok": 1}
    assert len(list(tmp_path.iterdir())) == 1


def _wait_for(proc, stream, text: str, timeout: float = 120) -> str:
    """What ``proc`` wrote to ``stream`` (a file) until ``text`` appears in it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        seen = Path(stream.name).read_text(errors="replace")
        if text in seen:
            return seen
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never came: {Path(stream.name).read_text(errors='replace')[-2000:]}")


@pytest.mark.heavy
def test_lut_profile_stopped_by_ctrl_c_says_so_in_one_line(tmp_path):
    out = tmp_path / "lut.json"
    cmd = [sys.executable, "-m", "lut.profile", "--space", "fbnet-cpu", "--width", "0.5", "--out", str(out)]
    cmd += ["--runtime", "onnxruntime"]  # lowers in 0.1 s a network: measuring starts within seconds
    with open(tmp_path / "err", "w+") as err:
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=ENV, stdout=subprocess.DEVNULL, stderr=err)
        try:
            _wait_for(proc, err, "measuring")
            proc.send_signal(signal.SIGINT)
            assert proc.wait(60) == 130
        finally:
            proc.kill()
            proc.wait()
    text = (tmp_path / "err").read_text()
    assert "Traceback" not in text, text
    assert text.strip().splitlines()[-1].split("\r")[-1] == "stopped by SIGINT", text
    assert list(tmp_path.iterdir()) == [tmp_path / "err"]  # no LUT, no temporary file


_SLEEPER = "from hwnas.errors import cli_main\nimport time\ncli_main(lambda: time.sleep(60))()\n"


@pytest.mark.heavy
def test_a_child_cli_stops_when_its_parent_dies(tmp_path):
    """The measurement phase's way: a CLI started with ``child_env`` gets SIGTERM when the
    CLI that started it dies (even by SIGKILL), so no orphan goes on writing."""
    parent = (
        "import subprocess, sys, time; from hwnas.errors import child_env\n"
        f"child = subprocess.Popen([sys.executable, '-c', {_SLEEPER!r}], env=child_env())\n"
        "print(child.pid, flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", parent], env=ENV, stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    time.sleep(3)  # the child is in its main (cli_main) by now
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 30
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{child}").exists(), "the child outlived its parent"


def test_a_trial_failing_on_a_full_disk_stops_the_sweep(tmp_path):
    """``StopOnFullDisk``: the first trial that failed on a full disk (its error as Ray wrote it)
    ends the sweep with ``DiskFull`` naming its folder; any other failure lets the sweep go on."""
    from types import SimpleNamespace

    from sweep.tuner import StopOnFullDisk

    def trial(text):
        (tmp_path / "error.txt").write_text(text)
        return SimpleNamespace(error_file=str(tmp_path / "error.txt"), path="/s/e/trial_1", local_path="/tmp/ray/x")

    pyarrow = "Failure # 1\nOSError: [Errno 28] Error writing bytes to file. Detail: [errno 28] No space left on device"
    with pytest.raises(DiskFull) as err:
        StopOnFullDisk().on_trial_error(iteration=3, trials=[], trial=trial(pyarrow))
    assert err.value.filename == "/s/e/trial_1"
    StopOnFullDisk().on_trial_error(iteration=3, trials=[], trial=trial("Failure # 1\nValueError: nan loss"))


def test_a_full_sqlite_database_is_the_disk_full_line(capsys):
    """Optuna's study (SQLite) on a full disk: no OSError, a wrapped "database or disk is full"."""
    import sqlite3

    @cli_main
    def main():
        resume_hint("continue: python -m sweep.run --resume --storage s --name e", "/s/e")
        try:
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.Error as err:
            raise RuntimeError("An exception is raised during the commit.") from err

    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    assert capsys.readouterr().err == (
        "error: disk full writing /s/e: free space there; continue: python -m sweep.run --resume --storage s --name e\n"
    )


def test_tunes_traceback_of_a_trial_failed_on_a_full_disk_is_dropped_however_long():
    """A trial that fails on a full disk (here in Ray's checkpoint upload, pyarrow's OSError
    without an errno) reaches the driver as a RayTaskError whose text is the remote traceback,
    the cause at its end, 5 kB on: Tune's log of it is dropped (the sweep says its one line),
    as it was not when only the text's first 4 kB were searched. Other errors are logged."""
    import logging

    import ray

    from hwnas.errors import disk_full_in
    from sweep.tuner import _NoDiskFullTraceback

    cause = OSError("[Errno 28] Error writing bytes to file. Detail: [errno 28] No space left on device")
    frames = "".join(
        f'  File "/venv/ray/train/_internal/storage.py", line {i}, in _upload_to_fs_path\n' for i in range(90)
    )
    remote = f"Traceback (most recent call last):\n{frames}OSError: {cause}"
    err = ray.exceptions.RayTaskError("ImplicitFunc.train", remote, cause).as_instanceof_cause()
    assert len(str(err)) > 5000 and str(err).rstrip().endswith("No space left on device")
    assert disk_full_in(err) is not None

    def logged(exc) -> bool:
        record = logging.LogRecord(
            "ray.tune", logging.ERROR, __file__, 1, "Trial task failed", (), (type(exc), exc, None)
        )
        return _NoDiskFullTraceback().filter(record)

    assert not logged(err)
    other = ray.exceptions.RayTaskError(
        "ImplicitFunc.train", f"Traceback ...\n{frames}RuntimeError: boom", RuntimeError("boom")
    )
    assert logged(other.as_instanceof_cause())


# ---- real sweeps (slow) ----------------------------------------------------------------------


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` now (from /proc: Ray's processes, trials, the measurement child)."""
    found, todo = set(), [pid]
    while todo:
        kids = children(todo.pop())
        todo += sorted(kids - found)
        found |= kids
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _stop_sweep(cmd, cwd, signum, ready, timeout=300):
    """Start ``cmd``, send ``signum`` once ``ready(seen)`` holds; returns (returncode, stderr,
    ``seen``: {pid: command line} of every process the sweep had started by then)."""
    err_path = Path(cwd) / f"stderr-{time.monotonic_ns()}"
    with open(err_path, "w") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        try:
            deadline, seen = time.monotonic() + timeout, {}
            while time.monotonic() < deadline and proc.poll() is None:
                seen.update({pid: command_line(pid) or seen.get(pid, "") for pid in _descendants(proc.pid)})
                if ready(seen):
                    break
                time.sleep(0.2)
            assert proc.poll() is None, f"ended before the signal: {err_path.read_text()[-3000:]}"
            seen.update({pid: command_line(pid) or seen.get(pid, "") for pid in _descendants(proc.pid)})
            proc.send_signal(signum)
            code = proc.wait(180)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return code, err_path.read_text(), seen


def _check_stopped(experiment, code, stderr, seen, signum, resume_line):
    assert code == 128 + signum, stderr[-3000:]
    assert stderr.strip().splitlines()[-1] == f"stopped by {signal.Signals(signum).name}; {resume_line}", stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    time.sleep(2)  # Ray's own processes end as the driver's exit kills them
    left = {pid: command for pid, command in seen.items() if _alive(pid)}
    assert not left, left
    assert not list(experiment.rglob("*.tmp")), list(experiment.rglob("*.tmp"))


@pytest.mark.slow
def test_a_renamed_sweep_stopped_by_sigint_alone_in_its_trials_says_so(tmp_path, fault_template):
    """A copy of the template under another name and folder (Ray's and Optuna's pickled state
    name the template's) resumed with one more trial, and SIGINT to ``sweep.run`` alone
    (``kill -INT``; the matrix's signal/sigint-in-trials sends it to the terminal's whole group)
    once the new trial has a checkpoint. The new trial and the study's rows are in the copy, the
    template is untouched; the stop: exit 130 (Tune's fit used to return as if done: exit 0), the
    resume line, nothing it started left running, no temporary file. (That the --resume then
    finishes with nothing lost, the matrix's signal rows check.)"""
    import optuna
    from faults_table import NAME, sweep_cmd

    template = snapshot(fault_template.original)
    experiment = fault_template.restore(tmp_path, name="renamed")
    before = {t.name for t in experiment.glob("trial_*")}
    resume = sweep_cmd(experiment, "--trials", "3")  # one more trial
    said = ["python", "-m", "sweep.run", "--resume", "--storage", str(experiment.parent), "--name", "renamed"]

    def training(seen):
        return any(c.parent.name not in before for c in experiment.glob("trial_*/checkpoint_*"))

    code, stderr, seen = _stop_sweep(resume, tmp_path, signal.SIGINT, training)
    _check_stopped(experiment, code, stderr, seen, signal.SIGINT, f"continue: {shlex.join(said)}")

    assert snapshot(fault_template.original) == template, "written where the sweep was before"
    assert len({t.name for t in experiment.glob("trial_*") if t.is_dir()} - before) == 1
    record = json.loads((experiment / "sweep.json").read_text())
    assert record["optuna"] == {"storage": f"sqlite:///{experiment / 'optuna.db'}", "study_name": NAME}
    assert record["warmup"]["path"] == str(experiment / "warmup.pt")
    study = optuna.load_study(study_name=NAME, storage=record["optuna"]["storage"])
    assert len(study.trials) == 3, "the new trial's row in the copy's study"
