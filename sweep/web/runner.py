"""Run a job's steps one after the other: ``python -m sweep.web.runner <job folder>``.

Reads ``job.json`` (``sweep.web.jobs``), runs each step (an argv list, no shell) with
this process's stdout/stderr (the job's log), stops at the first step that fails, and
records progress and the return code in ``job-state.json`` (atomically), so that the
web app knows how the job ended even if it was restarted in between.

A sweep job holds its experiment's lock (``sweep.experiment.lock_experiment``) from its
first step to its last and hands it to each step, so nothing else writes the experiment
in between; when another process holds it the job fails at once with that one line.
SIGTERM (``stop_job``) is passed on to the running step, which stops in order; no
further step starts.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

from hwnas.errors import UserError
from hwnas.io import atomic_write_json
from sweep.experiment import lock_experiment
from sweep.web.jobs import JOB, STATE, read_json_or_none

__all__ = ["main", "run_steps"]


def _job_lock(folder: Path, job: dict):
    """The experiment's lock for a sweep job (its folder is the experiment); nothing for a run."""
    if job.get("kind") != "sweep":
        return contextlib.nullcontext(None)
    return lock_experiment(folder.resolve(), "a sweep job of the web page (sweep.web.runner)")


def _end(folder: Path, step: int, of: int, code: int, stopped: bool) -> int:
    finished = time.strftime("%Y-%m-%dT%H:%M:%S")
    state = {"step": step, "of": of, "returncode": code, "stopped": stopped, "finished": finished}
    atomic_write_json(folder / STATE, state)
    print(f"[job] {'stopped' if stopped else 'finished' if code == 0 else f'failed (exit code {code})'}", flush=True)
    return code


def run_steps(folder: Path) -> int:
    job = read_json_or_none(folder / JOB)
    if not isinstance(job, dict) or not isinstance(job.get("steps"), list):
        print(f"error: {folder / JOB}: not a job record", flush=True)
        return 2
    steps = job["steps"]
    code, stopped, running = 0, [], []

    def on_sigterm(*_):  # stop_job: the running step stops in order, no further step starts
        stopped.append(True)
        if running and running[-1].poll() is None:
            running[-1].send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        lock = _job_lock(folder, job)
    except UserError as err:
        print(f"error: {err}", flush=True)
        return _end(folder, 0, len(steps), 2, False)
    i = 0
    with lock as held:
        for i, argv in enumerate(steps, 1):
            if stopped:
                break
            atomic_write_json(folder / STATE, {"step": i, "of": len(steps), "argv": argv})
            print(f"[job] step {i}/{len(steps)}: {' '.join(argv[1:4])} ...", flush=True)
            running.append(subprocess.Popen(argv, **(held.child() if held else {})))
            code = running[-1].wait()
            if code != 0 or stopped:
                break
    return _end(folder, i, len(steps), code, bool(stopped))


def main(argv=None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sweep.web.runner <job folder>", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(run_steps(Path(args[0])))


if __name__ == "__main__":
    main()
