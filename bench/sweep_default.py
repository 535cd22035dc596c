"""Figure: the default sweep (configs/default.yaml, 30 trials, real Fashion-MNIST) on
this machine, end to end, as a user runs it.

    .venv/bin/python bench/sweep_default.py [--trials 30] [--storage DIR] [--name NAME]

With an empty cache (the LUT profiled and every program lowered anew, as on a fresh machine):
``HWNAS_CACHE=$(mktemp -d) .venv/bin/python bench/sweep_default.py``. The deployment target is
the config's (default ExecuTorch fp32); ``--set deploy.runtime=onnxruntime`` etc. pass through.

Runs ``python -m sweep.run`` in a subprocess (local Ray started by the sweep) and
prints, last line, ``wall_s=<s> best_acc=<fraction> overhead_s=<s per trial> distinct=<n>
lut_within_10pct=<f> lut_tau=<f> measured_rel_iqr=<f>``:

- ``wall_s``: wall time of the whole command (Ray start, LUT, shared warm-up,
  baselines, all trials, measurements, summary, and the final stage, whose own time
  ``final_s`` the first line gives: ``bench/final_model.py`` reads its model);
- ``best_acc``: best childnet test accuracy among the finished trials;
- ``overhead_s``: the sweep's wall time not spent inside trials' own work, per trial:
  ``(wall_s - sum(trial_seconds) / concurrency) / trials``, where ``trial_seconds`` is
  each trial's own work time as reported in its last result row.

- ``distinct``: distinct architectures among the finished trials;
- ``lut_within_10pct``, ``lut_tau``: the sweep's LUT estimate against the measured
  latency (at the LUT's speed, ``measured.latency_ms_at_lut_speed``) over the distinct
  finished childnets: fraction within +-10 %, Kendall tau; the line before the last also
  gives them against the latency as measured (no speed correction);
- ``measured_rel_iqr``: median relative IQR of those measurements.

The three fidelity figures are the report's own (``pareto.analysis.lut_error_stats``).

Goals on 2 cores: wall_s <= 900, best_acc >= 0.85, overhead_s <= 2, lut_within_10pct >= 0.9,
lut_tau >= 0.9, measured_rel_iqr <= 0.05.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from sweep_cli import ROOT, run_sweep

from hwnas.layout import RECORD, RESULT
from pareto.analysis import lut_error_stats
from pareto.experiment import read_experiment


def last_rows(experiment: Path) -> list[dict]:
    rows = []
    for result in sorted(experiment.glob(f"*/{RESULT}")):
        lines = [line for line in result.read_text().splitlines() if line.strip()]
        if lines:
            rows.append(json.loads(lines[-1]))
    return rows


def fidelity(experiment: Path, lut_name: str) -> dict:
    """The report's LUT-vs-measured entry of the search LUT (``pareto.analysis``: over the
    distinct finished childnets, against the measurement at the LUT's speed)."""
    exp = read_experiment(str(experiment))
    stats = {s["lut"]: s for s in lut_error_stats(exp.trials, exp.luts)}
    empty = {"n": 0, "within_10pct": None, "kendall_tau": None, "measured_rel_iqr": None, "noisy_measurements": 0}
    return stats.get(lut_name, empty)


def _f(value, fmt: str) -> str:
    return "nan" if value is None else format(value, fmt)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--storage", default=str(ROOT / "experiments"))
    p.add_argument("--name", default=f"bench-{time.strftime('%Y%m%d-%H%M%S')}")
    p.add_argument("--config", default=str(ROOT / "configs" / "default.yaml"))
    p.add_argument("--set", action="append", default=[], help="config overrides, as sweep.run --set")
    args = p.parse_args()

    extra = [a for item in args.set for a in ("--set", item)]
    code, wall = run_sweep(args.trials, args.config, args.storage, args.name, *extra)
    experiment = Path(args.storage) / args.name
    record = json.loads((experiment / RECORD).read_text())
    concurrency = record["config"]["sweep"]["concurrency"]
    rows = last_rows(experiment)
    done = [r for r in rows if r.get("phase") == "done"]
    accs = [r["test_acc"] for r in done if isinstance(r.get("test_acc"), (int, float))]
    work = sum(r.get("trial_seconds") or 0.0 for r in rows)
    overhead = (wall - work / concurrency) / max(len(rows), 1)
    prep = record["runs"][-1].get("prepare_s")
    final_s = record["runs"][-1].get("final_s")
    warm = (record.get("warmup") or {}).get("seconds")
    reused = sum(1 for r in done if r.get("reused_from"))
    deploy = record["config"].get("deploy", {})
    print(
        f"experiment={experiment} exit={code} trials={len(rows)} finished={len(done)} reused={reused} "
        f"concurrency={concurrency} work_s={work:.1f} prepare_s={prep} warmup_s={warm} final_s={final_s} "
        f"target={deploy.get('runtime')}-{deploy.get('precision')}"
    )
    fid = fidelity(experiment, record["luts"][0])
    raw = fid.get("as_measured") or fid
    print(
        f"measured={fid['n']} noisy={fid['noisy_measurements']} as measured (no speed correction): "
        f"within_10pct={_f(raw['within_10pct'], '.3f')} tau={_f(raw['kendall_tau'], '.3f')}; "
        f"measure_s={record['runs'][-1].get('measure_s')}"
    )
    print(
        f"wall_s={wall:.1f} best_acc={max(accs) if accs else float('nan'):.4f} overhead_s={overhead:.2f} "
        f"distinct={len({r.get('ops') for r in done})} lut_within_10pct={_f(fid['within_10pct'], '.3f')} "
        f"lut_tau={_f(fid['kendall_tau'], '.3f')} measured_rel_iqr={_f(fid['measured_rel_iqr'], '.4f')}"
    )


if __name__ == "__main__":
    main()
