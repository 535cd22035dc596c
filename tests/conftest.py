"""Fixtures shared by the sweep tests."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def program_cache(tmp_path_factory):
    """Lowered programs and cached LUTs of this test session in a folder of its own (also for
    the subprocesses the tests start), never in the user's ~/.cache/hwnas."""
    import os

    old = os.environ.get("HWNAS_CACHE")
    os.environ["HWNAS_CACHE"] = str(tmp_path_factory.mktemp("hwnas-cache"))
    yield Path(os.environ["HWNAS_CACHE"])
    if old is None:
        os.environ.pop("HWNAS_CACHE", None)
    else:
        os.environ["HWNAS_CACHE"] = old


@pytest.fixture(scope="session")
def smoke_lut(tmp_path_factory):
    """A quickly profiled LUT for configs/sweep-smoke.yaml's space (the tests time
    nothing against it; they need a LUT that matches the space)."""
    from hwnas.config import load_config
    from lut import profile_lut, save_lut

    cfg = load_config(ROOT / "configs" / "sweep-smoke.yaml")
    path = tmp_path_factory.mktemp("lut") / "smoke.json"
    lut = profile_lut(
        cfg.search_space(), warmup=1, repeats=3, rounds=1, fit_per_op=1, progress=False, target=cfg.deploy.target()
    )
    save_lut(lut, path)
    return path


@pytest.fixture(scope="module")
def space():
    """The small CPU preset at half width, 10 classes: every kind of layer (stride 2, channel
    changes with 1x1-projection skips, identity skips, residual and grouped ops), quick to train."""
    from hwnas.space import get_space

    return get_space("fbnet-cpu", 0.5, 10)


@pytest.fixture(scope="module")
def cost(space):
    """In-memory LUT costs for ``space`` (fixed 1.5 ms, layer x op entries 0.0, 0.1, ...)
    standing for a LUT file, so a childnet trains without profiling one."""
    import torch

    from lut.cost import CostTensors

    lat = torch.arange(space.num_layers * len(space.ops), dtype=torch.float32).view(space.num_layers, -1) / 10
    return CostTensors(space.ops, 1.5, lat)


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
