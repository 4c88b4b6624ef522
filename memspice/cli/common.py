"""Helpers shared by command modules: parsing overrides and preparing output folders."""

from __future__ import annotations

import math
from pathlib import Path

from memspice.errors import InputError, SpecError


def parse_value(text: str) -> float | str | int | bool:
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
        raise InputError(f"value {text!r}: expected a finite number")
    return value


def parse_overrides(items: list[str] | None, option: str = "--param") -> dict[str, float | str | int | bool]:
    """``NAME=VALUE`` pairs from a repeated option; a malformed pair names the option."""
    out: dict[str, float | str | int | bool] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise SpecError(option, item, "NAME=VALUE with the value in SI units, e.g. r_on_ohm=2e3")
        out[name.strip()] = parse_value(value)
    return out


def prepare_out_dir(path: Path) -> Path:
    """Create the output folder; an existing file in its place is an input error."""
    if path.exists() and not path.is_dir():
        raise InputError(f"--out {path}: exists and is not a folder")
    path.mkdir(parents=True, exist_ok=True)
    return path
