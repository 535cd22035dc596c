"""The one error type of ``pareto``: bad input, reported as a single line."""

__all__ = ["ParetoInputError"]


class ParetoInputError(ValueError):
    """Bad input (file, field, option). ``str(err)`` is one line naming what and what was expected.

    ``pareto`` cannot import ``hwnas`` (it reads result files only), so it has its own error type.
    """
