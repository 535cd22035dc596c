"""Runs the fault matrix (``tests/faults_table.py``, issue 22) through pytest, in this process:
``tests/test_faults.py``'s matrix test with ``--runxfail`` (an open defect counts like any
failing fault), each fault applied in a fresh folder, the ones on a real experiment on one
tiny 2-trial sweep (configs/sweep-smoke.yaml with a quickly profiled LUT) built first. The
bench imports nothing from ``tests/``: it counts the outcome each fault recorded.

Prints pytest's progress, one line per failing fault (what went wrong), then last
``faults=<n> data_lost=<n> tracebacks=<n> orphans=<n> blocked_names=<n> zero_exit_on_signal=<n>``
(goal: all zeros but faults). ``--quick`` leaves out the faults that need the real sweep.
"""

import argparse
from pathlib import Path

from matrix import run_matrix

ROOT = Path(__file__).resolve().parents[1]
# the matrix's test; it records each fault's outcome as the user property "outcome"
TEST = f"{ROOT / 'tests' / 'test_faults.py'}::test_a_fault_loses_nothing_and_says_what_to_do"
# the printed count -> the outcome's flag it counts (faults with that flag set)
COUNTED = {
    "data_lost": "data_lost",
    "tracebacks": "traceback",
    "orphans": "orphans",
    "blocked_names": "blocked_name",
    "zero_exit_on_signal": "zero_exit_on_signal",
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="only the faults that need no real sweep")
    p.add_argument("--only", default="", help="only the faults whose name contains this")
    args = p.parse_args()
    options = ["--runxfail", *(["-m", "not slow"] if args.quick else [])]  # the real sweep's faults are slow
    outcomes, unrecorded = run_matrix(TEST, *options, keep=lambda name: args.only in name)
    counts = {"faults": len(outcomes) + len(unrecorded)}
    counts |= {name: sum(bool(o[flag]) for o in outcomes) for name, flag in COUNTED.items()}
    counts["tracebacks"] += len(unrecorded)
    for o in outcomes:
        if not o["ok"]:
            print(f"FAIL {o['name']} [item {o['item']}]: {o['why']}")
    for name in unrecorded:
        print(f"FAIL {name}: raised before it had an outcome (see pytest {TEST})")
    print(" ".join(f"{k}={v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
