"""Plotly figures of the report. Each function returns a figure, or None when its data is absent
(the page then says so instead of drawing an empty plot)."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .experiment import lut_columns, short_lut_name

__all__ = [
    "energy_label",
    "bubble_chart",
    "knobs_chart",
    "knob_panels",
    "accuracy_latency_chart",
    "lut_vs_measured_chart",
    "comparison_chart",
]

_FRONT_COLOR = "#d62728"
_OTHER_COLOR = "#7f9fbf"
_BASELINE_COLOR = "#2ca02c"


def energy_label(sources) -> str:
    """Axis label for energy that says when it is modeled rather than measured."""
    sources = sorted({str(s) for s in sources if isinstance(s, str) and s and s != "none"})
    modeled = [s for s in sources if s.startswith("model:")]
    if modeled and len(modeled) == len(sources):
        return f"energy (mJ, MODELED: {', '.join(modeled)})"
    if sources:
        return f"energy (mJ, {', '.join(sources)})"
    return "energy (mJ)"


def _hover(df: pd.DataFrame) -> list:
    return [
        f"trial {t}<br>acc {a:.4f}" if pd.notna(a) else f"trial {t}<br>acc n/a"
        for t, a in zip(df["trial_id"], df["test_acc"])
    ]


def _sizes(acc: pd.Series) -> np.ndarray:
    """Bubble diameter from accuracy, spread over the observed range so differences show."""
    acc = acc.to_numpy(dtype=float)
    lo, hi = np.nanmin(acc), np.nanmax(acc)
    scaled = (acc - lo) / (hi - lo) if hi > lo else np.full_like(acc, 0.5)
    # many trials: smaller bubbles, or they hide each other
    spread = 32 * min(1.0, float(np.sqrt(60 / max(len(acc), 1))))
    return 6 + spread * scaled


def bubble_chart(finished: pd.DataFrame, lat_col: str, en_col: str, src_col: str | None, front_ids, title: str):
    """The seed's Fig. 7: latency x energy, bubble size = accuracy, the front highlighted."""
    df = finished.dropna(subset=[lat_col, en_col, "test_acc"])
    if df.empty:
        return None
    on = df["trial_id"].isin(front_ids)
    sizes = _sizes(df["test_acc"])
    fig = go.Figure()
    for mask, name, color in ((~on, "other trials", _OTHER_COLOR), (on, "Pareto front", _FRONT_COLOR)):
        part = df[mask]
        fig.add_trace(
            go.Scatter(
                x=part[lat_col],
                y=part[en_col],
                mode="markers",
                name=name,
                text=_hover(part),
                hoverinfo="text+x+y",
                marker=dict(size=sizes[mask.to_numpy()], color=color, opacity=0.65, line=dict(width=1, color="#333")),
            )
        )
    sources = df[src_col] if src_col and src_col in df else []
    fig.update_layout(
        title=title + " (bubble size = test accuracy; closer to origin and bigger is better)",
        xaxis_title="latency (ms)",
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
    lo, hi = value.min(), value.max()
    spread = 32 * min(1.0, float(np.sqrt(60 / len(value))))
    sizes = 6 + spread * ((value - lo) / (hi - lo) if hi > lo else np.full_like(value, 0.5))
    fig = go.Figure(
        go.Scatter(
            x=df[x],
            y=df[y],
            mode="markers",
            text=[f"trial {t}<br>{value_label} {v:.3g}" for t, v in zip(df["trial_id"], value)],
            hoverinfo="text",
            marker=dict(
                size=sizes,
                color=value,
                colorscale="Viridis",
                showscale=True,
                opacity=0.75,
                colorbar=dict(title=value_label),
                line=dict(width=1, color="#333"),
            ),
        )
    )
    fig.update_layout(
        title=title + f" (bubble size and color = {value_label}; smaller is better)",
        xaxis_title=x,
        yaxis_title=y,
        height=460,
    )
    return fig


def _staircase(points: pd.DataFrame, lat_col: str):
    """Front of (max acc, min latency) as a step line, sorted by latency."""
    pts = points.sort_values(lat_col)
    return pts[lat_col].to_numpy(), pts["test_acc"].to_numpy()


def accuracy_latency_chart(finished: pd.DataFrame, sources: list, baselines: list):
    """Accuracy vs latency, one panel per cost source (each LUT, measured), front as a step line.

    ``sources``: ``[(title, latency column, front trial ids, is_measured)]``. Baselines are drawn
    on the measured panel only (they were measured on the device, never LUT-estimated); a
    baseline without accuracy is a vertical dotted line at its latency.
    """
    panels = [s for s in sources if finished[s[1]].notna().any() and finished["test_acc"].notna().any()]
    if not panels:
        return None
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=0.07)
    for i, (_title, lat_col, front_ids, is_measured) in enumerate(panels, 1):
        df = finished.dropna(subset=[lat_col, "test_acc"])
        on = df["trial_id"].isin(front_ids)
        fig.add_trace(
            go.Scatter(
                x=df.loc[~on, lat_col],
                y=df.loc[~on, "test_acc"],
                mode="markers",
                marker=dict(color=_OTHER_COLOR, size=7),
                name="other trials",
                legendgroup="other",
                showlegend=i == 1,
                text=_hover(df[~on]),
                hoverinfo="text+x",
            ),
            row=1,
            col=i,
        )
        xs, ys = _staircase(df[on], lat_col)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                line=dict(shape="hv", color=_FRONT_COLOR),
                marker=dict(size=9, color=_FRONT_COLOR),
                name="Pareto front",
                legendgroup="front",
                showlegend=i == 1,
                text=_hover(df[on].sort_values(lat_col)),
                hoverinfo="text+x",
            ),
            row=1,
            col=i,
        )
        fig.update_xaxes(title_text="latency (ms)", row=1, col=i)
        if is_measured:
            for b in baselines:
                lat = b.get("latency_ms")
                if lat is None:
                    continue
                label = f"baseline: {b.get('name', '?')}"
                if b.get("test_acc") is not None:
                    fig.add_trace(
                        go.Scatter(
                            x=[lat],
                            y=[b["test_acc"]],
                            mode="markers+text",
                            text=[label],
                            textposition="middle left",
                            marker=dict(symbol="star", size=14, color=_BASELINE_COLOR),
                            name="baselines (same device, same protocol)",
                            legendgroup="baseline",
                            showlegend=True,
                        ),
                        row=1,
                        col=i,
                    )
                else:
                    fig.add_vline(
                        x=lat,
                        line=dict(color=_BASELINE_COLOR, dash="dot"),
                        row=1,
                        col=i,
                        annotation_text=f"{label} (no accuracy)",
                        annotation_textangle=-90,
                        annotation_position="bottom left",
                        annotation_font_size=10,
                    )
    fig.update_yaxes(title_text="test accuracy", row=1, col=1)
    fig.update_layout(title="Accuracy vs latency per cost source (front: step line)", height=480)
    return fig


def lut_vs_measured_chart(finished: pd.DataFrame, luts: dict):
    """LUT-estimated vs measured latency per LUT, with the y = x line."""
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
                text=_hover(df),
                hoverinfo="text+x+y",
            )
        )
    if not fig.data:
        return None
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="y = x", line=dict(color="#444", dash="dash")))
    fig.update_layout(
        title="LUT-estimated vs measured latency (on y = x the LUT is exact)",
        xaxis_title="measured latency (ms)",
        yaxis_title="LUT-estimated latency (ms)",
        height=480,
    )
    return fig


def knob_panels(finished: pd.DataFrame, rows: list, knobs=("alpha", "beta", "gamma", "delta"), title: str = ""):
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
            fig.add_trace(
                go.Scatter(
                    x=df[knob],
                    y=df[col],
                    mode="markers",
                    showlegend=False,
                    marker=dict(color=_OTHER_COLOR, size=6, line=dict(width=1, color="#333")),
                    text=[f"trial {t}" for t in df["trial_id"]],
                    hoverinfo="text+x+y",
                ),
                row=r,
                col=c,
            )
            if r == len(rows):
                fig.update_xaxes(title_text=knob, row=r, col=c)
        fig.update_yaxes(title_text=label, row=r, col=1)
    fig.update_layout(title=title, height=190 * len(rows) + 110)
    return fig


def comparison_chart(sets: list, reference: dict | None, latency_label: str):
    """Two experiments' accuracy vs latency: every trial faint, each front as a step line, and the
    shared hypervolume reference point. ``sets``: ``[(name, DataFrame(trial_id, test_acc,
    latency_ms, on_front))]``."""
    if not any(len(df) for _, df in sets):
        return None
    fig = go.Figure()
    for (name, df), color in zip(sets, (_FRONT_COLOR, "#1f77b4")):
        hover = [f"{name}: trial {t}<br>acc {a:.4f}" for t, a in zip(df["trial_id"], df["test_acc"])]
        fig.add_trace(
            go.Scatter(
                x=df["latency_ms"],
                y=df["test_acc"],
                mode="markers",
                name=f"{name}: all trials",
                legendgroup=name,
                marker=dict(color=color, size=7, opacity=0.35),
                text=hover,
                hoverinfo="text+x",
            )
        )
        front = df[df["on_front"].astype(bool)].sort_values("latency_ms")
        fig.add_trace(
            go.Scatter(
                x=front["latency_ms"],
                y=front["test_acc"],
                mode="lines+markers",
                name=f"{name}: front",
                legendgroup=name,
                line=dict(shape="hv", color=color),
                marker=dict(size=9, color=color),
                hoverinfo="x+y",
            )
        )
    if reference:
        fig.add_trace(
            go.Scatter(
                x=[reference["latency_ms"]],
                y=[reference["test_acc"]],
                mode="markers",
                name="hypervolume reference point (shared)",
                marker=dict(symbol="x", size=12, color="#444"),
            )
        )
    fig.update_layout(
        title="Accuracy vs latency, two experiments (front: step line)",
        xaxis_title=latency_label,
        yaxis_title="test accuracy",
        height=480,
    )
    return fig
