"""Runs the bad-input matrix (``tests/bad_inputs_table.py``, every CLI called with each
crafted or out-of-range input) through pytest, in this process, and counts what its
test recorded: the bench imports nothing from ``tests/``, the matrix stays the tests' own.

Prints one line per failing case (what went wrong), then last
``cases=<n> one_line=<n> tracebacks=<n> half_written=<n> code_ran=<n>``
(goal: cases >= 60, one_line = cases, the other three 0).
"""

import contextlib
import io
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# the matrix's test; it records each case's outcome as the user property "outcome"
TEST = f"{ROOT / 'tests' / 'test_bad_inputs.py'}::test_bad_input_is_one_line_and_changes_nothing"


class Outcomes:
    """A pytest plugin keeping the "outcome" each case of the matrix recorded."""

    def __init__(self):
        self.outcomes: list[dict] = []
        self.unrecorded: list[str] = []  # cases that raised before they had an outcome

    def pytest_runtest_logreport(self, report):
        if report.when != "call" and not (report.when == "setup" and report.failed):
            return
        recorded = dict(report.user_properties).get("outcome")
        if recorded is not None:
            self.outcomes.append(recorded)
        else:
            self.unrecorded.append(report.nodeid.partition("[")[2].rstrip("]"))


def main() -> None:
    plugin = Outcomes()
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = pytest.main(["-q", "-p", "no:cacheprovider", TEST], plugins=[plugin])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        sys.exit(f"pytest could not run the matrix (exit {int(code)}):\n{output.getvalue()[-3000:]}")
    counts = dict(cases=0, one_line=0, tracebacks=0, half_written=0, code_ran=0)
    for o in plugin.outcomes:
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
    for name in plugin.unrecorded:
        counts["cases"] += 1
        counts["tracebacks"] += 1
        print(f"FAIL {name}: the case raised before it had an outcome (see pytest {TEST})")
    print(" ".join(f"{k}={v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
