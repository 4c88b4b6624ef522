"""Device figures from simulated waveforms (pure numpy).

All functions take sampled waveforms: time in s, voltage in V, current in A, state (normalised).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def energy_J(t, v, i) -> float:
    """Energy delivered to the device, the integral of v(t) i(t) dt (trapezoidal), in J."""
    t, p = np.asarray(t, dtype=float), np.asarray(v, dtype=float) * np.asarray(i, dtype=float)
    return float(np.sum(0.5 * (p[1:] + p[:-1]) * np.diff(t)))


def mean_over(t, y, t_start: float, t_stop: float) -> float:
    """Time average of ``y`` over [t_start, t_stop] (trapezoidal on the simulation's own points)."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    grid = np.linspace(t_start, t_stop, 65)
    return float(np.mean(np.interp(grid, t, y)))


@dataclass(frozen=True)
class Onsets:
    """Applied voltages (V) at which the state first moved, on each polarity; NaN if it never did."""

    positive_v: float
    negative_v: float


def switching_onsets(v, x, *, dx_tol: float = 1e-4) -> Onsets:
    """Voltage at the first sample where the state has moved by more than ``dx_tol`` since the
    voltage last left zero, separately for positive and negative excursions.

    Meant for slow ramps: the onset found lies just above the true threshold, by the ramp's
    voltage change while the state moves ``dx_tol``.
    """
    v = np.asarray(v, dtype=float)
    x = np.asarray(x, dtype=float)
    found = {1: np.nan, -1: np.nan}
    sign_prev = 0
    x_ref = x[0]
    for k in range(len(v)):
        sign = int(np.sign(v[k]))
        if sign != sign_prev:
            x_ref = x[k]
            sign_prev = sign
        if sign != 0 and np.isnan(found[sign]) and abs(x[k] - x_ref) > dx_tol:
            found[sign] = float(v[k])
    return Onsets(positive_v=found[1], negative_v=found[-1])


def pinched(v, i, *, rel_tol: float = 1e-6) -> bool:
    """Whether the loop is pinched: the current vanishes wherever the voltage does."""
    v, i = np.asarray(v, dtype=float), np.asarray(i, dtype=float)
    near_zero = np.abs(v) <= np.max(np.abs(v)) * 1e-9
    return bool(np.all(np.abs(i[near_zero]) <= rel_tol * np.max(np.abs(i)))) if near_zero.any() else True


def lobe_areas(v, i) -> tuple[float, float]:
    """Areas (V*A) of the positive- and negative-voltage lobes of an i-v trajectory.

    A pinched loop's lobes turn in opposite senses, so each polarity's excursions (which start
    and end at the origin) are summed separately, by the shoelace formula; both are 0 for a
    memoryless device.
    """
    v, i = np.asarray(v, dtype=float), np.asarray(i, dtype=float)
    areas = {1: 0.0, -1: 0.0}
    for sign in (1, -1):
        mask = np.sign(v) == sign
        edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(int), [0]))))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            vs = np.concatenate(([0.0], v[start:stop], [0.0]))
            cs = np.concatenate(([0.0], i[start:stop], [0.0]))
            areas[sign] += 0.5 * abs(float(np.sum(vs[:-1] * cs[1:] - vs[1:] * cs[:-1])))
    return areas[1], areas[-1]
