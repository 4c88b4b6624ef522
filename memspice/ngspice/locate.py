"""Finding ngspice when it is needed (never at import).

Order: an explicit argument, then the environment (``MEMSPICE_NGSPICE`` for the executable,
``NGSPICE_LIBRARY_PATH`` for the shared library, as PySpice reads it), then the usual places.
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
from pathlib import Path

from memspice.errors import NgspiceNotFoundError

_INSTALL_HINT = "install it with `sudo apt-get install ngspice libngspice0` (Debian/Ubuntu)"

_LIB_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/libngspice.so.0",
    "/usr/lib/aarch64-linux-gnu/libngspice.so.0",
    "/usr/lib/libngspice.so.0",
    "/usr/local/lib/libngspice.so.0",
    "/usr/local/lib/libngspice.so",
    "/usr/lib64/libngspice.so.0",
)


_FOUND: dict[tuple, Path] = {}  # where the executable was found, by what decided it (argument, environment)


def find_ngspice(explicit: str | os.PathLike | None = None) -> Path:
    """Path of the ngspice executable. Remembered per argument, ``MEMSPICE_NGSPICE`` and ``PATH`` while the
    file stays executable (a Monte Carlo runs it once per chunk: searching PATH each time cost ~0.2 ms)."""
    key = (None if explicit is None else os.fspath(explicit), os.environ.get("MEMSPICE_NGSPICE"),
           os.environ.get("PATH"))
    path = _FOUND.get(key)
    if path is not None and os.access(path, os.X_OK):
        return path
    path = _FOUND[key] = _search_ngspice(explicit)
    return path


def _search_ngspice(explicit: str | os.PathLike | None) -> Path:
    looked = []
    for candidate in (explicit, os.environ.get("MEMSPICE_NGSPICE")):
        if candidate:
            path = Path(candidate)
            looked.append(str(path))
            if path.is_file() and os.access(path, os.X_OK):
                return path
            resolved = shutil.which(str(candidate))
            if resolved:
                return Path(resolved)
    found = shutil.which("ngspice")
    if found:
        return Path(found)
    looked.append("ngspice on PATH")
    raise NgspiceNotFoundError(
        f"ngspice executable not found (looked at: {', '.join(looked)}); {_INSTALL_HINT}, "
        "or set MEMSPICE_NGSPICE to its path"
    )


def find_libngspice(explicit: str | os.PathLike | None = None) -> Path:
    """Path of the ngspice shared library (libngspice.so.0)."""
    looked = []
    if explicit and Path(explicit).is_file():
        return Path(explicit)
    env = os.environ.get("NGSPICE_LIBRARY_PATH")
    if env and not Path(env).is_file():
        # PySpice would load it as given and fail with a long traceback: say it here, in one line
        raise NgspiceNotFoundError(
            f"NGSPICE_LIBRARY_PATH={env}: no such file; point it at libngspice.so.0 (e.g. "
            f"/usr/lib/x86_64-linux-gnu/libngspice.so.0), unset it, or use --backend subprocess")
    for candidate in (explicit, env):
        if candidate:
            looked.append(str(candidate))
            if Path(candidate).is_file():
                return Path(candidate)
    for candidate in _LIB_CANDIDATES:
        looked.append(candidate)
        if Path(candidate).is_file():
            return Path(candidate)
    name = ctypes.util.find_library("ngspice")
    if name:
        for directory in ("/usr/lib", "/usr/local/lib", "/lib"):
            for path in Path(directory).rglob(name):
                return path
    raise NgspiceNotFoundError(
        f"ngspice shared library not found (looked at: {', '.join(looked)}); {_INSTALL_HINT}, "
        "or set NGSPICE_LIBRARY_PATH to libngspice.so.0"
    )


def ngspice_version(explicit: str | os.PathLike | None = None) -> str:
    """The version line of the ngspice that :func:`find_ngspice` finds (e.g. ``ngspice-39``), or
    ``"not found"``: for provenance records, so it never raises."""
    import subprocess

    try:
        exe = find_ngspice(explicit)
        text = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=20,
                              stdin=subprocess.DEVNULL).stdout
    except (NgspiceNotFoundError, OSError, subprocess.SubprocessError):
        return "not found"
    return next((ln.strip("* ").strip() for ln in text.splitlines() if "ngspice-" in ln), text.strip())
