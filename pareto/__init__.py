"""Pareto fronts, hypervolume and the sweep report.

Reads result files only (tables, a sweep's experiment directory); never imports training code.
Command lines: ``python -m pareto.front`` (any table) and ``python -m pareto.report`` (a sweep).
"""

from .dominance import nondominated_mask, to_costs
from .errors import ParetoInputError
from .hypervolume import default_reference, hypervolume

__all__ = ["ParetoInputError", "default_reference", "hypervolume", "nondominated_mask", "to_costs"]
