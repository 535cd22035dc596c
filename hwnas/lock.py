"""One writer per folder: an exclusive lock on a file in it (``fcntl.flock``).

The operating system releases the lock when the process holding it ends, however it ends
(a crash, SIGKILL, a reboot), so a lock is never stale; the file itself stays (deleting a
lock file lets two processes lock two different files) and only says who holds it now:
one JSON line ``{"pid", "host", "command", "since"}`` (``docs/formats.md``).

A holder hands its lock to a child process that works under it (``Lock.child``: the
open file is inherited, ``HWNAS_LOCK_FD`` names it): the child then holds the same lock
instead of waiting for its own parent (``sweep.run`` for its measurement phase, the web
runner for ``sweep.run``), and keeps it if the parent dies before it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

from hwnas.errors import UserError
from hwnas.io import file_mode

__all__ = ["LOCK_FD_ENV", "Lock", "acquire", "check_free", "holder_line"]

LOCK_FD_ENV = "HWNAS_LOCK_FD"


class Lock:
    """A held lock: ``release()`` (or the end of a ``with``) gives it up."""

    def __init__(self, path: Path, fd: int, inherited: bool):
        self.path, self.fd, self.inherited = path, fd, inherited

    def child(self, env: dict | None = None) -> dict:
        """``subprocess`` keyword arguments for a child that works under this lock."""
        return {"env": {**(os.environ if env is None else env), LOCK_FD_ENV: str(self.fd)}, "pass_fds": (self.fd,)}

    def release(self) -> None:
        if self.fd < 0:
            return
        if not self.inherited:  # an inherited lock is the parent's: closing our copy is enough
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = -1

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _inherited(path: Path) -> int | None:
    """The lock file's descriptor a parent passed down (``Lock.child``), if it is this file's."""
    value = os.environ.get(LOCK_FD_ENV, "")
    if not value.isdigit() or not _same_file(int(value), path):
        return None
    return int(value)


def holder_line(path: Path) -> str:
    """Who holds the lock, as recorded in its file: ``sweep.run (PID 12, host h, since ...)``."""
    try:
        info = json.loads(Path(path).read_text() or "null")
    except (OSError, ValueError):
        info = None
    if not isinstance(info, dict) or not isinstance(info.get("pid"), int):
        return "another process (not yet recorded in the lock file)"
    who = info.get("command") or "a process"
    return f"{who} (PID {info['pid']} on host {info.get('host')}, since {info.get('since')})"


def _refusal(what: str, path: Path) -> UserError:
    return UserError(
        f"{what} is in use by {holder_line(path)}: one writer at a time; wait for it to end or stop it "
        f"(lock {path}), then run again"
    )


def check_free(path: Path, what: str) -> None:
    """``UserError`` naming the holder if another process holds the lock (nothing is created)."""
    path = Path(path)
    if not path.is_file() or _inherited(path) is not None:
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _refusal(what, path) from None
    finally:
        os.close(fd)  # also gives the probe's own lock up


def acquire(path: Path, what: str, command: str) -> Lock:
    """The lock of ``path`` (its folder is made if absent), held by this process for
    ``command``; ``UserError`` naming the holder if another process holds it. ``what``
    names the locked thing in that line (e.g. ``experiment /x/e``)."""
    path = Path(path)
    fd = _inherited(path)
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the parent's lock: ours already
        return Lock(path, fd, inherited=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, file_mode())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _refusal(what, path) from None
        if _same_file(fd, path):
            break
        os.close(fd)  # the file was replaced while we locked it: lock the one now there
    since = time.strftime("%Y-%m-%dT%H:%M:%S")
    info = {"pid": os.getpid(), "host": socket.gethostname(), "command": command, "since": since}
    try:  # written in place: a new file (rename) would be a different lock
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
    except OSError:
        pass  # e.g. a full disk: the lock holds all the same, its holder is not named
    return Lock(path, fd, inherited=False)
