"""Pareto fronts, hypervolume and the sweep report.

Reads result files only (tables, a sweep's experiment directory); never imports training code,
only ``hwnas``'s torch-free core (``hwnas.errors``: bad input is a ``UserError``; ``io``,
``records``, ``layout``, ``stats``).
Command lines: ``python -m pareto.front`` (any table) and ``python -m pareto.report`` (a sweep).
"""

from .dominance import nondominated_mask, to_costs
from .hypervolume import default_reference, hypervolume

__all__ = ["default_reference", "hypervolume", "nondominated_mask", "to_costs"]
