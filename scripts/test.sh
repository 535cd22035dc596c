#!/usr/bin/env bash
# The test command: set up (idempotent), lint and format check (ruff, configured in
# pyproject.toml), then the whole suite. The report test renders
# the HTML in Debian's headless chromium and the web app's test drives it with selenium
# through Debian's chromium-driver, so both are installed here where apt exists.
# --fast: the quick subset instead, every test but those marked slow or heavy
# (tests/conftest.py says which are heavy), in under 3 minutes, without installing the
# browser its tests need. Other arguments go to pytest as they are.
# Two pytest-xdist workers (-n 2, the CI machine's two cores; one process kept one core busy):
# tests/conftest.py says which tests a worker runs together and in which order; -n 0 runs them in
# this process.
set -euo pipefail
cd "$(dirname "$0")/.."
fast=0
if [ "${1:-}" = "--fast" ]; then
  fast=1
  shift
  set -- -m "not slow and not heavy" "$@"
fi
bash scripts/setup.sh
if [ "$fast" = 0 ] && { ! command -v chromium || ! command -v chromedriver; } >/dev/null 2>&1 \
   && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "[test] installing Debian chromium and chromium-driver for the browser tests"
  (apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
   || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }) \
    || echo "[test] chromium/chromium-driver not installed; the browser tests will be skipped"
fi
echo "[test] ruff check and ruff format --check"
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
exec .venv/bin/python -m pytest -q -n 2 --dist loadgroup --no-loadscope-reorder "$@"
