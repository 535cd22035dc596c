"""How LUT entries are timed: two contexts, one timing protocol (``hwnas.timing``),
and a speed reference that takes the device's drift out of every entry.

``network`` (default): every block is timed *in place*, inside whole networks built
by ``hwnas.network.build_network``, with one clock read between consecutive blocks. On a
CPU a block run alone is faster than the same block inside a network (measured here:
whole fbnet-cifar networks take 1.2-1.4x the sum of their blocks timed alone): alone,
its kernels, weights, allocator chunks and Python/dispatch paths stay hot; inside a
network, the other 20-odd blocks evict them between two calls. Timing in place
measures each block in the state it really runs in. The networks follow a balanced
design: for every layer each op appears in exactly ``per_op`` networks (shuffled
independently per layer). Samples of layers with the same ``shape_key`` pool into
one entry. A block's time includes its share of the network's loop/call overhead
(the clock is read once between blocks), so a pass's block times add up to the pass;
the fixed part is the stem's and head's in-place times.

``isolated``: every distinct (shape, op) block is timed alone on its real input shape
(the classic per-op table; kept for comparison and for devices where it suffices).

Both warm up the whole process first (``_interleaved``), then interleave: ``rounds``
passes over all units in a shuffled order, each visit after ``REWARM_CALLS`` untimed
calls. Statistic: median; spread: IQR. ``lut.validate`` measures whole networks the same way
(``measure_networks``).

**Speed reference.** A shared machine's speed drifts: on this project's 2-core VM the
same network's median moved from 5.0 to 5.6 ms within 40 s, and by up to 28 % between
runs minutes apart, so the same 50 networks measured twice agreed only to
kendall_tau 0.58-0.77. Every ``reference_interval_s`` a fixed reference network (one
architecture of the space, seeded weights) is timed; each visit's samples are divided
by the mean of the reference readings just before and just after it, so all entries
are ratios to one reference, and are reported in ms at the reference's median speed
over the session (``SpeedReference.latency_ms``, recorded in the LUT). A later
measurement (``lut.validate``) times the same reference and so can say how fast the
device is now compared with when the LUT was profiled.

Imports torch, stdlib and ``hwnas`` only (runs in a Ray task on the device).
"""

from __future__ import annotations

import random
import statistics
import time

import torch

from hwnas.network import build_head, build_network, build_stem
from hwnas.ops import Skip, build_op
from hwnas.space import SearchSpace
from hwnas.timing import Timing, fixed_threads, steady_allocator, summarize, timed_calls

__all__ = ["CONTEXTS", "PROTOCOL_VERSION", "REFERENCE_SEED", "SpeedReference", "design_archs", "isolated_units", "measure_networks",
           "reference_arch", "sample_archs", "time_in_network", "time_isolated", "timing_entry"]

CONTEXTS = ("network", "isolated")
# 2: speed reference, whole-process warm-up, steady allocator. A cached LUT of another
# version is profiled again (``lut.profile.ensure_lut``).
PROTOCOL_VERSION = 2
WARMUP_ROUNDS = 2  # untimed passes of `warmup` calls over all units before timing
REWARM_CALLS = 2  # untimed calls before every timed visit of a unit
REFERENCE_SEED = 7  # the reference network's architecture and weights
REFERENCE_CALLS = 10  # timed calls per reference reading
REFERENCE_INTERVAL_S = 0.25  # at most this long between two reference readings


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass


def _bar(total, desc, progress):
    """A tqdm bar on the driver; nothing (and no tqdm import) in a Ray task on a device."""
    if not progress:
        return _NoBar()
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

    def __init__(self, space: SearchSpace, arch=None, *, batch_size: int = 1, seed: int = REFERENCE_SEED,
                 calls: int = REFERENCE_CALLS, interval_s: float = REFERENCE_INTERVAL_S):
        self.arch = list(arch) if arch is not None else reference_arch(space, seed)
        self.seed, self.calls, self.interval_s = seed, calls, interval_s
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # the same weights in every session: only the device's speed may differ
            self.net = build_network(space, self.arch).eval()
            c, h, w = space.input_shape
            self.x = torch.randn(batch_size, c, h, w)
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

    def record(self) -> dict:
        """What a LUT stores about the reference (``protocol.reference``)."""
        return {"arch": self.arch, "seed": self.seed, "latency_ms": self.latency_ms,
                "latency_iqr_ms": summarize(self.readings).iqr_ms, "readings": len(self.readings),
                "calls": self.calls, "interval_s": self.interval_s}


def _shuffled_rounds(units, rounds: int, rng: random.Random):
    """Every unit once per round, in a new random order each round."""
    for _ in range(rounds):
        order = list(units)
        rng.shuffle(order)
        yield from order


def _interleaved(units, run, visit, *, warmup: int, rounds: int, seed: int, reference: SpeedReference, bar) -> dict:
    """Warm up, then visit every unit once per round, in a shuffled order per round.

    The allocator is made steady first (``hwnas.timing.steady_allocator``: glibc
    otherwise page-faults on activation buffers depending on the process's history).
    Warm-up: ``WARMUP_ROUNDS`` untimed passes of ``warmup`` calls over all units and
    the reference (``run(unit)`` calls a unit once), so every unit's kernels and
    buffers are set up before the first timed call. Then each visit
    re-warms its unit with ``REWARM_CALLS`` and ``visit(unit)`` returns its raw
    samples ``{key: [ms]}``; the result maps each key to its samples divided by the
    mean of the reference readings around the visit.
    """
    steady_allocator()
    rng = random.Random(seed)
    for unit in _shuffled_rounds(units, WARMUP_ROUNDS, rng):
        for _ in range(warmup):
            run(unit)
    for _ in range(WARMUP_ROUNDS * warmup):
        reference.net(reference.x)
    ratios: dict = {}
    pending: list[dict] = []
    before = reference.read()

    def settle():
        nonlocal before, pending
        after = reference.read()
        level = (before + after) / 2
        for samples in pending:
            for key, values in samples.items():
                ratios.setdefault(key, []).extend(v / level for v in values)
        before, pending = after, []

    for unit in _shuffled_rounds(units, rounds, rng):
        for _ in range(REWARM_CALLS):
            run(unit)
        pending.append(visit(unit))
        if reference.due():
            settle()
        bar.update()
    if pending:
        settle()
    return ratios


def _timings_ms(ratios: dict, reference: SpeedReference, threads: int) -> dict:
    ms = reference.latency_ms
    return {key: summarize([q * ms for q in qs], threads) for key, qs in ratios.items()}


def isolated_units(space: SearchSpace, batch_size: int = 1):
    """``(key, module, input)`` for the stem, the head and each distinct
    ``(shape_key, op)`` whose block is not an identity."""
    torch.manual_seed(0)
    c, h, w = space.input_shape
    units = [("stem", build_stem(space), torch.randn(batch_size, c, h, w))]
    last = space.layers[-1]
    units.append(("head", build_head(space), torch.randn(batch_size, last.out_channels, last.out_hw, last.out_hw)))
    seen = set()
    for layer in space.layers:
        if layer.shape_key in seen:
            continue
        seen.add(layer.shape_key)
        x = torch.randn(batch_size, layer.in_channels, layer.in_hw, layer.in_hw)
        for op in space.ops:
            block = build_op(op, layer.in_channels, layer.out_channels, layer.stride)
            if isinstance(block, Skip) and block.is_identity:
                continue
            units.append(((layer.shape_key, op), block.eval(), x))
    return units


def time_isolated(units, space: SearchSpace, *, threads: int, warmup: int, repeats: int, rounds: int,
                  batch_size: int = 1, seed: int = 0, progress: bool = False) -> tuple[dict, SpeedReference]:
    """``({key: Timing}, reference)`` of every unit timed alone."""
    per_round = max(1, repeats // rounds)

    def run(unit):
        _, module, x = unit
        module(x)

    def visit(unit):
        key, module, x = unit
        return {key: timed_calls(module, x, 0, per_round)}

    with fixed_threads(threads), torch.inference_mode(), _bar(len(units) * rounds, "profiling", progress) as bar:
        reference = SpeedReference(space, batch_size=batch_size)
        ratios = _interleaved(units, run, visit, warmup=warmup, rounds=rounds, seed=seed, reference=reference,
                              bar=bar)
    return _timings_ms(ratios, reference, threads), reference


def _is_identity(space: SearchSpace, layer_index: int, op: str) -> bool:
    layer = space.layers[layer_index]
    return op == "skip" and layer.in_channels == layer.out_channels and layer.stride == 1


def design_archs(space: SearchSpace, per_op: int, seed: int = 0) -> list[list[str]]:
    """``len(space.ops) * per_op`` architectures in which, for every layer, each op
    appears exactly ``per_op`` times."""
    rng = random.Random(seed)
    columns = []
    for _ in space.layers:
        column = list(space.ops) * per_op
        rng.shuffle(column)
        columns.append(column)
    return [list(arch) for arch in zip(*columns)]


def time_in_network(space: SearchSpace, *, threads: int, warmup: int, repeats: int, rounds: int, per_op: int,
                    batch_size: int = 1, seed: int = 0, progress: bool = False) -> tuple[dict, dict, SpeedReference]:
    """Time every block in place inside the design's networks.

    One clock read between consecutive blocks: a block's time runs from the read
    before it to the read after it, so it carries its share of the network's loop
    and call overhead, and the blocks' times of one pass add up to the pass.
    Returns ``({key: Timing}, info, reference)`` with keys ``"stem"``, ``"head"`` and
    ``(shape_key, op)``; ``info`` records the design (``archs``) for the LUT file.
    """
    archs = design_archs(space, per_op, seed)
    torch.manual_seed(seed)
    nets = []
    for arch in archs:
        net = build_network(space, arch).eval()
        keys = ["stem"] + [(space.layers[i].shape_key, op) for i, op in enumerate(arch)
                           if not _is_identity(space, i, op)] + ["head"]
        if len(keys) != len(net):
            raise RuntimeError("lut.protocol: build_network dropped different layers than expected")
        nets.append((net, keys))
    c, h, w = space.input_shape
    x = torch.randn(batch_size, c, h, w)
    per_round = max(1, repeats // rounds)
    clock = time.perf_counter_ns

    def run(unit):
        unit[0](x)

    def visit(unit):
        net, keys = unit
        blocks = list(net)
        samples = {key: [] for key in keys}
        out = [samples[key] for key in keys]  # a key may occur twice (same shape, same op)
        for _ in range(per_round):
            y = x
            t0 = clock()
            for block, dest in zip(blocks, out):
                y = block(y)
                t1 = clock()
                dest.append((t1 - t0) / 1e6)
                t0 = t1
        return samples

    with fixed_threads(threads), torch.inference_mode(), _bar(len(nets) * rounds, "profiling", progress) as bar:
        reference = SpeedReference(space, batch_size=batch_size)
        ratios = _interleaved(nets, run, visit, warmup=warmup, rounds=rounds, seed=seed, reference=reference,
                              bar=bar)
    return _timings_ms(ratios, reference, threads), {"archs": archs, "per_op": per_op, "seed": seed}, reference


def measure_networks(space: SearchSpace, archs, *, threads: int = 1, warmup: int = 10, repeats: int = 90,
                     rounds: int = 6, batch_size: int = 1, seed: int = 0, progress: bool = True,
                     reference_arch=None, reference_seed: int = REFERENCE_SEED) -> tuple[list[Timing], SpeedReference]:
    """Median/IQR latency of each architecture's whole network, measured in
    ``rounds`` shuffled passes over all networks with the speed reference (same
    protocol as ``lut.profile``). Returns ``(timings, reference)``: timings in ms at
    this session's reference speed, ``reference.latency_ms`` that speed."""
    torch.manual_seed(seed)
    nets = [build_network(space, a).eval() for a in archs]
    c, h, w = space.input_shape
    x = torch.randn(batch_size, c, h, w)
    per_round = max(1, repeats // rounds)

    def run(i):
        nets[i](x)

    def visit(i):
        return {i: timed_calls(nets[i], x, 0, per_round)}

    with fixed_threads(threads), torch.inference_mode(), \
            _bar(len(nets) * rounds, "measuring", progress) as bar:
        reference = SpeedReference(space, reference_arch, batch_size=batch_size, seed=reference_seed)
        ratios = _interleaved(range(len(nets)), run, visit, warmup=warmup, rounds=rounds, seed=seed,
                              reference=reference, bar=bar)
    timings = _timings_ms(ratios, reference, threads)
    return [timings[i] for i in range(len(nets))], reference


def timing_entry(t: Timing) -> dict:
    return {"latency_ms": t.median_ms, "latency_iqr_ms": t.iqr_ms}
