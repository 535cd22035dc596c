"""Reading a table of records (JSON list of objects, or CSV) and picking objective columns."""

import os

import numpy as np
import pandas as pd

from hwnas.errors import UserError
from hwnas.io import read_json

__all__ = ["read_table", "objective_matrix"]


def read_table(path: str) -> pd.DataFrame:
    """A DataFrame from a ``.json`` (list of objects) or any other file read as CSV."""
    if not os.path.isfile(path):
        raise UserError(f"{path}: no such file")
    if path.lower().endswith(".json"):
        records = read_json(path, "table")
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise UserError(f"{path}: expected a JSON list of objects")
        return pd.DataFrame.from_records(records)
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not a readable CSV table ({str(err).splitlines()[0]})") from None


def objective_matrix(table: pd.DataFrame, objectives, source: str = "table"):
    """Numeric values of the objective columns and which rows have all of them.

    ``objectives`` is a list of ``(column, "max" | "min")``. Returns ``(values, complete)``:
    ``values`` (n x k floats, NaN where missing or not a number) and ``complete`` (bool mask).
    """
    if not 2 <= len(objectives) <= 3:
        raise UserError(f"need 2 or 3 objectives, got {len(objectives)}")
    seen = set()
    for column, _ in objectives:
        if column in seen:
            raise UserError(f"objective {column!r} given twice (each column at most once)")
        seen.add(column)
        if column not in table.columns:
            known = ", ".join(map(str, table.columns[:20]))
            raise UserError(f"{source}: no column {column!r} (columns: {known})")
    values = (
        np.column_stack(
            [pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float) for column, _ in objectives]
        )
        if len(table)
        else np.empty((0, len(objectives)))
    )
    complete = np.isfinite(values).all(axis=1)
    return values, complete
