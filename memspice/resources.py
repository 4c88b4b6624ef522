"""Where the hand-written SPICE models, device cards and circuit specs live.

The models and cards are package data (``memspice/data/models/``, cards in its ``cards/``), found
through :mod:`importlib.resources`, so a wheel installed with ``pip install .`` finds them as an
editable install does. A clone keeps ``models/`` at its top as a link to that folder, so the paths
the docs cite (``models/vteam.lib``, ``models/cards/vteam_paper.toml``) and the golden netlists'
``../models/<file>`` includes work there. ``MEMSPICE_HOME`` points at another clone whose
``models/`` and ``circuits/`` are used instead. The circuit specs (``circuits/``) are the clone's
and are not shipped in the wheel.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from memspice.errors import DataError


def project_root() -> Path:
    """The clone: ``MEMSPICE_HOME`` when set, else the folder above the package."""
    env = os.environ.get("MEMSPICE_HOME")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent


def models_dir() -> Path:
    """The folder of the SPICE model libraries (``*.lib``) and, in ``cards/``, the device cards."""
    env = os.environ.get("MEMSPICE_HOME")
    if env:
        path = Path(env) / "models"
    else:
        # a wheel or an editable install both unpack the package as real files: ngspice needs paths
        path = Path(str(resources.files("memspice") / "data" / "models"))
    if not path.is_dir():
        hint = "set MEMSPICE_HOME to a clone holding models/" if env else "reinstall memspice (pip install .)"
        raise DataError(f"models folder not found at {path}; {hint}")
    return path


def model_path(name: str) -> Path:
    path = models_dir() / name
    if not path.is_file():
        raise DataError(f"model file {name} not found in {models_dir()}")
    return path


def cards_dir() -> Path:
    return models_dir() / "cards"


def circuits_dir() -> Path:
    return project_root() / "circuits"
