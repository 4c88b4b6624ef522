#!/usr/bin/env bash
# Set up (if needed) and run the default test suite: every test but those marked slow.
# Tests that need ngspice, torch or dask fail rather than skip when those are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export MEMSPICE_TEST_MODE="${MEMSPICE_TEST_MODE:-required}"
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -m "not slow" -p no:cacheprovider "$@"
