"""Pure numpy extraction for crossbar columns: errors against the ideal dot product, settling,
read energy, and the behavioural column model fit.

Conventions: currents in A, voltages in V, times in s, energies in J. A source's current follows
ngspice: ``i(V)`` flows into the + terminal through the source, so a source delivers ``-v * i``.
"""

from __future__ import annotations

import math

import numpy as np


def error_stats(ideal_a: np.ndarray, spice_a: np.ndarray, i_full_scale_a: float,
                min_fraction: float = 0.05) -> dict[str, float]:
    """Errors of the column outputs against the ideal sum of G*V.

    - ``rel_error_fs_*``: (spice - ideal) / I_fs, the error as a fraction of the full-scale output
      (what an ADC sees; defined for every read, also near zero output);
    - ``rel_error_*``: (spice - ideal) / |ideal| over reads with |ideal| >= ``min_fraction`` I_fs
      (a relative error is meaningless near zero output);
    - ``gain``, ``offset_fs``: least-squares line spice = gain * ideal + offset (offset / I_fs).
    """
    ideal = np.asarray(ideal_a, dtype=float).ravel()
    spice = np.asarray(spice_a, dtype=float).ravel()
    err = spice - ideal
    fs = err / i_full_scale_a
    big = np.abs(ideal) >= min_fraction * i_full_scale_a
    rel = err[big] / np.abs(ideal[big])
    out = {
        "reads": int(ideal.size),
        "rel_error_fs_max": float(np.max(np.abs(fs))) if fs.size else math.nan,
        "rel_error_fs_rms": float(np.sqrt(np.mean(fs**2))) if fs.size else math.nan,
        "rel_error_fs_mean": float(np.mean(fs)) if fs.size else math.nan,
        "rel_error_max": float(np.max(np.abs(rel))) if rel.size else math.nan,
        "rel_error_rms": float(np.sqrt(np.mean(rel**2))) if rel.size else math.nan,
        "rel_error_reads": int(rel.size),
        "rel_error_min_fraction": min_fraction,
    }
    if ideal.size >= 2 and np.ptp(ideal) > 0:
        gain, offset = np.polyfit(ideal, spice, 1)
        out["gain"] = float(gain)
        out["offset_fs"] = float(offset / i_full_scale_a)
    else:
        out["gain"] = math.nan
        out["offset_fs"] = math.nan
    return out


def settling_time(t: np.ndarray, y: np.ndarray, t_edge: float, t_end: float, y_final: float,
                  tolerance: float) -> float:
    """Time from ``t_edge`` until ``y`` enters ``y_final +- tolerance`` for good (before ``t_end``).

    The last exit from the band within [t_edge, t_end] is found on the samples and refined by
    linear interpolation between the two samples around it. 0 if ``y`` never leaves the band,
    nan if it is outside the band at ``t_end`` (the read is too short to settle).
    """
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    sel = (t >= t_edge) & (t <= t_end)
    ts, ys = t[sel], y[sel]
    if ts.size == 0:
        return math.nan
    outside = np.abs(ys - y_final) > tolerance
    if outside[-1]:
        return math.nan
    if not outside.any():
        return 0.0
    k = int(np.flatnonzero(outside)[-1])  # last sample outside; k + 1 is inside
    ya, yb = ys[k] - y_final, ys[k + 1] - y_final
    band = tolerance if ya > 0 else -tolerance
    frac = (ya - band) / (ya - yb) if ya != yb else 1.0
    return float(ts[k] + frac * (ts[k + 1] - ts[k]) - t_edge)


def delivered_energy_J(t: np.ndarray, v: np.ndarray, i: np.ndarray, *, t0: float | None = None,
                       t1: float | None = None, returned: bool = False) -> float:
    """Energy a source delivers, -integral of v * i dt, over [t0, t1] (J).

    Between two samples v and i are taken as linear in time, and their product is integrated
    exactly (dt/6 (2 v0 i0 + v0 i1 + v1 i0 + 2 v1 i1)): exact for a resistive network driven by
    piecewise-linear sources, whose breakpoints ngspice hits. Unless ``returned``, intervals in
    which the source absorbs energy count as zero: a driver does not recover the charge of a
    line it discharges.
    """
    t = np.asarray(t, dtype=float)
    v = np.asarray(v, dtype=float)
    i = np.asarray(i, dtype=float)
    lo = t[0] if t0 is None else t0
    hi = t[-1] if t1 is None else t1
    keep = (t >= lo - 1e-18) & (t <= hi + 1e-18)
    t, v, i = t[keep], v[keep], i[keep]
    if t.size < 2:
        return 0.0
    dt = np.diff(t)
    p = -dt / 6.0 * (2 * v[:-1] * i[:-1] + v[:-1] * i[1:] + v[1:] * i[:-1] + 2 * v[1:] * i[1:])
    return float(np.sum(p if returned else np.maximum(p, 0.0)))


def fit_column_model(s_in: np.ndarray, s_out: np.ndarray, degree: int = 3) -> dict[str, object]:
    """Least-squares polynomial ``s_out = sum_k c_k s_in^k`` (ascending), with fit quality.

    The degree drops to what the data support (at most points - 1). Coefficients are padded with
    zeros to ``degree + 1`` values. Residual statistics are in normalised output units.
    """
    x = np.asarray(s_in, dtype=float).ravel()
    y = np.asarray(s_out, dtype=float).ravel()
    deg = int(max(0, min(degree, x.size - 1, np.unique(x).size - 1)))
    coef = np.polynomial.polynomial.polyfit(x, y, deg) if x.size else np.zeros(1)
    coef = np.concatenate([coef, np.zeros(degree + 1 - coef.size)])
    pred = np.polynomial.polynomial.polyval(x, coef)
    resid = y - pred
    ss_tot = float(np.sum((y - y.mean()) ** 2)) if y.size else 0.0
    return {
        "coefficients": [float(c) for c in coef],
        "degree_fitted": deg,
        "residual_rms": float(np.sqrt(np.mean(resid**2))) if y.size else math.nan,
        "residual_max": float(np.max(np.abs(resid))) if y.size else math.nan,
        "r2": float(1.0 - np.sum(resid**2) / ss_tot) if ss_tot > 0 else math.nan,
        "points": int(x.size),
        "s_in_range": [float(x.min()), float(x.max())] if x.size else [math.nan, math.nan],
    }


def variability_sigma_a(v_rows_v: np.ndarray, sigma_g_s: float, cells_per_row: int = 2) -> np.ndarray:
    """Std of a column output (A) from independent conductance errors of std ``sigma_g_s`` (S) in
    every cell: sqrt(cells_per_row * sigma_g^2 * sum_i v_i^2) per read (first order: wires ignored).

    ``v_rows_v`` is (reads, rows); a differential pair has two cells per row.
    """
    v = np.atleast_2d(np.asarray(v_rows_v, dtype=float))
    return np.sqrt(cells_per_row * sigma_g_s**2 * np.sum(v**2, axis=1))
