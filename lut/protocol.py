"""How LUT entries are timed: two contexts, one timing protocol (``hwnas.timing``).

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
the fixed part is the stem's and head's in-place times. Timing short blocks rather
than whole ~5 ms networks also makes the median robust to the scheduler: on a busy
machine a whole-network call is often preempted, a 0.2 ms block rarely.

``isolated``: every distinct (shape, op) block is timed alone on its real input shape
(the classic per-op table; kept for comparison and for devices where it suffices).

Both interleave: ``rounds`` passes over all units in a shuffled order, so that load
from other processes falls on all entries alike; a unit gets ``warmup`` calls before
its first timed call and ``REWARM_CALLS`` on later visits. Statistic: median; spread:
IQR. ``lut.validate`` measures whole networks the same way (``measure_networks``).
Imports torch, stdlib and ``hwnas`` only (runs in a Ray task on the device).
"""

from __future__ import annotations

import random
import time

import torch

from hwnas.network import build_head, build_network, build_stem
from hwnas.ops import Skip, build_op
from hwnas.space import SearchSpace
from hwnas.timing import Timing, fixed_threads, summarize

__all__ = ["CONTEXTS", "design_archs", "isolated_units", "measure_networks", "sample_archs", "time_in_network",
           "time_isolated", "timing_entry"]

CONTEXTS = ("network", "isolated")


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


REWARM_CALLS = 2  # warm-up calls when a unit is visited again in a later round


def _warmup_calls(warmup: int, round_index: int) -> int:
    """``warmup`` calls on the first visit of a unit; a short re-warm on later rounds."""
    return warmup if round_index == 0 else min(warmup, REWARM_CALLS)


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


def time_isolated(units, *, threads: int, warmup: int, repeats: int, rounds: int, seed: int = 0,
                  progress: bool = False) -> dict:
    """``{key: Timing}`` of every unit timed alone."""
    per_round = max(1, repeats // rounds)
    samples = {key: [] for key, _, _ in units}
    rng = random.Random(seed)
    clock = time.perf_counter_ns
    with fixed_threads(threads), torch.inference_mode(), _bar(len(units) * rounds, "profiling", progress) as bar:
        for r in range(rounds):
            order = list(units)
            rng.shuffle(order)
            for key, module, x in order:
                for _ in range(_warmup_calls(warmup, r)):
                    module(x)
                out = samples[key]
                for _ in range(per_round):
                    t0 = clock()
                    module(x)
                    out.append((clock() - t0) / 1e6)
                bar.update()
    return {key: summarize(s, threads) for key, s in samples.items()}


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
                    batch_size: int = 1, seed: int = 0, progress: bool = False) -> tuple[dict, dict]:
    """Time every block in place inside the design's networks.

    One clock read between consecutive blocks: a block's time runs from the read
    before it to the read after it, so it carries its share of the network's loop
    and call overhead, and the blocks' times of one pass add up to the pass.
    Returns ``({key: Timing}, info)`` with keys ``"stem"``, ``"head"`` and
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
    samples: dict = {}
    rng = random.Random(seed)
    clock = time.perf_counter_ns
    with fixed_threads(threads), torch.inference_mode(), _bar(len(nets) * rounds, "profiling", progress) as bar:
        for r in range(rounds):
            order = list(range(len(nets)))
            rng.shuffle(order)
            for n in order:
                net, keys = nets[n]
                blocks = list(net)
                out = [samples.setdefault(key, []) for key in keys]
                for _ in range(_warmup_calls(warmup, r)):
                    net(x)
                for _ in range(per_round):
                    y = x
                    t0 = clock()
                    for block, dest in zip(blocks, out):
                        y = block(y)
                        t1 = clock()
                        dest.append((t1 - t0) / 1e6)
                        t0 = t1
                bar.update()
    timings = {key: summarize(s, threads) for key, s in samples.items()}
    return timings, {"archs": archs, "per_op": per_op, "seed": seed}


def sample_archs(space: SearchSpace, n: int, seed: int = 0) -> list[list[str]]:
    """``n`` architectures with ops drawn uniformly and independently per layer."""
    rng = random.Random(seed)
    return [[rng.choice(space.ops) for _ in space.layers] for _ in range(n)]


def measure_networks(space: SearchSpace, archs, *, threads: int = 1, warmup: int = 10, repeats: int = 90,
                     rounds: int = 6, batch_size: int = 1, seed: int = 0, progress: bool = True):
    """Median/IQR latency of each architecture's whole network, measured in
    ``rounds`` shuffled passes over all networks (same protocol as ``lut.profile``)."""
    torch.manual_seed(seed)
    nets = [build_network(space, a).eval() for a in archs]
    c, h, w = space.input_shape
    x = torch.randn(batch_size, c, h, w)
    samples = [[] for _ in nets]
    per_round = max(1, repeats // rounds)
    rng = random.Random(seed)
    clock = time.perf_counter_ns
    with fixed_threads(threads), torch.inference_mode(), \
            _bar(len(nets) * rounds, "measuring", progress) as bar:
        for r in range(rounds):
            order = list(range(len(nets)))
            rng.shuffle(order)
            for i in order:
                net = nets[i]
                for _ in range(_warmup_calls(warmup, r)):
                    net(x)
                for _ in range(per_round):
                    t0 = clock()
                    net(x)
                    samples[i].append((clock() - t0) / 1e6)
                bar.update()
    return [summarize(s, threads) for s in samples]


def timing_entry(t: Timing) -> dict:
    return {"latency_ms": t.median_ms, "latency_iqr_ms": t.iqr_ms}
