"""The verify deck of closed-loop chip programming: the cell array with one input offset per cell.

In DC the cells of a Q-cell array do not interact (ideal supplies; the input drives only gates), so a
verify can read each cell around its own targets: cell k's two branches take ``v(in) + v(vofs<k>)``
(a series source from the swept input ``in``, set per chip by ``alter``), and one sweep a few LSB
long reads every verified cell of a chip on the part of the input range where its bounds should be,
on the transfer sweep's grid. States and ``delvto`` are set by ``alter`` per chip
(:func:`~memspice.netlist.qcell.sample_alters`), as in the Monte Carlo deck. Pure text emission.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from memspice.netlist import qcell as q
from memspice.netlist.cards import Card, VSource
from memspice.netlist.deck import Alter
from memspice.spec.adc import AdcSpec
from memspice.spec.device import DeviceCard


def offset_source(k: int) -> str:
    """ngspice name of cell ``k``'s input offset source (for ``alter``)."""
    return f"vofs{k}"


def verify_cards(spec: AdcSpec, card: DeviceCard, g_lower_s: Sequence[float], g_upper_s: Sequence[float],
                 cells: Sequence[int] | None = None) -> list[Card]:
    """The cell array without encoder at its read-phase supplies (parsed once per verify deck); cell k's
    input is ``in_c<k>`` = ``in`` + the offset source ``vofs<k>`` (0 V until altered). ``cells``: only
    these cells (keeping their indices and names), default all."""
    cards: list[Card] = [*q._preamble(spec, card)]
    for k in (range(spec.n_cells) if cells is None else cells):
        node = f"in_c{k}"
        cards.append(VSource(f"ofs{k}", node, "in", 0.0))
        cards += q._cell_cards(k, card, float(g_lower_s[k]), float(g_upper_s[k]), in_a=node, in_b=node)
    return [*cards, *q._dc_supplies(spec.cell, encoder=False), VSource("in", "in", "0", 0.0)]


def offset_alters(offsets_v: Sequence[float]) -> list[Alter]:
    """``alter`` steps setting every cell's input offset (V)."""
    return [Alter(offset_source(k), "dc", float(v)) for k, v in enumerate(offsets_v)]


def slot_alters(card: DeviceCard, j: int, g_lower_s: float, g_upper_s: float, delvto_v: Sequence[float]) -> list[Alter]:
    """``alter`` steps loading one cell of any chip (conductances in S, ``delvto`` in V of its nine
    transistors) into slot ``j`` of the verify deck's array, so that one sweep reads cells of several
    chips."""
    x_lo, x_hi = np.asarray(card.state_for(np.array([g_lower_s, g_upper_s], dtype=float)), dtype=float)
    return q.cell_alters(j, x_lo, x_hi, delvto_v)
