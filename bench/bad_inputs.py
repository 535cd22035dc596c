"""Runs the bad-input matrix (``tests/bad_inputs_table.py``, every CLI called with each
crafted or out-of-range input) through pytest, in this process, and counts what its
test recorded: the bench imports nothing from ``tests/``, the matrix stays the tests' own.

Prints pytest's progress, one line per failing case (what went wrong), then last
``cases=<n> one_line=<n> tracebacks=<n> half_written=<n> code_ran=<n>``
(goal: cases >= 60, one_line = cases, the other three 0).
"""

from pathlib import Path

from matrix import run_matrix

ROOT = Path(__file__).resolve().parents[1]
# the matrix's test; it records each case's outcome as the user property "outcome"
TEST = f"{ROOT / 'tests' / 'test_bad_inputs.py'}::test_bad_input_is_one_line_and_changes_nothing"


def main() -> None:
    outcomes, unrecorded = run_matrix(TEST)
    counts = dict(cases=0, one_line=0, tracebacks=0, half_written=0, code_ran=0)
    for o in outcomes:
        counts["cases"] += 1
        counts["one_line"] += o["one_line"] and o["code"] == 2
        counts["tracebacks"] += o["traceback"]
        counts["half_written"] += o["half_written"]
        counts["code_ran"] += o["code_ran"]
        if not o["ok"]:
            print(
                f"FAIL {o['name']}: exit {o['code']}, traceback={o['traceback']}, "
                f"half_written={o['half_written']}, code_ran={o['code_ran']}: {o['last_line'][:200]}"
            )
    for name in unrecorded:
        counts["cases"] += 1
        counts["tracebacks"] += 1
        print(f"FAIL {name}: the case raised before it had an outcome (see pytest {TEST})")
    print(" ".join(f"{k}={v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
