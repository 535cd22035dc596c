"""Run a job's steps one after the other: ``python -m sweep.web.runner <job folder>``.

Reads ``job.json`` (``sweep.web.jobs``), runs each step (an argv list, no shell) with
this process's stdout/stderr (the job's log), stops at the first step that fails, and
records progress and the return code in ``job-state.json`` (atomically), so that the
web app knows how the job ended even if it was restarted in between.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from hwnas.io import atomic_write_json
from sweep.web.jobs import JOB, STATE, read_json_or_none

__all__ = ["main", "run_steps"]


def run_steps(folder: Path) -> int:
    job = read_json_or_none(folder / JOB)
    if not isinstance(job, dict) or not isinstance(job.get("steps"), list):
        print(f"error: {folder / JOB}: not a job record", flush=True)
        return 2
    steps = job["steps"]
    code, stopped = 0, []
    # stop_job signals the whole group: the step ends by it, this process only takes note
    signal.signal(signal.SIGTERM, lambda *_: stopped.append(True))
    for i, argv in enumerate(steps, 1):
        atomic_write_json(folder / STATE, {"step": i, "of": len(steps), "argv": argv})
        print(f"[job] step {i}/{len(steps)}: {' '.join(argv[1:4])} ...", flush=True)
        code = subprocess.run(argv).returncode
        if code != 0 or stopped:
            break
    atomic_write_json(
        folder / STATE,
        {
            "step": i if steps else 0,
            "of": len(steps),
            "returncode": code,
            "stopped": bool(stopped),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        },
    )
    print(f"[job] {'stopped' if stopped else 'finished' if code == 0 else f'failed (exit code {code})'}", flush=True)
    return code


def main(argv=None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sweep.web.runner <job folder>", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(run_steps(Path(args[0])))


if __name__ == "__main__":
    main()
