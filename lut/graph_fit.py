"""The ``graph`` context: LUT entries fitted to whole *TorchScript* networks.

A traced network runs its blocks without Python between them: measured here,
fbnet-cpu networks ran in 0.59x the time of the same eager networks, the whole gap
being Python's per-module call overhead, which in-place eager timing
(``lut.protocol.time_in_network``) puts into every block. So this context takes
those timings as prior, times whole traced networks of a balanced design with the
speed reference (``hwnas.speed.measure_modules``) and fits the entries to them
(``fit_entries``).
"""

from __future__ import annotations

import dataclasses
import statistics

import torch

from hwnas.network import build_network, trace
from hwnas.space import SearchSpace
from hwnas.speed import SpeedReference, measure_modules
from hwnas.timing import Timing, TimingProtocol, fixed_threads
from lut.protocol import design_archs, is_identity

__all__ = ["GRAPH_FLOOR", "GRAPH_RIDGE", "design_matrix", "fit_entries", "time_in_graph"]

GRAPH_RIDGE = 0.05  # ms^2 of network residual per ms^2 of entry correction (see fit_entries)
GRAPH_FLOOR = 0.25  # a fitted entry is at least this share of its scaled prior


def design_matrix(space: SearchSpace, archs, keys: list) -> torch.Tensor:
    """Row per architecture: 1 for the fixed part, then how often each entry key occurs."""
    col = {key: j for j, key in enumerate(keys)}
    X = torch.zeros(len(archs), len(keys), dtype=torch.float64)
    for r, arch in enumerate(archs):
        X[r, col["fixed"]] = 1.0
        for i, op in enumerate(arch):
            if not is_identity(space, i, op):
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


def _fitted(eager: Timing, ms: float, scale: float) -> Timing:
    """A fitted entry of ``ms``; its spread is the eager prior's, scaled like the prior."""
    return Timing(
        median_ms=ms,
        iqr_ms=eager.iqr_ms * scale,
        mean_ms=ms,
        min_ms=ms,
        repeats=eager.repeats,
        threads=eager.threads,
    )


def time_in_graph(
    space: SearchSpace, eager: dict, timing: TimingProtocol, *, per_op: int, batch_size: int, seed: int, progress: bool
) -> tuple[dict, dict, SpeedReference]:
    """Every entry fitted from whole traced networks (the deployed form).

    The design's networks (``per_op`` per op and layer, at least 2 networks per
    unknown) are traced and timed whole with the speed reference, and the entries are
    fitted to them (``fit_entries``) with ``eager``, the in-place timings of
    ``time_in_network`` with the same arguments, as prior. Returns like
    ``time_in_network``; the entries' IQR is the prior's, scaled.
    """
    keys = ["fixed"] + [key for key in eager if key not in ("stem", "head")]
    per_op_fit = max(per_op, -(-2 * len(keys) // len(space.ops)))
    archs = design_archs(space, per_op_fit, seed + 1)
    # fewer samples per network than a childnet gets (>= 10 ms each): the fit averages
    # over all the networks
    whole = dataclasses.replace(timing, repeats=max(timing.rounds, timing.repeats // 6))
    torch.manual_seed(seed)
    c, h, w = space.input_shape
    x = torch.randn(batch_size, c, h, w)
    # each network traced as soon as it is built (lut.protocol.measure_networks builds
    # all first): the allocation order every graph-context LUT so far was profiled with
    with fixed_threads(timing.threads):
        nets = [trace(build_network(space, arch), x) for arch in archs]
    reference = SpeedReference(space, batch_size=batch_size)
    timings = measure_modules(nets, [x] * len(nets), reference, whole, seed=seed, progress=progress)
    fixed_eager = eager["stem"].median_ms + eager["head"].median_ms
    prior = torch.tensor([fixed_eager] + [eager[k].median_ms for k in keys[1:]], dtype=torch.float64)
    X = design_matrix(space, archs, keys)
    y = torch.tensor([t.median_ms for t in timings], dtype=torch.float64)
    b, scale, floored = fit_entries(X, y, prior)
    residual = (X @ b - y) / y
    out = {key: _fitted(eager[key], float(b[j]), scale) for j, key in enumerate(keys[1:], start=1)}
    # the fixed part split between stem and head as the eager timings split it
    for part in ("stem", "head"):
        share = eager[part].median_ms / fixed_eager
        out[part] = _fitted(eager[part], float(b[0]) * share, scale)
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
