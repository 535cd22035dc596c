"""The sweep's budget (``sweep.budget``) against its LUT, checked at start.

The budget is a limit on the recommended model's latency and/or energy (null: no
limit). ``hwnas.config`` checks each limit is a positive finite number; here, once the
LUT is known and before Ray starts, a limit no architecture of the space can meet is
refused with the smallest possible value: ``fixed + sum over layers of the cheapest
op`` of the LUT (every op is allowed in every layer). An energy limit needs a LUT with
energy. Whether a trial meets the budget, and which model is recommended, is
``pareto.budget``'s rule (shared with the report).
"""

from __future__ import annotations

import dataclasses

from hwnas.config_sections import BudgetConfig
from hwnas.errors import UserError
from lut.cost import CostTensors

__all__ = ["budget_dict", "check_budget_reachable", "cheapest_costs"]


def budget_dict(budget: BudgetConfig) -> dict | None:
    """``{"max_latency_ms": ..., "max_energy_mj": ...}``, or None when neither is set."""
    limits = dataclasses.asdict(budget)
    return limits if any(v is not None for v in limits.values()) else None


def cheapest_costs(cost: CostTensors) -> tuple[float, float | None]:
    """The LUT's cheapest network: (latency ms, energy mJ or None without energy),
    each the fixed part plus every layer's cheapest op (for that cost on its own)."""
    lat = float(cost.latency_fixed_ms + cost.latency_ms.double().min(dim=1).values.sum())
    energy = None
    if cost.has_energy:
        energy = float(cost.energy_fixed_mj + cost.energy_mj.double().min(dim=1).values.sum())
    return lat, energy


def check_budget_reachable(budget: BudgetConfig, cost: CostTensors, lut_name: str) -> None:
    """One-line ``UserError`` when a limit is below the cheapest network of the LUT, or
    an energy limit is set and the LUT has no energy."""
    lat, energy = cheapest_costs(cost)
    if budget.max_latency_ms is not None and budget.max_latency_ms < lat:
        raise UserError(
            f"sweep.budget.max_latency_ms {budget.max_latency_ms:g}: no architecture of the space can "
            f"meet it on LUT {lut_name}; expected >= {lat:.6g} (the cheapest network's LUT latency)"
        )
    if budget.max_energy_mj is None:
        return
    if energy is None:
        raise UserError(
            f"sweep.budget.max_energy_mj {budget.max_energy_mj:g}: LUT {lut_name} has no energy data; "
            "expected null (no energy limit) or a LUT with energy"
        )
    if budget.max_energy_mj < energy:
        raise UserError(
            f"sweep.budget.max_energy_mj {budget.max_energy_mj:g}: no architecture of the space can "
            f"meet it on LUT {lut_name}; expected >= {energy:.6g} (the cheapest network's LUT energy)"
        )
