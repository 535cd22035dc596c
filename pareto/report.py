"""``python -m pareto.report EXPERIMENT_DIR --out DIR``: the sweep's report.

Writes ``trials.csv``, ``pareto.csv``, ``report.json`` and ``report.html`` (self-contained, opens
offline) into DIR, all four or none (a failure leaves an older report as it was). Works during a sweep
(running trials), after an interrupted one, and without any energy data. Unreadable trial files are reported (one
``warning:`` line each on stderr) and the other trials still make the report.
``--vs DIR`` adds the comparison with a second experiment (``pareto.compare``) and prints
``hv_self=<x> hv_other=<x> hv_ratio=<x>``. The page opens with the recommended model
(``pareto.recommended``: the most accurate finished childnet within ``sweep.budget``), then HANNA's
Table 1 and Table 2 (``pareto.baseline_tables``: the front's childnets against the trained baselines).
"""

import argparse
import json
import os
import sys

import pandas as pd

from . import figures, page
from .analysis import compute_fronts, fidelity_line, lut_error_stats
from .baseline_tables import comparison_rows, table1_rows, table_sections
from .budget import budget_of
from .compare import compare_experiments, strategy_of
from .errors import ParetoInputError
from .experiment import lut_columns, read_experiment, short_lut_name
from .knob_effects import knob_effects
from .quality_sections import comparison_section, knob_effects_section
from .recommended import budget_text, mark_budget, recommended_line, recommended_model, recommended_section
from .report_files import json_safe, pareto_table, write_all

__all__ = ["build_report", "main"]


def _search_latency_col(finished: pd.DataFrame, luts: dict):
    searched = finished["search_lut"].dropna()
    name = searched.mode().iloc[0] if len(searched) else next(iter(luts), None)
    return (lut_columns(name)["latency"], f"LUT latency ({short_lut_name(name)})") if name in luts else (None, None)


def _energy_sources(trials: pd.DataFrame, luts: dict) -> list:
    """(label, latency col, energy col, energy-source col, front name) for every source with energy."""
    out = []
    for name in luts:
        cols = lut_columns(name)
        if trials[cols["energy"]].notna().any():
            out.append(
                (f"LUT {short_lut_name(name)}", cols["latency"], cols["energy"], cols["energy_source"], f"lut:{name}")
            )
    if trials["measured_energy_mj"].notna().any():
        out.append(("measured", "measured_latency_ms", "measured_energy_mj", "measured_energy_source", "measured"))
    return out


_NO_ENERGY = "no energy data: no LUT has energy and no meter measured energy, so the energy figures are left out"


def _shorten(exp, text: str) -> str:
    """LUT file paths in ``text`` as their base names."""
    for name in exp.luts:
        text = text.replace(name, short_lut_name(name))
    return text


def _meta_section(exp, trials, energy_sources) -> tuple:
    counts = trials["status"].value_counts().to_dict()
    luts_text = ", ".join(f"{n} ({d or 'device unknown'})" for n, d in exp.luts.items()) or "none"
    meta = (
        f"<p class=meta>experiment: <code>{page.esc(os.path.abspath(exp.root))}</code><br>"
        f"trials: {len(trials)} ({', '.join(f'{v} {k}' for k, v in sorted(counts.items()))}); "
        f"mode: {page.esc(exp.sweep.get('mode', 'n/a'))}; LUTs: {page.esc(luts_text)}<br>"
        f"budget: {page.esc(budget_text(budget_of(exp.sweep)))}</p>"
    )
    if exp.sweep.get("synthetic"):
        meta += "<p class=note>SYNTHETIC experiment: made-up numbers for testing the report.</p>"
    if not energy_sources:
        meta += f"<p class=note>{_NO_ENERGY}.</p>"
    return None, meta


def _fronts_section(exp, fronts) -> tuple:
    rows = []
    for f in fronts:
        objs = _shorten(exp, ", ".join(f"{o['sense']} {o['column']}" for o in f["objectives"]))
        ref = _shorten(exp, ", ".join(f"{k}={v:.4g}" for k, v in (f["reference_point"] or {}).items()))
        rows.append(
            {
                "name": _shorten(exp, f["name"]),
                "objectives": objs,
                "size": len(f["trial_ids"]),
                "used": f["rows_used"],
                "left_out": f["left_out"],
                "hypervolume": f["hypervolume"],
                "reference": ref or f.get("note", ""),
            }
        )
    return (
        "Fronts and hypervolume",
        _table_simple(
            rows,
            [
                ("front", "name"),
                ("objectives", "objectives"),
                ("trials on front", "size"),
                ("finished trials used", "used"),
                ("left out (missing objective)", "left_out"),
                ("hypervolume", "hypervolume"),
                ("reference point (worst + 10 % of range)", "reference"),
            ],
        ),
    )


def _bubble_section(finished, energy_sources, front_ids) -> tuple:
    charts = []
    for label, lat_col, en_col, src_col, front_name in energy_sources:
        fig = figures.bubble_chart(
            finished, lat_col, en_col, src_col, front_ids.get(front_name, []), f"Latency x energy, {label}"
        )
        charts.append(page.figure_html(fig, f"{label}: no finished trial with latency, energy and accuracy"))
    return "Latency x energy x accuracy", "".join(charts) or f"<p class=note>{_NO_ENERGY}.</p>"


def _knobs_section(exp, finished, energy_sources) -> tuple:
    lat_col, lat_label = _search_latency_col(finished, exp.luts)
    fig = (
        figures.knobs_chart(finished, "alpha", "beta", lat_col, lat_label, "alpha and beta vs latency")
        if lat_col
        else None
    )
    knob_html = page.figure_html(fig, "no finished trial with alpha, beta and a LUT latency")
    if energy_sources:
        label, _, en_col, _, _ = energy_sources[0]
        fig = figures.knobs_chart(
            finished, "gamma", "delta", en_col, f"energy mJ ({label})", "gamma and delta vs energy"
        )
        knob_html += page.figure_html(fig, "no finished trial with gamma, delta and energy")
    else:
        knob_html += f"<p class=note>gamma and delta vs energy: {_NO_ENERGY}.</p>"
    return "Knobs vs cost", knob_html


def _accuracy_latency_section(exp, finished, front_ids) -> tuple:
    sources = [
        (f"LUT {short_lut_name(n)}", lut_columns(n)["latency"], front_ids.get(f"lut:{n}", []), False) for n in exp.luts
    ]
    sources.append(("measured on device", "measured_latency_ms", front_ids.get("measured", []), True))
    fig = figures.accuracy_latency_chart(finished, sources, exp.baselines)
    return "Accuracy vs latency", page.figure_html(fig, "no finished trial with accuracy and latency")


def _fidelity_section(exp, finished, stats) -> tuple:
    rows = [
        {
            **s,
            "lut": short_lut_name(s["lut"]),
            "same_device": "yes" if s["same_device"] else "no (cross-device)",
            "within_10pct": None if s["within_10pct"] is None else 100 * s["within_10pct"],
        }
        for s in stats
    ]
    chart = page.figure_html(
        figures.lut_vs_measured_chart(finished, exp.luts),
        "no finished trial has both a LUT estimate and a measured latency",
    )
    return (
        "LUT estimate vs measurement",
        chart
        + _table_simple(
            rows,
            [
                ("LUT", "lut"),
                ("LUT device", "lut_device"),
                ("same device as measurement", "same_device"),
                ("distinct childnets", "n"),
                ("compared with", "compared_with"),
                ("within ±10 % (%)", "within_10pct"),
                ("MAPE (%)", "mape_pct"),
                ("Kendall tau", "kendall_tau"),
                ("median estimate/measured", "median_ratio"),
                ("speed factor (now / profiling)", "speed_factor"),
                ("measurements' median rel. IQR", "measured_rel_iqr"),
                ("noisy measurements", "noisy_measurements"),
            ],
        ),
    )


def _pareto_section(exp, trials, pareto_df) -> tuple:
    heading = "Pareto-optimal trials (click a header to sort)"
    if not len(pareto_df):
        return heading, "<p class=note>no trial is on any front yet (no finished trial)</p>"
    colors = page.op_colors(op for ops in trials["ops"].dropna() for op in ops.split())
    cols = [("trial", "trial_id"), ("test acc", "test_acc"), ("architecture (one block per layer)", "ops")]
    for n in exp.luts:
        short = short_lut_name(n)
        modeled = trials[lut_columns(n)["energy_source"]].astype(str).str.startswith("model:").any()
        cols += [
            (f"LUT lat ms [{short}]", lut_columns(n)["latency"]),
            (f"LUT energy mJ{' (MODELED)' if modeled else ''} [{short}]", lut_columns(n)["energy"]),
        ]
    cols += [
        ("measured lat ms", "measured_latency_ms"),
        ("measured energy mJ", "measured_energy_mj"),
        ("alpha", "alpha"),
        ("beta", "beta"),
        ("gamma", "gamma"),
        ("delta", "delta"),
        ("params", "params"),
        ("FLOPs", "flops"),
        ("on fronts", "fronts"),
    ]
    cols = [(l, k) for l, k in cols if k in ("ops", "fronts", "trial_id") or pareto_df[k].notna().any()]
    shown = pareto_df.assign(fronts=pareto_df["fronts"].map(lambda t: _shorten(exp, t)).str.replace(";", "; "))
    return heading, _op_legend(colors) + page.table_html(shown, cols, arch_col="ops", colors=colors)


def _not_finished_section(trials) -> tuple:
    not_done = trials[trials["status"] != "finished"]
    if not len(not_done):
        return "Failed, unreadable and running trials (0)", "<p>none</p>"
    return (
        f"Failed, unreadable and running trials ({len(not_done)})",
        "<p class=meta>running: no child/metrics.json and no error.txt yet (the trial is still "
        "working, or the sweep was interrupted: see Ray's own status)</p>"
        + page.table_html(
            not_done,
            [
                ("trial", "trial_id"),
                ("status", "status"),
                ("reason", "reason"),
                ("Ray status", "ray_status"),
                ("folder", "trial_dir"),
            ],
        ),
    )


def _html(
    exp, trials, fronts, stats, pareto_df, effects: dict, comparison=None, recommended=None, tables=((), ())
) -> str:
    """report.html: one section per function above, in reading order."""
    finished = trials[trials["status"] == "finished"]
    front_ids = {f["name"]: f["trial_ids"] for f in fronts}
    energy_sources = _energy_sources(trials, exp.luts)
    sections = [
        _meta_section(exp, trials, energy_sources),
        recommended_section(recommended, budget_of(exp.sweep)),
        *table_sections(*tables),
        _fronts_section(exp, fronts),
        _bubble_section(finished, energy_sources, front_ids),
        _knobs_section(exp, finished, energy_sources),
        knob_effects_section(exp, finished, effects),
        _accuracy_latency_section(exp, finished, front_ids),
    ]
    if comparison is not None:
        sections.append(comparison_section(comparison))
    sections += [
        _fidelity_section(exp, finished, stats),
        _pareto_section(exp, trials, pareto_df),
        _not_finished_section(trials),
    ]
    if exp.problems:
        items = "".join(f"<li>{page.esc(p)}</li>" for p in exp.problems)
        sections.append((f"Problems reading the experiment ({len(exp.problems)})", f"<ul>{items}</ul>"))
    return page.render_page(f"Sweep report: {os.path.basename(os.path.abspath(exp.root))}", sections)


def _table_simple(rows: list, columns: list) -> str:
    return page.table_html(pd.DataFrame(rows, columns=[k for _, k in columns]), columns, sortable=False)


def _op_legend(colors: dict) -> str:
    return "<p class=meta>ops:</p>" + page.op_legend(colors)


def _read_other(vs: str, out_dir: str):
    try:
        return read_experiment(vs, skip_dir=out_dir)
    except ParetoInputError as err:
        raise ParetoInputError(f"--vs {vs}: {err}") from None


def build_report(experiment_dir: str, out_dir: str, vs: str | None = None) -> dict:
    """Read ``experiment_dir``, write the four report files into ``out_dir``; returns report.json's content.
    ``vs``: a second experiment to compare with (report.json's ``comparison_vs``, null without)."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ParetoInputError(f"--out {out_dir}: exists and is not a directory")
    exp = read_experiment(experiment_dir, skip_dir=out_dir)
    comparison = compare_experiments(exp, _read_other(vs, out_dir)) if vs else None
    budget = budget_of(exp.sweep)
    trials = mark_budget(exp.trials, exp.luts, budget)
    recommended = recommended_model(exp)
    fronts = compute_fronts(trials, exp.luts)
    stats = lut_error_stats(trials, exp.luts)
    pareto_df = pareto_table(trials, fronts)
    effects = knob_effects(trials, _search_latency_col(trials[trials["status"] == "finished"], exp.luts)[0])
    table1 = table1_rows(exp.baselines, trials, fronts, exp.luts)
    table2 = comparison_rows(table1)
    report = json_safe(
        {
            "experiment": os.path.abspath(experiment_dir),
            "strategy": strategy_of(exp),
            "counts": {"trials": len(trials), **trials["status"].value_counts().to_dict()},
            "budget": budget,
            "recommended": recommended,
            "luts": exp.luts,
            "fronts": fronts,
            "lut_vs_measured": stats,
            "baselines": table1,
            "comparison": table2,
            "not_finished": trials.loc[trials["status"] != "finished", ["trial_id", "status", "reason"]].to_dict(
                "records"
            ),
            "problems": exp.problems,
            "energy_available": bool(_energy_sources(trials, exp.luts)),
            "knob_effects": effects,
            "comparison_vs": comparison.summary if comparison else None,
        }
    )
    os.makedirs(out_dir, exist_ok=True)
    write_all(
        out_dir,
        {
            "trials.csv": trials.to_csv(index=False),
            "pareto.csv": pareto_df.to_csv(index=False),
            "report.json": json.dumps(report, indent=1) + "\n",
            "report.html": _html(
                exp,
                trials,
                fronts,
                stats,
                pareto_df,
                effects,
                comparison,
                recommended,
                (report["baselines"], report["comparison"]),
            ),
        },
    )
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pareto.report", description=__doc__.splitlines()[0])
    parser.add_argument("experiment_dir", help="a sweep's experiment directory (<storage>/<name>)")
    parser.add_argument("--out", required=True, help="folder for trials.csv, pareto.csv, report.json, report.html")
    parser.add_argument("--vs", metavar="DIR", help="a second experiment to compare with (e.g. a random baseline)")
    args = parser.parse_args(argv)
    try:
        report = build_report(args.experiment_dir, args.out, vs=args.vs)
    except ParetoInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # e.g. --out not writable
        print(f"error: {err.filename or args.out}: cannot write the report ({err.strerror})", file=sys.stderr)
        return 2
    for problem in report["problems"]:
        print(f"warning: {problem}", file=sys.stderr)
    counts = ", ".join(f"{v} {k}" for k, v in report["counts"].items() if k != "trials")
    print(f"{report['counts']['trials']} trials ({counts}); report in {os.path.join(args.out, 'report.html')}")
    print(recommended_line(report["recommended"]))
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
