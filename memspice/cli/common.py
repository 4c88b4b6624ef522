"""Helpers shared by command modules: parsing overrides and preparing output folders.

An output folder belongs to one run: :func:`prepare_out_dir` writes ``.memspice-run.json`` (the
command and a hash of what defines its results) before anything is simulated, and refuses a
folder that holds another run's files unless ``--overwrite`` (then it is emptied first). The same
run again (a resume) is accepted. The folder is checked writable before any work starts; a folder
this process created and left holding nothing but the marker is removed when the command fails
(:func:`remove_unused_out_dirs`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from memspice.errors import InputError, SpecError

MARKER = ".memspice-run.json"

#: ``--overwrite``, the same on every command that writes an --out folder (default False)
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Empty an --out folder that holds another run's "
                                                           "files (refused otherwise).")]


def configure_logging(*, verbose: bool = False, quiet: bool = False) -> None:
    """Messages of the ``memspice`` loggers go to stderr: progress (INFO) by default, DEBUG too with
    ``-v``, only WARNING and above with ``-q`` (which also turns progress bars and lines off, in
    worker processes too: :mod:`memspice.progress` reads ``MEMSPICE_PROGRESS``)."""
    import logging
    import sys

    if verbose and quiet:
        raise SpecError("--verbose/--quiet", "both", "one of -v and -q")
    logger = logging.getLogger("memspice")
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    if not any(getattr(h, "_memspice_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("  %(message)s"))
        handler._memspice_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    if quiet:
        os.environ["MEMSPICE_PROGRESS"] = "none"


def cli_log(name: str):
    """A ``log=`` callback for the library's flows that sends each line to the ``memspice.<name>``
    logger (INFO), so ``-q`` silences it."""
    import logging

    return logging.getLogger(f"memspice.{name}").info


class Backend(StrEnum):
    """``--backend``: a closed choice, so a wrong word is rejected naming the option and the choices
    (the values are those of :data:`memspice.ngspice.engine.BACKENDS`; a test checks)."""

    subprocess = "subprocess"
    shared = "shared"
_PREPARED: list[tuple[Path, bool]] = []  # (folder, created by this process)


def parse_value(text: str, name: str = "value") -> float | str | int | bool:
    """A command-line value: a number in SI (``2e3``, ``1e-6``), true/false, or a word."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        if low.lstrip("+-").isdigit():
            return int(low)
        value = float(low)
    except ValueError:
        return text.strip()
    if not math.isfinite(value):
        raise SpecError(name, text, "a finite number")
    return value


def parse_overrides(items: list[str] | None, option: str = "--param") -> dict[str, float | str | int | bool]:
    """``NAME=VALUE`` pairs from a repeated option; a malformed pair names the option."""
    out: dict[str, float | str | int | bool] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise SpecError(option, item, "NAME=VALUE with the value in SI units, e.g. r_on_ohm=2e3")
        out[name.strip()] = parse_value(value, name.strip())
    return out


def check_writable(path: Path, option: str = "--out") -> bool:
    """Create ``path`` if needed and check that a file can be written in it; True if it was created."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {path}: exists and is not a folder")
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".memspice-probe-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except PermissionError:
        raise InputError(f"{option} {path}: permission denied (cannot write there); choose a writable folder") from None
    except OSError as err:
        raise InputError(f"{option} {path}: cannot write there ({err.strerror})") from None
    return created


def check_run_root() -> None:
    """The folder ngspice run directories go to (``MEMSPICE_RUN_ROOT`` or the temporary folder) is writable."""
    root = os.environ.get("MEMSPICE_RUN_ROOT")
    path = Path(root) if root else Path(tempfile.gettempdir()) / "memspice-runs"
    check_writable(path, "MEMSPICE_RUN_ROOT" if root else "ngspice run folder")


def prepare_out_dir(path: Path, command: str = "", identity: str = "", *, overwrite: bool = False,
                    option: str = "--out") -> Path:
    """The output folder of one run of ``command`` whose results are defined by ``identity`` (a hash).

    Refuses a folder holding another run's (or anyone's) files unless ``overwrite``; accepts the
    same run again (resume). Checks it is writable before any work starts.
    """
    path = Path(path)
    check_run_root()
    created = check_writable(path, option)
    marker = path / MARKER
    mine = {"command": command, "identity": identity}
    others = sorted(p.name for p in path.iterdir() if p.name != MARKER)
    if others:
        found = _read_marker(marker)
        same = found is not None and {k: found.get(k) for k in mine} == mine
        if not same:
            owner = (f"a run of `memspice {found.get('command')}` with other inputs" if found else
                     "files memspice did not write there")
            if not overwrite:
                raise InputError(f"{option} {path}: holds {owner} ({_entries(others)}); "
                                 f"choose another folder, or pass --overwrite to empty it first")
            if found is None:
                raise InputError(f"{option} {path}: holds {owner} ({_entries(others)}); "
                                 "--overwrite only empties folders written by memspice")
            for name in others:
                target = path / name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink()
    from memspice.io import write_json

    write_json(marker, mine)
    _PREPARED.append((path, created))
    return path


def _entries(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return f"{len(names)} entr{'y' if len(names) == 1 else 'ies'}: {shown}{', ...' if len(names) > 3 else ''}"


def track_out_dir(path: Path, created: bool) -> None:
    """Remove ``path`` (if ``created``) when the command fails before writing anything there."""
    _PREPARED.append((Path(path), created))


def _read_marker(marker: Path) -> dict | None:
    try:
        data = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def remove_unused_out_dirs() -> None:
    """After a failure: remove the marker from prepared folders holding nothing else, and the folders
    this process created."""
    while _PREPARED:
        path, created = _PREPARED.pop()
        try:
            if {p.name for p in path.iterdir()} <= {MARKER}:
                (path / MARKER).unlink(missing_ok=True)
                if created:
                    path.rmdir()
        except OSError:
            pass
