#!/usr/bin/env bash
# Set up (if needed) and run the main job: the default study, from device SPICE to paper tables,
# into runs/vgg8_fmnist_4bit/ (open its index.html). A rerun reuses every finished stage.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/memspice study circuits/study_default.toml "$@"
