"""The report's files (``pareto.report``): pareto.csv's table, JSON-safe values for
report.json, and the all-or-nothing writer of the four files."""

import math
import os
import secrets

import pandas as pd

from .errors import signals_deferred

__all__ = ["json_safe", "pareto_table", "write_all"]


def write_all(out_dir: str, texts: dict) -> None:
    """The report's files all-or-nothing: each complete (written, fsync-ed, permissions
    per umask) in a temporary file of ``out_dir`` before the first one replaces an older
    report's; on failure or a signal (``pareto.errors.stop_on_signals``) the temporary files
    go and the old report stays. (The rules of ``hwnas.io.atomic_write_many``, restated here:
    pareto imports nothing of hwnas.) A temporary file is named before it is created, so
    a signal cannot come between its creation and its cleanup being due."""
    mask = os.umask(0o022)
    os.umask(mask)
    staged = []
    try:
        for name, text in texts.items():
            tmp = os.path.join(out_dir, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
            staged.append((tmp, os.path.join(out_dir, name)))
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o666 & ~mask)
        with signals_deferred():  # all four replaced, or none
            for tmp, path in staged:
                os.replace(tmp, path)
    except BaseException:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise


def json_safe(obj):
    """JSON-safe: NaN/inf -> null, numpy scalars -> Python."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def pareto_table(trials: pd.DataFrame, fronts: list) -> pd.DataFrame:
    membership = pd.DataFrame({"trial_id": trials["trial_id"]})
    for front in fronts:
        membership[f"on_front[{front['name']}]"] = trials["trial_id"].isin(front["trial_ids"])
    flags = membership.drop(columns="trial_id")
    names = [f["name"] for f in fronts]
    fronts_col = (
        flags.apply(lambda r: ";".join(n for n, on in zip(names, r) if on), axis=1) if len(flags.columns) else ""
    )
    table = trials.assign(fronts=fronts_col).join(flags)
    table = table[table["fronts"] != ""]
    first = ["trial_id", "fronts"]
    return table[first + [c for c in table.columns if c not in first]]
