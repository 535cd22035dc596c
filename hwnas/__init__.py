"""Shared ground of the tool: the search space as data, the op registry, datasets,
timing, energy meters and typed configs. Everything else imports from here; this
package imports nothing of ``lut``, ``supernet``, ``childnet``, ``sweep`` or ``pareto``."""

from hwnas.errors import UserError

__all__ = ["UserError"]
