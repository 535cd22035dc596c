"""Fixtures shared by the tests; which tests are heavy; the test process's memory.

Heavy (``-m heavy``; ``scripts/test.sh --fast`` leaves them out with the slow ones): a
test that starts sweeps, subprocess trees or a browser, profiles a LUT or lowers networks.
A module or test says so with ``pytest.mark.heavy``; a test using a fixture of
``HEAVY_FIXTURES`` is heavy without saying it.

Memory: the suite runs in one process for many minutes. Timing code sets glibc's malloc
to keep freed memory (``hwnas.timing.steady_allocator``, right for a timing process,
not for a test process), and glibc keeps freed pages of its heaps anyway, so the
process's resident memory would only grow; ``_memory_back`` gives it back.
"""

import contextlib
import ctypes
import ctypes.util
import fcntl
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# fixtures whose tests are heavy: what each one does
HEAVY_FIXTURES = {
    "smoke_lut": "profiles a LUT (lowering its blocks)",
    "run_smoke_sweep": "runs a sweep in a subprocess",
    "cpu_lut": "profiles a LUT",
    "trained": "trains a childnet and lowers it to four targets",
    "fault_template": "runs a real 2-trial sweep once per test run",
}
# glibc's mallopt parameters and their defaults (malloc(3)); not glibc: nothing to do
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _DEFAULT_THRESHOLD = -1, -3, 128 * 1024
try:
    _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
except OSError:
    _LIBC = None
if _LIBC is not None and not (hasattr(_LIBC, "malloc_trim") and hasattr(_LIBC, "mallopt")):
    _LIBC = None


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups (it runs in the worker)
def pytest_collection_modifyitems(items):
    group = {}  # nodeid -> its pytest-xdist group
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if HEAVY_FIXTURES.keys() & fixtures:
            item.add_marker(pytest.mark.heavy)
        group[item.nodeid] = _group(item, fixtures)
        item.add_marker(pytest.mark.xdist_group(group[item.nodeid]))
    _heavy_groups_first(items, group)


def _heavy_groups_first(items: list, group: dict) -> None:
    """Groups holding a slow or heavy test first, the quick ones after (scripts/test.sh keeps
    this order, ``--no-loadscope-reorder``): the long tests start early and the quick ones
    fill what is left, so neither worker waits alone at the end. A group's tests stay together."""
    long = {group[i.nodeid] for i in items if i.get_closest_marker("slow") or i.get_closest_marker("heavy")}
    items[:] = sorted(items, key=lambda i: group[i.nodeid] not in long)  # stable: the order within stays


def _group(item, fixtures: set) -> str:
    """Which tests one pytest-xdist worker runs together (``--dist loadgroup``, scripts/test.sh):
    a module's tests share its module-scoped fixtures, so a module is one group; each test of the
    fault template (``fault_template``, which the fault matrix's rows fetch inside the test, and
    ``folder_sweep``, its readers; built once for both workers) is a group of its own: it works on
    its own copy or only reads, and these are the longest tests, so they spread over the workers."""
    if {"fault_template", "folder_sweep"} & fixtures or item.path.name == "test_faults.py":
        return item.nodeid.replace("@", "_")
    return item.nodeid.split("::")[0]


def _give_memory_back() -> None:
    if _LIBC is not None:
        _LIBC.malloc_trim(0)  # free pages inside the heaps too, not only at their top


@pytest.fixture(autouse=True)
def _memory_back():
    """After a test that set the steady allocator, glibc's defaults again (the next timing
    sets it again, ``_ALLOCATOR`` forgotten) and the freed memory returned to the OS."""
    yield
    timing = sys.modules.get("hwnas.timing.protocol")  # the module that owns _ALLOCATOR
    if _LIBC is None or timing is None or (timing._ALLOCATOR or {}).get("allocator") != "glibc":
        return
    _LIBC.mallopt(_M_TRIM_THRESHOLD, _DEFAULT_THRESHOLD)
    _LIBC.mallopt(_M_MMAP_THRESHOLD, _DEFAULT_THRESHOLD)
    timing._ALLOCATOR = None
    _give_memory_back()


@pytest.fixture(scope="module", autouse=True)
def _module_memory_back():
    """Each module's freed memory (its module-scoped fixtures are gone by now) returned; no
    gc.collect here, it takes 0.3 s in a process holding torch and Ray."""
    yield
    _give_memory_back()


@pytest.fixture(scope="session", autouse=True)
def program_cache(tmp_path_factory):
    """Lowered programs and cached LUTs of this test run in a folder of its own (also for
    the subprocesses the tests start), never in the user's ~/.cache/hwnas. pytest-xdist's
    workers share it: an entry is named by its content and written atomically (hwnas.io), so
    what one worker lowered the other finds."""
    old = os.environ.get("HWNAS_CACHE")
    os.environ["HWNAS_CACHE"] = str(_run_folder(tmp_path_factory, "hwnas-cache"))
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

    folder = _run_folder(tmp_path_factory, "lut")
    path = folder / "smoke.json"
    with _first_makes_it(folder):
        if not path.is_file():
            cfg = load_config(ROOT / "configs" / "sweep-smoke.yaml")
            lut = profile_lut(
                cfg.search_space(),
                warmup=1,
                repeats=3,
                rounds=1,
                fit_per_op=1,
                progress=False,
                target=cfg.deploy.target(),
            )
            save_lut(lut, path)
    return path


@contextlib.contextmanager
def _first_makes_it(folder: Path):
    """The body under a lock of ``folder``: of pytest-xdist's workers the first makes what the
    test run shares, the other waits for it and finds it made."""
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _run_folder(tmp_path_factory, name: str) -> Path:
    """A folder for the whole test run: the session's own, or under pytest-xdist the one its
    workers share (beside their own base folders)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return tmp_path_factory.mktemp(name)
    folder = tmp_path_factory.getbasetemp().parent / name
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def fault_template(tmp_path_factory, smoke_lut):
    """One finished real 2-trial sweep (``faults_table.build_experiment``), built once for the
    test run (both pytest-xdist workers) and shared by every test that needs a real experiment
    (tests/test_faults*.py): read its ``original``, or ``restore(folder)`` a copy to change or resume."""
    from faults_table import BUILT, Template, build_experiment

    folder = _run_folder(tmp_path_factory, "fault-template")
    with _first_makes_it(folder):
        if not (folder / BUILT).is_file():
            build_experiment(folder, smoke_lut)
    return Template.at(folder)


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


@pytest.fixture(scope="session")
def folder_sweep(fault_template):
    """The fault template (``fault_template``: configs/sweep-smoke.yaml on an image folder of 3
    classes, 2 trials, the final stage 1 epoch) for tests that only read it: the record contract
    (tests/test_contract.py) and a sweep on the user's own images (tests/test_own_data.py).
    Its ``experiment``, image ``folder`` and the ``run`` (its text ``stdout``)."""
    from types import SimpleNamespace

    run = SimpleNamespace(stdout=fault_template.stdout)
    return SimpleNamespace(experiment=fault_template.original, folder=fault_template.images, run=run)
