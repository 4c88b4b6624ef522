"""Parser of ngspice raw files (binary and ASCII, one or several plots per file). Pure code.

Vector names are put in one canonical form shared with the shared-library backend, so that
results compare key by key whatever produced them:

- node voltages ``v(node)`` (subcircuit nodes ``v(x1.node)``),
- branch currents ``i(vsource)``,
- device quantities ``@device[param]``,
- scale vectors as ngspice names them: ``time``, ``frequency``, ``v-sweep``, ``i-sweep``...

All names are lower case, as ngspice folds them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from memspice.errors import DataError


@dataclass
class Plot:
    """One analysis result: named vectors sharing one scale."""

    name: str
    title: str = ""
    scale: str = ""
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        key = canonical_name(name)
        try:
            return self.vectors[key]
        except KeyError:
            raise KeyError(f"{name!r} not in plot {self.name!r}; it has {sorted(self.vectors)}") from None

    def __contains__(self, name: str) -> bool:
        return canonical_name(name) in self.vectors

    @property
    def n_points(self) -> int:
        return len(next(iter(self.vectors.values()))) if self.vectors else 0


_SWEEP = re.compile(r"^[a-z]+-sweep$")


_PLOT_KINDS = {
    "operating point": "op",
    "dc transfer characteristic": "dc",
    "transient analysis": "tran",
    "ac analysis": "ac",
    "noise spectral density curves": "noise",
}


def plot_kind(name: str) -> str:
    """Analysis kind (``op``, ``dc``, ``tran``, ``ac``...) from a raw-file plot name or a plot id."""
    low = name.strip().lower()
    if low in _PLOT_KINDS:
        return _PLOT_KINDS[low]
    return low.rstrip("0123456789") or low


def canonical_name(name: str, kind: str | None = None) -> str:
    """Canonical form of a vector name as written in a raw file or held in ngspice's memory."""
    n = name.strip().lower()
    if n.startswith("i(@") and n.endswith(")"):
        return n[2:-1]
    if n.startswith("v(") and n.endswith(")") and _SWEEP.match(n[2:-1]):
        return n[2:-1]
    if n.startswith(("v(", "i(")) and n.endswith(")"):
        return n
    if n.endswith("#branch"):
        return f"i({n[: -len('#branch')]})"
    if n.startswith("@") or n in ("time", "frequency") or _SWEEP.match(n):
        return n
    if kind == "current":
        return f"i({n})"
    return f"v({n})"


def read_raw(path: str | Path) -> list[Plot]:
    """All plots of a raw file, in file order."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: raw file not found") from None
    return parse_raw(data, source=str(path))


def parse_raw(data: bytes, source: str = "<raw>") -> list[Plot]:
    plots: list[Plot] = []
    pos = 0
    while pos < len(data):
        while pos < len(data) and data[pos : pos + 1] in (b"\n", b"\r", b" "):
            pos += 1
        if pos >= len(data):
            break
        plot, pos = _parse_one(data, pos, source)
        plots.append(plot)
    return plots


def _parse_one(data: bytes, pos: int, source: str) -> tuple[Plot, int]:
    header: dict[str, str] = {}
    variables: list[tuple[str, str]] = []
    fmt = None
    in_vars = False
    while True:
        end = data.find(b"\n", pos)
        if end < 0:
            raise DataError(f"{source}: truncated raw file header")
        line = data[pos:end].decode("latin-1").rstrip("\r")
        pos = end + 1
        stripped = line.strip()
        if stripped in ("Binary:", "Values:"):
            fmt = stripped[:-1].lower()
            break
        if in_vars and (line.startswith(("\t", " ")) and stripped):
            parts = stripped.split()
            if len(parts) < 3:
                raise DataError(f"{source}: bad variable line {line!r}")
            variables.append((parts[1], parts[2]))
            continue
        if ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            header[key] = value.strip()
            in_vars = key == "variables"
    try:
        n_vars = int(header["no. variables"])
        n_points = int(header["no. points"])
    except (KeyError, ValueError):
        raise DataError(f"{source}: raw header lacks 'No. Variables' or 'No. Points'") from None
    if len(variables) != n_vars:
        raise DataError(f"{source}: header declares {n_vars} variables but lists {len(variables)}")
    flags = header.get("flags", "real").lower()
    is_complex = "complex" in flags
    if fmt == "binary":
        width = 2 if is_complex else 1
        count = n_points * n_vars * width
        nbytes = count * 8
        if pos + nbytes > len(data):
            raise DataError(f"{source}: binary data truncated ({len(data) - pos} of {nbytes} bytes)")
        arr = np.frombuffer(data, dtype="<f8", count=count, offset=pos).copy()
        pos += nbytes
        if is_complex:
            arr = arr.view(np.complex128)
        table = arr.reshape(n_points, n_vars)
    else:
        table, pos = _parse_ascii(data, pos, n_points, n_vars, is_complex, source)
    plot = Plot(name=plot_kind(header.get("plotname", "")), title=header.get("title", ""))
    for j, (name, kind) in enumerate(variables):
        key = canonical_name(name, kind)
        plot.vectors[key] = np.ascontiguousarray(table[:, j])
        plot.kinds[key] = kind
    plot.scale = canonical_name(variables[0][0], variables[0][1]) if variables else ""
    return plot, pos


def _parse_ascii(data: bytes, pos: int, n_points: int, n_vars: int, is_complex: bool, source: str):
    dtype = np.complex128 if is_complex else np.float64
    table = np.empty((n_points, n_vars), dtype=dtype)
    # Values are "index<TAB>v0" then one value per line; tokens are whitespace separated.
    tokens_needed = n_points * (n_vars + 1)
    values: list[str] = []
    while len(values) < tokens_needed:
        end = data.find(b"\n", pos)
        if end < 0:
            end = len(data)
        line = data[pos:end].decode("latin-1")
        if line.startswith("Title:"):
            break
        pos = end + 1
        values.extend(line.split())
        if end == len(data):
            break
    if len(values) < tokens_needed:
        raise DataError(f"{source}: ASCII data truncated ({len(values)} of {tokens_needed} values)")
    for i in range(n_points):
        row = values[i * (n_vars + 1) + 1 : (i + 1) * (n_vars + 1)]
        for j, tok in enumerate(row):
            if is_complex:
                re_s, _, im_s = tok.partition(",")
                table[i, j] = complex(float(re_s), float(im_s or 0.0))
            else:
                table[i, j] = float(tok)
    return table, pos
