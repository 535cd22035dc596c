"""Fronts, hypervolumes and LUT-vs-measured statistics of a trials table (see :mod:`.experiment`).

Fronts are computed over FINISHED trials only (a running trial has no final accuracy):
- ``lut:<name>`` for each LUT: maximize ``test_acc``, minimize that LUT's latency and, when any
  trial has it, that LUT's energy (3 objectives, otherwise 2);
- ``measured``: maximize ``test_acc``, minimize measured latency (and measured energy, when a
  meter measured it for any trial and all such trials name one ``measured_energy_source``:
  energies of two meters, or of a replay and a meter, are not compared).
Rows missing an objective are left out of that front and counted in ``left_out``.
Hypervolume reference point: the worst value of each objective over the rows used, moved out
by 10 % of its range (see :mod:`.hypervolume`); hypervolume units are the product of the
objectives' units, so compare hypervolumes of the same front between sweeps, not across fronts.
"""

import numpy as np
import pandas as pd

from hwnas.stats import estimate_error_stats

from .columns import lut_columns
from .dominance import nondominated_mask, to_costs
from .hypervolume import REFERENCE_RULE, default_reference, hypervolume

__all__ = ["fidelity_line", "front_specs", "compute_fronts", "lut_error_stats"]


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
    label = "measured on device"
    metered = trials["measured_energy_mj"].notna()
    sources = sorted(set(trials.loc[metered, "measured_energy_source"].astype(str))) if metered.any() else []
    if len(sources) == 1:
        objectives.append(("measured_energy_mj", "min"))
    elif sources:
        label += f" (energy left out: measured by {', '.join(sources)})"
    specs.append({"name": "measured", "objectives": objectives, "label": label})
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
        result = {
            **spec,
            "objectives": [{"column": c, "sense": s} for c, s in spec["objectives"]],
            "rows_used": int(complete.sum()),
            "left_out": int((~complete).sum()),
            "trial_ids": [],
            "hypervolume": None,
            "reference_point": None,
        }
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
    """LUT-estimated vs measured latency, one entry per LUT, over the distinct finished
    childnets (trials that found the same architecture count once).

    The search LUT is compared with the measurement brought to the LUT's speed
    (``measured_latency_ms_at_lut_speed``: both timed against the same speed reference)
    where the sweep recorded it; ``as_measured`` scores the raw measurement, and
    ``speed_factor`` says how much slower the device ran than while profiling.
    ``measured_rel_iqr``: the measurements' median IQR / median (their own noise).
    ``same_device`` says whether the LUT's device is the measuring device (the measured
    device string starts with the LUT's device string); only then is the error meaningful as
    an error, otherwise it is a cross-device comparison (the rank agreement still informs).
    ``lut_target`` is the deployment target the LUT's estimates name (``executorch-fp32``),
    ``measured_targets`` the ones the measurements were timed in, ``same_target`` whether
    they are one and the same (null when either is unknown): a LUT of another runtime or
    precision estimates another program than the one timed.
    """
    finished = trials[trials["status"] == "finished"]
    if "ops" in finished:
        finished = finished.drop_duplicates(subset="ops")
    devices = finished["measured_device"].dropna().astype(str).unique().tolist()
    timed = finished.loc[finished["measured_latency_ms"].notna(), "measured_target"].dropna().astype(str)
    timed_targets = sorted(timed.unique().tolist())
    raw = finished["measured_latency_ms"]
    rel_iqr = (finished["measured_latency_iqr_ms"] / raw).dropna()
    out = []
    for name, lut_device in luts.items():
        col = lut_columns(name)["latency"]
        corrected = finished.get("measured_latency_ms_at_lut_speed")
        searched = (finished["search_lut"] == name).any()
        use_corrected = searched and corrected is not None and corrected.notna().any()
        stats = estimate_error_stats(finished[col], corrected if use_corrected else raw)
        same = bool(lut_device) and any(d.startswith(str(lut_device)) for d in devices)
        keys = finished[lut_columns(name)["target"]].dropna().astype(str)
        lut_target = keys.mode().iloc[0] if len(keys) else None
        factor = finished["measured_speed_factor"].dropna() if use_corrected else pd.Series(dtype=float)
        out.append(
            {
                "lut": name,
                "lut_device": lut_device,
                "measured_devices": devices,
                "same_device": same,
                "lut_target": lut_target,
                "measured_targets": timed_targets,
                "same_target": None if lut_target is None or not timed_targets else timed_targets == [lut_target],
                **stats,
                "compared_with": "measured at the LUT's speed" if use_corrected else "measured",
                "as_measured": estimate_error_stats(finished[col], raw) if use_corrected else None,
                "speed_factor": float(factor.median()) if len(factor) else None,
                "measured_rel_iqr": float(rel_iqr.median()) if len(rel_iqr) else None,
                "noisy_measurements": int(finished["measured_noisy"].fillna(False).astype(bool).sum()),
            }
        )
    return out


def fidelity_line(stat: dict) -> str:
    """One line per LUT for the terminal: how far the LUT is from the device."""

    def f(v, fmt):
        return "n/a" if v is None else format(v, fmt)

    line = (
        f"fidelity[{stat['lut']}]: n={stat['n']} within_10pct={f(stat['within_10pct'], '.3f')} "
        f"kendall_tau={f(stat['kendall_tau'], '.3f')} mape={f(stat['mape_pct'], '.2f')}% "
        f"median_ratio={f(stat['median_ratio'], '.3f')} measured_rel_iqr={f(stat['measured_rel_iqr'], '.4f')}"
    )
    if stat.get("as_measured"):
        raw = stat["as_measured"]
        line += (
            f" (vs measured at the LUT's speed, speed_factor={f(stat['speed_factor'], '.3f')}; as measured: "
            f"within_10pct={f(raw['within_10pct'], '.3f')} kendall_tau={f(raw['kendall_tau'], '.3f')})"
        )
    if not stat["same_device"]:
        line += " [cross-device]"
    if stat.get("same_target") is False:
        line += f" [LUT target {stat['lut_target']}, measured in {', '.join(stat['measured_targets'])}]"
    return line
