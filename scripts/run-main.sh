#!/usr/bin/env bash
# Set up (if needed) and run the main job on its default configuration; outputs go to runs/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
for model in vteam yakopcic; do
    .venv/bin/memspice characterize device --model "$model" --mc 16 --out "runs/device_$model"
done
