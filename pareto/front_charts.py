"""Accuracy-vs-latency charts with the Pareto front drawn as a step line: one experiment per cost
source (each LUT, measured) with its baselines, and two experiments on one chart (``--vs``).
Each function returns a figure, or None when its data is absent."""

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .figures import BASELINE_COLOR, FRONT_COLOR, OTHER_COLOR, trial_hover

__all__ = ["accuracy_latency_chart", "comparison_chart"]


def _cloud(x, y, color: str, opacity: float | None = None, **kw) -> go.Scatter:
    """Trials as plain markers."""
    return go.Scatter(x=x, y=y, mode="markers", marker=dict(color=color, size=7, opacity=opacity), **kw)


def _step_front(x, y, color: str, **kw) -> go.Scatter:
    """A (max accuracy, min latency) front as a step line: each point holds until the next."""
    return go.Scatter(
        x=x, y=y, mode="lines+markers", line=dict(shape="hv", color=color), marker=dict(size=9, color=color), **kw
    )


def _add_baselines(fig, baselines: list, col: int) -> None:
    """A baseline with accuracy is a star; one without is a vertical dotted line at its latency."""
    for b in baselines:
        lat = (b.get("measured") if isinstance(b.get("measured"), dict) else {}).get("latency_ms")
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
                    marker=dict(symbol="star", size=14, color=BASELINE_COLOR),
                    name="baselines (same device, same protocol)",
                    legendgroup="baseline",
                    showlegend=True,
                ),
                row=1,
                col=col,
            )
        else:
            fig.add_vline(
                x=lat,
                line=dict(color=BASELINE_COLOR, dash="dot"),
                row=1,
                col=col,
                annotation_text=f"{label} (no accuracy)",
                annotation_textangle=-90,
                annotation_position="bottom left",
                annotation_font_size=10,
            )


def accuracy_latency_chart(finished: pd.DataFrame, sources: list, baselines: list):
    """Accuracy vs latency, one panel per cost source (each LUT, measured), front as a step line.

    ``sources``: ``[(title, latency column, front trial ids, is_measured[, x-axis title])]`` (the
    axis title names the deployment target of a measured latency). Baselines are drawn
    on the measured panel only (they were measured on the device, never LUT-estimated); a
    baseline without accuracy is a vertical dotted line at its latency.
    """
    panels = [s for s in sources if finished[s[1]].notna().any() and finished["test_acc"].notna().any()]
    if not panels:
        return None
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=0.07)
    for i, (_title, lat_col, front_ids, is_measured, *axis) in enumerate(panels, 1):
        df = finished.dropna(subset=[lat_col, "test_acc"])
        on = df["trial_id"].isin(front_ids)
        parts = (
            (_cloud, df[~on], OTHER_COLOR, "other trials", "other"),
            (_step_front, df[on].sort_values(lat_col), FRONT_COLOR, "Pareto front", "front"),
        )
        for trace, part, color, name, group in parts:
            kw = dict(name=name, legendgroup=group, showlegend=i == 1, text=trial_hover(part), hoverinfo="text+x")
            fig.add_trace(trace(part[lat_col], part["test_acc"], color, **kw), row=1, col=i)
        fig.update_xaxes(title_text=axis[0] if axis else "latency (ms)", row=1, col=i)
        if is_measured:
            _add_baselines(fig, baselines, i)
    fig.update_yaxes(title_text="test accuracy", row=1, col=1)
    fig.update_layout(title="Accuracy vs latency per cost source (front: step line)", height=480)
    return fig


def comparison_chart(sets: list, reference: dict | None, latency: str, latency_label: str):
    """Two experiments' accuracy vs latency: every trial faint, each front as a step line, and the
    shared hypervolume reference point. ``sets``: ``[(name, DataFrame(trial_id, test_acc,
    <latency>, on_front))]``; ``latency``: the latency's name (``pareto.compare.latency_key``)."""
    if not any(len(df) for _, df in sets):
        return None
    fig = go.Figure()
    for (name, df), color in zip(sets, (FRONT_COLOR, "#1f77b4")):
        hover = [f"{name}: trial {t}<br>acc {a:.4f}" for t, a in zip(df["trial_id"], df["test_acc"])]
        fig.add_trace(
            _cloud(
                df[latency],
                df["test_acc"],
                color,
                0.35,
                name=f"{name}: all trials",
                legendgroup=name,
                text=hover,
                hoverinfo="text+x",
            )
        )
        front = df[df["on_front"].astype(bool)].sort_values(latency)
        fig.add_trace(
            _step_front(
                front[latency], front["test_acc"], color, name=f"{name}: front", legendgroup=name, hoverinfo="x+y"
            )
        )
    if reference:
        fig.add_trace(
            go.Scatter(
                x=[reference[latency]],
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
