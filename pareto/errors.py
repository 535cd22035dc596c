"""The one error type of ``pareto``: bad input, reported as a single line."""

from hwnas.errors import UserError

__all__ = ["ParetoInputError"]


class ParetoInputError(UserError, ValueError):
    """Bad input (file, field, option). ``str(err)`` is one line naming what and what was expected.

    A ``hwnas.errors.UserError`` (every CLI prints it as ``error: <line>`` and exits 2), so a
    caller outside ``pareto`` catches both alike. ``pareto`` imports only ``hwnas``'s torch-free
    core (``hwnas.errors``, ``hwnas.io``), never training code.
    """
