"""Files written safely, and JSON read with one clear error.

Rules of every write here:
- the bytes go to a temporary file in the destination's folder (same file system, so
  the rename is atomic), are flushed and ``fsync``-ed, and the file is renamed over the
  destination: a reader (or a resume after a crash) sees the old file or the new one,
  never half of one;
- on any failure (including KeyboardInterrupt and the SIGINT/SIGTERM of a CLI,
  ``hwnas.errors``) the temporary file is removed and the destination is left as it was;
  a full disk is ``hwnas.errors.DiskFull`` naming the destination;
- the new file gets the permissions an ordinary ``open()`` would give (0666 minus the
  umask): ``mkstemp`` creates 0600, which made LUTs and reports unreadable to others.

``atomic_write_many`` writes a group all-or-nothing as far as a file system allows:
every temporary file is complete before the first rename.

``load_checkpoint`` reads a torch checkpoint as data (``weights_only=True``) with the same
one-line errors.

``read_json`` turns every way a JSON file can be bad (missing, unreadable, invalid,
too deeply nested, an integer too long to convert, not the JSON type expected) into one
``UserError`` line, with what to do next when the caller knows it (``hint``).

``check_pickle`` tells a complete pickle from a truncated or garbled one by walking its
opcodes (``pickletools``): nothing in the file is run.

Imports only the standard library (torch lazily, for ``atomic_save``).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

from hwnas.errors import DiskFull, UserError, disk_full_in, signals_deferred

__all__ = [
    "atomic_save",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_many",
    "atomic_write_text",
    "atomic_write_texts",
    "check_output_file",
    "check_pickle",
    "file_mode",
    "load_checkpoint",
    "parse_json",
    "read_json",
]


def file_mode() -> int:
    """0666 minus the process's umask (read without changing it where Linux allows)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: read by setting; restored at once
    os.umask(mask)
    return 0o666 & ~mask


def _temp_for(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return tmp


def _finish(tmp: str) -> None:
    """Permissions per umask and the bytes on disk before the rename."""
    os.chmod(tmp, file_mode())
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_many(items) -> list[Path]:
    """Write ``[(path, write)]`` where ``write(tmp_path)`` fills a temporary file: all
    temporary files first, then the renames; nothing is replaced unless every write
    succeeded. A full disk is ``DiskFull`` naming the file; a signal (``hwnas.errors``)
    never falls between creating a temporary file and noting it, nor between two renames."""
    staged: list[tuple[Path, str]] = []
    path = None
    try:
        for path, write in items:
            path = Path(path)
            with signals_deferred():
                staged.append((path, _temp_for(path)))
            write(staged[-1][1])
            _finish(staged[-1][1])
        with signals_deferred():
            for path, tmp in staged:
                os.replace(tmp, path)
    except BaseException as err:
        for _, tmp in staged:
            Path(tmp).unlink(missing_ok=True)
        if disk_full_in(err) is not None and not isinstance(err, DiskFull):
            raise DiskFull(path) from err
        raise
    return [path for path, _ in staged]


def atomic_write(path, write) -> Path:
    """``write(tmp_path)`` fills a temporary file that then replaces ``path``."""
    return atomic_write_many([(path, write)])[0]


def atomic_write_bytes(path, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def _text_writer(text: str):
    """Fills a temporary file with ``text``: UTF-8 whatever the locale, line ends as given."""
    return lambda tmp: Path(tmp).write_text(text, encoding="utf-8", newline="")


def atomic_write_text(path, text: str) -> Path:
    return atomic_write(path, _text_writer(text))


def atomic_write_texts(texts: dict) -> list[Path]:
    """``{path: text}`` all-or-nothing (``atomic_write_many``), e.g. a report's files."""
    return atomic_write_many([(path, _text_writer(text)) for path, text in texts.items()])


def atomic_write_json(path, data, indent: int = 1) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=indent) + "\n")


def atomic_save(obj, path) -> Path:
    """``torch.save`` to ``path`` atomically; a full disk is ``DiskFull`` naming ``path``."""
    import torch

    buffer = io.BytesIO()  # serialized first: written by Python, a full disk is an OSError
    torch.save(obj, buffer)  # (torch's own file writer said "[enforce fail ...] unexpected pos")
    return atomic_write_bytes(path, buffer.getbuffer())


def check_output_file(path, flag: str = "--out") -> Path:
    """``UserError`` now, before any long work, if ``path`` cannot become a file: it is a
    directory, a parent is a file, or the folder that would hold it is not writable."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{flag} {path}: is a directory, expected a file path")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the deepest existing ancestor: it gets the new folders
    if not folder.is_dir():
        raise UserError(f"{flag} {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {path}: folder {folder} is not writable")
    return path


def read_json(path, what: str = "file", expect: type | None = None, hint: str | None = None):
    """The parsed JSON of ``path``; any problem is one ``UserError`` line naming it.
    ``expect``: ``dict`` or ``list``, the JSON type the file must hold; ``hint``: what to do
    about a bad file, appended to the line."""
    path = Path(path)
    tail = f"; {hint}" if hint else ""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UserError(f"{what} {path}: not found{tail}") from None
    except UnicodeDecodeError:
        raise UserError(f"{what} {path}: not valid JSON (not UTF-8 text: garbled?){tail}") from None
    except OSError as err:
        raise UserError(f"{what} {path}: cannot read ({err.strerror or type(err).__name__}){tail}") from None
    try:
        data = parse_json(text, f"{what} {path}")
    except UserError as err:
        raise UserError(f"{err}{tail}") from None
    if expect is not None and not isinstance(data, expect):
        raise UserError(f"{what} {path}: expected a JSON {_JSON_NAMES[expect]}, got {_json_name(data)}{tail}")
    return data


_JSON_NAMES = {dict: "object", list: "list", str: "string"}


def _json_name(value) -> str:
    """``an object``, ``a list``, ``null``, ...: what a JSON value is, for an error line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {dict: "an object", list: "a list", str: "a string"}.get(type(value), type(value).__name__)


def parse_json(text: str, source: str):
    """``json.loads`` with one-line errors: invalid JSON, nesting too deep for the
    parser (RecursionError), integers too long to convert (ValueError in Python 3.11+)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(
            f"{source}: not valid JSON (truncated?): {err.msg} (line {err.lineno} column {err.colno})"
        ) from None
    except RecursionError:
        raise UserError(f"{source}: JSON nested too deeply") from None
    except ValueError as err:  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
        raise UserError(f"{source}: not usable JSON ({str(err).splitlines()[0][:120]})") from None


def load_checkpoint(path, what: str = "checkpoint", required=()) -> dict:
    """``torch.load(weights_only=True)``; an unreadable file or missing keys is a ``UserError``."""
    import torch

    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise UserError(f"{what} {path} not found") from None
    except Exception as err:  # zip, pickle, EOF, unsupported global: all mean "not a good file"
        first = (str(err).strip().splitlines() or [""])[0][:200]
        raise UserError(
            f"{path}: corrupt or unreadable {what} ({type(err).__name__}: {first}); delete it to start over"
        ) from None
    if not isinstance(state, dict):
        raise UserError(f"{path}: not a {what} (expected a mapping, got {type(state).__name__})")
    missing = [k for k in required if k not in state]
    if missing:
        raise UserError(f"{path}: not a {what} (missing {', '.join(missing)})")
    return state


def check_pickle(path, what: str = "file", hint: str | None = None) -> None:
    """``UserError`` unless ``path`` holds one whole pickle: its opcodes are walked
    (``pickletools.genops``), never executed, so a truncated or garbled file is named
    before a library unpickles it (and fails with a traceback)."""
    import pickletools

    path = Path(path)
    tail = f"; {hint}" if hint else ""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UserError(f"{what} {path}: cannot read ({err.strerror or type(err).__name__}){tail}") from None
    try:
        ops = [op.name for op, _, _ in pickletools.genops(data)]
    except Exception as err:  # ValueError mostly; any failure to walk it means "not a whole pickle"
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:120]
        raise UserError(f"{what} {path}: truncated or not a pickle ({first}){tail}") from None
    if not ops or ops[-1] != "STOP":
        raise UserError(f"{what} {path}: truncated or not a pickle (no end mark){tail}")
