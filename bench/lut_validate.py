"""Figure: how well a LUT profiled on this machine predicts whole networks.

Profiles ``fbnet-cifar`` at full width on this machine (network context, the
default protocol), measures N random whole networks (``lut.validate``'s sampler and
protocol, speed reference included) and prints the validate line (measurements at
the LUT's speed; the scores as measured are printed too). ``--compare`` also profiles the other LUT
variants (the naive isolated per-op table, and ``--calibrate``) and scores them
against the same measured networks. Run it on a quiet machine: timing figures taken
while other processes run are noisy.

    .venv/bin/python bench/lut_validate.py [--archs 50] [--compare] [--out lut-host.json]

Last line: ``within_10pct=<f> kendall_tau=<tau> mape=<pct> profile_seconds=<s> archs=<n>``.
"""

from __future__ import annotations

import argparse
import os
import time

from hwnas.space import get_space
from hwnas.timing import MODEL_TIMING, TimingProtocol, sample_archs, time_networks
from lut import profile_lut, save_lut
from lut.validate import compare


def line(s: dict) -> str:
    return f"within_10pct={s['within_10pct']:.3f} kendall_tau={s['kendall_tau']:.3f} mape={s['mape']:.2f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--space", default="fbnet-cifar")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--archs", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--per-op", type=int, default=None, help="networks per (layer, op) (default: lut.profile's)")
    p.add_argument("--compare", action="store_true", help="also score isolated and calibrated LUTs")
    p.add_argument("--calibrate", type=int, default=10, help="networks for the calibrated variant (--compare)")
    p.add_argument("--out", default=None, help="also save the default LUT here")
    p.add_argument(
        "--measure-repeats",
        type=int,
        default=None,
        help=f"timed calls per measured network (default: lut.validate's, {MODEL_TIMING.repeats})",
    )
    p.add_argument(
        "--measure-rounds",
        type=int,
        default=None,
        help=f"shuffled rounds over the measured networks (default: lut.validate's, {MODEL_TIMING.rounds})",
    )
    args = p.parse_args()
    space = get_space(args.space, args.width)
    load_start = os.getloadavg()[0]

    started = time.perf_counter()
    design = {"per_op": args.per_op} if args.per_op else {}
    lut = profile_lut(space, threads=args.threads, **design)
    profile_seconds = time.perf_counter() - started
    if args.out:
        save_lut(lut, args.out)
    variants = {"network": lut}
    if args.compare:
        variants["isolated"] = profile_lut(space, threads=args.threads, context="isolated")
        variants[f"network+calibrate{args.calibrate}"] = profile_lut(
            space, threads=args.threads, calibrate=args.calibrate
        )

    archs = sample_archs(space, args.archs, args.seed)
    proto = lut.protocol
    started = time.perf_counter()
    timings, reference = time_networks(
        space,
        archs,
        TimingProtocol(
            threads=args.threads,
            warmup=proto["warmup"],
            repeats=args.measure_repeats or MODEL_TIMING.repeats,
            rounds=args.measure_rounds or MODEL_TIMING.rounds,
        ),
        seed=args.seed,
        reference_arch=proto["reference"]["arch"],
        reference_seed=proto["reference"]["seed"],
    )
    measure_seconds = time.perf_counter() - started
    measured = [t.median_ms for t in timings]
    print(f"loadavg_1min: start={load_start:.2f} end={os.getloadavg()[0]:.2f} (2 cores; > ~1 means other work ran)")
    print(
        f"space={space.name} width={space.width} archs={args.archs} threads={args.threads} "
        f"device={lut.device['name']!r} measured_ms: min={min(measured):.3f} max={max(measured):.3f} "
        f"median_iqr={sorted(t.iqr_ms for t in timings)[len(timings) // 2]:.3f} measure_seconds={measure_seconds:.1f}"
    )
    for name, variant in variants.items():
        r = compare(variant, archs, timings, reference.latency_ms)
        print(
            f"{name:>22}: {line(r)} | as measured: {line(r['uncorrected'])} | speed_factor={r['speed_factor']:.3f} "
            f"profile_seconds={variant.protocol['profiling_seconds']:.1f}"
        )
    r = compare(lut, archs, timings, reference.latency_ms)
    print(f"{line(r)} profile_seconds={profile_seconds:.1f} archs={args.archs}")


if __name__ == "__main__":
    main()
