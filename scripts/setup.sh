#!/usr/bin/env bash
# Set up memspice on Debian/Ubuntu: system packages when missing, a virtual environment in .venv,
# PyTorch (CPU build) and the package with its extras. Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ngspice >/dev/null 2>&1 || need+=(ngspice)
ldconfig -p 2>/dev/null | grep -q 'libngspice.so.0' || need+=(libngspice0)
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
# headless Chromium: the tests load the HTML reports as a browser would (images decoded, tables present)
command -v chromium-headless-shell >/dev/null 2>&1 || need+=(chromium-headless-shell)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "setup: installing system packages: ${need[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

python3 - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"setup: memspice needs Python 3.11 or newer, found {sys.version.split()[0]}")
PY

[ -x .venv/bin/python ] || python3 -m venv .venv
# What the install was made from: a rerun with the same pyproject.toml and version reinstalls nothing
# (remove .venv/.memspice-setup to force it).
stamp=.venv/.memspice-setup
made_from="$(cat pyproject.toml memspice/__init__.py | sha256sum | cut -c1-16) $(pwd)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$made_from" ] || [ ! -x .venv/bin/memspice ] \
        || ! .venv/bin/python -c 'import torch' >/dev/null 2>&1; then
    # one pip run (one resolve); torch pinned: 2.13.0 is the CPU build, any other spec pulls a multi-GB
    # CUDA build. pip byte-compiles what it installs on one core (~60 % of its CPU time, measured):
    # --no-compile, then compileall on every core (the same .pyc files).
    pkgs=(-e '.[all]')
    .venv/bin/python -c 'import torch' >/dev/null 2>&1 || pkgs=(torch==2.13.0 "${pkgs[@]}")
    .venv/bin/pip install -q --no-compile "${pkgs[@]}"
    # some packages ship files that are not Python 3 on purpose (test data): pip skips them too
    .venv/bin/python -m compileall -q -j 0 .venv/lib/python3*/site-packages >/dev/null 2>&1 || true
    echo "$made_from" > "$stamp"
fi
echo "setup: ready ($(.venv/bin/memspice --version), $(ngspice --version 2>/dev/null | grep -o 'ngspice-[0-9]*' | head -1))"
