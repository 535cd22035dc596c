"""Fronts, hypervolumes and LUT-vs-measured statistics of a trials table (see :mod:`.experiment`).

Fronts are computed over FINISHED trials only (a running trial has no final accuracy):
- ``lut:<name>`` for each LUT: maximize ``test_acc``, minimize that LUT's latency and, when any
  trial has it, that LUT's energy (3 objectives, otherwise 2);
- ``measured``: maximize ``test_acc``, minimize measured latency (and measured energy, when a
  meter measured it for any trial).
Rows missing an objective are left out of that front and counted in ``left_out``.
Hypervolume reference point: the worst value of each objective over the rows used, moved out
by 10 % of its range (see :mod:`.hypervolume`); hypervolume units are the product of the
objectives' units, so compare hypervolumes of the same front between sweeps, not across fronts.
"""

import numpy as np
import pandas as pd

from .dominance import nondominated_mask, to_costs
from .experiment import lut_columns
from .hypervolume import REFERENCE_RULE, default_reference, hypervolume
from .stats import estimate_error_stats

__all__ = ["front_specs", "compute_fronts", "lut_error_stats"]


def front_specs(trials: pd.DataFrame, luts) -> list:
    """The fronts to compute: ``{"name", "objectives": [(column, sense), ...], "label"}``."""
    specs = []
    for name in luts:
        cols = lut_columns(name)
        objectives = [("test_acc", "max"), (cols["latency"], "min")]
        if trials[cols["energy"]].notna().any():
            objectives.append((cols["energy"], "min"))
        specs.append({"name": f"lut:{name}", "objectives": objectives, "label": f"LUT estimate ({name})"})
    objectives = [("test_acc", "max"), ("measured_latency_ms", "min")]
    if trials["measured_energy_mj"].notna().any():
        objectives.append(("measured_energy_mj", "min"))
    specs.append({"name": "measured", "objectives": objectives, "label": "measured on device"})
    return specs


def compute_fronts(trials: pd.DataFrame, luts) -> list:
    """One dict per front: name, objectives, trial ids on it, hypervolume and reference point."""
    finished = trials[trials["status"] == "finished"]
    fronts = []
    for spec in front_specs(trials, luts):
        columns = [c for c, _ in spec["objectives"]]
        values = finished[columns].to_numpy(dtype=float)
        complete = np.isfinite(values).all(axis=1)
        used = finished[complete]
        result = {**spec, "objectives": [{"column": c, "sense": s} for c, s in spec["objectives"]],
                  "rows_used": int(complete.sum()), "left_out": int((~complete).sum()),
                  "trial_ids": [], "hypervolume": None, "reference_point": None}
        if len(used) == 0:
            result["note"] = "no finished trial has all objectives"
            fronts.append(result)
            continue
        maximize = [s == "max" for _, s in spec["objectives"]]
        costs = to_costs(values[complete], maximize)
        mask = nondominated_mask(costs)
        reference = default_reference(costs)
        result["trial_ids"] = used["trial_id"][mask].tolist()
        result["hypervolume"] = hypervolume(costs[mask], reference)
        signs = np.where(maximize, -1.0, 1.0)
        result["reference_point"] = dict(zip(columns, (reference * signs).tolist()))
        result["reference_rule"] = REFERENCE_RULE
        fronts.append(result)
    return fronts


def lut_error_stats(trials: pd.DataFrame, luts: dict) -> list:
    """LUT-estimated vs measured latency, one entry per LUT, over finished trials.

    ``same_device`` says whether the LUT's device is the measuring device (the measured
    device string starts with the LUT's device string); only then is the error meaningful as
    an error, otherwise it is a cross-device comparison (the rank agreement still informs).
    """
    finished = trials[trials["status"] == "finished"]
    devices = finished["measured_device"].dropna().astype(str).unique().tolist()
    out = []
    for name, lut_device in luts.items():
        col = lut_columns(name)["latency"]
        stats = estimate_error_stats(finished[col], finished["measured_latency_ms"])
        same = bool(lut_device) and any(d.startswith(str(lut_device)) for d in devices)
        out.append({"lut": name, "lut_device": lut_device, "measured_devices": devices,
                    "same_device": same, **stats})
    return out
