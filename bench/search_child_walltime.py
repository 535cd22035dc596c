"""Wall time of one search + childnet (what one sweep trial does, without Ray) for a
config, and the childnet's test accuracy.

    .venv/bin/python bench/search_child_walltime.py [--config configs/smoke.yaml] [--out DIR] [key=value ...]

The LUT is prepared first and timed apart (``lut.path: auto`` profiles this host once
and caches it); the search then gets its cost tensors. Without ``--out`` the run goes
to a temporary folder. Last line: ``search_s=... child_s=... total_s=... test_acc=...``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from childnet.train import run_child
from hwnas.config import load_config
from hwnas.layout import ARCH, child_dir, search_dir
from lut import experiment_lut
from supernet.search import run_search


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="configs/smoke.yaml")
    p.add_argument("--out", default=None)
    p.add_argument("overrides", nargs="*")
    a = p.parse_args()
    cfg = load_config(a.config, a.overrides)
    space = cfg.search_space()
    with tempfile.TemporaryDirectory(prefix="walltime-") as tmp:
        out = Path(a.out or tmp)
        t0 = time.perf_counter()
        cost = experiment_lut(cfg, space).cost_tensors()
        t1 = time.perf_counter()
        search = run_search(cfg, search_dir(out), cost=cost)
        t2 = time.perf_counter()
        child = run_child(cfg, search_dir(out) / ARCH, child_dir(out), cost=cost)
        t3 = time.perf_counter()
    print(
        json.dumps(
            {
                "config": a.config,
                "overrides": a.overrides,
                "ops": search["ops"],
                "arch_latency_ms": search["arch_latency_ms"],
                "measured_latency_ms": child["measured"]["latency_ms"],
                "params": child["params"],
                "flops": child["flops"],
            }
        )
    )
    print(
        f"lut_s={t1 - t0:.1f} search_s={t2 - t1:.1f} child_s={t3 - t2:.1f} total_s={t3 - t1:.1f} "
        f"test_acc={child['test_acc']:.4f}"
    )


if __name__ == "__main__":
    main()
