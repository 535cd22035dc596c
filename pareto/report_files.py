"""The contents of the report's files (``pareto.report``): pareto.csv's table and JSON-safe
values for report.json. They are written all-or-nothing by ``hwnas.io.atomic_write_texts``."""

import math

import pandas as pd

__all__ = ["json_safe", "pareto_table"]


def json_safe(obj):
    """JSON-safe: NaN/inf -> null, numpy scalars -> Python."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def pareto_table(trials: pd.DataFrame, fronts: list) -> pd.DataFrame:
    membership = pd.DataFrame({"trial_id": trials["trial_id"]})
    for front in fronts:
        membership[f"on_front[{front['name']}]"] = trials["trial_id"].isin(front["trial_ids"])
    flags = membership.drop(columns="trial_id")
    names = [f["name"] for f in fronts]
    fronts_col = (
        flags.apply(lambda r: ";".join(n for n, on in zip(names, r) if on), axis=1) if len(flags.columns) else ""
    )
    table = trials.assign(fronts=fronts_col).join(flags)
    table = table[table["fronts"] != ""]
    first = ["trial_id", "fronts"]
    return table[first + [c for c in table.columns if c not in first]]
