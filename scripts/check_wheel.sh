#!/usr/bin/env bash
# Build memspice's wheel, install it into a fresh virtual environment (no --system-site-packages, no
# editable install, no clone on the path) and run `characterize device` and `characterize adc` on small
# specs from a folder outside the repository: the models and device cards must come from the wheel.
# Dependencies come from the package index pip is configured with (its cache makes reruns quick);
# torch is not installed: neither command needs it. Run by ./scripts/run-tests.sh (and so by .ci/run).
#   usage: scripts/check_wheel.sh [PYTHON]   (default .venv/bin/python, else python3: builds the wheel)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
py="${1:-}"
if [ -z "$py" ]; then
    if [ -x "$repo/.venv/bin/python" ]; then py="$repo/.venv/bin/python"; else py=python3; fi
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/memspice-wheel.XXXXXX")"
trap 'rm -rf "$work"' EXIT
start=$SECONDS

# build from a copy of the tracked (and untracked, not ignored) files so the clone gets no build/ folder
mkdir "$work/src"
(cd "$repo" && git ls-files -co --exclude-standard -z | tar --null -T - -cf - 2>/dev/null) | tar -xf - -C "$work/src"
isolation=()  # the build backend of the environment at hand when it has one (no download); else pip's isolated build
"$py" -c 'import setuptools, wheel' >/dev/null 2>&1 && isolation=(--no-build-isolation)
"$py" -m pip wheel -q --no-deps "${isolation[@]}" -w "$work/dist" "$work/src" >/dev/null
wheel=("$work"/dist/memspice-*.whl)
echo "check_wheel: built ${wheel[0]##*/} ($((SECONDS - start)) s)"

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --no-compile "${wheel[0]}" >"$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
echo "check_wheel: installed into a fresh virtual environment ($((SECONDS - start)) s)"

run="$work/run"
mkdir "$run"
cd "$run"
ms="$work/venv/bin/memspice"
# the installed package, not the clone, must answer
"$work/venv/bin/python" - "$repo" <<'PY'
import sys
from pathlib import Path

import memspice
from memspice.resources import models_dir

repo = Path(sys.argv[1]).resolve()
pkg = Path(memspice.__file__).resolve()
assert not pkg.is_relative_to(repo), f"memspice imported from the clone: {pkg}"
assert models_dir().is_relative_to(pkg.parent), models_dir()
print(f"check_wheel: memspice {memspice.__version__} from {pkg.parent}; models in {models_dir()}")
PY
export MEMSPICE_PROGRESS=off
"$ms" characterize device --model vteam --targets 200e-6 --no-figures --out dev >"$work/dev.log" 2>&1 \
    || { cat "$work/dev.log"; exit 1; }
test -s dev/summary.json && test -s dev/iv.csv
echo "check_wheel: characterize device ok ($((SECONDS - start)) s)"
"$ms" characterize adc --bits 2 --no-energy --no-figures --out adc >"$work/adc.log" 2>&1 \
    || { cat "$work/adc.log"; exit 1; }
test -s adc/summary.json
echo "check_wheel: characterize adc ok ($((SECONDS - start)) s)"
