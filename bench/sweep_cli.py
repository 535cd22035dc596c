"""Run ``python -m sweep.run`` in a subprocess, as a user would: the one way bench scripts start a sweep."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["ROOT", "run_sweep"]


def run_sweep(trials: int, config: str, storage: str, name: str, *extra: str) -> tuple[int, float]:
    """One ``sweep.run --trials N --config C --storage S --name NAME [extra...]`` from the project root;
    returns (exit code, wall seconds)."""
    cmd = [sys.executable, "-m", "sweep.run", "--trials", str(trials), "--config", config]
    cmd += ["--storage", storage, "--name", name, *extra]
    started = time.perf_counter()
    code = subprocess.call(cmd, cwd=ROOT)
    return code, time.perf_counter() - started
