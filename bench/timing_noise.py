"""Figure: how well two measurements of the same networks agree on this machine.

Measures the same N random whole networks twice, back to back, with the validation
protocol (speed reference included), and scores the second measurement against the
first exactly as ``lut.validate`` scores a LUT (at the first one's reference speed).
This is the measurement noise inside any ``lut.validate`` figure: a LUT is scored
against one such measurement, so on a machine where two measurements of the same
networks rank them only to tau 0.6 no LUT's validation can show much better.

    .venv/bin/python bench/timing_noise.py [--space fbnet-cifar] [--archs 50]
"""

import argparse
import os

from hwnas.space import get_space
from hwnas.stats import kendall_tau, mape, within_fraction
from hwnas.timing import MODEL_TIMING, TimingProtocol, sample_archs, time_networks


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="fbnet-cifar")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--archs", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=MODEL_TIMING.repeats, help="timed calls per network")
    p.add_argument("--rounds", type=int, default=MODEL_TIMING.rounds)
    args = p.parse_args()
    space = get_space(args.space, args.width)
    archs = sample_archs(space, args.archs, seed=args.seed)
    load0 = os.getloadavg()[0]
    timing = TimingProtocol(threads=args.threads, repeats=args.repeats, rounds=args.rounds)
    first, ref1 = time_networks(space, archs, timing, seed=1, progress=False)
    second, ref2 = time_networks(space, archs, timing, seed=2, progress=False)
    first = [t.median_ms for t in first]
    now = [t.median_ms for t in second]
    speed = ref2.latency_ms / ref1.latency_ms
    second = [m / speed for m in now]  # at the first measurement's speed, as lut.validate scores a LUT
    print(f"loadavg_1min: start={load0:.2f} end={os.getloadavg()[0]:.2f}")
    print(
        f"space={args.space} width={args.width} archs={args.archs} threads={args.threads} "
        f"repeats={args.repeats} rounds={args.rounds} first_ms: min={min(first):.3f} max={max(first):.3f} "
        f"second_ms: min={min(now):.3f} max={max(now):.3f}"
    )
    print(
        f"as measured: within_10pct={within_fraction(now, first):.3f} kendall_tau={kendall_tau(now, first):.3f} "
        f"mape={mape(now, first):.2f} speed_factor={speed:.3f}"
    )
    print(
        f"within_10pct={within_fraction(second, first):.3f} kendall_tau={kendall_tau(second, first):.3f} "
        f"mape={mape(second, first):.2f}"
    )


if __name__ == "__main__":
    main()
