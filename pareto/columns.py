"""The columns of the trials table (one row per trial, built by :mod:`.experiment`): the fixed
ones, the per-LUT ones and the LUT the trials searched with."""

import pandas as pd

from hwnas.domains import KNOBS

__all__ = ["BASE_COLUMNS", "KNOBS", "lut_columns", "numeric_columns", "search_lut", "short_lut_name"]

# Columns of the trials table that do not depend on which LUTs the sweep used.
BASE_COLUMNS = [
    "trial_id",
    "status",
    "reason",
    "dominant",
    "alpha",
    "beta",
    "gamma",
    "delta",
    "ops",
    "test_acc",
    "test_acc_int8",
    "int8_drop_points",
    "params",
    "flops",
    "search_lut",
    "measured_latency_ms",
    "measured_latency_iqr_ms",
    "measured_latency_ms_at_lut_speed",
    "measured_speed_factor",
    "measured_noisy",
    "measured_energy_mj",
    "measured_energy_source",
    "measured_device",
    "measured_target",
    "measured_runtime_version",
    "deploy_target",
    "deploy_runtime_version",
    "deploy_agreement",
    "model_file",
    "wall_seconds",
    "reused_from",
    "ray_status",
    "problems",
    "trial_dir",
]
# The base columns that hold numbers (the rest are text or flags).
_NUMERIC = (
    *KNOBS,
    "test_acc",
    "test_acc_int8",
    "int8_drop_points",
    "params",
    "flops",
    "measured_latency_ms",
    "measured_latency_iqr_ms",
    "measured_latency_ms_at_lut_speed",
    "measured_speed_factor",
    "measured_energy_mj",
    "deploy_agreement",
    "wall_seconds",
)


def short_lut_name(lut_name: str) -> str:
    """For display: a LUT file's base name (the sweep records absolute paths); builtins as they are."""
    if lut_name.startswith("builtin:") or "/" not in lut_name:
        return lut_name
    return lut_name.rstrip("/").rsplit("/", 1)[-1]


def lut_columns(lut_name: str) -> dict:
    """Names of the per-LUT columns of the trials table."""
    return {
        "latency": f"lut_latency_ms[{lut_name}]",
        "energy": f"lut_energy_mj[{lut_name}]",
        "energy_source": f"lut_energy_source[{lut_name}]",
        "target": f"lut_target[{lut_name}]",  # the deployment target the LUT describes
    }


def numeric_columns(luts) -> list:
    """The columns that hold numbers, for a table with these LUTs."""
    return [*_NUMERIC, *[lut_columns(n)[k] for n in luts for k in ("latency", "energy")]]


def search_lut(trials: pd.DataFrame, luts: dict) -> str | None:
    """The LUT the trials searched with: the most frequent ``search_lut`` of the finished trials
    (the first LUT seen when none says), None when the table has no LUT column for it."""
    searched = trials.loc[trials["status"] == "finished", "search_lut"].dropna()
    name = searched.mode().iloc[0] if len(searched) else next(iter(luts), None)
    return name if name in luts else None
