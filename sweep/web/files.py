"""Safe downloads: only regular files inside the storage directory.

A requested path is refused (``None``, which the route turns into 404) when it is
absolute, has a ``..`` part, or resolves (symlinks followed) to anything outside the
storage directory or to anything but a regular file. A symlink that stays inside the
storage directory is served like the file it points to.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

__all__ = ["downloads", "safe_file"]


def safe_file(storage: Path, relative: str) -> Path | None:
    """The regular file ``storage/relative`` if it is safe to serve, else ``None``."""
    if not relative or "\x00" in relative or "\\" in relative:
        return None
    parts = PurePosixPath(relative).parts
    if PurePosixPath(relative).is_absolute() or ".." in parts:
        return None
    root = storage.resolve()
    try:
        target = (root / relative).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        return None
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target


def downloads(storage: Path, folder: Path, names) -> list[dict]:
    """``[{"name", "path"}]`` for each of ``names`` (relative to ``folder``) that exists,
    ``path`` relative to ``storage`` (the download route's argument)."""
    out = []
    for name in names:
        path = folder / name
        if path.is_file():
            out.append({"name": name, "path": path.resolve().relative_to(storage.resolve()).as_posix()})
    return out
