"""The recommended model of an experiment: ``pareto.budget``'s rule applied to its
finished trials, the trials' budget marks, the report section and the one-line summary
that ``pareto.report`` and ``sweep.run`` print.

A trial's costs: its measurement (``child/metrics.json``'s ``measured``) where measured,
else its search LUT's estimate (``basis`` says which the budget used). The record keeps both
under their names (``measured_latency_ms``/``lut_latency_ms``, and the energies with their
sources, ``energy_basis`` the one shown: ``pareto.energy``). The recommended model's files are those its
childnet was exported to: the deployed file its metrics.json names (``model``:
``child/model.pte`` for ExecuTorch, ``model.onnx`` for ONNX Runtime, ``model.pt`` for
TorchScript) and ``child/model.weights.pt`` (the data file) of its trial, or of the trial
whose identical childnet it reused; null when absent (``child.export: none``). Its
``target`` is the deployment target it was timed in (else exported to; ``pareto.deploy``),
and an int8 program's own test accuracy and the points it lost are next to ``test_acc``.
"""

import os

import pandas as pd

from hwnas.layout import CHILD, WEIGHTS

from . import page
from .budget import LIMITS, budget_of, judge, recommend
from .columns import lut_columns, short_lut_name
from .deploy import model_kind, target_label
from .energy import energy_fields, shown_energy, with_shown_energy
from .experiment import Experiment

__all__ = [
    "BUDGET_COLUMNS",
    "budget_text",
    "mark_budget",
    "recommended_line",
    "recommended_model",
    "recommended_models",
    "recommended_section",
]

BUDGET_COLUMNS = ["within_budget", "budget_basis", "budget_excess"]
_FLAG = {None: "no budget", True: "yes", False: "no"}
_KEYS = (
    "trial_id",
    "trial_dir",
    "test_acc",
    "test_acc_int8",
    "int8_drop_points",
    "target",
    "target_label",
    "deploy_agreement",
    "meets_budget",
    "within_budget",
    "basis",
    "budget_excess",
    "budget",
    "measured_latency_ms",
    "lut_latency_ms",
    "lut",
    "measured_energy_mj",
    "measured_energy_source",
    "lut_energy_mj",
    "lut_energy_source",
    "energy_basis",
    "model",
    "weights",
    "model_of",
    "ops",
    "params",
    "flops",
    "note",
)


def _value(row: dict, key):
    value = row.get(key) if key else None
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _candidate(row: dict, luts: dict) -> dict:
    """The rule's input for one trials-table row (its search LUT's columns)."""
    name = row.get("search_lut") if row.get("search_lut") in luts else None
    cols = lut_columns(name) if name else {}
    out = {
        key: _value(row, key)
        for key in (
            "trial_id",
            "trial_dir",
            "test_acc",
            "test_acc_int8",
            "int8_drop_points",
            "deploy_agreement",
            "model_file",
            "measured_target",
            "measured_runtime_version",
            "deploy_target",
            "deploy_runtime_version",
            "measured_latency_ms",
            "measured_energy_mj",
            "measured_energy_source",
            "ops",
            "params",
            "flops",
            "reused_from",
        )
    }
    out.update(
        lut=name,
        lut_latency_ms=_value(row, cols.get("latency")),
        lut_energy_mj=_value(row, cols.get("energy")),
        lut_energy_source=_value(row, cols.get("energy_source")),
    )
    return out


def mark_budget(trials: pd.DataFrame, luts: dict, budget: dict | None) -> pd.DataFrame:
    """``trials`` with ``within_budget``, ``budget_basis``, ``budget_excess`` for every
    finished trial (null for the others, and everywhere without a budget)."""

    def mark(row: dict) -> dict:
        if row.get("status") != "finished":
            return dict.fromkeys(BUDGET_COLUMNS)
        c = _candidate(row, luts)
        return judge(budget, c["measured_latency_ms"], c["lut_latency_ms"], c["measured_energy_mj"], c["lut_energy_mj"])

    marks = [mark(row) for row in trials.to_dict("records")]
    return trials.assign(
        **{col: pd.Series([m[col] for m in marks], index=trials.index, dtype=object) for col in BUDGET_COLUMNS}
    )


def _files(root: str, rec: dict) -> dict:
    owner_dir = rec["trial_dir"]
    if rec.get("reused_from") and os.path.isdir(os.path.join(root, rec["reused_from"])):
        owner_dir = rec["reused_from"]  # a reused childnet was exported by the trial it reused
    names = {"model": rec.get("model_file"), "weights": WEIGHTS}  # model: what metrics.json names
    paths = {key: os.path.abspath(os.path.join(root, owner_dir, CHILD, n)) if n else None for key, n in names.items()}
    out = {key: path if path and os.path.isfile(path) else None for key, path in paths.items()}
    out["model_of"] = owner_dir
    return out


def _target(rec: dict) -> dict:
    """The target the model was timed in, else the one it was exported to (``pareto.deploy``)."""
    for prefix in ("measured", "deploy"):
        if rec.get(f"{prefix}_target"):
            key = rec[f"{prefix}_target"]
            return {"target": key, "target_label": target_label(key, rec.get(f"{prefix}_runtime_version"))}
    return {"target": None, "target_label": None}


def _energy(rec: dict) -> dict:
    return energy_fields(
        measured=(rec.get("measured_energy_mj"), rec.get("measured_energy_source")),
        lut=(rec.get("lut_energy_mj"), rec.get("lut_energy_source")),
    )


def _note(rec: dict) -> str:
    basis = f"judged on {rec['basis'].replace('+', ' and ')} cost" if rec.get("basis") else "no cost known"
    if rec["meets_budget"] is None:
        return f"no budget: the most accurate finished childnet ({basis})"
    if rec["meets_budget"]:
        return f"the most accurate finished childnet within the budget ({budget_text(rec['budget'])}; {basis})"
    return (
        f"no finished childnet meets the budget ({budget_text(rec['budget'])}); the closest, "
        f"{100 * rec['budget_excess']:.1f} % over ({basis})"
    )


def recommended_model(exp: Experiment) -> dict | None:
    """report.json's ``recommended``: the rule's pick among the finished trials with its
    files, energy and a note; None when no finished trial qualifies."""
    finished = exp.trials[exp.trials["status"] == "finished"]
    rec = recommend([_candidate(row, exp.luts) for row in finished.to_dict("records")], budget_of(exp.sweep))
    if rec is None:
        return None
    rec.update(_files(exp.root, rec), **_energy(rec), **_target(rec))
    rec["note"] = _note(rec)
    return {key: rec.get(key) for key in _KEYS}


def recommended_models(exp: Experiment, k: int) -> list[dict]:
    """The recommended model, then the rule's next picks among the other architectures,
    ``k`` at most (the final stage trains them: ``sweep.final``)."""
    finished = exp.trials[exp.trials["status"] == "finished"]
    candidates = [_candidate(row, exp.luts) for row in finished.to_dict("records")]
    chosen = []
    while len(chosen) < k:
        rec = recommend(candidates, budget_of(exp.sweep))
        if rec is None:
            break
        chosen.append({key: rec.get(key) for key in _KEYS})
        candidates = [c for c in candidates if c["ops"] != rec["ops"]]
    return chosen


def budget_text(budget: dict | None) -> str:
    """``max latency 5 ms, max energy 2 mJ`` or ``no budget``."""
    if not budget:
        return "no budget"
    return ", ".join(f"max {name} {budget[key]:g} {unit}" for key, name, unit in LIMITS if budget.get(key) is not None)


def _latency_text(rec: dict) -> str:
    if rec.get("measured_latency_ms") is not None:
        return f"latency={rec['measured_latency_ms']:.4g} ms (measured)"
    if rec.get("lut_latency_ms") is not None:
        return f"latency={rec['lut_latency_ms']:.4g} ms (LUT {short_lut_name(rec['lut'] or '')})"
    return "latency unknown"


def recommended_line(rec: dict | None) -> str:
    """One line for a terminal: the recommended model, its costs, its budget verdict, its file."""
    if rec is None:
        return "recommended: none (no finished childnet with a test accuracy and the budgeted costs)"
    mj, source = shown_energy(rec)
    energy = f" energy={mj:.4g} mJ ({source})" if mj is not None else ""
    verdict = {
        None: "no budget",
        True: f"meets the budget ({budget_text(rec['budget'])})",
        False: f"NO model meets the budget ({budget_text(rec['budget'])}); closest, "
        f"{100 * (rec['budget_excess'] or 0):.1f} % over",
    }[rec["meets_budget"]]
    model = rec.get("model") or rec.get("weights") or "not exported"
    int8 = (
        f" test_acc_int8={rec['test_acc_int8']:.4f} ({-rec['int8_drop_points']:+.2f} points)"
        if rec.get("test_acc_int8") is not None and rec.get("int8_drop_points") is not None
        else ""
    )
    target = f" in {rec['target_label']}" if rec.get("target_label") else ""
    return (
        f"recommended: {rec['trial_id']} test_acc={rec['test_acc']:.4f}{int8} {_latency_text(rec)}{target}{energy}; "
        f"{verdict}; model: {model}"
    )


def recommended_section(rec: dict | None, budget: dict | None) -> tuple:
    """The report's "Recommended model" section: (heading, inner HTML)."""
    if rec is None:
        return (
            "Recommended model",
            f"<p class=note>budget: {page.esc(budget_text(budget))}. No finished childnet "
            "has a test accuracy and the budgeted costs yet.</p>",
        )
    css = "meta" if rec["meets_budget"] is not False else "note"
    note = rec["note"][:1].upper() + rec["note"][1:]
    lead = f"<p class={css}>budget: {page.esc(budget_text(budget))}. {page.esc(note)}.</p>"
    lut = short_lut_name(rec["lut"]) if rec.get("lut") else "search LUT"
    target = rec.get("target_label") or "target unknown"
    lead += f"<p class=meta>deployment target: {page.esc(target)} (the measured latency is timed in it)</p>"
    table = pd.DataFrame([dict(with_shown_energy(rec), within=_FLAG[rec["meets_budget"]])])
    columns = [("trial", "trial_id"), ("test acc", "test_acc")]
    if rec.get("test_acc_int8") is not None:
        columns += [("test acc int8", "test_acc_int8"), ("int8 drop (points)", "int8_drop_points")]
    kind = model_kind(os.path.basename(rec["model"])) if rec.get("model") else None
    columns += [
        (f"measured latency ms [{target}]", "measured_latency_ms"),
        (f"LUT latency ms [{lut}]", "lut_latency_ms"),
        ("energy mJ", "energy_mj"),
        ("energy source", "energy_source"),
        ("meets budget", "within"),
        ("judged on", "basis"),
        (f"model (deployment, {target}: {kind})" if kind else f"model (deployment, {target})", "model"),
        ("weights (data file)", "weights"),
    ]
    return ("Recommended model", lead + page.table_html(table, columns, sortable=False))
