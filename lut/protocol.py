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

Both warm up the whole process first (``hwnas.speed.interleaved``), then interleave: ``rounds``
passes over all units in a shuffled order, each visit after ``REWARM_CALLS`` untimed
calls. Statistic: median; spread: IQR. ``lut.validate`` measures whole networks the same way
(``measure_networks``).

**Speed reference.** Every entry is a ratio to a fixed reference network timed every
0.25 s, reported in ms at the reference's median speed over the session (recorded in
the LUT as ``protocol.reference``); see ``hwnas.speed``, which also times whole
models (childnets, baselines) the same way.

Imports torch, stdlib and ``hwnas`` only (runs in a Ray task on the device).
"""

from __future__ import annotations

import random
import statistics
import time

import torch

from hwnas.network import build_head, build_network, build_stem, trace  # trace: re-exported
from hwnas.ops import Skip, build_op
from hwnas.space import SearchSpace
from hwnas.speed import (
    REFERENCE_SEED,
    REWARM_CALLS,
    WARMUP_ROUNDS,
    SpeedReference,
    interleaved,
    measure_modules,
    progress_bar,
    reference_arch,
    sample_archs,
    timings_ms,
)
from hwnas.timing import Timing, fixed_threads, timed_calls

__all__ = [
    "CONTEXTS",
    "PROTOCOL_VERSION",
    "REFERENCE_SEED",
    "REWARM_CALLS",
    "WARMUP_ROUNDS",
    "SpeedReference",
    "design_archs",
    "fit_entries",
    "isolated_units",
    "measure_networks",
    "time_in_graph",
    "trace",
    "reference_arch",
    "sample_archs",
    "time_in_network",
    "time_isolated",
    "timing_entry",
]

CONTEXTS = ("graph", "network", "isolated")
GRAPH_RIDGE = 0.05  # ms^2 of network residual per ms^2 of entry correction (see fit_entries)
GRAPH_FLOOR = 0.25  # a fitted entry is at least this share of its scaled prior
# 2: speed reference, whole-process warm-up, steady allocator.
# 3: the reference's level around a visit is a windowed median (one disturbed reading
#    no longer scales its neighbours); LUT noise recorded and checked before caching.
# A cached LUT of another version is profiled again (``lut.cache.ensure_lut``).
PROTOCOL_VERSION = 3


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


def time_isolated(
    units,
    space: SearchSpace,
    *,
    threads: int,
    warmup: int,
    repeats: int,
    rounds: int,
    batch_size: int = 1,
    seed: int = 0,
    progress: bool = False,
) -> tuple[dict, SpeedReference]:
    """``({key: Timing}, reference)`` of every unit timed alone."""
    per_round = max(1, repeats // rounds)

    def run(unit):
        _, module, x = unit
        module(x)

    def visit(unit):
        key, module, x = unit
        return {key: timed_calls(module, x, 0, per_round)}

    with (
        fixed_threads(threads),
        torch.inference_mode(),
        progress_bar(len(units) * rounds, "profiling", progress) as bar,
    ):
        reference = SpeedReference(space, batch_size=batch_size)
        ratios = interleaved(units, run, visit, warmup=warmup, rounds=rounds, seed=seed, reference=reference, bar=bar)
    return timings_ms(ratios, reference, threads), reference


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


def time_in_network(
    space: SearchSpace,
    *,
    threads: int,
    warmup: int,
    repeats: int,
    rounds: int,
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
    nets = []
    for arch in archs:
        net = build_network(space, arch).eval()
        keys = (
            ["stem"]
            + [(space.layers[i].shape_key, op) for i, op in enumerate(arch) if not _is_identity(space, i, op)]
            + ["head"]
        )
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

    with fixed_threads(threads), torch.inference_mode(), progress_bar(len(nets) * rounds, "profiling", progress) as bar:
        reference = SpeedReference(space, batch_size=batch_size)
        ratios = interleaved(nets, run, visit, warmup=warmup, rounds=rounds, seed=seed, reference=reference, bar=bar)
    return timings_ms(ratios, reference, threads), {"archs": archs, "per_op": per_op, "seed": seed}, reference


def _design_matrix(space: SearchSpace, archs, keys: list) -> torch.Tensor:
    """Row per architecture: 1 for the fixed part, then how often each entry key occurs."""
    col = {key: j for j, key in enumerate(keys)}
    X = torch.zeros(len(archs), len(keys), dtype=torch.float64)
    for r, arch in enumerate(archs):
        X[r, col["fixed"]] = 1.0
        for i, op in enumerate(arch):
            if not _is_identity(space, i, op):
                X[r, col[(space.layers[i].shape_key, op)]] += 1.0
    return X


def fit_entries(X: torch.Tensor, y: torch.Tensor, prior: torch.Tensor, ridge: float = GRAPH_RIDGE) -> tuple:
    """Entries ``b`` with ``X @ b ~ y`` (ms of whole networks), by ridge regression
    toward ``s * prior``, where ``s`` is the least-squares scale of the prior's
    predictions to ``y``: ``b = s*prior + argmin ||y - X(s*prior + d)||^2 + ridge*||d||^2``.

    Why a prior: each layer picks exactly one op, so adding a constant to all of a
    layer's entries and subtracting it from the fixed part predicts every network
    the same; the data fix only the differences between a layer's ops. The prior
    (the in-place eager timings) decides the rest. Returns ``(b, s, floored)``: a
    fitted entry is kept at least ``GRAPH_FLOOR`` of its scaled prior (a block never
    costs nothing; only too few or too noisy networks fit one that low), and
    ``floored`` counts the entries that were."""
    p = X @ prior
    s = float((p @ y) / (p @ p))
    base = s * prior
    r = y - X @ base
    A = X.T @ X + ridge * torch.eye(X.shape[1], dtype=X.dtype)
    d = torch.linalg.solve(A, X.T @ r)
    b = torch.maximum(base + d, GRAPH_FLOOR * base)
    return b, s, int((base + d < GRAPH_FLOOR * base).sum())


def time_in_graph(
    space: SearchSpace,
    *,
    threads: int,
    warmup: int,
    repeats: int,
    rounds: int,
    per_op: int,
    batch_size: int = 1,
    seed: int = 0,
    progress: bool = False,
) -> tuple[dict, dict, SpeedReference]:
    """Every entry fitted from whole *TorchScript* networks (the deployed form).

    A traced network runs its blocks without Python between them: measured here,
    fbnet-cpu networks ran in 0.59x the time of the same eager networks, the whole
    gap being Python's per-module call overhead, which in-place eager timing puts
    into every block. So the design's networks (``GRAPH_PER_OP`` per op and layer,
    at least 2 networks per unknown) are traced and timed whole with the speed
    reference, and the entries are fitted to them (``fit_entries``) with the eager
    in-place timings (``time_in_network``) as prior. Returns like ``time_in_network``;
    the entries' IQR is the prior's, scaled.
    """
    eager, _, _ = time_in_network(
        space,
        threads=threads,
        warmup=warmup,
        repeats=repeats,
        rounds=rounds,
        per_op=per_op,
        batch_size=batch_size,
        seed=seed,
        progress=progress,
    )
    keys = ["fixed"] + [key for key in eager if key not in ("stem", "head")]
    per_op_fit = max(per_op, -(-2 * len(keys) // len(space.ops)))
    archs = design_archs(space, per_op_fit, seed + 1)
    torch.manual_seed(seed)
    c, h, w = space.input_shape
    x = torch.randn(batch_size, c, h, w)
    with fixed_threads(threads):
        nets = [trace(build_network(space, arch), x) for arch in archs]
    reference = SpeedReference(space, batch_size=batch_size)
    # fewer samples per network than a childnet gets (>= 10 ms each): the fit averages
    # over all the networks
    timings = measure_modules(
        nets,
        [x] * len(nets),
        reference,
        threads=threads,
        warmup=warmup,
        repeats=max(rounds, repeats // 6),
        rounds=rounds,
        seed=seed,
        progress=progress,
    )
    fixed_eager = eager["stem"].median_ms + eager["head"].median_ms
    prior = torch.tensor([fixed_eager] + [eager[k].median_ms for k in keys[1:]], dtype=torch.float64)
    X = _design_matrix(space, archs, keys)
    y = torch.tensor([t.median_ms for t in timings], dtype=torch.float64)
    b, scale, floored = fit_entries(X, y, prior)
    residual = (X @ b - y) / y
    out = {}
    for j, key in enumerate(keys[1:], start=1):
        t = eager[key]
        out[key] = Timing(
            median_ms=float(b[j]),
            iqr_ms=t.iqr_ms * scale,
            mean_ms=float(b[j]),
            min_ms=float(b[j]),
            repeats=t.repeats,
            threads=threads,
        )
    # the fixed part split between stem and head as the eager timings split it
    for part in ("stem", "head"):
        share = eager[part].median_ms / fixed_eager
        t = eager[part]
        out[part] = Timing(
            median_ms=float(b[0]) * share,
            iqr_ms=t.iqr_ms * scale,
            mean_ms=float(b[0]) * share,
            min_ms=float(b[0]) * share,
            repeats=t.repeats,
            threads=threads,
        )
    info = {
        "archs": archs,
        "per_op": per_op_fit,
        "seed": seed + 1,
        "networks": len(archs),
        "unknowns": len(keys),
        "ridge": GRAPH_RIDGE,
        "prior": "network context (eager, in place)",
        "prior_scale": scale,
        "fit_rel_rmse": float(residual.pow(2).mean().sqrt()),
        "fit_rel_max": float(residual.abs().max()),
        "floored": floored,
        "median_rel_iqr_networks": statistics.median(t.iqr_ms / t.median_ms for t in timings),
    }
    return out, info, reference


def measure_networks(
    space: SearchSpace,
    archs,
    *,
    threads: int = 1,
    warmup: int = 10,
    repeats: int = 90,
    rounds: int = 6,
    batch_size: int = 1,
    seed: int = 0,
    progress: bool = True,
    reference_arch=None,
    reference_seed: int = REFERENCE_SEED,
    graph: bool = True,
) -> tuple[list[Timing], SpeedReference]:
    """Median/IQR latency of each architecture's whole network (traced like an
    exported childnet when ``graph``, else eager), measured in ``rounds`` shuffled
    passes over all networks with the speed reference (same protocol as
    ``lut.profile``). Returns ``(timings, reference)``: timings in ms at this
    session's reference speed, ``reference.latency_ms`` that speed."""
    torch.manual_seed(seed)
    c, h, w = space.input_shape
    x = torch.randn(batch_size, c, h, w)
    nets = [build_network(space, a).eval() for a in archs]
    if graph:
        with fixed_threads(threads):
            nets = [trace(net, x) for net in nets]
    reference = SpeedReference(space, reference_arch, batch_size=batch_size, seed=reference_seed)
    timings = measure_modules(
        nets,
        [x] * len(nets),
        reference,
        threads=threads,
        warmup=warmup,
        repeats=repeats,
        rounds=rounds,
        seed=seed,
        progress=progress,
    )
    return timings, reference


def timing_entry(t: Timing) -> dict:
    return {"latency_ms": t.median_ms, "latency_iqr_ms": t.iqr_ms}
