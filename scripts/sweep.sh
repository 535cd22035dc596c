#!/usr/bin/env bash
# The main job: set up (idempotent), run the default sweep (30 trials of supernet
# search + childnet retraining on real Fashion-MNIST, on a local Ray instance), then
# export the Pareto report. Extra arguments go to sweep.run (e.g. --trials 8, --resume).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
storage=${HWNAS_STORAGE:-experiments}
name=${HWNAS_NAME:-default}
.venv/bin/python -m sweep.run --trials 30 --storage "$storage" --name "$name" "$@"
.venv/bin/python -m pareto.report "$storage/$name" --out "$storage/$name/report"
echo "report: $storage/$name/report/report.html"
