"""Figure: the same random networks in every deployment target, and each target's LUT.

For each space (default ``fbnet-cpu`` and ``fbnet-cifar``) draws N random architectures
(``sample_archs``, seed 11, as ``shared/reference/runtimes``) and, for each target, takes
this host's LUT (``ensure_lut("auto")``: profiled and cached on first use, so the first run
pays the lowering), then times the N whole networks in that target twice, in two fresh
sessions against the LUT's speed reference (``lut.validate.measure_against``). Prints per
space and target: the self-agreement (Kendall tau between the two sessions), the LUT's
fidelity on the networks (within 10 %, tau, MAPE, on the mean of the two sessions at the
LUT's speed), the median network time; then the tau between every pair of targets.
Run it on a quiet machine.

    .venv/bin/python bench/runtimes.py [--spaces fbnet-cpu,fbnet-cifar] [--archs 30]
        [--targets torchscript-fp32,executorch-fp32,executorch-int8,onnxruntime-fp32]

Last line: ``min_lut_within_10pct=<f> min_lut_tau=<tau> (over executorch-fp32,
executorch-int8, onnxruntime-fp32 and the spaces) goal=0.9 seconds=<s> loadavg=<before>/<after>``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import time

from hwnas.space import get_space
from hwnas.stats import kendall_tau, mape, within_fraction
from hwnas.target import DeployTarget
from hwnas.timing import MODEL_TIMING, TimingProtocol, sample_archs
from lut import ensure_lut
from lut.validate import measure_against

GOAL_TARGETS = ("executorch-fp32", "executorch-int8", "onnxruntime-fp32")


def target_of(key: str) -> DeployTarget:
    runtime, precision = key.rsplit("-", 1)
    return DeployTarget(runtime, precision)


def measure_target(space, archs, target, timing, progress) -> dict:
    started = time.perf_counter()
    lut = ensure_lut("auto", space, target=target, progress=progress, threads=timing.threads)
    profile_s = time.perf_counter() - started
    sessions = [measure_against(lut, archs, timing, seed=s, progress=progress) for s in (1, 2)]
    measured = [statistics.fmean(ms) for ms in zip(*(r["measured_ms"] for r in sessions))]
    predicted = sessions[0]["predicted_ms"]
    return {
        "lut": lut.name,
        "lut_seconds": round(profile_s, 1),
        "self_tau": kendall_tau(sessions[0]["measured_ms"], sessions[1]["measured_ms"]),
        "lut_within_10pct": within_fraction(predicted, measured, 0.10),
        "lut_tau": kendall_tau(predicted, measured),
        "lut_mape": mape(predicted, measured),
        "median_ms": statistics.median(measured),
        "rel_iqr": statistics.median(t / m for r in sessions for t, m in zip(r["measured_iqr_ms"], r["measured_ms"])),
        "measured_ms": measured,
        "predicted_ms": predicted,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--spaces", default="fbnet-cpu,fbnet-cifar")
    p.add_argument("--archs", type=int, default=30)
    p.add_argument("--targets", default="torchscript-fp32," + ",".join(GOAL_TARGETS))
    p.add_argument("--repeats", type=int, default=MODEL_TIMING.repeats, help="samples per network and session")
    p.add_argument("--rounds", type=int, default=MODEL_TIMING.rounds)
    p.add_argument("--out", default=None, help="also write every number as JSON here")
    p.add_argument("--progress", action="store_true")
    args = p.parse_args()
    load_before, started = os.getloadavg()[0], time.perf_counter()
    timing = TimingProtocol(threads=1, warmup=10, repeats=args.repeats, rounds=args.rounds)
    results: dict = {}
    for name in args.spaces.split(","):
        space = get_space(name)
        archs = sample_archs(space, args.archs, seed=11)
        results[name] = {}
        for key in args.targets.split(","):
            r = measure_target(space, archs, target_of(key), timing, args.progress)
            results[name][key] = r
            print(
                f"{name} {key}: self_tau={r['self_tau']:.3f} lut_within_10pct={r['lut_within_10pct']:.3f} "
                f"lut_tau={r['lut_tau']:.3f} lut_mape={r['lut_mape']:.2f}% median_ms={r['median_ms']:.4f} "
                f"rel_iqr={r['rel_iqr']:.4f} lut_seconds={r['lut_seconds']}",
                flush=True,
            )
        for a, b in itertools.combinations(results[name], 2):
            tau = kendall_tau(results[name][a]["measured_ms"], results[name][b]["measured_ms"])
            ratio = statistics.median(
                x / y for x, y in zip(results[name][a]["measured_ms"], results[name][b]["measured_ms"])
            )
            print(f"{name} tau({a}, {b})={tau:.3f} time ratio {ratio:.2f}x", flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=1)
    goal = [r for per in results.values() for key, r in per.items() if key in GOAL_TARGETS]
    low_within = min((r["lut_within_10pct"] for r in goal), default=float("nan"))
    low_tau = min((r["lut_tau"] for r in goal), default=float("nan"))
    print(
        f"min_lut_within_10pct={low_within:.3f} min_lut_tau={low_tau:.3f} (over {', '.join(GOAL_TARGETS)} and "
        f"{args.spaces}) goal=0.9 seconds={time.perf_counter() - started:.0f} "
        f"loadavg={load_before:.2f}/{os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
