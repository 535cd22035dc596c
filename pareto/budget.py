"""The budget rule: does a childnet meet ``sweep.budget``, and which one is recommended.

The ONE place of the rule. ``pareto.report`` uses it for the report, ``sweep.run``'s
final summary (through ``pareto.recommended``) and the trials' final rows
(``sweep.trial``) import it: sweep may import pareto, pareto imports nothing of sweep
or hwnas, so the rule lives here as plain functions on plain values.

Rules:

- a budget is ``{"max_latency_ms": x | None, "max_energy_mj": y | None}`` (None: no limit);
  without any limit there is no budget (``None``);
- each cost is the measured one when measured, else the search LUT's estimate;
  ``basis`` says which: ``measured``, ``lut``, or ``measured+lut`` (e.g. the latency
  measured, the energy the LUT's when no meter measured it);
- ``excess`` = the largest ``cost / limit - 1`` over the set limits (<= 0: within); it
  compares models that miss a budget across units;
- ``within_budget``: true/false; null when there is no budget or a limited cost is unknown;
- recommended: the most accurate finished childnet within the budget
  (``meets_budget: true``); when none is within, the closest one (smallest excess,
  ``meets_budget: false``); without a budget the most accurate (``meets_budget: null``).
  Ties: the smaller excess (or latency), then the trial id.
"""

import math

__all__ = ["LIMITS", "budget_of", "judge", "recommend"]

# budget key, cost name, unit
LIMITS = (("max_latency_ms", "latency", "ms"), ("max_energy_mj", "energy", "mJ"))


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def budget_of(sweep_record: dict) -> dict | None:
    """The budget in a ``sweep.json`` (``config.sweep.budget``); None without a limit
    (or in an experiment from before budgets)."""
    config = sweep_record.get("config") if isinstance(sweep_record, dict) else None
    sweep = config.get("sweep") if isinstance(config, dict) else None
    budget = sweep.get("budget") if isinstance(sweep, dict) else None
    if not isinstance(budget, dict):
        return None
    limits = {key: _number(budget.get(key)) for key, _, _ in LIMITS}
    return limits if any(v is not None for v in limits.values()) else None


def _cost(measured, lut) -> tuple[float | None, str | None]:
    if _number(measured) is not None:
        return _number(measured), "measured"
    if _number(lut) is not None:
        return _number(lut), "lut"
    return None, None


def _basis(bases: list) -> str | None:
    found = sorted(set(b for b in bases if b), reverse=True)  # "measured" before "lut"
    return "+".join(found) or None


def judge(
    budget: dict | None, measured_latency_ms=None, lut_latency_ms=None, measured_energy_mj=None, lut_energy_mj=None
) -> dict:
    """``{"within_budget", "budget_basis", "budget_excess"}`` of one childnet (module rules);
    all three null without a budget."""
    costs = {"latency": _cost(measured_latency_ms, lut_latency_ms), "energy": _cost(measured_energy_mj, lut_energy_mj)}
    if budget is None:
        return {"within_budget": None, "budget_basis": None, "budget_excess": None}
    excess, bases = [], []
    for key, name, _ in LIMITS:
        limit = budget.get(key)
        if limit is None:
            continue
        value, basis = costs[name]
        bases.append(basis)
        excess.append(None if value is None else value / limit - 1.0)
    if not excess or None in excess:
        return {"within_budget": None, "budget_basis": _basis(bases), "budget_excess": None}
    worst = max(excess)
    return {"within_budget": worst <= 0, "budget_basis": _basis(bases), "budget_excess": worst}


def recommend(candidates: list, budget: dict | None) -> dict | None:
    """The recommended model among ``candidates`` (finished childnets: dicts with
    ``trial_id``, ``test_acc``, ``measured_latency_ms``, ``lut_latency_ms``,
    ``measured_energy_mj``, ``lut_energy_mj``; other keys are passed through), with its
    ``judge`` fields, ``meets_budget``, ``budget`` and ``basis`` (the budget's basis; without
    a budget the latency's); None when no candidate has a test accuracy (or, with a
    budget, none has the limited costs)."""
    judged = []
    for cand in candidates:
        if _number(cand.get("test_acc")) is None:
            continue
        verdict = judge(
            budget,
            cand.get("measured_latency_ms"),
            cand.get("lut_latency_ms"),
            cand.get("measured_energy_mj"),
            cand.get("lut_energy_mj"),
        )
        judged.append(dict(cand, **verdict))
    if not judged:
        return None
    if budget is None:
        best = min(judged, key=lambda c: (-c["test_acc"], _latency(c)[0], str(c.get("trial_id"))))
        return dict(best, meets_budget=None, budget=None, basis=_latency(best)[1])
    within = [c for c in judged if c["within_budget"]]
    if within:
        best = min(within, key=lambda c: (-c["test_acc"], c["budget_excess"], str(c.get("trial_id"))))
        return dict(best, meets_budget=True, budget=budget, basis=best["budget_basis"])
    known = [c for c in judged if c["budget_excess"] is not None]
    if not known:
        return None  # no finished childnet has the costs the budget limits
    best = min(known, key=lambda c: (c["budget_excess"], -c["test_acc"], str(c.get("trial_id"))))
    return dict(best, meets_budget=False, budget=budget, basis=best["budget_basis"])


def _latency(cand: dict) -> tuple[float, str | None]:
    value, basis = _cost(cand.get("measured_latency_ms"), cand.get("lut_latency_ms"))
    return (math.inf if value is None else value), basis
