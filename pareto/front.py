"""``python -m pareto.front FILE --max COL --min COL [...] [--json]``: Pareto-optimal rows of any table.

A row is on the front when no other row is at least as good in every objective and strictly
better in one (exact duplicates both stay). Rows missing an objective are reported and left out.
Also prints the front's hypervolume: reference point from ``--ref`` (one value per objective,
in the order given, in the columns' own units) or the default rule of
:func:`pareto.hypervolume.default_reference` (worst value + 10 % of the range).
"""

import argparse
import json
import sys

import numpy as np
import pandas as pd

from hwnas.errors import UserError

from .dominance import nondominated_mask, to_costs
from .hypervolume import REFERENCE_RULE, default_reference, hypervolume
from .tables import objective_matrix, read_table

__all__ = ["front_positions", "front_hypervolume", "main"]


class _Objective(argparse.Action):
    """Collects ``--max``/``--min`` in the order given, as ``(column, sense)``."""

    def __call__(self, parser, namespace, value, option_string=None):
        items = list(getattr(namespace, self.dest) or [])
        items.append((value, option_string.lstrip("-")))
        setattr(namespace, self.dest, items)


def front_positions(table: pd.DataFrame, objectives, source: str = "table"):
    """0-based positions (input order) of the front rows, and positions of rows left out
    because an objective is missing."""
    values, complete = objective_matrix(table, objectives, source)
    maximize = [sense == "max" for _, sense in objectives]
    kept = np.flatnonzero(complete)
    on_front = kept[nondominated_mask(to_costs(values[kept], maximize))]
    return on_front.tolist(), np.flatnonzero(~complete).tolist()


def front_hypervolume(table: pd.DataFrame, objectives, positions, reference=None, source: str = "table"):
    """Hypervolume of the front rows at ``positions`` and the reference point used (columns' units).

    ``reference``: one value per objective, or None for the default rule (over all complete rows)."""
    values, complete = objective_matrix(table, objectives, source)
    maximize = [sense == "max" for _, sense in objectives]
    signs = np.where(maximize, -1.0, 1.0)
    if reference is None:
        if not complete.any():
            return None, None
        ref_costs = default_reference(to_costs(values[complete], maximize))
    else:
        if len(reference) != len(objectives):
            raise UserError(f"--ref needs {len(objectives)} values (one per objective), got {len(reference)}")
        ref_costs = np.asarray(reference, dtype=float) * signs
    front_costs = to_costs(values[positions], maximize) if len(positions) else np.empty((0, len(objectives)))
    volume = hypervolume(front_costs, ref_costs) if len(front_costs) else 0.0
    return volume, (ref_costs * signs).tolist()


def _reference(text: str):
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pareto.front", description=__doc__.splitlines()[0])
    parser.add_argument("file", help="a JSON list of objects or a CSV file")
    parser.add_argument("--max", dest="objectives", action=_Objective, metavar="COL", help="maximize COL")
    parser.add_argument("--min", dest="objectives", action=_Objective, metavar="COL", help="minimize COL")
    parser.add_argument(
        "--json", action="store_true", help="last line: JSON list of 0-based positions of the front rows"
    )
    parser.add_argument(
        "--ref",
        type=_reference,
        metavar="V1,V2[,V3]",
        help=f"hypervolume reference point, one value per objective in the order given (default: {REFERENCE_RULE})",
    )
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        table = read_table(args.file)
        positions, missing = front_positions(table, args.objectives or [], args.file)
        volume, reference = front_hypervolume(table, args.objectives, positions, args.ref, args.file)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
        print(f"left out {len(missing)} row(s) missing an objective: positions {shown}", file=sys.stderr)
    columns = [c for c, _ in args.objectives]
    print(
        f"{len(positions)} of {len(table)} rows on the front of "
        + ", ".join(f"{sense} {col}" for col, sense in args.objectives)
    )
    shown = table.iloc[positions].copy()
    shown.insert(0, "position", positions)
    order = shown.sort_values(columns[0]).index
    with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_columns", 12):
        print(shown.loc[order].to_string(index=False))
    if volume is not None:
        rule = "given" if args.ref else "default: " + REFERENCE_RULE
        ref_text = ", ".join(f"{col}={v:.6g}" for col, v in zip(columns, reference))
        print(f"hypervolume={volume:.6g} reference: {ref_text} ({rule})")
    if args.json:
        print(json.dumps(positions))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # e.g. piped into head: not an error of ours
        sys.stderr.close()
        sys.exit(0)
