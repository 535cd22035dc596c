"""The report's search-quality sections: how the knobs move accuracy and cost, and the
comparison with a second experiment (``pareto.report --vs DIR``). Each returns
``(heading, inner HTML)`` for :func:`pareto.page.render_page`."""

import os

import pandas as pd

from . import figures, front_charts, page
from .columns import lut_columns, search_lut, short_lut_name
from .compare import Comparison, latency_key
from .experiment import Experiment

__all__ = ["comparison_section", "knob_effects_section"]


def _fmt(value, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def knob_effects_section(exp: Experiment, finished: pd.DataFrame, effects: dict) -> tuple:
    """Test accuracy, search-LUT latency and (when present) search-LUT energy against each knob."""
    name = search_lut(exp.trials, exp.luts)
    rows = [("test_acc", "test accuracy")]
    if name:
        cols = lut_columns(name)
        rows.append((cols["latency"], f"LUT latency ms ({short_lut_name(name)})"))
        modeled = finished[cols["energy_source"]].astype(str).str.startswith("model:").any()
        rows.append((cols["energy"], f"LUT energy mJ{' (MODELED)' if modeled else ''}"))
    rho = effects.get("spearman_alpha_lat")
    text = (
        f"<p class=meta>Spearman rank correlation of alpha with the childnet's LUT latency: "
        f"<b>{_fmt(rho, 3)}</b> over {effects.get('n', 0)} finished trials (-1: a larger alpha always "
        f"gave a faster network; 0: alpha did not steer latency).</p>"
    )
    fig = figures.knob_panels(finished, rows, title="Accuracy and LUT cost against each knob (one point per trial)")
    return (
        "Knobs steer cost?",
        text
        + page.figure_html(fig, "no finished trial has knob values (a random-architecture experiment has no knobs)"),
    )


def comparison_section(comparison: Comparison) -> tuple:
    """Both fronts on one chart, the two hypervolumes with their shared reference point, the ratio."""
    s = comparison.summary
    names = {"self": f"this ({s['strategy_self']})", "other": f"{os.path.basename(s['other'])} ({s['strategy_other']})"}
    ref = s["reference_point"]
    key = latency_key(s["metric"])
    ref_text = f"test_acc={ref['test_acc']:.4g}, latency={ref[key]:.4g} ms" if ref else "n/a"
    text = (
        f"<p class=meta>vs <code>{page.esc(s['other'])}</code>; objectives: max test accuracy, min "
        f"{page.esc(s['metric']['label'])}; shared reference point: {page.esc(ref_text)} "
        f"({page.esc(s['reference_rule'])}).</p>"
        f"<p><b>hv_self={_fmt(s['hv_self'])} hv_other={_fmt(s['hv_other'])} hv_ratio={_fmt(s['hv_ratio'])}</b> "
        f"({s['n_self']} and {s['n_other']} finished trials; {len(s['front_self'])} and "
        f"{len(s['front_other'])} on their fronts)</p>"
    )
    for note in (s["metric"].get("note"), s.get("note")):
        if note:
            text += f"<p class=note>{page.esc(note)}.</p>"
    sets = [(names[k], comparison.points[k]) for k in ("self", "other")]
    chart = page.figure_html(
        front_charts.comparison_chart(sets, ref, key, s["metric"]["label"]),
        "no finished trial with test accuracy and latency in either experiment",
    )
    return (f"Comparison with {os.path.basename(s['other'])}", text + chart)
