#!/usr/bin/env bash
# The test command: set up (idempotent), then the whole suite. The report test renders
# the HTML in Debian's headless chromium, so it is installed here where apt exists.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "[test] installing Debian chromium for the report rendering test"
  (apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }) \
    || echo "[test] chromium not installed; the browser test will be skipped"
fi
exec .venv/bin/python -m pytest -q "$@"
