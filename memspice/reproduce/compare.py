"""Comparison arithmetic of a reproduction: delta rows, window edges, spreads, RMS of maxima (pure numpy).

Every comparison of ``memspice reproduce`` is a :class:`Delta`: one quantity, its unit, the paper's
value, memspice's value and the basis both sides use (e.g. "switching energy only"). The table
renderings and the page take these rows as they are; the arithmetic lives here so that tests check it
on inputs with known answers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Delta:
    """One compared quantity. ``delta = memspice - paper``; ``ratio = memspice / paper``."""

    quantity: str
    unit: str
    paper: float
    memspice: float
    basis: str = ""

    @property
    def delta(self) -> float:
        return self.memspice - self.paper

    @property
    def ratio(self) -> float:
        return self.memspice / self.paper if self.paper not in (0.0,) and math.isfinite(self.paper) else math.nan

    def row(self) -> list:
        return [self.quantity, self.unit, self.paper, self.memspice, self.delta, self.ratio, self.basis]


DELTA_COLUMNS = ["quantity", "unit", "paper", "memspice", "delta", "ratio", "basis"]


def window_edges(input_v: np.ndarray, out_v: np.ndarray, level: float | None = None) -> tuple[float, float]:
    """Lower and upper edge (V) of the single window where ``out_v`` is low (a Q-cell match).

    The edges are the input values at which ``out_v`` crosses ``level`` (default: half its swing),
    linearly interpolated between samples: the falling crossing is the lower edge, the rising one the
    upper. Raises ValueError unless there is exactly one low window inside the sweep."""
    x = np.asarray(input_v, float)
    y = np.asarray(out_v, float)
    if level is None:
        level = 0.5 * (float(np.max(y)) + float(np.min(y)))
    low = y < level
    change = np.flatnonzero(np.diff(low.astype(int)))
    if len(change) != 2 or low[0] or not low[change[0] + 1]:
        raise ValueError(f"expected one low window inside the sweep, found {len(change)} crossings")

    def cross(k: int) -> float:
        x0, x1, y0, y1 = x[k], x[k + 1], y[k], y[k + 1]
        return float(x0 + (level - y0) * (x1 - x0) / (y1 - y0))

    return cross(int(change[0])), cross(int(change[1]))


def swing(v: np.ndarray) -> tuple[float, float]:
    """(min, max) of a node voltage."""
    arr = np.asarray(v, float)
    return float(np.min(arr)), float(np.max(arr))


def rms_of_max_abs(per_sample: Iterable[Sequence[float]]) -> float:
    """RMS over samples of each sample's max |value| (the paper's Fig. 4c/d statistic)."""
    peaks = np.array([float(np.max(np.abs(np.asarray(s, float)))) for s in per_sample])
    if peaks.size == 0:
        raise ValueError("no samples")
    return float(np.sqrt(np.mean(peaks**2)))


def spread(values: Sequence[float]) -> float:
    """Sample standard deviation (ddof=1), as the paper's Fig. 3c variation sheet."""
    arr = np.asarray(values, float)
    if arr.size < 2:
        raise ValueError("a spread needs at least two values")
    return float(np.std(arr, ddof=1))


def relative_rms(simulated: np.ndarray, measured: np.ndarray, floor: float) -> float:
    """RMS of (|sim| - |meas|) / (|meas| + floor): the fit's own residual measure."""
    s = np.abs(np.asarray(simulated, float))
    m = np.abs(np.asarray(measured, float))
    return float(np.sqrt(np.mean(((s - m) / (m + floor)) ** 2)))


def interp_at(x_src: np.ndarray, y_src: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``y_src`` read at ``x`` by linear interpolation (``x_src`` increasing)."""
    return np.interp(np.asarray(x, float), np.asarray(x_src, float), np.asarray(y_src, float))


def shares(parts: dict[str, float]) -> dict[str, float]:
    """Each part as a fraction of the sum."""
    total = sum(parts.values())
    if total <= 0:
        raise ValueError("parts must have a positive sum")
    return {k: v / total for k, v in parts.items()}


def best_design(rows: Sequence[dict], objective: str = "energy_switching_J") -> dict | None:
    """The design explorer's best row: among rows with status ``ok`` and a finite ``objective``, the one
    with the smallest ``objective`` (ties: the first). Values may be strings (read from a CSV). None when
    no row qualifies."""
    best, best_v = None, math.inf
    for row in rows:
        if str(row.get("status", "")).strip() != "ok":
            continue
        try:
            v = float(row.get(objective, "nan"))
        except (TypeError, ValueError):
            continue
        if math.isfinite(v) and v < best_v:
            best, best_v = row, v
    return best
