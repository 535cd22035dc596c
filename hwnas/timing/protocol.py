"""The timing protocol's building blocks: how calls are timed on this device, everywhere.

Every session (``hwnas.timing.speed.interleaved``, ``hwnas.timing.models.time_models``)
times with these: fixed ``torch.set_num_threads(threads)`` (restored afterwards,
``fixed_threads``), a steady allocator (``steady_allocator``), eval mode,
``torch.inference_mode()``, one input tensor allocated once, untimed warm-up calls,
then timed calls (``timed_calls``); the statistic is the median, the spread the
inter-quartile range (``summarize``). ``time_module``/``measure`` time one module
alone with the same rules; the numbers of a session that times many units in rounds
come in a ``hwnas.timing.settings.TimingProtocol``.

This file imports only torch and the standard library: it runs on a Raspberry Pi
with nothing but torch installed (a Ray worker there imports it).
"""

from __future__ import annotations

import contextlib
import statistics
import time
from dataclasses import asdict, dataclass

import torch

__all__ = [
    "Timing",
    "fixed_threads",
    "measure",
    "metered_energy",
    "steady_allocator",
    "summarize",
    "time_module",
    "timed_calls",
]

# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_ALLOCATOR: dict | None = None


def steady_allocator() -> dict:
    """Stop glibc's malloc from handing activation buffers back to the OS between
    calls; return what was set (recorded with timings). Idempotent, process-wide.

    Why: by default glibc maps large buffers with mmap and trims the heap top, and
    its thresholds adapt to the allocation history, so whether a network's call
    page-faults depends on what the process ran before. Measured here while timing
    50 fbnet-cifar networks: ~6000 minor page faults per network visit for the first
    pass through all of them, none in a second pass, and those calls up to 25 %
    slower, network by network differently (the same 50 networks measured twice
    agreed only to kendall_tau 0.54). With the heap kept (trim threshold 1 GiB) and
    batch-1 activations served from it (mmap threshold 32 MiB, glibc's maximum),
    every call runs in the steady state a long-running inference process reaches.
    Not glibc (macOS, musl): nothing to set, ``{"allocator": "default"}``.
    """
    global _ALLOCATOR
    if _ALLOCATOR is None:
        _ALLOCATOR = {"allocator": "default"}
        try:
            import ctypes
            import ctypes.util

            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
        except (OSError, AttributeError):
            return _ALLOCATOR
        trim, mmap = 1 << 30, 32 << 20
        if mallopt(_M_TRIM_THRESHOLD, trim) == 1 and mallopt(_M_MMAP_THRESHOLD, mmap) == 1:
            _ALLOCATOR = {"allocator": "glibc", "M_TRIM_THRESHOLD": trim, "M_MMAP_THRESHOLD": mmap}
    return _ALLOCATOR


@dataclass
class Timing:
    median_ms: float
    iqr_ms: float
    mean_ms: float
    min_ms: float
    repeats: int
    threads: int

    @property
    def rel_iqr(self) -> float:
        """IQR / median: how noisy the timing is (the quiet checks compare it to a limit)."""
        return self.iqr_ms / self.median_ms

    def to_dict(self) -> dict:
        return asdict(self)


@contextlib.contextmanager
def fixed_threads(threads: int):
    """Run the body with ``torch.set_num_threads(threads)``; restore the old value."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def summarize(samples_ms, threads: int = 1) -> Timing:
    """Median, inter-quartile range, mean and min of per-call times (ms)."""
    samples = sorted(float(s) for s in samples_ms)
    if not samples:
        raise ValueError("no timing samples")
    if len(samples) >= 2:
        q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    else:
        q1 = q3 = samples[0]
    return Timing(
        median_ms=statistics.median(samples),
        iqr_ms=q3 - q1,
        mean_ms=statistics.fmean(samples),
        min_ms=samples[0],
        repeats=len(samples),
        threads=threads,
    )


def timed_calls(module, example_input, warmup: int, repeats: int, calls_per_sample: int = 1) -> list[float]:
    """``repeats`` samples in ms after ``warmup`` untimed calls; a sample is the mean
    of ``calls_per_sample`` back-to-back calls (1: every call timed on its own).
    Assumes threads, eval mode and inference mode are set."""
    for _ in range(warmup):
        module(example_input)
    samples = []
    clock = time.perf_counter_ns
    scale = 1e6 * calls_per_sample
    for _ in range(repeats):
        t0 = clock()
        for _ in range(calls_per_sample):
            module(example_input)
        samples.append((clock() - t0) / scale)
    return samples


def time_module(
    module: torch.nn.Module, example_input: torch.Tensor, *, warmup: int = 10, repeats: int = 50, threads: int = 1
) -> Timing:
    """Time ``module(example_input)`` with the protocol above. The module is put in
    eval mode (and left there)."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    module.eval()
    steady_allocator()
    with fixed_threads(threads), torch.inference_mode():
        samples = timed_calls(module, example_input, warmup, repeats)
    return summarize(samples, threads)


def measure(
    module: torch.nn.Module,
    example_input: torch.Tensor,
    *,
    warmup: int = 10,
    repeats: int = 50,
    threads: int = 1,
    meter=None,
) -> dict:
    """Latency (median + IQR over ``repeats`` calls) and, with a real meter, energy per
    inference in mJ (the meter's reading over all timed calls / ``repeats``).

    Without a meter (or with the ``none`` meter) ``energy_mj`` is ``None`` and
    ``energy_source`` is ``"none"``: energy is never made up here.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    real_meter = meter is not None and getattr(meter, "source", "none") != "none"
    module.eval()
    allocator = steady_allocator()
    energy_mj = energy_dynamic_mj = None
    samples = []
    with fixed_threads(threads), torch.inference_mode():
        timed_calls(module, example_input, warmup, 0)
        if real_meter:
            joules, _, dynamic = _read_meter(
                meter, lambda: samples.extend(timed_calls(module, example_input, 0, repeats))
            )
            energy_mj = joules * 1e3 / repeats
            energy_dynamic_mj = None if dynamic is None else dynamic * 1e3 / repeats
        else:
            samples = timed_calls(module, example_input, 0, repeats)
    timing = summarize(samples, threads)
    return {
        "latency_ms": timing.median_ms,
        "latency_iqr_ms": timing.iqr_ms,
        "energy_mj": energy_mj,
        "energy_dynamic_mj": energy_dynamic_mj,
        "energy_source": meter.source if real_meter else "none",
        "threads": threads,
        "repeats": repeats,
        "allocator": allocator["allocator"],
    }


def metered_energy(module, x, meter, threads: int, min_seconds: float | None = None, clock=time.perf_counter) -> dict:
    """Energy per call (mJ) from a real meter over calls repeated back to back for at
    least ``min_seconds`` (default: the meter's ``min_seconds``, long enough for its
    minimum number of samples; a single sub-millisecond call is below the meters'
    resolution): ``energy_mj`` (total, what the meter read) and ``energy_dynamic_mj``
    (total minus the meter's ``idle_w`` times the duration; null when the session
    measured no idle power)."""
    min_seconds = getattr(meter, "min_seconds", 0.2) if min_seconds is None else min_seconds
    enough = getattr(meter, "enough_samples", lambda: True)
    calls = 0

    def run():
        nonlocal calls
        t0 = clock()
        # a slow meter gets up to 10x the time to deliver its samples (then stop() says so)
        while calls < 10 or clock() - t0 < min_seconds or (not enough() and clock() - t0 < 10 * min_seconds):
            module(x)
            calls += 1

    with fixed_threads(threads), torch.inference_mode():
        module(x)
        joules, seconds, dynamic = _read_meter(meter, run, clock)
    return {
        "energy_mj": joules * 1e3 / calls,
        "energy_dynamic_mj": None if dynamic is None else dynamic * 1e3 / calls,
        "idle_w": getattr(meter, "idle_w", None),
        "calls": calls,
        "seconds": seconds,
        "samples": meter.samples_taken() if hasattr(meter, "samples_taken") else None,
    }


def _read_meter(meter, run, clock=time.perf_counter) -> tuple[float, float, float | None]:
    """``(joules, seconds, dynamic joules)`` of ``run()`` between the meter's start and
    stop; dynamic = joules - the meter's ``idle_w`` x seconds (None without ``idle_w``).
    ``seconds`` is the meter's own window when it keeps one (``last_seconds``)."""
    t0 = clock()
    meter.start()
    run()
    joules = meter.stop()
    seconds = clock() - t0
    seconds = getattr(meter, "last_seconds", None) or seconds
    idle_w = getattr(meter, "idle_w", None)
    return joules, seconds, None if idle_w is None else joules - idle_w * seconds
