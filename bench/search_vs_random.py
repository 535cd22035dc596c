"""Figure: does the search beat random architectures? The default sweep against a random
baseline with the same childnet recipe, measurement and budget, on this machine.

    .venv/bin/python bench/search_vs_random.py [--trials 30] [--storage DIR] [--config FILE] [--set K=V ...]
    .venv/bin/python bench/search_vs_random.py --reuse SWEEP_DIR RANDOM_DIR     # score, run nothing

Runs ``python -m sweep.run --trials N --name <stamp>-dnas`` and then ``... --strategy random
--name <stamp>-random`` as subprocesses, one after the other (each uses the machine's cores),
and prints, last line,
``hv_sweep=<x> hv_random=<x> hv_ratio=<x> distinct=<n> degenerate=<n> spearman_alpha_lat=<x>``:

- ``hv_sweep``, ``hv_random``, ``hv_ratio``: hypervolumes of (max test accuracy, min measured
  latency) over each experiment's finished trials, with ONE reference point for both, and
  their ratio; ``pareto.compare`` computes them as ``pareto.report --vs`` does (it falls back to
  the search LUT's latency when nothing is measured, and this script then says so above the
  last line);
- ``distinct``: distinct architectures (ops) among the sweep's finished trials;
- ``degenerate``: the sweep's finished trials whose childnet tests below 0.80;
- ``spearman_alpha_lat``: Spearman's rho of alpha with the search-LUT latency of the found
  network, over the sweep's finished trials (``pareto.knob_effects``).

Goals (issue 11): distinct >= 24, degenerate <= 2, hv_ratio >= 1.1, spearman_alpha_lat <= -0.5.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sweep_cli import ROOT, run_sweep

from hwnas.errors import UserError
from pareto.columns import lut_columns, search_lut
from pareto.compare import compare_experiments
from pareto.experiment import Experiment, read_experiment
from pareto.knob_effects import knob_effects

DEGENERATE_BELOW = 0.80


def sweep_figures(exp: Experiment) -> dict:
    """distinct, degenerate and spearman_alpha_lat of the search experiment (see the docstring)."""
    finished = exp.trials[exp.trials["status"] == "finished"]
    lut = search_lut(exp.trials, exp.luts)
    effects = knob_effects(exp.trials, lut_columns(lut)["latency"] if lut else None)
    return {
        "finished": len(finished),
        "distinct": int(finished["ops"].dropna().nunique()),
        "degenerate": int((finished["test_acc"] < DEGENERATE_BELOW).sum()),
        "spearman_alpha_lat": effects["spearman_alpha_lat"],
        "spearman_n": effects["n"],
    }


def _num(value) -> str:
    return "nan" if value is None else f"{value:.4g}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--storage", default=str(ROOT / "experiments"))
    p.add_argument("--config", default=str(ROOT / "configs" / "default.yaml"))
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="config override passed to both sweeps (repeatable)",
    )
    p.add_argument(
        "--reuse",
        nargs=2,
        metavar=("SWEEP_DIR", "RANDOM_DIR"),
        help="score two existing experiments (a search, a random baseline) without running",
    )
    args = p.parse_args()

    if args.reuse:
        sweep_dir, random_dir = args.reuse
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        sweep_dir, random_dir = (str(Path(args.storage) / f"{stamp}-{kind}") for kind in ("dnas", "random"))
        overrides = [arg for item in args.set for arg in ("--set", item)]
        code_s, wall_s = run_sweep(args.trials, args.config, args.storage, f"{stamp}-dnas", *overrides)
        code_r, wall_r = run_sweep(
            args.trials, args.config, args.storage, f"{stamp}-random", "--strategy", "random", *overrides
        )
        print(f"sweep: exit={code_s} wall_s={wall_s:.1f}   random: exit={code_r} wall_s={wall_r:.1f}")
    try:
        sweep, random = read_experiment(sweep_dir), read_experiment(random_dir)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    comparison = compare_experiments(sweep, random).summary
    figures = sweep_figures(sweep)
    print(
        f"sweep={sweep_dir} ({comparison['strategy_self']}, {comparison['n_self']} finished with accuracy and "
        f"latency) random={random_dir} ({comparison['strategy_other']}, {comparison['n_other']})"
    )
    if comparison["metric"]["note"]:
        print(f"note: {comparison['metric']['note']}")
    print(f"reference_point={comparison['reference_point']} spearman over {figures['spearman_n']} trials")
    print(
        f"hv_sweep={_num(comparison['hv_self'])} hv_random={_num(comparison['hv_other'])} "
        f"hv_ratio={_num(comparison['hv_ratio'])} distinct={figures['distinct']} degenerate={figures['degenerate']} "
        f"spearman_alpha_lat={_num(figures['spearman_alpha_lat'])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
