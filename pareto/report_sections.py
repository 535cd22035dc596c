"""The sections of ``report.html`` (``pareto.report``), in reading order: :func:`report_html` assembles
them. Each section function returns ``(heading, inner HTML)`` for :func:`pareto.page.render_page`;
a section whose data is absent says so instead of drawing an empty chart or table.
"""

import os

import pandas as pd

from hwnas.layout import CHILD, ERROR, METRICS

from . import figures, front_charts, page
from .baseline_tables import table_sections
from .budget import budget_of
from .columns import lut_columns, search_lut, short_lut_name
from .deploy import target_label
from .final_model import final_section
from .quality_sections import comparison_section, knob_effects_section
from .recommended import budget_text, recommended_section

__all__ = ["energy_sources", "report_html"]


def energy_sources(trials: pd.DataFrame, luts: dict, target: str | None = None) -> list:
    """(label, latency col, energy col, energy-source col, front name) for every source with energy;
    ``target``: the deployment target the measurements were timed in (named in the label)."""
    out = []
    for name in luts:
        cols = lut_columns(name)
        if trials[cols["energy"]].notna().any():
            out.append(
                (f"LUT {short_lut_name(name)}", cols["latency"], cols["energy"], cols["energy_source"], f"lut:{name}")
            )
    if trials["measured_energy_mj"].notna().any():
        label = f"measured in {target}" if target else "measured"
        out.append((label, "measured_latency_ms", "measured_energy_mj", "measured_energy_source", "measured"))
    return out


_NO_ENERGY = "no energy data: no LUT has energy and no meter measured energy, so the energy figures are left out"


def _shorten(exp, text: str) -> str:
    """LUT file paths in ``text`` as their base names."""
    for name in exp.luts:
        text = text.replace(name, short_lut_name(name))
    return text


def _table_simple(rows: list, columns: list) -> str:
    return page.table_html(pd.DataFrame(rows, columns=[k for _, k in columns]), columns, sortable=False)


def _op_legend(colors: dict) -> str:
    return "<p class=meta>ops:</p>" + page.op_legend(colors)


def _target(exp) -> str:
    """The experiment's deployment target as the page names it: ``ExecuTorch fp32 (1.5.1)``."""
    return (exp.deploy or {}).get("label") or "target unknown"


def _lut_targets(exp, trials) -> dict:
    """LUT name -> the target its estimates name (``executorch-fp32``), None when none does."""
    out = {}
    for name in exp.luts:
        keys = trials[lut_columns(name)["target"]].dropna()
        out[name] = str(keys.mode().iloc[0]) if len(keys) else None
    return out


def _deploy_text(exp, trials) -> str:
    deploy = exp.deploy or {}
    source = {
        "trials": "the trials' measurements and exported files",
        "lut": "the search LUT (no finished trial names one)",
        "config": "the config (neither the trials nor the LUT name one)",
    }.get(deploy.get("source"), "nothing names it")
    luts = ", ".join(
        f"{short_lut_name(n)}: {target_label(k) if k else 'target unknown'}"
        for n, k in _lut_targets(exp, trials).items()
    )
    text = (
        f"<p class=meta><b>deployment target: {page.esc(_target(exp))}</b>: measured latencies and energies are "
        f"of the deployed file timed in it (from {page.esc(source)}). LUTs describe: {page.esc(luts or 'none')}</p>"
    )
    if deploy.get("note"):
        text += f"<p class=note>deployment target: {page.esc(deploy['note'])}.</p>"
    return text


def _data_text(data) -> str:
    """``<br>data: …`` from sweep.json's ``data`` (the classes and input the models take), or nothing."""
    if not isinstance(data, dict) or not isinstance(data.get("classes"), list):
        return ""
    classes = [str(c) for c in data["classes"]]
    names = ", ".join(classes[:12]) + (", …" if len(classes) > 12 else "")
    shape = "x".join(str(v) for v in data.get("input_shape") or [])
    where = f"{data.get('dataset')} {data['root']}" if data.get("root") else str(data.get("dataset"))
    return f"<br>data: {page.esc(where)}; {len(classes)} classes ({page.esc(names)}); input {page.esc(shape)}"


def _meta_section(exp, trials, sources) -> tuple:
    counts = trials["status"].value_counts().to_dict()
    luts_text = ", ".join(f"{n} ({d or 'device unknown'})" for n, d in exp.luts.items()) or "none"
    meta = _deploy_text(exp, trials) + (
        f"<p class=meta>experiment: <code>{page.esc(os.path.abspath(exp.root))}</code><br>"
        f"trials: {len(trials)} ({', '.join(f'{v} {k}' for k, v in sorted(counts.items()))}); "
        f"dominant term: {page.esc(exp.sweep.get('dominant', 'n/a'))}; LUTs: {page.esc(luts_text)}<br>"
        f"budget: {page.esc(budget_text(budget_of(exp.sweep)))}{_data_text(exp.sweep.get('data'))}</p>"
    )
    if exp.sweep.get("synthetic"):
        meta += "<p class=note>SYNTHETIC experiment: made-up numbers for testing the report.</p>"
    if not sources:
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


def _bubble_section(exp, finished, sources, front_ids) -> tuple:
    charts = []
    for label, lat_col, en_col, src_col, front_name in sources:
        lat_label = f"measured latency (ms, {_target(exp)})" if front_name == "measured" else f"latency (ms, {label})"
        fig = figures.bubble_chart(
            finished, lat_col, en_col, src_col, front_ids.get(front_name, []), f"Latency x energy, {label}", lat_label
        )
        charts.append(page.figure_html(fig, f"{label}: no finished trial with latency, energy and accuracy"))
    return "Latency x energy x accuracy", "".join(charts) or f"<p class=note>{_NO_ENERGY}.</p>"


def _knobs_section(exp, finished, sources) -> tuple:
    name = search_lut(finished, exp.luts)
    fig = (
        figures.knobs_chart(
            finished,
            "alpha",
            "beta",
            lut_columns(name)["latency"],
            f"LUT latency ({short_lut_name(name)})",
            "alpha and beta vs latency",
        )
        if name
        else None
    )
    knob_html = page.figure_html(fig, "no finished trial with alpha, beta and a LUT latency")
    if sources:
        label, _, en_col, _, _ = sources[0]
        fig = figures.knobs_chart(
            finished, "gamma", "delta", en_col, f"energy mJ ({label})", "gamma and delta vs energy"
        )
        knob_html += page.figure_html(fig, "no finished trial with gamma, delta and energy")
    else:
        knob_html += f"<p class=note>gamma and delta vs energy: {_NO_ENERGY}.</p>"
    return "Knobs vs cost", knob_html


def _accuracy_latency_section(exp, finished, front_ids) -> tuple:
    targets = _lut_targets(exp, finished)
    sources = [
        (
            f"LUT {short_lut_name(n)}",
            lut_columns(n)["latency"],
            front_ids.get(f"lut:{n}", []),
            False,
            f"LUT latency (ms, {target_label(targets[n]) if targets[n] else 'target unknown'})",
        )
        for n in exp.luts
    ]
    sources.append(
        (
            f"measured on device, {_target(exp)}",
            "measured_latency_ms",
            front_ids.get("measured", []),
            True,
            f"measured latency (ms, {_target(exp)})",
        )
    )
    fig = front_charts.accuracy_latency_chart(finished, sources, exp.baselines)
    return "Accuracy vs latency", page.figure_html(fig, "no finished trial with accuracy and latency")


def _fidelity_section(exp, finished, stats) -> tuple:
    rows = [
        {
            **s,
            "lut": short_lut_name(s["lut"]),
            "lut_target": target_label(s.get("lut_target")) if s.get("lut_target") else "target unknown",
            "same_target": {True: "yes", False: "no (another runtime or precision)"}.get(s.get("same_target"), "n/a"),
            "same_device": "yes" if s["same_device"] else "no (cross-device)",
            "within_10pct": None if s["within_10pct"] is None else 100 * s["within_10pct"],
        }
        for s in stats
    ]
    chart = page.figure_html(
        figures.lut_vs_measured_chart(finished, exp.luts, _target(exp)),
        "no finished trial has both a LUT estimate and a measured latency",
    )
    return (
        f"LUT estimate vs measurement in {_target(exp)}",
        chart
        + _table_simple(
            rows,
            [
                ("LUT", "lut"),
                ("LUT target", "lut_target"),
                ("same target as measurement", "same_target"),
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
    cols[2:2] = [("test acc int8", "test_acc_int8"), ("int8 drop (points)", "int8_drop_points")]
    cols += [
        (f"measured lat ms [{_target(exp)}]", "measured_latency_ms"),
        (f"measured energy mJ [{_target(exp)}]", "measured_energy_mj"),
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
        f"<p class=meta>running: no {CHILD}/{METRICS} and no {ERROR} yet (the trial is still "
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


def report_html(
    exp, trials, fronts, stats, pareto_df, effects: dict, comparison=None, recommended=None, tables=((), ())
) -> str:
    """The whole of report.html: one section per function above, in reading order."""
    finished = trials[trials["status"] == "finished"]
    front_ids = {f["name"]: f["trial_ids"] for f in fronts}
    sources = energy_sources(trials, exp.luts, _target(exp))
    sections = [
        _meta_section(exp, trials, sources),
        *filter(None, [final_section(exp.finals)]),
        recommended_section(recommended, budget_of(exp.sweep)),
        *table_sections(*tables, _target(exp)),
        _fronts_section(exp, fronts),
        _bubble_section(exp, finished, sources, front_ids),
        _knobs_section(exp, finished, sources),
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
