"""The one error type of ``pareto`` (bad input, reported as a single line) and how its commands stop on a signal."""

import contextlib
import signal
import threading

from hwnas.errors import UserError

__all__ = ["ParetoInputError", "Stopped", "signals_deferred", "stop_on_signals"]


class ParetoInputError(UserError, ValueError):
    """Bad input (file, field, option). ``str(err)`` is one line naming what and what was expected.

    A ``hwnas.errors.UserError`` (every CLI prints it as ``error: <line>`` and exits 2), so a
    caller outside ``pareto`` catches both alike. ``pareto`` imports only ``hwnas``'s torch-free
    core (``hwnas.errors``, ``hwnas.io``), never training code.
    """


class Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived (``stop_on_signals``): the command stops, cleaning up on the way out."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


_signals = {"deferred": 0, "pending": None, "raised": False}


def stop_on_signals() -> None:
    """SIGINT and SIGTERM raise ``Stopped`` (the first only: later ones would cut the cleanup
    short), so the report's writer removes its temporary files and the command exits 130/143
    with one line. Without it SIGTERM ended the process at once, leaving ``.report.*.tmp``."""
    _signals.update(deferred=0, pending=None, raised=False)

    def stop(signum, frame):
        if _signals["raised"]:
            return
        if _signals["deferred"]:
            _signals["pending"] = signum
            return
        _signals["raised"] = True
        raise Stopped(signum)

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop)


@contextlib.contextmanager
def signals_deferred():
    """A signal arriving within (between a group's renames) raises ``Stopped`` at its end."""
    _signals["deferred"] += 1
    try:
        yield
    finally:
        _signals["deferred"] -= 1
        pending, _signals["pending"] = _signals["pending"], None
        if pending is not None and not _signals["deferred"]:
            _signals["raised"] = True
            raise Stopped(pending)
