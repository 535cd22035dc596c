"""Plotly figures of the report: costs and knobs of one experiment, and the report's chart colors
(the accuracy-vs-latency charts are in :mod:`.front_charts`). Each function returns a figure, or
None when its data is absent (the page then says so instead of drawing an empty plot)."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hwnas.domains import KNOBS

from .columns import lut_columns, short_lut_name

__all__ = [
    "BASELINE_COLOR",
    "FRONT_COLOR",
    "OTHER_COLOR",
    "energy_label",
    "trial_hover",
    "bubble_chart",
    "knobs_chart",
    "knob_panels",
    "lut_vs_measured_chart",
]

FRONT_COLOR = "#d62728"
OTHER_COLOR = "#7f9fbf"
BASELINE_COLOR = "#2ca02c"


def energy_label(sources) -> str:
    """Axis label for energy that says when it is modeled rather than measured."""
    sources = sorted({str(s) for s in sources if isinstance(s, str) and s and s != "none"})
    modeled = [s for s in sources if s.startswith("model:")]
    if modeled and len(modeled) == len(sources):
        return f"energy (mJ, MODELED: {', '.join(modeled)})"
    if sources:
        return f"energy (mJ, {', '.join(sources)})"
    return "energy (mJ)"


def trial_hover(df: pd.DataFrame) -> list:
    """Hover text of each trial: its id and test accuracy."""
    return [
        f"trial {t}<br>acc {a:.4f}" if pd.notna(a) else f"trial {t}<br>acc n/a"
        for t, a in zip(df["trial_id"], df["test_acc"])
    ]


def _sizes(values: pd.Series) -> np.ndarray:
    """Bubble diameter from a value (accuracy, a cost), spread over the observed range so differences show."""
    values = values.to_numpy(dtype=float)
    lo, hi = np.nanmin(values), np.nanmax(values)
    scaled = (values - lo) / (hi - lo) if hi > lo else np.full_like(values, 0.5)
    # many trials: smaller bubbles, or they hide each other
    spread = 32 * min(1.0, float(np.sqrt(60 / max(len(values), 1))))
    return 6 + spread * scaled


def _outlined(x, y, marker: dict, **kw) -> go.Scatter:
    """Trials as markers with a dark outline, so overlapping bubbles stay apart."""
    return go.Scatter(x=x, y=y, mode="markers", marker=dict(marker, line=dict(width=1, color="#333")), **kw)


def bubble_chart(
    finished: pd.DataFrame,
    lat_col: str,
    en_col: str,
    src_col: str | None,
    front_ids,
    title: str,
    latency_label: str = "latency (ms)",
):
    """The seed's Fig. 7: latency x energy, bubble size = accuracy, the front highlighted."""
    df = finished.dropna(subset=[lat_col, en_col, "test_acc"])
    if df.empty:
        return None
    on = df["trial_id"].isin(front_ids)
    sizes = _sizes(df["test_acc"])
    fig = go.Figure()
    for mask, name, color in ((~on, "other trials", OTHER_COLOR), (on, "Pareto front", FRONT_COLOR)):
        part = df[mask]
        marker = dict(size=sizes[mask.to_numpy()], color=color, opacity=0.65)
        fig.add_trace(
            _outlined(part[lat_col], part[en_col], marker, name=name, text=trial_hover(part), hoverinfo="text+x+y")
        )
    sources = df[src_col] if src_col and src_col in df else []
    fig.update_layout(
        title=title + " (bubble size = test accuracy; closer to origin and bigger is better)",
        xaxis_title=latency_label,
        yaxis_title=energy_label(sources),
        height=480,
    )
    return fig


def knobs_chart(trials: pd.DataFrame, x: str, y: str, value_col: str, value_label: str, title: str):
    """The seed's Fig. 9/10: knob x vs knob y, bubble size and color = the resulting cost."""
    df = trials.dropna(subset=[x, y, value_col])
    if df.empty:
        return None
    value = df[value_col].to_numpy(dtype=float)
    marker = dict(
        size=_sizes(df[value_col]),
        color=value,
        colorscale="Viridis",
        showscale=True,
        opacity=0.75,
        colorbar=dict(title=value_label),
    )
    text = [f"trial {t}<br>{value_label} {v:.3g}" for t, v in zip(df["trial_id"], value)]
    fig = go.Figure(_outlined(df[x], df[y], marker, text=text, hoverinfo="text"))
    fig.update_layout(
        title=title + f" (bubble size and color = {value_label}; smaller is better)",
        xaxis_title=x,
        yaxis_title=y,
        height=460,
    )
    return fig


def lut_vs_measured_chart(finished: pd.DataFrame, luts: dict, target: str | None = None):
    """LUT-estimated vs measured latency per LUT, with the y = x line; ``target``: the deployment
    target the measurements were timed in, for the axis title."""
    fig = go.Figure()
    lo, hi = np.inf, -np.inf
    for name, device in luts.items():
        col = lut_columns(name)["latency"]
        df = finished.dropna(subset=[col, "measured_latency_ms"])
        if df.empty:
            continue
        lo = min(lo, df[col].min(), df["measured_latency_ms"].min())
        hi = max(hi, df[col].max(), df["measured_latency_ms"].max())
        fig.add_trace(
            go.Scatter(
                x=df["measured_latency_ms"],
                y=df[col],
                mode="markers",
                name=f"{short_lut_name(name)} ({device or 'device unknown'})",
                text=trial_hover(df),
                hoverinfo="text+x+y",
            )
        )
    if not fig.data:
        return None
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="y = x", line=dict(color="#444", dash="dash")))
    fig.update_layout(
        title="LUT-estimated vs measured latency (on y = x the LUT is exact)",
        xaxis_title=f"measured latency (ms, {target})" if target else "measured latency (ms)",
        yaxis_title="LUT-estimated latency (ms)",
        height=480,
    )
    return fig


def knob_panels(finished: pd.DataFrame, rows: list, knobs=KNOBS, title: str = ""):
    """The HANNA report's Figs. 8-10 as small multiples: one panel per (result, knob), the knob on x.

    ``rows``: ``[(column, label)]`` of the results to show (test accuracy, LUT latency, LUT
    energy). Knobs no finished trial has (a random sweep has none) and result rows without
    values are left out; None when nothing is left."""
    knobs = [k for k in knobs if k in finished and finished[k].notna().any()]
    rows = [(c, l) for c, l in rows if c and c in finished and finished[c].notna().any()]
    if not knobs or not rows:
        return None
    fig = make_subplots(
        rows=len(rows),
        cols=len(knobs),
        shared_xaxes="columns",
        shared_yaxes="rows",
        horizontal_spacing=0.03,
        vertical_spacing=0.06,
    )
    for r, (col, label) in enumerate(rows, 1):
        for c, knob in enumerate(knobs, 1):
            df = finished.dropna(subset=[knob, col])
            marker = dict(color=OTHER_COLOR, size=6)
            text = [f"trial {t}" for t in df["trial_id"]]
            fig.add_trace(
                _outlined(df[knob], df[col], marker, showlegend=False, text=text, hoverinfo="text+x+y"), row=r, col=c
            )
            if r == len(rows):
                fig.update_xaxes(title_text=knob, row=r, col=c)
        fig.update_yaxes(title_text=label, row=r, col=1)
    fig.update_layout(title=title, height=190 * len(rows) + 110)
    return fig
