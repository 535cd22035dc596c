"""Figure: how long profiling a LUT takes on this machine, and how noisy its entries are.

    .venv/bin/python bench/lut_profile.py [--space fbnet-cifar] [--width 1.0] [--context network]

Last line: ``profile_seconds=<s> entries=<n> median_rel_iqr=<f> fixed_ms=<ms>``
(``median_rel_iqr``: median over measured entries of IQR / median).
"""

from __future__ import annotations

import argparse
import statistics
import time

from hwnas.space import get_space
from lut import profile_lut


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--space", default="fbnet-cifar")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--context", default="network", choices=("network", "isolated"))
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    space = get_space(args.space, args.width)
    started = time.perf_counter()
    lut = profile_lut(space, context=args.context, threads=args.threads)
    seconds = time.perf_counter() - started
    entries = [e for layer in lut.data["layers"] for e in layer["ops"].values() if e.get("measured")]
    rel = statistics.median(e["latency_iqr_ms"] / e["latency_ms"] for e in entries)
    print(
        f"space={space.name} width={space.width} context={args.context} device={lut.device['name']!r} "
        f"timing_seconds={lut.protocol['profiling_seconds']:.1f}"
    )
    print(
        f"profile_seconds={seconds:.1f} entries={len(entries)} median_rel_iqr={rel:.3f} "
        f"fixed_ms={lut.tensors.latency_fixed_ms:.3f}"
    )


if __name__ == "__main__":
    main()
