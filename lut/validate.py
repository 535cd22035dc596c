"""Validate a LUT against whole networks measured on this device.

``python -m lut.validate --lut FILE --archs N [--seed S]``

Samples N random architectures of the LUT's space, builds each whole network with
``hwnas.network.build_network`` and times it with the LUT's own protocol (threads,
warm-up, median; networks interleaved in shuffled rounds, as the profiler does with
ops, against the same speed reference: ``hwnas.timing.time_networks``), with more timed
calls per network than a LUT entry gets (``hwnas.timing.MODEL_TIMING``). Prints a table and
last the line ``within_10pct=<fraction> kendall_tau=<tau> mape=<percent>``.

A shared machine's speed drifts (``lut.protocol``), so the LUT records the speed of a
reference network while profiling; validation times the same reference, prints
``speed_factor`` (now / then) and the scores of the measurements as they are, and
scores the measurements brought to the LUT's speed (divided by ``speed_factor``) on
the last line. A LUT without a reference (built-in tables) is compared as measured.
"""

from __future__ import annotations

import argparse
import socket

from hwnas.errors import UserError, at_least, cli_main
from hwnas.stats import kendall_tau, mape, within_fraction
from hwnas.target import DeployTarget, add_target_flags
from hwnas.timing import (
    MAX_REL_IQR,
    MODEL_TIMING,
    REFERENCE_SEED,
    TimingProtocol,
    sample_archs,
    time_networks,
    timing_kwargs,
)
from lut.table import Lut, load_lut

__all__ = ["compare", "format_report", "measure_against", "validate_lut"]

# Validation ranks whole networks: it gets their repeats and rounds and their quiet check
# (MODEL_TIMING, MAX_REL_IQR); threads, warm-up and batch size stay the LUT's.


def validate_lut(
    lut: Lut,
    n_archs: int,
    *,
    seed: int = 0,
    threads: int | None = None,
    warmup: int | None = None,
    repeats: int | None = None,
    rounds: int | None = None,
    progress: bool = True,
) -> dict:
    """Estimates vs measurements of ``n_archs`` random architectures. Threads and
    warm-up default to the LUT's own ``protocol``; repeats and rounds to
    ``hwnas.timing.MODEL_TIMING``'s (also when the LUT records no threads or warm-up)."""
    if n_archs < 2:
        raise UserError(f"--archs must be >= 2 (a rank correlation needs two), got {n_archs}")
    for name, value, low in (
        ("--threads", threads, 1),
        ("--warmup", warmup, 0),
        ("--repeats", repeats, 1),
        ("--rounds", rounds, 1),
    ):
        at_least(name, value, low)  # before anything is timed (0 was silently the default)
    space = lut.search_space()
    proto = lut.protocol
    timing = TimingProtocol(
        threads=threads or proto.get("threads") or MODEL_TIMING.threads,
        warmup=warmup if warmup is not None else proto.get("warmup", MODEL_TIMING.warmup),
        repeats=repeats or MODEL_TIMING.repeats,
        rounds=rounds or MODEL_TIMING.rounds,
    )
    archs = sample_archs(space, n_archs, seed)
    result = measure_against(lut, archs, timing, seed=seed, progress=progress)
    return {**result, **timing.record()}


def measure_against(lut: Lut, archs, timing: TimingProtocol, *, seed: int = 0, progress: bool = True) -> dict:
    """Measure ``archs``' whole networks on this device, timed against ``lut``'s own
    speed reference (if it has one), and ``compare`` them with ``lut``'s estimates."""
    lut_ref = lut.speed_reference()
    timings, reference = time_networks(
        lut.search_space(),
        archs,
        timing,
        batch_size=lut.data.get("batch_size", 1),
        seed=seed,
        progress=progress,
        reference_arch=lut_ref["arch"] if lut_ref else None,
        reference_seed=lut_ref["seed"] if lut_ref else REFERENCE_SEED,
        target=lut.target,  # the networks in the form the LUT describes, timed in its runtime
    )
    return compare(lut, archs, timings, reference.latency_ms)


def _scores(predicted, measured) -> dict:
    return {
        "within_10pct": within_fraction(predicted, measured, 0.10),
        "kendall_tau": kendall_tau(predicted, measured),
        "mape": mape(predicted, measured),
    }


def compare(lut: Lut, archs, timings, reference_ms: float) -> dict:
    """Score ``lut``'s estimates of ``archs`` against their measured ``timings``, taken
    with the LUT's speed reference reading ``reference_ms``. ``speed_factor``: how much
    slower the device runs the reference now than while profiling; the measurements
    are scored at the LUT's speed (divided by it), and also as measured
    (``uncorrected``). A LUT without a reference is scored as measured."""
    lut_ref = lut.speed_reference()
    speed_factor = reference_ms / lut_ref["latency_ms"] if lut_ref else None
    predicted = [lut.latency_ms(a) for a in archs]
    now = [t.median_ms for t in timings]
    measured = [m / speed_factor for m in now] if speed_factor else now
    return {
        "archs": archs,
        "predicted_ms": predicted,
        "measured_ms": measured,
        "measured_iqr_ms": [t.iqr_ms / (speed_factor or 1.0) for t in timings],
        "measured_now_ms": now,
        "speed_factor": speed_factor,
        "reference_ms": reference_ms,
        **_scores(predicted, measured),
        "uncorrected": _scores(predicted, now),
    }


def format_report(result: dict) -> str:
    lines = [f"{'#':>3} {'lut_ms':>9} {'measured_ms':>11} {'iqr_ms':>7} {'err%':>7}  arch"]
    for i, (a, p, m, q) in enumerate(
        zip(result["archs"], result["predicted_ms"], result["measured_ms"], result["measured_iqr_ms"])
    ):
        lines.append(f"{i:>3} {p:>9.3f} {m:>11.3f} {q:>7.3f} {100 * (p - m) / m:>+7.2f}  {','.join(a)}")
    rel_iqr = sorted(q / m for q, m in zip(result["measured_iqr_ms"], result["measured_ms"]))[len(result["archs"]) // 2]
    if rel_iqr > MAX_REL_IQR:
        lines.append(
            f"note: noisy timings (median IQR {100 * rel_iqr:.0f}% of the median): other processes are "
            "running; rerun on a quiet machine"
        )
    u = result["uncorrected"]
    if result["speed_factor"] is None:
        lines.append("note: the LUT records no speed reference; measurements are compared as measured")
    else:
        lines.append(
            f"speed_factor={result['speed_factor']:.3f} (reference network {result['reference_ms']:.3f} ms now "
            f"vs in the LUT); measurements above are at the LUT's speed. As measured now: "
            f"within_10pct={u['within_10pct']:.3f} kendall_tau={u['kendall_tau']:.3f} mape={u['mape']:.2f}"
        )
    lines.append(
        f"within_10pct={result['within_10pct']:.3f} kendall_tau={result['kendall_tau']:.3f} mape={result['mape']:.2f}"
    )
    return "\n".join(lines)


@cli_main
def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m lut.validate", description=__doc__.split("\n\n")[0])
    p.add_argument("--lut", required=True, help="LUT file (profiled on this device) or builtin:<name>")
    p.add_argument("--archs", type=int, required=True, help="number of random architectures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="default: the LUT's protocol")
    p.add_argument("--warmup", type=int, default=None)
    p.add_argument(
        "--repeats", type=int, default=None, help=f"timed calls per network (default {MODEL_TIMING.repeats})"
    )
    p.add_argument("--rounds", type=int, default=None, help=f"shuffled rounds (default {MODEL_TIMING.rounds})")
    add_target_flags(p, default=None)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    lut = load_lut(args.lut)
    if args.runtime or args.precision:  # the networks are timed in the LUT's target: a different one is refused
        lut.check_target(DeployTarget(args.runtime or lut.target.runtime, args.precision or lut.target.precision))
    host = socket.gethostname()
    if lut.device.get("hostname") != host:
        print(
            f"note: LUT {args.lut} describes device {lut.device.get('name')!r}, not this host ({host}): "
            "the comparison is across devices"
        )
    result = validate_lut(
        lut,
        args.archs,
        seed=args.seed,
        **timing_kwargs(args),
        progress=not args.no_progress,
    )
    print(format_report(result))


if __name__ == "__main__":
    main()
