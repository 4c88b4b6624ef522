"""Versions of everything that shaped a study's numbers, recorded with its exported tables."""

from __future__ import annotations

import sys

from memspice import __version__


def versions() -> dict[str, str]:
    import importlib.metadata as md

    from memspice.ngspice.locate import ngspice_version

    out = {"memspice": __version__, "python": sys.version.split()[0]}
    for pkg in ("numpy", "scipy", "torch", "PySpice", "matplotlib", "dask"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    out["ngspice"] = ngspice_version()  # the executable the runs use (MEMSPICE_NGSPICE, else PATH)
    return out

