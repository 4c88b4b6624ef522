"""Extraction for the Q-cell ADC: windows, codes, transitions, INL/DNL, ENOB, energy, delay. Pure numpy.

Conventions (n bits, N = 2^n codes, input range [lo, hi], LSB = (hi - lo) / N):

- A cell *matches* where its output is below VDD/2 (the Q-cell output is low inside its window).
  Its lower bound is the falling crossing of the output, its upper bound the rising one.
- The code of a set of matching cells is the OR of their Gray codes, converted to binary
  (the transistor-level OR-ROM encoder computes exactly this; no match reads as code 0).
- Transition ``T_i`` (i = 1..N-1) is where the code goes from i-1 to i. From a swept code it is
  taken by the code-density rule ``T_i = v_0 + step * #(code < i) - step / 2`` (exact to half a
  step for a monotonic staircase; with sparkles it is the standard code-density estimate).
- INL and DNL are referred to the *target* boundaries (so they apply to non-uniform sets), in
  nominal LSB, with fixed end points ``T_0 = t_0 = lo`` and ``T_N = t_N = hi``:
  ``INL_k = (T_k - t_k) / LSB`` and ``DNL_k = ((T_{k+1} - T_k) - (t_{k+1} - t_k)) / LSB`` for
  codes k = 0..N-1 (so INL_0 = 0 and DNL_0 = INL_1, as in the paper's Fig. 4 source data).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

# -- crossings and cell windows -----------------------------------------------------------------


def crossings(x: np.ndarray, y: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolated positions where ``y`` crosses ``level``, and their signs (+1 rising)."""
    x = np.asarray(x, dtype=float)
    d = np.asarray(y, dtype=float) - level
    s = np.signbit(d)
    idx = np.nonzero(s[:-1] != s[1:])[0]
    d0, d1 = d[idx], d[idx + 1]
    frac = np.where(d1 != d0, d0 / (d0 - d1), 0.5)
    pos = x[idx] + frac * (x[idx + 1] - x[idx])
    return pos, np.where(d1 > d0, 1, -1)


def cell_bounds(v: np.ndarray, out: np.ndarray, vdd: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bound (V) of each cell from its output swept over ``v`` (NaN where absent).

    ``out`` has shape (points, cells). The lower bound is the first falling crossing of VDD/2, the
    upper bound the first rising crossing after it; a cell matching at the sweep start has lower
    bound NaN and one still matching at the end has upper bound NaN.
    """
    out = np.atleast_2d(np.asarray(out, dtype=float))
    n = out.shape[1]
    lower = np.full(n, np.nan)
    upper = np.full(n, np.nan)
    for k in range(n):
        pos, sign = crossings(v, out[:, k], vdd / 2)
        falling = pos[sign < 0]
        if falling.size:
            lower[k] = falling[0]
            rising = pos[(sign > 0) & (pos > falling[0])]
            if rising.size:
                upper[k] = rising[0]
        elif out[0, k] < vdd / 2:
            rising = pos[sign > 0]
            if rising.size:
                upper[k] = rising[0]
    return lower, upper


def branch_bound(v: np.ndarray, out: np.ndarray, vdd: float, side: str) -> np.ndarray:
    """Bound of isolated-branch test cells (programming map): falling (lower) or rising (upper) crossing."""
    out = np.atleast_2d(np.asarray(out, dtype=float))
    res = np.full(out.shape[1], np.nan)
    want = -1 if side == "lower" else 1
    for k in range(out.shape[1]):
        pos, sign = crossings(v, out[:, k], vdd / 2)
        pos = pos[sign == want]
        if pos.size == 1:
            res[k] = pos[0]
    return res


# -- codes --------------------------------------------------------------------------------------


def gray(k):
    k = np.asarray(k, dtype=np.int64)
    return k ^ (k >> 1)


def gray_to_binary(g):
    b = np.array(g, dtype=np.int64, copy=True)
    shift = b >> 1
    while np.any(shift):
        b ^= shift
        shift >>= 1
    return b


def codes_from_match(match: np.ndarray) -> np.ndarray:
    """Binary code per row of a (points, cells) match matrix: OR of Gray codes, then Gray to binary."""
    match = np.atleast_2d(np.asarray(match, dtype=bool))
    g = gray(np.arange(match.shape[1]))
    ored = np.zeros(match.shape[0], dtype=np.int64)
    for k in range(match.shape[1]):
        ored |= np.where(match[:, k], g[k], 0)
    return gray_to_binary(ored)


def codes_from_bits(bits_v: np.ndarray, vdd: float) -> np.ndarray:
    """Binary code per row of (points, n) output-bit voltages, bit j in column j (LSB first)."""
    b = np.atleast_2d(np.asarray(bits_v, dtype=float)) > vdd / 2
    weights = 1 << np.arange(b.shape[1], dtype=np.int64)
    return (b.astype(np.int64) * weights).sum(axis=1)


def ideal_codes(v: np.ndarray, boundaries: np.ndarray) -> np.ndarray:
    """Code of each input for a quantizer with the given internal boundaries ([b_i, b_i+1) -> i+1)."""
    return np.searchsorted(np.asarray(boundaries, dtype=float), np.asarray(v, dtype=float), side="right")


def transitions_from_codes(v: np.ndarray, codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Code-density transition estimates T_1..T_{N-1} (V) from codes on a uniform grid ``v``."""
    v = np.asarray(v, dtype=float)
    step = float(v[1] - v[0])
    counts = np.array([(codes < i).sum() for i in range(1, n_codes)])
    return v[0] + step * counts - step / 2


def dominant_sides(bits: int) -> list[str]:
    """For boundary i = 1..N-1: which bound sets the code transition with a Gray OR-ROM.

    ``"lower"`` means the lower bound of cell i (its Gray code has the extra bit, so in an overlap
    the code is already i), ``"upper"`` the upper bound of cell i-1.
    """
    n = 2 ** bits
    pop = [bin(int(gray(k))).count("1") for k in range(n)]
    return ["lower" if pop[i] > pop[i - 1] else "upper" for i in range(1, n)]


def switching_gray_bit(i: int) -> int:
    """The Gray bit that changes at transition i (code i-1 -> i)."""
    return int(gray(i) ^ gray(i - 1)).bit_length() - 1


# -- linearity ----------------------------------------------------------------------------------


def inl_dnl(measured: np.ndarray, targets: np.ndarray, lo: float, hi: float,
            lsb: float) -> tuple[np.ndarray, np.ndarray]:
    """INL and DNL (LSB) per code 0..N-1 against the target boundaries (see module docstring)."""
    m = np.concatenate([[lo], np.asarray(measured, dtype=float), [hi]])
    t = np.concatenate([[lo], np.asarray(targets, dtype=float), [hi]])
    inl = (m[:-1] - t[:-1]) / lsb
    dnl = (np.diff(m) - np.diff(t)) / lsb
    return inl, dnl


def enob(v: np.ndarray, codes: np.ndarray, edges: np.ndarray) -> float:
    """Effective bits from a uniform input ramp over [edges[0], edges[-1]].

    Each code is reconstructed at the midpoint of its *target* cell; ENOB = n - log2(e / e0), where
    e is the RMS reconstruction error of the measured codes and e0 that of the ideal quantizer with
    the same target edges. For a uniform set e0 = LSB / sqrt(12), the usual static ENOB.
    """
    v = np.asarray(v, dtype=float)
    edges = np.asarray(edges, dtype=float)
    keep = (v >= edges[0]) & (v <= edges[-1])
    v, codes = v[keep], np.asarray(codes)[keep]
    mid = 0.5 * (edges[:-1] + edges[1:])
    n_codes = len(edges) - 1
    ideal = np.clip(ideal_codes(v, edges[1:-1]), 0, n_codes - 1)
    e = np.sqrt(np.mean((v - mid[np.clip(codes, 0, n_codes - 1)]) ** 2))
    e0 = np.sqrt(np.mean((v - mid[ideal]) ** 2))
    return float(np.log2(n_codes) - np.log2(e / e0))


def walden_fom_J(energy_j: float, enob_bits: float) -> float:
    """Walden figure of merit: energy per conversion step, E / 2^ENOB (J)."""
    return energy_j / 2.0 ** enob_bits


# -- energy and delay ---------------------------------------------------------------------------


def delivered_charge_c(t: np.ndarray, i_branch: np.ndarray) -> float:
    """Charge (C) a source delivers, counting only outflow: integral of max(-i, 0) (SPICE branch sign)."""
    return float(np.trapezoid(np.maximum(-np.asarray(i_branch, dtype=float), 0.0), np.asarray(t, dtype=float)))


def absorbed_charge_c(t: np.ndarray, i_branch: np.ndarray) -> float:
    return float(np.trapezoid(np.maximum(np.asarray(i_branch, dtype=float), 0.0), np.asarray(t, dtype=float)))


def supply_energies_j(t: np.ndarray, currents: Mapping[str, np.ndarray],
                      rails_v: Mapping[str, float]) -> dict[str, float]:
    """Energy (J) drawn from each supply rail: rail voltage times the charge it delivers.

    Pulsed sources (the read driver, the pull-up gate control, the input driver) are counted as
    drivers powered from ``rails_v[name]``; charge flowing back into a source is not recovered.
    """
    return {name: rails_v[name] * delivered_charge_c(t, currents[name]) for name in currents}


def last_crossing_delay_s(t: np.ndarray, bits_v: np.ndarray, vdd: float, t_start: float, t_sample: float) -> float:
    """Time from ``t_start`` to the last VDD/2 crossing of any output bit before ``t_sample`` (NaN if none)."""
    t = np.asarray(t, dtype=float)
    keep = (t >= t_start) & (t <= t_sample)
    last = np.nan
    for col in np.atleast_2d(np.asarray(bits_v, dtype=float).T):
        pos, _ = crossings(t[keep], col[keep], vdd / 2)
        if pos.size:
            last = pos[-1] if np.isnan(last) else max(last, pos[-1])
    return float(last - t_start) if np.isfinite(last) else float("nan")


def sample_at(t: np.ndarray, y: np.ndarray, t_sample: float) -> float:
    return float(np.interp(t_sample, np.asarray(t, dtype=float), np.asarray(y, dtype=float)))


# -- programming map ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgrammingMap:
    """Boundary (V) of each branch versus its memristor's read conductance (S), monotonic."""

    g_s: np.ndarray
    lower_v: np.ndarray
    upper_v: np.ndarray

    def branch(self, side: str) -> tuple[np.ndarray, np.ndarray]:
        b = self.lower_v if side == "lower" else self.upper_v
        ok = np.isfinite(b)
        return self.g_s[ok], b[ok]

    def reachable_v(self, side: str) -> tuple[float, float]:
        _, b = self.branch(side)
        return (float(b.min()), float(b.max())) if b.size else (float("nan"), float("nan"))

    def is_monotonic(self, side: str) -> bool:
        _, b = self.branch(side)
        return bool(np.all(np.diff(b) > 0))

    def boundary_v(self, side: str, g_s) -> np.ndarray:
        """Boundary (V) for conductance(s) ``g_s`` (S), monotone cubic interpolation."""
        from scipy.interpolate import PchipInterpolator

        g, b = self.branch(side)
        return PchipInterpolator(g, b, extrapolate=True)(np.asarray(g_s, dtype=float))

    def conductance_s(self, side: str, boundary_v) -> np.ndarray:
        """Inverse map: conductance (S) whose branch bound is ``boundary_v`` (V).

        The exact inverse of :meth:`boundary_v` inside the measured range (root of the monotone
        interpolant), linear extrapolation with the end slope outside it.
        """
        from scipy.interpolate import PchipInterpolator
        from scipy.optimize import brentq

        g, b = self.branch(side)
        f = PchipInterpolator(g, b, extrapolate=True)
        df = f.derivative()
        out = []
        for target in np.atleast_1d(np.asarray(boundary_v, dtype=float)):
            if target <= b[0]:
                out.append(g[0] + (target - b[0]) / df(g[0]))
            elif target >= b[-1]:
                out.append(g[-1] + (target - b[-1]) / df(g[-1]))
            else:
                out.append(brentq(lambda x, t=target: f(x) - t, g[0], g[-1], xtol=1e-15, rtol=1e-12))
        res = np.array(out, dtype=float)
        return res if np.ndim(boundary_v) else res[0]

    def slope_v_per_s(self, side: str, g_s) -> np.ndarray:
        from scipy.interpolate import PchipInterpolator

        g, b = self.branch(side)
        return PchipInterpolator(g, b, extrapolate=True).derivative()(np.asarray(g_s, dtype=float))


# -- boundary design ----------------------------------------------------------------------------


def lloyd_max_boundaries(samples: np.ndarray, n_levels: int, *, clip_percentiles: tuple[float, float] = (0.5, 99.5),
                         max_samples: int = 8000, rtol: float = 1e-6, max_iter: int = 2000,
                         seed: int = 0) -> np.ndarray:
    """Lloyd-Max internal boundaries (n_levels - 1) of a sample set, as in the authors' code.

    Clip to the percentiles, subsample to ``max_samples`` (seeded), start from uniform boundaries on
    [min, max], then alternate levels = cell means and boundaries = midpoints of neighbouring levels
    until the relative change of the mean squared error is below ``rtol``.
    """
    x = np.asarray(samples, dtype=float).ravel()
    x = x[np.isfinite(x)]
    lo_p, hi_p = np.percentile(x, clip_percentiles)
    x = np.clip(x, lo_p, hi_p)
    if x.size > max_samples:
        x = np.random.default_rng(seed).choice(x, size=max_samples, replace=False)
    x = np.sort(x)
    lo, hi = x[0], x[-1]
    b = lo + (hi - lo) * np.arange(1, n_levels) / n_levels
    levels = 0.5 * (np.concatenate([[lo], b]) + np.concatenate([b, [hi]]))
    prev = np.inf
    for _ in range(max_iter):
        idx = np.searchsorted(b, x, side="right")
        for k in range(n_levels):
            cell = x[idx == k]
            if cell.size:
                levels[k] = cell.mean()
        levels = np.sort(levels)
        b = 0.5 * (levels[:-1] + levels[1:])
        mse = float(np.mean((x - levels[np.searchsorted(b, x, side="right")]) ** 2))
        if np.isfinite(prev) and abs(prev - mse) <= rtol * max(prev, 1e-300):
            break
        prev = mse
    return b
