"""Validate a LUT against whole networks measured on this device.

``python -m lut.validate --lut FILE --archs N [--seed S]``

Samples N random architectures of the LUT's space, builds each whole network with
``hwnas.network.build_network`` and times it with the LUT's own protocol (threads,
warm-up, repeats, median; networks interleaved in shuffled rounds, as the profiler
does with ops). Prints a table and last the line
``within_10pct=<fraction> kendall_tau=<tau> mape=<percent>``.
"""

from __future__ import annotations

import argparse
import socket

from hwnas.errors import UserError, cli_main
from lut.metrics import kendall_tau, mape, within_fraction
from lut.protocol import measure_networks, sample_archs
from lut.table import Lut, load_lut

__all__ = ["format_report", "measure_networks", "sample_archs", "validate_lut"]

NOISY_REL_IQR = 0.05


def validate_lut(lut: Lut, n_archs: int, *, seed: int = 0, threads: int | None = None, warmup: int | None = None,
                 repeats: int | None = None, rounds: int | None = None, progress: bool = True) -> dict:
    """Estimates vs measurements of ``n_archs`` random architectures. Protocol knobs
    default to the LUT's own ``protocol``."""
    if n_archs < 2:
        raise UserError(f"--archs must be >= 2 (a rank correlation needs two), got {n_archs}")
    space = lut.search_space()
    proto = lut.protocol
    threads = threads or proto.get("threads") or 1
    warmup = warmup if warmup is not None else proto.get("warmup", 10)
    repeats = repeats or proto.get("repeats", 90)
    rounds = rounds or proto.get("rounds", 6)
    archs = sample_archs(space, n_archs, seed)
    predicted = [lut.latency_ms(a) for a in archs]
    timings = measure_networks(space, archs, threads=threads, warmup=warmup, repeats=repeats, rounds=rounds,
                               batch_size=lut.data.get("batch_size", 1), seed=seed, progress=progress)
    measured = [t.median_ms for t in timings]
    return {"archs": archs, "predicted_ms": predicted, "measured_ms": measured,
            "measured_iqr_ms": [t.iqr_ms for t in timings],
            "within_10pct": within_fraction(predicted, measured, 0.10),
            "kendall_tau": kendall_tau(predicted, measured), "mape": mape(predicted, measured),
            "threads": threads, "repeats": repeats, "warmup": warmup, "rounds": rounds}


def format_report(result: dict) -> str:
    lines = [f"{'#':>3} {'lut_ms':>9} {'measured_ms':>11} {'iqr_ms':>7} {'err%':>7}  arch"]
    for i, (a, p, m, q) in enumerate(zip(result["archs"], result["predicted_ms"], result["measured_ms"],
                                         result["measured_iqr_ms"])):
        lines.append(f"{i:>3} {p:>9.3f} {m:>11.3f} {q:>7.3f} {100 * (p - m) / m:>+7.2f}  {','.join(a)}")
    rel_iqr = sorted(q / m for q, m in zip(result["measured_iqr_ms"], result["measured_ms"]))[len(result["archs"]) // 2]
    if rel_iqr > NOISY_REL_IQR:
        lines.append(f"note: noisy timings (median IQR {100 * rel_iqr:.0f}% of the median): other processes are "
                     "running; rerun on a quiet machine")
    lines.append(f"within_10pct={result['within_10pct']:.3f} kendall_tau={result['kendall_tau']:.3f} "
                 f"mape={result['mape']:.2f}")
    return "\n".join(lines)


@cli_main
def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m lut.validate", description=__doc__.split("\n\n")[0])
    p.add_argument("--lut", required=True, help="LUT file (profiled on this device) or builtin:<name>")
    p.add_argument("--archs", type=int, required=True, help="number of random architectures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="default: the LUT's protocol")
    p.add_argument("--warmup", type=int, default=None)
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    lut = load_lut(args.lut)
    host = socket.gethostname()
    if lut.device.get("hostname") != host:
        print(f"note: LUT {args.lut} describes device {lut.device.get('name')!r}, not this host ({host}): "
              "the comparison is across devices")
    result = validate_lut(lut, args.archs, seed=args.seed, threads=args.threads, warmup=args.warmup,
                          repeats=args.repeats, rounds=args.rounds, progress=not args.no_progress)
    print(format_report(result))


if __name__ == "__main__":
    main()
