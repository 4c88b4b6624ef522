"""Versions of everything that shaped a study's numbers, recorded with its exported tables."""

from __future__ import annotations

import sys

from memspice import __version__


def versions() -> dict[str, str]:
    import importlib.metadata as md
    import subprocess

    out = {"memspice": __version__, "python": sys.version.split()[0]}
    for pkg in ("numpy", "scipy", "torch", "PySpice", "matplotlib", "dask"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    try:
        text = subprocess.run(["ngspice", "--version"], capture_output=True, text=True, timeout=20).stdout
        out["ngspice"] = next((ln.strip("* ").strip() for ln in text.splitlines() if "ngspice-" in ln), text.strip())
    except (OSError, subprocess.SubprocessError):
        out["ngspice"] = "not found"
    return out

