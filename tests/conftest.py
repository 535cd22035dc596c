"""Fixtures shared by the sweep tests."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def smoke_lut(tmp_path_factory):
    """A quickly profiled LUT for configs/sweep-smoke.yaml's space (the tests time
    nothing against it; they need a LUT that matches the space)."""
    from hwnas.config import load_config
    from lut import profile_lut, save_lut

    cfg = load_config(ROOT / "configs" / "sweep-smoke.yaml")
    path = tmp_path_factory.mktemp("lut") / "smoke.json"
    save_lut(profile_lut(cfg.search_space(), warmup=1, repeats=3, rounds=1, progress=False), path)
    return path


@pytest.fixture
def free_port() -> int:
    """A loopback port nothing listens on now: for a server to bind, or for a connection that must fail."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def run_smoke_sweep(tmp_path):
    """``run(*args, timeout=300)``: ``python -m sweep.run`` on configs/sweep-smoke.yaml, storing in
    ``tmp_path/experiments``, run from ``tmp_path``; returns the CompletedProcess (text output)."""

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "sweep.run", "--config", str(ROOT / "configs" / "sweep-smoke.yaml")]
        cmd += ["--storage", str(tmp_path / "experiments"), *args]
        return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=timeout)

    return run


@pytest.fixture
def one_thread():
    """One torch thread for the test: on a busy 2-core machine a 2-thread op waits for its second thread."""
    from hwnas.timing import fixed_threads

    with fixed_threads(1):
        yield
