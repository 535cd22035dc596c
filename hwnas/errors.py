"""One error type for bad input: it carries a single line naming the file/field and
what was expected. CLIs print it and exit 2 instead of a traceback.

``cli_main`` also owns how every CLI stops:

- SIGINT and SIGTERM raise ``Interrupted`` (a ``KeyboardInterrupt``: ``except Exception``
  does not swallow it, and ``finally`` blocks and ``hwnas.io``'s writers clean up), and
  the CLI exits 130 / 143 with one line (plus the ``resume_hint`` the CLI set), never a
  traceback. Only the first signal raises; later ones arrive while cleaning up and are
  noted, so they cannot cut a cleanup short. A part of the program with an orderly way
  to stop (Ray Tune's trial loop, ``soft_stop``) gets the first signal as a request instead,
  and a second signal stops it at once.
- A full disk (``OSError`` ENOSPC, ``DiskFull``) is one line naming the file, exit 2.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import signal
import subprocess
import sys
import threading

__all__ = [
    "PARENT_ENV",
    "DiskFull",
    "Interrupted",
    "UserError",
    "at_least",
    "child_env",
    "cli_main",
    "cli_start",
    "disk_full_in",
    "install_stop_handlers",
    "raise_if_stopped",
    "resume_hint",
    "run_child",
    "signals_deferred",
    "soft_stop",
]

# the PID of the CLI that started this one (``child_env``): it reports the stop (no second line)
# and this one stops when it ends
PARENT_ENV = "HWNAS_PARENT_PID"
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_state = {"signum": None, "raised": False, "deferred": 0, "pending": None, "soft": [], "hint": "", "folder": None}


class UserError(Exception):
    """Bad input from the user (a file, a field, a flag). ``str(err)`` is one line."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: the CLI stops, cleaning up on the way out."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class DiskFull(OSError):
    """No space left on the device holding ``filename`` (an ``OSError`` with errno ENOSPC)."""

    def __init__(self, filename):
        super().__init__(errno.ENOSPC, os.strerror(errno.ENOSPC), None if filename is None else str(filename))

    def __reduce__(self):  # pickled as it is made (a Ray task's error crosses processes so)
        return (DiskFull, (self.filename,))


def at_least(name: str, value, low: int) -> None:
    """``UserError`` unless the flag/field ``name`` is None or an integer >= ``low``."""
    if value is not None and value < low:
        raise UserError(f"{name}: expected an integer >= {low}, got {value}")


def resume_hint(text: str, folder=None) -> None:
    """What the stop line (and the disk-full line) tells the user to run next; ``folder``:
    what a full disk names when the failed write does not say its file."""
    _state.update(hint=text, folder=folder)


def raise_if_stopped() -> None:
    """``Interrupted`` if a signal came while a ``soft_stop`` part ran (it stopped in order)."""
    if _state["signum"] is not None:
        _state["raised"] = True
        raise Interrupted(_state["signum"])


def _on_signal(signum, frame) -> None:
    if _state["signum"] is None:
        _state["signum"] = signum
        if _state["soft"] and _state["soft"][-1]():
            return  # asked to stop in order; a second signal stops at once
    if _state["raised"]:
        return  # cleaning up after the first: let it finish
    if _state["deferred"]:
        _state["pending"] = _state["signum"]
        return
    _state["raised"] = True
    raise Interrupted(_state["signum"])


def install_stop_handlers() -> None:
    """SIGINT and SIGTERM raise ``Interrupted`` (again after a library, e.g. Ray, replaced them)."""
    if threading.current_thread() is threading.main_thread():
        for signum in _STOP_SIGNALS:
            signal.signal(signum, _on_signal)


def cli_start() -> None:
    """A CLI's start: forget an earlier run's stop and hint (a CLI called again in one
    process, e.g. by tests) and install the stop handlers. ``cli_main`` calls it; a ``main``
    that returns its exit code and prints its own stop line (``pareto.report``) calls it first."""
    _state.update(signum=None, raised=False, pending=None, hint="", folder=None)
    install_stop_handlers()


@contextlib.contextmanager
def soft_stop(request):
    """Within: the first signal calls ``request()``, which makes the running part end in order
    and returns True (False: it cannot now, the signal raises); the caller checks
    ``raise_if_stopped()`` afterwards."""
    install_stop_handlers()
    _state["soft"].append(request)
    try:
        yield
    finally:
        _state["soft"].pop()


@contextlib.contextmanager
def signals_deferred():
    """A signal arriving within (e.g. between the renames of a group of files) is raised at its end."""
    _state["deferred"] += 1
    try:
        yield
    finally:
        _state["deferred"] -= 1
        pending, _state["pending"] = _state["pending"], None
        if pending is not None and not _state["deferred"]:
            _state["raised"] = True
            raise Interrupted(pending)


# how a full disk reads where no OSError carries ENOSPC: SQLite (Optuna's study), an error
# passed on as text (a Ray trial's), pyarrow (Ray's checkpoint copies)
_FULL_TEXT = re.compile(r"No space left on device|\[Errno 28\]|database or disk is full")


def disk_full_in(err: BaseException) -> OSError | None:
    """The full disk behind ``err`` (itself, a cause or context; an ``OSError``, ENOSPC, with
    the file's name when known), else None."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            return err
        text = str(err)  # a remote error (Ray's) carries the remote traceback: the cause is at its end
        if _FULL_TEXT.search(text[:4000]) or _FULL_TEXT.search(text[-4000:]):
            return DiskFull(None)
        err = err.__cause__ or err.__context__
    return None


def child_env(env: dict | None = None) -> dict:
    """The environment for a CLI this one starts and waits for (``PARENT_ENV``)."""
    return {**(os.environ if env is None else env), PARENT_ENV: str(os.getpid())}


def run_child(argv: list, lock=None, grace_s: float = 60) -> str:
    """Run the CLI ``argv`` (e.g. the measurement phase, the final stage) and return its stdout.
    It runs in its own session, so a Ctrl-C reaches this process only, which stops the child
    with SIGTERM and waits (it stops in order, within ``grace_s``; SIGINT would print a
    traceback while the child still imports, before its handlers exist). A child stopped by
    a signal stops this process too; a child's error exits with its code (its one line is on
    stderr already). ``lock``: the caller's experiment lock (``hwnas.lock.Lock``), shared."""
    env = child_env()
    child = subprocess.Popen(
        argv, stdout=subprocess.PIPE, text=True, start_new_session=True, **(lock.child(env) if lock else {"env": env})
    )
    try:
        out, _ = child.communicate()
    except KeyboardInterrupt:
        child.terminate()
        try:
            child.wait(grace_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        raise
    stopped = {128 + s: s for s in _STOP_SIGNALS} | {-s: s for s in _STOP_SIGNALS}
    if child.returncode in stopped:
        raise Interrupted(stopped[child.returncode])
    if child.returncode != 0:
        raise SystemExit(child.returncode)
    return out


def _stop_with_parent() -> None:
    """Started by another CLI (``child_env``): SIGTERM when it ends (Linux), so that no
    orphan goes on writing; stop now if it has ended already."""
    parent = os.environ.get(PARENT_ENV, "")
    if not parent.isdigit():
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != int(parent):
        os.kill(os.getpid(), signal.SIGTERM)


def _hint() -> str:
    return f"; {_state['hint']}" if _state["hint"] else ""


def _stop_line(err: KeyboardInterrupt) -> int:
    signum = getattr(err, "signum", signal.SIGINT)
    if not os.environ.get(PARENT_ENV):  # else the parent says it
        print(f"stopped by {signal.Signals(signum).name}{_hint()}", file=sys.stderr, flush=True)
    return 128 + signum


def cli_main(fn):
    """Decorate a CLI ``main``: a ``UserError`` becomes ``error: <line>`` on stderr, exit 2;
    a full disk the same (naming the file); SIGINT/SIGTERM a ``stopped by ...`` line, exit 130/143."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        cli_start()
        try:
            _stop_with_parent()
            return fn(*args, **kwargs)
        except UserError as err:
            print(f"error: {err}", file=sys.stderr)
            raise SystemExit(2) from None
        except KeyboardInterrupt as err:
            raise SystemExit(_stop_line(err)) from None
        except Exception as err:
            full = disk_full_in(err)
            if full is None:
                raise
            where = full.filename or _state["folder"] or "a file"
            print(f"error: disk full writing {where}: free space there{_hint() or ' and run again'}", file=sys.stderr)
            raise SystemExit(2) from None

    return wrapper
