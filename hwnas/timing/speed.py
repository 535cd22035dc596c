"""The speed reference and interleaved rounds: how anything is timed against the
device's drifting speed, for LUT entries and whole models alike.

A shared machine's speed drifts: on this project's 2-core VM the same network's
median moved from 5.0 to 5.6 ms within 40 s, and by up to 28 % between runs minutes
apart. Every ``REFERENCE_INTERVAL_S`` a fixed reference network (one architecture of
the space, seeded weights) is timed; each visit's samples are divided by the
reference's level around the visit, so all timings are ratios to one reference, and
are reported in ms at the reference's median speed over the session. A later session
that times the same reference can say how much faster or slower the device runs now.

The level around a visit is the median of the (up to) four readings nearest to it,
two before and two after: on a steady or linearly drifting device that is the mean
of the reading just before and just after, and a single disturbed reading (a load
spike during the reference's 10 calls, not during the visit) does not scale the
visits next to it.

Used by ``lut.protocol`` (LUT entries timed in place or alone) and
``hwnas.timing.models`` (whole models in their runtime: LUT fit networks, validation,
``childnet.measure``). Imports torch, stdlib and ``hwnas`` basics only: it runs on a device.
"""

from __future__ import annotations

import random
import statistics
import time

import torch

from hwnas.network import build_network
from hwnas.space import SearchSpace
from hwnas.target import DeployTarget
from hwnas.timing.programs import lowered
from hwnas.timing.protocol import fixed_threads, steady_allocator, summarize, timed_calls
from hwnas.timing.runtime import load_program
from hwnas.timing.settings import TimingProtocol

__all__ = [
    "REFERENCE_CALLS",
    "REFERENCE_INTERVAL_S",
    "REFERENCE_SEED",
    "REWARM_CALLS",
    "WARMUP_ROUNDS",
    "NoBar",
    "SpeedReference",
    "interleaved",
    "progress_bar",
    "reference_arch",
    "sample_archs",
    "shuffled_rounds",
    "timed_rounds",
    "timings_ms",
]

WARMUP_ROUNDS = 2  # untimed passes of `warmup` calls over all units before timing
REWARM_CALLS = 2  # untimed calls before every timed visit of a unit
REFERENCE_SEED = 7  # the reference network's architecture and weights
REFERENCE_CALLS = 10  # timed calls per reference reading
REFERENCE_INTERVAL_S = 0.25  # at most this long between two reference readings


class NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass


def progress_bar(total, desc, progress):
    """A tqdm bar on the driver; nothing (and no tqdm import) in a Ray task on a device."""
    if not progress:
        return NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step")


def sample_archs(space: SearchSpace, n: int, seed: int = 0) -> list[list[str]]:
    """``n`` architectures with ops drawn uniformly and independently per layer."""
    rng = random.Random(seed)
    return [[rng.choice(space.ops) for _ in space.layers] for _ in range(n)]


def reference_arch(space: SearchSpace, seed: int = REFERENCE_SEED) -> list[str]:
    """The speed reference's architecture: one random architecture of the space."""
    return sample_archs(space, 1, seed)[0]


class SpeedReference:
    """A fixed whole network whose median, read every ``interval_s``, tracks the
    device's current speed; ``latency_ms`` (median of all readings) is the session's
    typical speed. Use inside ``fixed_threads`` and ``torch.inference_mode()``."""

    def __init__(
        self,
        space: SearchSpace,
        arch=None,
        *,
        batch_size: int = 1,
        seed: int = REFERENCE_SEED,
        calls: int = REFERENCE_CALLS,
        interval_s: float = REFERENCE_INTERVAL_S,
        target: DeployTarget | None = None,
    ):
        self.arch = list(arch) if arch is not None else reference_arch(space, seed)
        self.seed, self.calls, self.interval_s = seed, calls, interval_s
        self.target = target
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # the same weights in every session: only the device's speed may differ
            self.net = build_network(space, self.arch).eval()
            c, h, w = space.input_shape
            self.x = torch.randn(batch_size, c, h, w)
        if target is not None and target.lowered:  # the reference runs in the runtime it divides out
            unit = {"kind": "network", "space": space.definition(), "arch": self.arch, "seed": seed}
            self.net = load_program(lowered([unit], target)[0], target, torch.get_num_threads())
        self.readings: list[float] = []
        self.read_at = 0.0  # time.perf_counter() of the last reading

    def read(self) -> float:
        """Median ms of ``calls`` timed calls now, after ``REWARM_CALLS`` untimed ones."""
        samples = timed_calls(self.net, self.x, REWARM_CALLS, self.calls)
        self.readings.append(statistics.median(samples))
        self.read_at = time.perf_counter()
        return self.readings[-1]

    def due(self) -> bool:
        return time.perf_counter() - self.read_at >= self.interval_s

    @property
    def latency_ms(self) -> float:
        return statistics.median(self.readings)

    @property
    def rel_iqr(self) -> float:
        """Spread of the readings (IQR / median): drift over the session included."""
        return summarize(self.readings).iqr_ms / self.latency_ms

    @property
    def jitter(self) -> float:
        """Median relative change between consecutive readings (0.25 s apart): how
        unsteady the device was, without the slow drift the reference is there to
        divide out (a 200 s fbnet-cifar profile on a quiet machine spread to a rel IQR
        of 0.13 by drift alone)."""
        r = self.readings
        if len(r) < 2:
            return 0.0
        return statistics.median(abs(b - a) for a, b in zip(r, r[1:])) / self.latency_ms

    def record(self) -> dict:
        """What a LUT or a measurement stores about the reference."""
        return {
            "arch": self.arch,
            "seed": self.seed,
            "latency_ms": self.latency_ms,
            "latency_iqr_ms": summarize(self.readings).iqr_ms,
            "rel_iqr": self.rel_iqr,
            "jitter": self.jitter,
            "readings": len(self.readings),
            "calls": self.calls,
            "interval_s": self.interval_s,
            **({"target": self.target.key} if self.target is not None else {}),
        }


def shuffled_rounds(units, rounds: int, rng: random.Random):
    """Every unit once per round, in a new random order each round."""
    for _ in range(rounds):
        order = list(units)
        rng.shuffle(order)
        yield from order


def _level(readings: list[float], i: int) -> float:
    """The reference's level for a visit between readings ``i`` and ``i + 1``: the
    median of a window symmetric around the visit (one more reading on each side
    where there is one), see the module docstring."""
    k = min(1, i, len(readings) - 2 - i)
    return statistics.median(readings[i - k : i + 2 + k])


def interleaved(units, run, visit, timing: TimingProtocol, *, seed: int, reference, bar) -> dict:
    """Warm up, then visit every unit once per ``timing`` round, in a shuffled order per round.

    The allocator is made steady first (``hwnas.timing.protocol.steady_allocator``). Warm-up:
    ``WARMUP_ROUNDS`` untimed passes of ``timing.warmup`` calls over all units and the
    reference (``run(unit)`` calls a unit once), so every unit's kernels and buffers
    are set up before the first timed call. Then each visit re-warms its unit with
    ``REWARM_CALLS`` and ``visit(unit)`` returns its raw samples ``{key: [ms]}``; the
    result maps each key to its samples divided by the reference's level around the
    visit (``_level``).
    """
    steady_allocator()
    rng = random.Random(seed)
    for unit in shuffled_rounds(units, WARMUP_ROUNDS, rng):
        for _ in range(timing.warmup):
            run(unit)
    for _ in range(WARMUP_ROUNDS * timing.warmup):
        reference.net(reference.x)
    readings = [reference.read()]
    visits: list[tuple[int, dict]] = []  # (index of the reading before the visit, samples)
    for unit in shuffled_rounds(units, timing.rounds, rng):
        for _ in range(REWARM_CALLS):
            run(unit)
        visits.append((len(readings) - 1, visit(unit)))
        if reference.due():
            readings.append(reference.read())
        bar.update()
    if visits and visits[-1][0] == len(readings) - 1:
        readings.append(reference.read())
    ratios: dict = {}
    for i, samples in visits:
        level = _level(readings, i)
        for key, values in samples.items():
            ratios.setdefault(key, []).extend(v / level for v in values)
    return ratios


def timings_ms(ratios: dict, reference: SpeedReference, threads: int) -> dict:
    """``{key: Timing}`` in ms at the reference's median speed over the session."""
    ms = reference.latency_ms
    return {key: summarize([q * ms for q in qs], threads) for key, qs in ratios.items()}


def timed_rounds(units, run, visit, timing: TimingProtocol, reference: SpeedReference, *, seed, progress, desc) -> dict:
    """``{key: Timing}``: ``units`` visited in ``timing``'s shuffled rounds against
    ``reference`` (``interleaved``) with ``timing.threads`` threads in inference mode, in
    ms at the reference's median speed (``timings_ms``); a ``desc`` progress bar on the
    driver. The session every timing runs: LUT entries (``lut.protocol``) and whole
    models (``hwnas.timing.time_models``)."""
    with (
        fixed_threads(timing.threads),
        torch.inference_mode(),
        progress_bar(len(units) * timing.rounds, desc, progress) as bar,
    ):
        ratios = interleaved(units, run, visit, timing, seed=seed, reference=reference, bar=bar)
    return timings_ms(ratios, reference, timing.threads)
