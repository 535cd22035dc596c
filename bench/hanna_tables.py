"""Figure: HANNA's tables from the default sweep with a latency budget (issue 12).

    .venv/bin/python bench/hanna_tables.py [--trials 30] [--storage DIR] [--name NAME] [--random-archs 1000]

1. The LUT the default sweep uses (``lut.path: auto``: this host's, cached; profiled now
   if absent) gives the median LUT latency of ``--random-archs`` random architectures of
   the space (``sweep.random_arch.draw_architecture``, seed 0, indices 0..n-1).
2. ``python -m sweep.run`` runs the default sweep (configs/default.yaml: 30 trials, real
   Fashion-MNIST, the baselines of its ``baselines`` section) with ``--max-latency-ms``
   at that median.
3. ``pareto.report`` writes the report; its ``recommended``, ``baselines`` (Table 1) and
   ``comparison`` (Table 2) give the last line:

``baselines_trained=<n> recommended=<trial_id> recommended_acc=<f> within_budget=<yes|no>
best_speedup_vs_mobilenetv2=<x>``

- ``baselines_trained``: Table 1's baselines with a test accuracy;
- ``recommended``, ``recommended_acc``: the report's recommended model (the most accurate
  finished childnet within the budget, on measured latency);
- ``within_budget``: whether it meets the budget (``no``: none did, the closest one is named);
- ``best_speedup_vs_mobilenetv2``: the largest measured speed-up of a front childnet over
  the trained MobileNetV2 (Table 2; ``nan`` when none is measured).

The lines before give the budget, the sweep's wall time, the baselines' accuracy and
training seconds and the 1-minute load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from sweep_cli import ROOT, run_sweep

from hwnas.layout import BASELINES, RECORD, report_dir


def median_random_latency(cfg, n: int) -> tuple[float, object]:
    """The median LUT latency (ms) of ``n`` seeded random architectures, and the LUT."""
    from lut import experiment_lut
    from sweep.random_arch import draw_architecture

    space = cfg.search_space()
    lut = experiment_lut(cfg, space, "auto", progress=True, threads=cfg.measure.threads)
    costs = [lut.latency_ms(draw_architecture(space.ops, space.num_layers, 0, i)) for i in range(n)]
    return statistics.median(costs), lut


def summary_line(report: dict) -> str:
    """The figure line from ``report.json``'s content."""
    table1, rec = report.get("baselines") or [], report.get("recommended") or {}
    trained = sum(1 for r in table1 if r.get("kind") == "baseline" and r.get("test_acc") is not None)
    speedups = [
        r["speedup"]
        for r in report.get("comparison") or []
        if r.get("baseline") == "mobilenet_v2" and r.get("speedup") is not None
    ]
    best = max(speedups) if speedups else float("nan")
    acc = rec.get("test_acc")
    return (
        f"baselines_trained={trained} recommended={rec.get('trial_id')} "
        f"recommended_acc={'nan' if acc is None else format(acc, '.4f')} "
        f"within_budget={'yes' if rec.get('meets_budget') else 'no'} best_speedup_vs_mobilenetv2={best:.3f}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=30, help="fewer for a reduced run (said in the output)")
    p.add_argument("--storage", default=str(ROOT / "experiments"))
    p.add_argument("--name", default=f"hanna-{time.strftime('%Y%m%d-%H%M%S')}")
    p.add_argument("--config", default=str(ROOT / "configs" / "default.yaml"))
    p.add_argument("--random-archs", type=int, default=1000)
    args = p.parse_args()

    from hwnas.config import load_config
    from lut import save_lut
    from pareto.report import build_report

    cfg = load_config(args.config)
    budget, lut = median_random_latency(cfg, args.random_archs)
    extra = []
    if "not cached" in lut.name:  # a noisy profile is not cached: give the sweep this very table
        path = Path(args.storage) / f"{args.name}-lut.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_lut(lut, path)
        extra = ["--set", f"lut.path={path}"]
    print(
        f"budget: max latency {budget:.4f} ms = median LUT latency of {args.random_archs} random architectures "
        f"(LUT {lut.name})",
        flush=True,
    )

    load_before = os.getloadavg()[0]
    budget_arg = ["--max-latency-ms", f"{budget:.6f}"]
    code, wall = run_sweep(args.trials, args.config, args.storage, args.name, *budget_arg, *extra)
    experiment = Path(args.storage) / args.name
    report = build_report(str(experiment), str(report_dir(experiment)))
    run = json.loads((experiment / RECORD).read_text())["runs"][-1]
    for row in report["baselines"]:
        if row["kind"] == "baseline":
            print(
                f"baseline {row['name']} width {row['width']}: test_acc={row['test_acc']} "
                f"measured_latency_ms={row['measured_latency_ms']} "
                f"measured_energy_mj={row['measured_energy_mj']} ({row['measured_energy_source']}) "
                f"model_energy_mj={row['model_energy_mj']} ({row['model_energy_source']})"
            )
    seconds = (
        {r["name"]: round(r.get("train_seconds") or 0.0, 1) for r in json.loads((experiment / BASELINES).read_text())}
        if (experiment / BASELINES).is_file()
        else {}
    )
    print(
        f"experiment={experiment} exit={code} trials={args.trials}{' (reduced)' if args.trials < 30 else ''} "
        f"wall_s={wall:.1f} prepare_s={run.get('prepare_s')} measure_s={run.get('measure_s')} "
        f"baseline_train_s={seconds} loadavg_1min_before={load_before:.2f} after={os.getloadavg()[0]:.2f}"
    )
    print(summary_line(report))


if __name__ == "__main__":
    main()
