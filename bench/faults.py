"""Runs the fault matrix (``tests/faults_table.py``, issue 22) outside pytest: each fault
applied in a fresh folder, the ones on a real experiment on one tiny 2-trial sweep
(configs/sweep-smoke.yaml with a quickly profiled LUT) built first.

Prints one line per failing fault (what went wrong), then last
``faults=<n> data_lost=<n> tracebacks=<n> orphans=<n> blocked_names=<n> zero_exit_on_signal=<n>``
(goal: all zeros but faults). ``--quick`` leaves out the faults that need the real sweep.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from faults_table import FAULTS, build_experiment, profile_smoke_lut, run_fault  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="only the faults that need no real sweep")
    p.add_argument("--only", default="", help="only the faults whose name contains this")
    args = p.parse_args()
    counts = dict(faults=0, data_lost=0, tracebacks=0, orphans=0, blocked_names=0, zero_exit_on_signal=0)
    faults = [f for f in FAULTS if args.only in f.name and not (args.quick and f.needs_sweep)]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("HWNAS_CACHE", str(Path(tmp) / "cache"))
        template = None
        if any(f.needs_sweep for f in faults):
            template = build_experiment(Path(tmp), profile_smoke_lut(Path(tmp) / "smoke-lut.json"))
        for i, fault in enumerate(faults):
            outcome = run_fault(fault, Path(tmp) / f"fault{i}", template)
            counts["faults"] += 1
            counts["data_lost"] += outcome.data_lost
            counts["tracebacks"] += outcome.traceback
            counts["orphans"] += bool(outcome.orphans)
            counts["blocked_names"] += outcome.blocked_name
            counts["zero_exit_on_signal"] += outcome.zero_exit_on_signal
            if not outcome.ok:
                print(f"FAIL {fault.name} [item {fault.item}]: {outcome.why()}", flush=True)
    print(" ".join(f"{k}={v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
