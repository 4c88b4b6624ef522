"""Where the hand-written SPICE models, device cards and circuit specs live.

They sit at the top of the repository (``models/``, ``circuits/``) beside the package, which is
installed in editable mode from the clone; ``MEMSPICE_HOME`` points elsewhere when needed.
"""

from __future__ import annotations

import os
from pathlib import Path

from memspice.errors import DataError


def project_root() -> Path:
    env = os.environ.get("MEMSPICE_HOME")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent


def models_dir() -> Path:
    path = project_root() / "models"
    if not path.is_dir():
        raise DataError(f"models folder not found at {path}; install memspice from its clone "
                        "(pip install -e .) or set MEMSPICE_HOME to the clone")
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
