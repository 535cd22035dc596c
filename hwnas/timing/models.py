"""The entry point: ``time_models`` times deployed models (programs loaded in their
runtime, ``hwnas.timing.runtime``; traced or eager modules) against the speed reference.

Every whole-model timing goes through it: a LUT's per-block prior and fit networks in a
runtime (``lut.graph_fit``), the networks ``lut.validate`` and ``lut.calibrate`` compare
with a LUT (``time_networks``: random architectures of a space built, deployed in a
target and timed), and exported childnets and baselines (``childnet.measure``). The
protocol is ``lut.profile``'s (``hwnas.timing.speed.interleaved``: whole-process
warm-up, shuffled rounds, each visit re-warmed and divided by the reference's level
around it; median and IQR), with samples of back-to-back calls lasting
``MIN_SAMPLE_MS`` and, by default, ``hwnas.timing.settings.MODEL_TIMING``'s numbers.

Imports torch, stdlib and ``hwnas`` basics only: it runs on a device.
"""

from __future__ import annotations

import math

import torch

from hwnas.network import build_network, trace
from hwnas.space import SearchSpace
from hwnas.target import DeployTarget
from hwnas.timing.programs import lowered
from hwnas.timing.protocol import Timing, fixed_threads, timed_calls
from hwnas.timing.runtime import load_program
from hwnas.timing.settings import MAX_REL_IQR, TRIES, TimingProtocol
from hwnas.timing.speed import REFERENCE_SEED, SpeedReference, timed_rounds

__all__ = ["MIN_SAMPLE_MS", "calls_per_sample", "quietest", "time_models", "time_networks"]

# A whole-model sample lasts at least this long (the mean of back-to-back calls).
# Measured here: single calls of 0.3-1 ms traced fbnet-cpu networks spread with an
# IQR of 6-17 % of their median (timer, interrupts, the scheduler), which hides
# differences of a few percent between networks; see bench/timing_noise.py.
MIN_SAMPLE_MS = 10.0


def calls_per_sample(module, x, min_sample_ms: float) -> int:
    """How many back-to-back calls make a sample of at least ``min_sample_ms`` (from
    the median of 5 calls, after 3 untimed ones)."""
    if min_sample_ms <= 0:
        return 1
    one = sorted(timed_calls(module, x, 3, 5))[2]
    return max(1, math.ceil(min_sample_ms / max(one, 1e-6)))


def time_models(
    modules,
    inputs,
    reference: SpeedReference,
    timing: TimingProtocol,
    *,
    seed: int = 0,
    progress: bool = False,
    min_sample_ms: float = MIN_SAMPLE_MS,
) -> list[Timing]:
    """Median/IQR latency of each ``modules[i](inputs[i])`` (callables in eval mode:
    ``hwnas.timing.runtime`` programs, traced or eager modules), timed with ``timing`` in
    shuffled rounds over all modules against ``reference`` (built by the caller, in
    this process): the protocol of ``lut.profile`` for whole models. A sample is the
    mean of enough back-to-back calls to last ``min_sample_ms`` (why: see
    ``MIN_SAMPLE_MS``); ``timing.repeats`` samples per module. Timings are in ms at this
    session's reference speed (``reference.latency_ms``)."""
    with fixed_threads(timing.threads), torch.inference_mode():
        ks = [calls_per_sample(m, x, min_sample_ms) for m, x in zip(modules, inputs)]

    def run(i):
        modules[i](inputs[i])

    def visit(i):
        return {i: timed_calls(modules[i], inputs[i], 0, timing.per_round, ks[i])}

    units = range(len(modules))
    timings = timed_rounds(units, run, visit, timing, reference, seed=seed, progress=progress, desc="measuring")
    return [timings[i] for i in units]


def time_networks(
    space: SearchSpace,
    archs,
    timing: TimingProtocol,
    *,
    batch_size: int = 1,
    seed: int = 0,
    progress: bool = True,
    reference_arch=None,
    reference_seed: int = REFERENCE_SEED,
    target: DeployTarget | None = None,
) -> tuple[list[Timing], SpeedReference]:
    """Median/IQR latency of each architecture's whole network in its deployed form
    (``target``: lowered to ExecuTorch/ONNX Runtime, traced for TorchScript (the default),
    eager for PyTorch), measured with ``timing`` in shuffled passes over all networks with
    the speed reference in the same runtime (``time_models``). Returns ``(timings,
    reference)``: timings in ms at this session's reference speed, ``reference.latency_ms``
    that speed."""
    target = target or DeployTarget("torchscript")
    torch.manual_seed(seed)
    c, h, w = space.input_shape
    x = torch.randn(batch_size, c, h, w)
    if target.lowered:
        definition = space.definition()
        units = [
            {"kind": "network", "space": definition, "arch": list(a), "seed": seed + i} for i, a in enumerate(archs)
        ]
        programs = lowered(units, target)
        with fixed_threads(timing.threads):
            nets = [load_program(p, target, timing.threads) for p in programs]
    else:
        nets = [build_network(space, a).eval() for a in archs]
        if target.runtime == "torchscript":
            with fixed_threads(timing.threads):
                nets = [trace(net, x) for net in nets]
    with fixed_threads(timing.threads):
        reference = SpeedReference(space, reference_arch, batch_size=batch_size, seed=reference_seed, target=target)
    timings = time_models(nets, [x] * len(nets), reference, timing, seed=seed, progress=progress)
    return timings, reference


def quietest(time_group, todo: list, max_rel_iqr: float = MAX_REL_IQR, tries: int = TRIES) -> dict:
    """The quiet check: ``{index: (timing, session, attempt)}``, each model's quietest of
    up to ``tries`` timings; only the models still above ``max_rel_iqr`` (``Timing.rel_iqr``)
    are timed again. ``time_group(todo)`` times the models ``todo`` (indices) together and
    returns ``(timings, session)`` (``childnet.measure``: one ``time_models`` session)."""
    best: dict[int, tuple] = {}
    for attempt in range(1, tries + 1):
        timings, session = time_group(todo)
        for i, t in zip(todo, timings):
            if i not in best or t.rel_iqr < best[i][0].rel_iqr:
                best[i] = (t, session, attempt)
        todo = [i for i in todo if best[i][0].rel_iqr > max_rel_iqr]
        if not todo:
            break
    return best
