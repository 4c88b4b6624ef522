#!/usr/bin/env bash
# Set up (if needed), lint, check the installed wheel (scripts/check_wheel.sh) and run the default test
# suite: every test but those marked slow.
# Tests that need ngspice, torch or dask fail rather than skip when those are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export MEMSPICE_TEST_MODE="${MEMSPICE_TEST_MODE:-required}"
.venv/bin/ruff check .
# the wheel, installed into a fresh virtual environment, runs characterize device and adc outside the clone
./scripts/check_wheel.sh .venv/bin/python
exec .venv/bin/python -m pytest -m "not slow" -p no:cacheprovider "$@"
