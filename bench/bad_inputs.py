"""Runs the bad-input matrix (``tests/bad_inputs_table.py``) outside pytest: every CLI
called in this process with each crafted or out-of-range input.

Prints one line per failing case (what went wrong), then last
``cases=<n> one_line=<n> tracebacks=<n> half_written=<n> code_ran=<n>``
(goal: cases >= 60, one_line = cases, the other three 0).
"""

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bad_inputs_table import CASES, run_case  # noqa: E402


def main() -> None:
    counts = dict(cases=0, one_line=0, tracebacks=0, half_written=0, code_ran=0)
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(CASES):
            outcome = run_case(case, Path(tmp) / f"case{i}")
            counts["cases"] += 1
            counts["one_line"] += outcome.one_line and outcome.code == 2
            counts["tracebacks"] += outcome.traceback
            counts["half_written"] += outcome.half_written
            counts["code_ran"] += outcome.code_ran
            if not outcome.ok:
                last = (outcome.stderr.strip().splitlines() or ["(no stderr)"])[-1]
                print(
                    f"FAIL {case.name}: exit {outcome.code}, traceback={outcome.traceback}, "
                    f"half_written={outcome.half_written}, code_ran={outcome.code_ran}: {last[:200]}"
                )
    print(" ".join(f"{k}={v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
