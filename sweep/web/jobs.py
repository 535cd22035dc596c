"""Runs and sweeps as separate processes, and their status read back from files.

A job is a folder holding (docs/formats.md, "Web jobs"):

- ``job.json``: what the web app started: ``{"kind": "run"|"sweep", "name", "steps": [argv, ...],
  "pid", "started"}``;
- ``job.log``: the steps' stdout and stderr;
- ``job-state.json``: written by the runner (``sweep.web.runner``) as each step starts, and with
  ``returncode`` when the job ends.

The web app starts ``python -m sweep.web.runner <folder>`` with ``subprocess.Popen`` (an argv
list, never a shell) in a session of its own, so the job outlives a page reload and the
server itself. Status: the runner's return code when it wrote one (``stop_job``: failed,
stopped from the page); else running while its process lives; else failed (killed,
machine restarted).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hwnas.io import atomic_write_json

__all__ = ["JOB", "LOG", "STATE", "job_status", "last_line", "read_json_or_none", "start_job", "stop_job"]

JOB, LOG, STATE = "job.json", "job.log", "job-state.json"


def read_json_or_none(path: Path):
    """A JSON file written atomically by a job, or None while it does not exist (or is not JSON)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def start_job(folder: Path, kind: str, name: str, steps: list[list[str]], procs: dict, cwd: Path) -> int:
    """Start the runner for ``steps`` in ``folder`` (made if absent); returns its pid.
    ``procs`` keeps the ``Popen`` so that the server reaps it (no zombie counted as running)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STATE).unlink(missing_ok=True)  # a resumed sweep: the old end is not this job's
    record = {"kind": kind, "name": name, "steps": steps, "pid": None, "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    atomic_write_json(folder / JOB, record)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(folder / LOG, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sweep.web.runner", str(folder)],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    procs[proc.pid] = proc
    atomic_write_json(folder / JOB, dict(record, pid=proc.pid))
    return proc.pid


def _alive(pid, procs: dict) -> bool:
    """Whether the runner ``pid`` still runs (a reaped child of ours, or a live runner process)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid in procs:
        return procs[pid].poll() is None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()  # a reused pid is not our runner
    except OSError:
        return False
    return b"sweep.web.runner" in cmdline


def last_line(path: Path, limit: int = 64_000) -> str:
    """The last non-empty line a step wrote to a log file, '' when there is none."""
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - limit))
            lines = [
                ln.strip()
                for ln in fh.read().decode(errors="replace").splitlines()
                if ln.strip() and not ln.startswith("[job]")
            ]  # the runner's own lines say nothing new
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def job_status(folder: Path, procs: dict) -> dict:
    """``{"state": "running"|"finished"|"failed"|"none", "reason", "step", "steps"}`` of the job in ``folder``."""
    job = read_json_or_none(folder / JOB)
    if not isinstance(job, dict):
        return {"state": "none", "reason": "", "step": None, "steps": None}
    state = read_json_or_none(folder / STATE) or {}
    steps = len(job.get("steps") or [])
    out = {"step": state.get("step"), "steps": steps, "started": job.get("started")}
    code = state.get("returncode")
    if state.get("stopped"):
        return {**out, "state": "failed", "reason": f"stopped from the page during step {state.get('step')}"}
    if isinstance(code, int):
        if code == 0:
            return {**out, "state": "finished", "reason": ""}
        return {**out, "state": "failed", "reason": f"exit code {code}: {last_line(folder / LOG)}"}
    if job.get("pid") is None or _alive(job["pid"], procs):  # no pid yet: being started
        return {**out, "state": "running", "reason": ""}
    return {**out, "state": "failed", "reason": f"stopped without an exit code: {last_line(folder / LOG)}"}


def stop_job(folder: Path, procs: dict) -> bool:
    """SIGTERM to the job's runner, if it runs: it passes it on to its current step, which
    stops in order (a sweep stops its trials, Ray and its measurement phase itself; SIGTERM
    to the whole group would reach Ray's workers first and fail the running trials), and
    records the job as stopped. False if nothing ran."""
    job = read_json_or_none(folder / JOB) or {}
    pid = job.get("pid")
    ended = isinstance((read_json_or_none(folder / STATE) or {}).get("returncode"), int)
    if ended or not _alive(pid, procs):  # ended: the runner is only exiting now
        return False
    os.kill(pid, signal.SIGTERM)
    return True
