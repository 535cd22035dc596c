"""Two experiments side by side: their accuracy-vs-latency fronts and hypervolumes.

Rules:
- Objectives: maximize ``test_acc``, minimize latency, over each experiment's FINISHED trials
  that have both.
- Latency is the MEASURED latency when both experiments measured some finished trial;
  otherwise (nothing measured in one of them) both use the latency of their own search LUT,
  and ``metric.note`` says so: a LUT estimate is not a measurement, and a measured front
  against an estimated one would compare two different things. The latency is named for what it
  is wherever it leaves this module (``latency_key``: ``measured_latency_ms`` or
  ``lut_latency_ms``, in the reference point and the points' columns).
- ONE reference point for both hypervolumes: :func:`pareto.hypervolume.default_reference` over
  the rows of both experiments together (worst accuracy and worst latency of the two, moved out
  by 10 % of the joint range). With a reference point per experiment the two numbers would
  measure different boxes and their ratio would mean nothing.
- ``hv_ratio = hv_self / hv_other`` (None when ``hv_other`` is 0): above 1, the first
  experiment's front dominates more of the shared box.
"""

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .columns import lut_columns, search_lut, short_lut_name
from .dominance import nondominated_mask, to_costs
from .experiment import Experiment
from .hypervolume import REFERENCE_RULE, default_reference, hypervolume

__all__ = ["Comparison", "compare_experiments", "latency_key", "latency_metric", "strategy_of"]

# the name of the latency both fronts use, by latency_metric's "latency"
_LATENCY_KEYS = {"measured": "measured_latency_ms", "search_lut": "lut_latency_ms"}


@dataclass
class Comparison:
    """``summary`` is report.json's ``comparison_vs``; ``points`` the rows behind it (for the chart):
    name -> DataFrame(trial_id, test_acc, <latency_key(summary["metric"])>, on_front)."""

    summary: dict
    points: dict = field(default_factory=dict)


def strategy_of(exp: Experiment) -> str:
    """``sweep.json``'s strategy; experiments from before ``--strategy`` existed searched (dnas)."""
    return str(exp.sweep.get("strategy") or "dnas")


def _finished(exp: Experiment) -> pd.DataFrame:
    return exp.trials[exp.trials["status"] == "finished"]


def _has(exp: Experiment, column: str | None) -> bool:
    rows = _finished(exp)
    return column is not None and bool((rows["test_acc"].notna() & rows[column].notna()).any())


def latency_metric(a: Experiment, b: Experiment, names=("self", "other")) -> dict:
    """Which latency both fronts use (see the module docstring): ``{"latency": "measured" |
    "search_lut", "columns": {name: column}, "label", "note"}``."""
    if _has(a, "measured_latency_ms") and _has(b, "measured_latency_ms"):
        targets = [(e.deploy or {}).get("label") or "target unknown" for e in (a, b)]
        same = targets[0] == targets[1]
        return {
            "accuracy": "test_acc",
            "latency": "measured",
            "label": f"measured latency (ms, {targets[0]})"
            if same
            else f"measured latency (ms; {names[0]}: {targets[0]}, {names[1]}: {targets[1]})",
            "columns": {names[0]: "measured_latency_ms", names[1]: "measured_latency_ms"},
            "note": None
            if same
            else f"the two experiments were timed in different deployment targets ({' and '.join(targets)}): "
            "their latencies do not compare",
        }
    unmeasured = [n for n, e in zip(names, (a, b)) if not _has(e, "measured_latency_ms")]
    luts = [search_lut(e.trials, e.luts) for e in (a, b)]
    columns = {n: lut_columns(l)["latency"] if l else None for n, l in zip(names, luts)}
    shown = ", ".join(f"{n}: {short_lut_name(l) if l else 'none'}" for n, l in zip(names, luts))
    return {
        "accuracy": "test_acc",
        "latency": "search_lut",
        "label": "LUT-estimated latency (ms)",
        "columns": columns,
        "note": (
            f"nothing measured in {' and '.join(unmeasured)}: both fronts use the latency of their "
            f"search LUT ({shown}), an estimate, not a measurement"
        ),
    }


def latency_key(metric: dict) -> str:
    """``measured_latency_ms`` or ``lut_latency_ms``: the latency ``metric`` (``latency_metric``) uses."""
    return _LATENCY_KEYS[metric["latency"]]


def _points(exp: Experiment, column: str | None, key: str) -> pd.DataFrame:
    rows = _finished(exp)
    if column is None:
        return pd.DataFrame(columns=["trial_id", "test_acc", key, "on_front"])
    pts = pd.DataFrame({"trial_id": rows["trial_id"], "test_acc": rows["test_acc"], key: rows[column]})
    pts = pts[np.isfinite(pts[["test_acc", key]].to_numpy(dtype=float)).all(axis=1)].reset_index(drop=True)
    pts["on_front"] = nondominated_mask(_costs(pts, key)) if len(pts) else np.zeros(0, dtype=bool)
    return pts


def _costs(points: pd.DataFrame, key: str) -> np.ndarray:
    return to_costs(points[["test_acc", key]].to_numpy(dtype=float), [True, False]).reshape(-1, 2)


def compare_experiments(a: Experiment, b: Experiment) -> Comparison:
    """Fronts and hypervolumes of ``a`` ("self") and ``b`` ("other") with one shared reference point."""
    metric = latency_metric(a, b)
    key = latency_key(metric)
    points = {name: _points(e, metric["columns"][name], key) for name, e in (("self", a), ("other", b))}
    summary = {
        "other": os.path.abspath(b.root),
        "self": os.path.abspath(a.root),
        "strategy_self": strategy_of(a),
        "strategy_other": strategy_of(b),
        "metric": metric,
        "n_self": len(points["self"]),
        "n_other": len(points["other"]),
        "hv_self": None,
        "hv_other": None,
        "hv_ratio": None,
        "reference_point": None,
        "reference_rule": REFERENCE_RULE + " (both experiments together)",
        "front_self": points["self"].loc[points["self"]["on_front"], "trial_id"].tolist(),
        "front_other": points["other"].loc[points["other"]["on_front"], "trial_id"].tolist(),
    }
    both = np.vstack([_costs(points["self"], key), _costs(points["other"], key)])
    if len(both) == 0:
        summary["note"] = "no finished trial with test accuracy and latency in either experiment"
        return Comparison(summary, points)
    reference = default_reference(both)
    hv = {name: hypervolume(_costs(p, key), reference) if len(p) else 0.0 for name, p in points.items()}
    summary.update(
        hv_self=hv["self"],
        hv_other=hv["other"],
        hv_ratio=hv["self"] / hv["other"] if hv["other"] > 0 else None,
        reference_point={"test_acc": float(-reference[0]), key: float(reference[1])},
    )
    return Comparison(summary, points)
