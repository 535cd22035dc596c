"""``python -m pareto.report EXPERIMENT_DIR --out DIR``: the sweep's report.

Writes ``trials.csv``, ``pareto.csv``, ``report.json`` and ``report.html`` (self-contained, opens
offline) into DIR, all four or none (a failure, SIGINT or SIGTERM leaves an older report as it was
and no temporary file; a signal exits 130/143 with one line). Works during a sweep (running trials),
after an interrupted one, and without any energy data. A damaged file (truncated, garbled, the wrong
JSON type) is refused in one line naming it, since leaving it out would change the answer;
``--skip-unreadable`` reports without it instead (the trial listed as unreadable, one ``warning:`` line each).
``--vs DIR`` adds the comparison with a second experiment (``pareto.compare``) and prints
``hv_self=<x> hv_other=<x> hv_ratio=<x>``. The page opens with the recommended model
(``pareto.recommended``: the most accurate finished childnet within ``sweep.budget``) after the
deployment target the latencies were measured in (``pareto.deploy``), then HANNA's
Table 1 and Table 2 (``pareto.baseline_tables``: the front's childnets against the trained baselines).
"""

import argparse
import json
import os
import signal
import sys
from dataclasses import dataclass

import pandas as pd

from hwnas.errors import Interrupted, UserError, cli_start
from hwnas.io import atomic_write_texts
from hwnas.layout import PARETO_CSV, REPORT_HTML, REPORT_JSON, TRIALS_CSV

from .analysis import compute_fronts, fidelity_line, lut_error_stats
from .baseline_tables import comparison_rows, table1_rows
from .budget import budget_of
from .columns import lut_columns, search_lut
from .compare import compare_experiments, strategy_of
from .experiment import read_experiment
from .final_model import final_line
from .knob_effects import knob_effects
from .recommended import mark_budget, recommended_line, recommended_model
from .report_files import json_safe, pareto_table
from .report_sections import energy_sources, report_html

__all__ = ["build_report", "main"]


def _read_other(vs: str, out_dir: str, skip_unreadable: bool):
    try:
        return read_experiment(vs, skip_dir=out_dir, skip_unreadable=skip_unreadable)
    except UserError as err:
        raise UserError(f"--vs {vs}: {err}") from None


@dataclass
class _Analysis:
    """What the report shows, worked out once from the experiment (each file takes its part)."""

    budget: dict | None
    trials: pd.DataFrame  # one row a trial, with the budget marks
    recommended: dict | None
    fronts: list
    stats: list
    pareto_df: pd.DataFrame
    effects: dict
    table1: list
    table2: list


def _analyse(exp) -> _Analysis:
    budget = budget_of(exp.sweep)
    trials = mark_budget(exp.trials, exp.luts, budget)
    recommended = recommended_model(exp)
    # the current recommendation's final model first (a resumed sweep may have recommended another before)
    exp.finals.sort(key=lambda row: row["trial_id"] != (recommended or {}).get("trial_id"))
    fronts = compute_fronts(trials, exp.luts)
    stats = lut_error_stats(trials, exp.luts)
    pareto_df = pareto_table(trials, fronts)
    searched = search_lut(trials, exp.luts)
    effects = knob_effects(trials, lut_columns(searched)["latency"] if searched else None)
    table1 = table1_rows(exp.baselines, trials, fronts, exp.luts, exp.deploy)
    table2 = comparison_rows(table1)
    return _Analysis(budget, trials, recommended, fronts, stats, pareto_df, effects, table1, table2)


def _report_json(experiment_dir: str, exp, found: _Analysis, comparison) -> dict:
    """report.json's content (JSON-safe: no NaN)."""
    trials = found.trials
    return json_safe(
        {
            "experiment": os.path.abspath(experiment_dir),
            "strategy": strategy_of(exp),
            "deploy": exp.deploy,
            "data": exp.sweep.get("data"),  # the classes and input the models take (sweep.json)
            "counts": {"trials": len(trials), **trials["status"].value_counts().to_dict()},
            "budget": found.budget,
            "recommended": found.recommended,
            "final_models": exp.finals,
            "luts": exp.luts,
            "fronts": found.fronts,
            "lut_vs_measured": found.stats,
            "baselines": found.table1,
            "comparison": found.table2,
            "not_finished": trials.loc[trials["status"] != "finished", ["trial_id", "status", "reason"]].to_dict(
                "records"
            ),
            "problems": exp.problems,
            "energy_available": bool(energy_sources(trials, exp.luts)),
            "knob_effects": found.effects,
            "comparison_vs": comparison.summary if comparison else None,
        }
    )


def _report_texts(exp, found: _Analysis, comparison, report: dict) -> dict:
    """The four files' texts by name (the page's tables from report.json's JSON-safe rows)."""
    return {
        TRIALS_CSV: found.trials.to_csv(index=False),
        PARETO_CSV: found.pareto_df.to_csv(index=False),
        REPORT_JSON: json.dumps(report, indent=1) + "\n",
        REPORT_HTML: report_html(
            exp,
            found.trials,
            found.fronts,
            found.stats,
            found.pareto_df,
            found.effects,
            comparison,
            found.recommended,
            (report["baselines"], report["comparison"]),
        ),
    }


def build_report(experiment_dir: str, out_dir: str, vs: str | None = None, skip_unreadable: bool = False) -> dict:
    """Read ``experiment_dir``, write the four report files into ``out_dir``; returns report.json's content.
    ``vs``: a second experiment to compare with (report.json's ``comparison_vs``, null without);
    ``skip_unreadable``: report without damaged files (``read_experiment``) instead of refusing."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise UserError(f"--out {out_dir}: exists and is not a directory")
    exp = read_experiment(experiment_dir, skip_dir=out_dir, skip_unreadable=skip_unreadable)
    comparison = compare_experiments(exp, _read_other(vs, out_dir, skip_unreadable)) if vs else None
    found = _analyse(exp)
    report = _report_json(experiment_dir, exp, found, comparison)
    texts = _report_texts(exp, found, comparison, report)
    # all four replace an older report, or none (a failure, SIGINT, SIGTERM: no temporary file stays)
    atomic_write_texts({os.path.join(out_dir, name): text for name, text in texts.items()})
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pareto.report", description=__doc__.splitlines()[0])
    parser.add_argument("experiment_dir", help="a sweep's experiment directory (<storage>/<name>)")
    parser.add_argument(
        "--out", required=True, help=f"folder for {TRIALS_CSV}, {PARETO_CSV}, {REPORT_JSON}, {REPORT_HTML}"
    )
    parser.add_argument("--vs", metavar="DIR", help="a second experiment to compare with (e.g. a random baseline)")
    parser.add_argument(
        "--skip-unreadable",
        action="store_true",
        help="report without damaged files (a trial's listed as unreadable) instead of refusing",
    )
    args = parser.parse_args(argv)
    cli_start()  # SIGINT/SIGTERM raise Interrupted: the writer removes its temporary files
    try:
        report = build_report(args.experiment_dir, args.out, vs=args.vs, skip_unreadable=args.skip_unreadable)
    except Interrupted as err:
        name = signal.Signals(err.signum).name
        print(f"stopped by {name}: no report written (an older one in {args.out} is as it was)", file=sys.stderr)
        return 128 + err.signum
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # e.g. --out not writable
        print(f"error: {err.filename or args.out}: cannot write the report ({err.strerror})", file=sys.stderr)
        return 2
    for problem in report["problems"]:
        print(f"warning: {problem}", file=sys.stderr)
    if report["deploy"]["note"]:
        print(f"warning: deployment target: {report['deploy']['note']}", file=sys.stderr)
    counts = ", ".join(f"{v} {k}" for k, v in report["counts"].items() if k != "trials")
    print(f"{report['counts']['trials']} trials ({counts}); report in {os.path.join(args.out, REPORT_HTML)}")
    print(f"deployment target: {report['deploy']['label']}")
    print(recommended_line(report["recommended"]))
    if report["final_models"]:
        print(final_line(report["final_models"]))
    for front in report["fronts"]:
        hv = "n/a" if front["hypervolume"] is None else f"{front['hypervolume']:.6g}"
        print(f"front {front['name']}: {len(front['trial_ids'])} trials, hypervolume {hv}")
    for stat in report["lut_vs_measured"]:
        if stat["n"]:
            print(fidelity_line(stat))
    if report["comparison_vs"] is not None:
        print(_hv_line(report["comparison_vs"]))
    return 0


def _hv_line(comparison: dict) -> str:
    """``hv_self=<x> hv_other=<x> hv_ratio=<x>`` (``nan`` where a value is undefined)."""
    return " ".join(
        f"{k}={float('nan') if comparison[k] is None else comparison[k]:.6g}"
        for k in ("hv_self", "hv_other", "hv_ratio")
    )


if __name__ == "__main__":
    sys.exit(main())
