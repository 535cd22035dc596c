"""How LUT entries are timed in place or alone: the eager contexts, one timing protocol
(``hwnas.timing``), and a speed reference that takes the device's drift out of every entry.
What this module adds is LUT-specific: which units exist, the balanced design, and a
visit that reads the clock between a network's blocks.

``graph`` (``lut.profile``'s default) fits the entries to whole traced networks with
the ``network`` timings as prior: ``lut.graph_fit``.

``network``: every block is timed *in place*, inside whole networks built
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

Both warm up the whole process first (``hwnas.timing.speed.interleaved``), then interleave:
``rounds`` passes over all units in a shuffled order, each visit after ``REWARM_CALLS``
untimed calls. Statistic: median; spread: IQR. ``lut.validate`` measures whole networks the
same way (``hwnas.timing.time_networks``).

**Speed reference.** Every entry is a ratio to a fixed reference network timed every
0.25 s, reported in ms at the reference's median speed over the session (recorded in
the LUT as ``protocol.reference``); see ``hwnas.timing.speed``; whole models (childnets,
baselines) are timed the same way (``hwnas.timing.time_models``).

Imports torch, stdlib and ``hwnas`` only (runs in a Ray task on the device).
"""

from __future__ import annotations

import random
import time

import torch

from hwnas.network import build_head, build_network, build_stem
from hwnas.ops import Skip, build_op
from hwnas.space import SearchSpace
from hwnas.timing.protocol import Timing, fixed_threads, timed_calls
from hwnas.timing.settings import TimingProtocol
from hwnas.timing.speed import SpeedReference, timed_rounds

__all__ = [
    "CONTEXTS",
    "PROTOCOL_VERSION",
    "design_archs",
    "is_identity",
    "isolated_units",
    "time_in_network",
    "time_isolated",
    "timing_entry",
]

CONTEXTS = ("graph", "network", "isolated")
# 2: speed reference, whole-process warm-up, steady allocator.
# 3: the reference's level around a visit is a windowed median (one disturbed reading
#    no longer scales its neighbours); LUT noise recorded and checked before caching.
# A cached LUT of another version is profiled again (``lut.cache.ensure_lut``).
# 4: entries fitted to whole networks in the deployment target; the fit's base is the prior
#    scaled and shifted per block and by the block's input + output size.
PROTOCOL_VERSION = 4


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


def _time_units(space, units, run, visit, timing: TimingProtocol, *, batch_size, seed, progress) -> tuple:
    """``({key: Timing}, reference)``: ``units`` visited in ``timing``'s shuffled rounds
    (``hwnas.timing.speed.timed_rounds``) against a new speed reference of ``space``."""
    with fixed_threads(timing.threads), torch.inference_mode():  # built as it is timed
        reference = SpeedReference(space, batch_size=batch_size)
    timings = timed_rounds(units, run, visit, timing, reference, seed=seed, progress=progress, desc="profiling")
    return timings, reference


def time_isolated(
    units, space: SearchSpace, timing: TimingProtocol, *, batch_size: int = 1, seed: int = 0, progress: bool = False
) -> tuple[dict, SpeedReference]:
    """``({key: Timing}, reference)`` of every unit timed alone."""

    def run(unit):
        _, module, x = unit
        module(x)

    def visit(unit):
        key, module, x = unit
        return {key: timed_calls(module, x, 0, timing.per_round)}

    return _time_units(space, units, run, visit, timing, batch_size=batch_size, seed=seed, progress=progress)


def is_identity(space: SearchSpace, layer_index: int, op: str) -> bool:
    """Whether ``op`` at this layer is an identity ``skip`` (``build_network`` drops it)."""
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


def _design_networks(space: SearchSpace, archs) -> list:
    """``(network, keys)`` per architecture: its blocks' entry keys in run order."""
    nets = []
    for arch in archs:
        net = build_network(space, arch).eval()
        keys = (
            ["stem"]
            + [(space.layers[i].shape_key, op) for i, op in enumerate(arch) if not is_identity(space, i, op)]
            + ["head"]
        )
        if len(keys) != len(net):
            raise RuntimeError("lut.protocol: build_network dropped different layers than expected")
        nets.append((net, keys))
    return nets


def time_in_network(
    space: SearchSpace,
    timing: TimingProtocol,
    *,
    per_op: int,
    batch_size: int = 1,
    seed: int = 0,
    progress: bool = False,
) -> tuple[dict, dict, SpeedReference]:
    """Time every block in place inside the design's networks.

    One clock read between consecutive blocks: a block's time runs from the read
    before it to the read after it, so it carries its share of the network's loop
    and call overhead, and the blocks' times of one pass add up to the pass.
    Returns ``({key: Timing}, info, reference)`` with keys ``"stem"``, ``"head"`` and
    ``(shape_key, op)``; ``info`` records the design (``archs``) for the LUT file.
    """
    archs = design_archs(space, per_op, seed)
    torch.manual_seed(seed)
    nets = _design_networks(space, archs)
    c, h, w = space.input_shape
    x = torch.randn(batch_size, c, h, w)
    clock = time.perf_counter_ns

    def run(unit):
        unit[0](x)

    def visit(unit):
        net, keys = unit
        blocks = list(net)
        samples = {key: [] for key in keys}
        out = [samples[key] for key in keys]  # a key may occur twice (same shape, same op)
        for _ in range(timing.per_round):
            y = x
            t0 = clock()
            for block, dest in zip(blocks, out):
                y = block(y)
                t1 = clock()
                dest.append((t1 - t0) / 1e6)
                t0 = t1
        return samples

    timings, reference = _time_units(
        space, nets, run, visit, timing, batch_size=batch_size, seed=seed, progress=progress
    )
    return timings, {"archs": archs, "per_op": per_op, "seed": seed}, reference


def timing_entry(t: Timing) -> dict:
    return {"latency_ms": t.median_ms, "latency_iqr_ms": t.iqr_ms}
