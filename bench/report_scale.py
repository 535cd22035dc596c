"""Times ``python -m pareto.report`` on a 1000-trial synthetic experiment directory (goal: <= 10 s).

Builds the directory with ``testdata``'s ``write_synthetic_experiment`` (not timed), then
times the report in a fresh interpreter, as a user runs it (imports included).
Last line: ``trials=<n> seconds=<s>``.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hwnas.layout import REPORT, REPORT_HTML

# the synthetic experiment writer: testdata/ in the project folder (not installed, not tests/)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testdata import write_synthetic_experiment  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = write_synthetic_experiment(os.path.join(tmp, "exp"), trials=args.trials, failed=20, running=20)
        out = os.path.join(tmp, REPORT)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pareto.report", root, "--out", out], check=True, stdout=subprocess.DEVNULL
        )
        seconds = time.perf_counter() - start
        size_mb = os.path.getsize(os.path.join(out, REPORT_HTML)) / 1e6
        print(f"report.html {size_mb:.1f} MB")
    print(f"trials={args.trials} seconds={seconds:.2f}")


if __name__ == "__main__":
    main()
