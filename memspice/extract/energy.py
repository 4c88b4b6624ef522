"""Energy by cause from transient supply currents (pure numpy).

A supply's energy over a transient is its rail voltage times the charge it delivers (SPICE branch
sign: a source delivers when its branch current is negative; charge flowing back is not recovered,
as in :func:`memspice.extract.adc.supply_energies_j`). That total mixes two causes a designer treats
differently:

- **static** energy: a DC path conducting while the circuit sits in a state (a resistive divider, a
  ratioed pull-up fighting a pull-down). It scales with how long the state is held.
- **switching** energy: charge moved onto node capacitances when a node changes level (C V^2 per
  charge-discharge cycle). It does not depend on how long a state is held.

Split used here: the transient is cut into *phases* at the times the stimuli change (read start,
precharge end, sense enable, read end, input change), each edge of a stimulus a phase of its own.
Within each hold phase the circuit settles towards a DC state; the current it settles to (the mean
delivered current over the last ``settle_frac`` of the phase) is taken as the phase's static current
and charged for the whole phase; an edge phase carries the mean of the settled currents before and
after it (a ramp into a capacitance draws a constant current that is not DC). The rest of the delivered charge is
switching. Two assumptions, stated beside every number: a phase is long enough to
settle (otherwise the settled current is over-estimated for a decaying transient and the switching
part is under-estimated; the static part is capped at the delivered charge), and a static current that
ramps in with an edge is charged from the start of the phase (over-counting by about half the edge
time times the current).

The paper's 12.58 fJ per conversion (Hong et al. 2025, Fig. 6) matches switching energy only
(DOMAIN.md 1.3): every comparison with it uses :attr:`EnergySplit.switching_j`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


def _delivered(i_branch: np.ndarray) -> np.ndarray:
    return np.maximum(-np.asarray(i_branch, dtype=float), 0.0)


def phase_charges_c(t: np.ndarray, i_branch: np.ndarray, edges_s: Sequence[float],
                    settle_frac: float = 0.1, ramp: Sequence[bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Delivered and static charge (C) of one source in each phase ``[edges_s[p], edges_s[p + 1])``.

    ``t`` (s) and ``i_branch`` (A, SPICE branch sign) are the transient; ``edges_s`` (s) ascending.
    The static charge of a phase is its settled delivered current (mean over the last ``settle_frac``
    of the phase, time-weighted) times its duration, capped at the charge the source delivered in it.
    A phase marked in ``ramp`` is a stimulus edge: a source charging a capacitance through a constant
    slope draws a constant current that is not DC, so a ramp phase carries the mean of the settled
    currents of the hold phases before and after it (a DC path that follows a linear edge: exact for
    a resistor).
    """
    t = np.asarray(t, dtype=float)
    q = _delivered(i_branch)
    edges = np.asarray(edges_s, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("edges_s must be at least two strictly ascending times")
    if not 0 < settle_frac <= 1:
        raise ValueError("settle_frac must be in (0, 1]")
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (q[1:] + q[:-1]) * np.diff(t))])

    def integral(a: float, b: float) -> float:
        return float(np.interp(b, t, cum) - np.interp(a, t, cum))

    is_ramp = np.zeros(edges.size - 1, bool) if ramp is None else np.asarray(ramp, dtype=bool)
    if is_ramp.shape != (edges.size - 1,):
        raise ValueError("ramp must have one flag per phase (len(edges_s) - 1)")
    m = edges.size - 1
    delivered = np.empty(m)
    settled = np.full(m, np.nan)
    for p, (a, b) in enumerate(itertools.pairwise(edges.tolist())):
        delivered[p] = integral(a, b)
        if not is_ramp[p]:
            tail = settle_frac * (b - a)
            settled[p] = integral(b - tail, b) / tail
    hold = np.nonzero(~is_ramp)[0]
    for p in np.nonzero(is_ramp)[0]:
        before = hold[hold < p]
        after = hold[hold > p]
        i_before = settled[before[-1]] if before.size else 0.0
        i_after = settled[after[0]] if after.size else i_before
        settled[p] = 0.5 * (i_before + i_after)
    static = np.minimum(settled * np.diff(edges), delivered)
    return delivered, static


def ramp_phases(edges_s: Sequence[float], ramps_s: Sequence[tuple[float, float]]) -> np.ndarray:
    """One flag per phase of ``edges_s``: True where the phase lies inside a ramp (start_s, stop_s)."""
    edges = np.asarray(edges_s, dtype=float)
    mid = 0.5 * (edges[:-1] + edges[1:])
    flags = np.zeros(mid.size, bool)
    for a, b in ramps_s:
        flags |= (mid > a) & (mid < b)
    return flags


@dataclass(frozen=True)
class EnergySplit:
    """Energy (J) per conversion of each supply, split into static and switching parts."""

    static_j: dict[str, float]
    switching_j: dict[str, float]

    @property
    def total_j(self) -> dict[str, float]:
        return {k: self.static_j[k] + self.switching_j[k] for k in self.static_j}

    @property
    def static_total_j(self) -> float:
        return float(sum(self.static_j.values()))

    @property
    def switching_total_j(self) -> float:
        return float(sum(self.switching_j.values()))

    @property
    def energy_total_j(self) -> float:
        return self.static_total_j + self.switching_total_j

    def grouped(self, static_groups: Mapping[str, str], switching_groups: Mapping[str, str]) -> dict:
        """``{"static_J": {cause: J}, "switching_J": {group: J}}`` with supplies mapped to named causes."""
        out: dict[str, dict[str, float]] = {"static_J": {}, "switching_J": {}}
        for key, parts, groups in (("static_J", self.static_j, static_groups),
                                   ("switching_J", self.switching_j, switching_groups)):
            for name, e in parts.items():
                cause = groups.get(name, name)
                out[key][cause] = out[key].get(cause, 0.0) + e
        return out


def split_energies(t: np.ndarray, currents: Mapping[str, np.ndarray], rails_v: Mapping[str, float],
                   edges_s: Sequence[float], n_conversions: int = 1, settle_frac: float = 0.1,
                   ramp: Sequence[bool] | None = None) -> EnergySplit:
    """Static and switching energy (J per conversion) of each supply over the phases ``edges_s`` (s).

    ``currents`` (A, SPICE branch sign) and ``rails_v`` (V) are keyed by supply name; the energy of a
    supply is its rail times the delivered charge (pulsed sources count as drivers from their top
    rail), divided by ``n_conversions``. ``ramp``: see :func:`phase_charges_c`.
    """
    static: dict[str, float] = {}
    switching: dict[str, float] = {}
    for name, i in currents.items():
        delivered, stat = phase_charges_c(t, i, edges_s, settle_frac, ramp)
        v = float(rails_v[name])
        static[name] = v * float(np.sum(stat)) / n_conversions
        switching[name] = v * float(np.sum(delivered - stat)) / n_conversions
    return EnergySplit(static_j=static, switching_j=switching)
