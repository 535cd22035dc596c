"""The ``graph`` context: LUT entries fitted to whole networks in their deployed form.

ExecuTorch and ONNX Runtime (``time_in_target``): each block lowered and timed alone in
the runtime is the prior; whole lowered networks of a balanced design are what the
entries are fitted to.

TorchScript (deprecated, ``time_in_graph``): a traced network runs its blocks without
Python between them (measured here, fbnet-cpu networks ran in 0.59x the time of the
same eager networks, the whole gap being Python's per-module call overhead, which
in-place eager timing, ``lut.protocol.time_in_network``, puts into every block), so
those timings are the prior and whole traced networks of a balanced design, timed with
the speed reference (``hwnas.timing.time_models``), what the entries are fitted to.

Both time whole models with ``hwnas.timing.time_models``; what is LUT-specific here is which
networks and blocks are timed and the regression (``fit_entries``).
"""

from __future__ import annotations

import dataclasses
import statistics

import torch

from hwnas.network import build_network, trace
from hwnas.space import SearchSpace
from hwnas.target import DeployTarget
from hwnas.timing import SpeedReference, Timing, TimingProtocol, fixed_threads, load_program, time_models
from hwnas.timing.programs import build_unit, lowered
from lut.protocol import design_archs, is_identity

__all__ = [
    "GRAPH_FLOOR",
    "GRAPH_RIDGE",
    "block_io",
    "design_matrix",
    "fit_entries",
    "time_in_graph",
    "time_in_target",
]

GRAPH_RIDGE = 0.05  # ms^2 of network residual per ms^2 of entry correction (see fit_entries)
GRAPH_FLOOR = 0.25  # a fitted entry is at least this share of its base (fit_entries)


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


def fit_entries(
    X: torch.Tensor, y: torch.Tensor, prior: torch.Tensor, ridge: float = GRAPH_RIDGE, io: torch.Tensor | None = None
) -> tuple:
    """Entries ``b`` with ``X @ b ~ y`` (ms of whole networks; column 0 the fixed part),
    by ridge regression toward ``base = s*prior + c + e*io`` on every block (the fixed
    part shifted by ``c0``), where ``s``, ``c``, ``e``, ``c0`` are the least-squares fit of
    the prior's predictions to ``y`` and ``io`` is each block's input + output size
    (``block_io``; None: no such term): ``b = base + argmin ||y - X(base + d)||^2 + ridge*||d||^2``.

    Why a prior: each layer picks exactly one op, so adding a constant to all of a
    layer's entries and subtracting it from the fixed part predicts every network
    the same; the data fix only the differences between a layer's ops. The prior
    (blocks timed alone or in place) decides the rest. Why the shifts: a block timed on
    its own carries what it does not do inside a network: a call's overhead (ExecuTorch:
    about 6 us per program call, on blocks of 3-15 us; eager PyTorch: Python's module
    call) and, for a lowered program, converting its input and output at the program's
    boundary (int8: quantizing and dequantizing them), which grows with their size. On 30
    held-out fbnet-cpu networks the io term took ExecuTorch int8 from within 10 % 0.867 to
    1.000 (tau 0.926 to 0.945) and left fp32 as it was. Returns ``(b, s, floored)``: a
    fitted entry is kept at least ``GRAPH_FLOOR`` of its (positive part of the) base, a
    block never costs nothing; ``floored`` counts the entries that were."""
    block = torch.ones_like(prior)
    block[0] = 0.0
    terms = [prior, block] + ([io] if io is not None else [])
    features = torch.stack([X @ t for t in terms] + [X[:, 0]], dim=1)
    coef = torch.linalg.lstsq(features, y.unsqueeze(1)).solution.squeeze(1).tolist()
    base = sum(c * t for c, t in zip(coef[:-1], terms))
    base[0] += coef[-1]
    r = y - X @ base
    A = X.T @ X + ridge * torch.eye(X.shape[1], dtype=X.dtype)
    d = torch.linalg.solve(A, X.T @ r)
    # never zero: a base at or below 0 (too few or too noisy networks) falls back to a sliver of the prior
    floor = GRAPH_FLOOR * torch.maximum(base, 0.05 * abs(coef[0]) * prior)
    return torch.maximum(base + d, floor), coef[0], int((base + d < floor).sum())


def block_io(space: SearchSpace, keys: list) -> torch.Tensor:
    """Per entry key: its block's input + output elements in units of 10^4 (0 for ``fixed``)."""
    size = {"fixed": 0.0}
    for layer in space.layers:
        elements = layer.in_channels * layer.in_hw**2 + layer.out_channels * layer.out_hw**2
        for op in space.ops:
            size[(layer.shape_key, op)] = elements / 1e4
    return torch.tensor([size[k] for k in keys], dtype=torch.float64)


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
    """Every entry fitted from whole traced networks (TorchScript, deprecated).

    The design's networks (``per_op`` per op and layer, at least 2 networks per
    unknown) are traced and timed whole with the speed reference, and the entries are
    fitted to them (``fit_entries``) with ``eager``, the in-place timings of
    ``time_in_network`` with the same arguments, as prior. Returns like
    ``time_in_network``; the entries' IQR is the prior's, scaled.
    """
    keys = _keys(eager)
    per_op_fit = max(per_op, -(-2 * len(keys) // len(space.ops)))
    archs = design_archs(space, per_op_fit, seed + 1)
    torch.manual_seed(seed)
    c, h, w = space.input_shape
    x = torch.randn(batch_size, c, h, w)
    # each network traced as soon as it is built (hwnas.timing.time_networks builds
    # all first): the allocation order every graph-context LUT so far was profiled with
    with fixed_threads(timing.threads):
        nets = [trace(build_network(space, arch), x) for arch in archs]
    reference = SpeedReference(space, batch_size=batch_size)
    timings = time_models(nets, [x] * len(nets), reference, _whole(timing), seed=seed, progress=progress)
    out, info = _fit(space, eager, keys, archs, timings, "network context (eager, in place)")
    return out, {**info, "per_op": per_op_fit, "seed": seed + 1}, reference


def time_in_target(
    space: SearchSpace, timing: TimingProtocol, target: DeployTarget, *, fit_per_op: int, seed: int, progress: bool
) -> tuple[dict, dict, SpeedReference]:
    """Every entry fitted from whole networks lowered to ``target`` (ExecuTorch, ONNX
    Runtime; fp32 or int8), exactly as childnets are lowered.

    The prior is every block lowered and timed alone in the same runtime (its order of
    ops differs from PyTorch's: ``docs`` of issue 21, Kendall tau 0.07 between TorchScript
    and ExecuTorch rankings of fbnet-cpu networks); ``fit_per_op`` networks per op and
    layer are lowered and timed whole, and the entries fitted to them (``fit_entries``).
    Every program is lowered once, in parallel, and kept (``hwnas.timing.programs``).
    """
    definition = space.definition()
    blocks = [{"kind": "stem", "space": definition, "seed": seed}, {"kind": "head", "space": definition, "seed": seed}]
    keys_of = ["stem", "head"]
    for layer in space.layers:
        for op in space.ops:
            key = (layer.shape_key, op)
            if key not in keys_of and not is_identity(space, layer.index, op):
                keys_of.append(key)
                blocks.append({"kind": "block", "space": definition, "layer": layer.index, "op": op, "seed": seed})
    archs = design_archs(space, fit_per_op, seed + 1)
    networks = [{"kind": "network", "space": definition, "arch": a, "seed": seed + 1 + i} for i, a in enumerate(archs)]
    programs = lowered(blocks + networks, target)
    with fixed_threads(timing.threads), torch.inference_mode():
        runners = [load_program(p, target, timing.threads) for p in programs]
        inputs = [build_unit(u)[1] for u in blocks + networks]
        reference = SpeedReference(space, target=target)
        alone = time_models(
            runners[: len(blocks)], inputs[: len(blocks)], reference, timing, seed=seed, progress=progress
        )
        timings = time_models(
            runners[len(blocks) :], inputs[len(blocks) :], reference, _whole(timing), seed=seed, progress=progress
        )
    prior = dict(zip(keys_of, alone))
    out, info = _fit(space, prior, _keys(prior), archs, timings, f"each block alone in {target}")
    return out, {**info, "per_op": fit_per_op, "seed": seed + 1, "target": target.key}, reference


def _keys(prior: dict) -> list:
    return ["fixed"] + [key for key in prior if key not in ("stem", "head")]


def _whole(timing: TimingProtocol) -> TimingProtocol:
    """Fewer samples per fit network than a childnet gets (>= 10 ms each): the fit
    averages over all the networks."""
    return dataclasses.replace(timing, repeats=max(timing.rounds, timing.repeats // 6))


def _fit(space, prior_timings: dict, keys: list, archs, timings, prior_name: str) -> tuple[dict, dict]:
    """``({key: Timing}, info)``: the entries fitted to the networks' ``timings``."""
    fixed_prior = prior_timings["stem"].median_ms + prior_timings["head"].median_ms
    prior = torch.tensor([fixed_prior] + [prior_timings[k].median_ms for k in keys[1:]], dtype=torch.float64)
    X = design_matrix(space, archs, keys)
    y = torch.tensor([t.median_ms for t in timings], dtype=torch.float64)
    b, scale, floored = fit_entries(X, y, prior, io=block_io(space, keys))
    residual = (X @ b - y) / y
    out = {key: _fitted(prior_timings[key], float(b[j]), scale) for j, key in enumerate(keys[1:], start=1)}
    # the fixed part split between stem and head as the prior splits it
    for part in ("stem", "head"):
        share = prior_timings[part].median_ms / fixed_prior
        out[part] = _fitted(prior_timings[part], float(b[0]) * share, scale)
    info = {
        "archs": archs,
        "networks": len(archs),
        "unknowns": len(keys),
        "ridge": GRAPH_RIDGE,
        "prior": prior_name,
        "prior_scale": scale,
        "fit_rel_rmse": float(residual.pow(2).mean().sqrt()),
        "fit_rel_max": float(residual.abs().max()),
        "floored": floored,
        "median_rel_iqr_networks": statistics.median(t.rel_iqr for t in timings),
        # what the fit saw, so it can be redone or checked without timing again
        "networks_ms": [t.median_ms for t in timings],
        "prior_ms": [float(v) for v in prior],
    }
    return out, info
