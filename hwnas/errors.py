"""One error type for bad input: it carries a single line naming the file/field and
what was expected. CLIs print it and exit 2 instead of a traceback."""

from __future__ import annotations

import functools
import sys

__all__ = ["UserError", "at_least", "cli_main"]


class UserError(Exception):
    """Bad input from the user (a file, a field, a flag). ``str(err)`` is one line."""


def at_least(name: str, value, low: int) -> None:
    """``UserError`` unless the flag/field ``name`` is None or an integer >= ``low``."""
    if value is not None and value < low:
        raise UserError(f"{name}: expected an integer >= {low}, got {value}")


def cli_main(fn):
    """Decorate a CLI ``main``: a ``UserError`` becomes ``error: <line>`` on stderr, exit 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as err:
            print(f"error: {err}", file=sys.stderr)
            raise SystemExit(2) from None

    return wrapper
