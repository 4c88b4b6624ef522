"""Transient decks of the Q-cell ADC: conversions in the static or precharge evaluation scheme, the
cell array read in the conversion timing, and the phases of the energy split (pure text emission).

Split out of :mod:`memspice.netlist.qcell` (the cell, encoder and DC decks, imported here), with the
golden-netlist rendering that needs both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from memspice.netlist import qcell as q
from memspice.netlist.cards import Card, Pulse, Pwl, VSource
from memspice.netlist.deck import Alter, Analyze, Deck, Tran
from memspice.spec.adc import AdcSpec
from memspice.spec.device import DeviceCard

# -- transient ----------------------------------------------------------------------------------


# Extra sources of the precharge scheme (evaluation scheme "precharge", see adc_tran_deck).
PRECHARGE_SUPPLIES = {
    "sen": "sense enable: supply of the encoder ROM, pulsed on from sense_s to the end of the read",
    "rst": "bit-line reset control, off from sense_s to the end of the read",
}


def tran_supplies(spec: AdcSpec) -> dict[str, str]:
    """The supply sources of the transient deck, by name, with what each feeds."""
    if spec.timing.scheme == "precharge":
        return {**q.SUPPLIES, **PRECHARGE_SUPPLIES}
    return dict(q.SUPPLIES)


def tran_vectors(spec: AdcSpec) -> tuple[str, ...]:
    vec = [f"i(v{name})" for name in tran_supplies(spec)]
    vec += [f"v({n})" for n in ("in", "vread_n", "vpu_n")]
    vec += [f"v(d{j})" for j in range(spec.bits)]
    vec += [f"v(ml{k})" for k in range(spec.n_cells)]
    return tuple(vec)


def input_waveform(spec: AdcSpec, inputs_v: Sequence[float]) -> Pwl:
    """Input held per conversion; it moves to the next value during the idle time before each read."""
    t = spec.timing
    pts: list[tuple[float, float]] = [(0.0, float(inputs_v[0]))]
    for c in range(1, len(inputs_v)):
        t0 = c * t.period_s - t.input_edge_s - t.edge_s
        pts.append((t0 - t.input_edge_s, float(inputs_v[c - 1])))
        pts.append((t0, float(inputs_v[c])))
    return Pwl(tuple(pts))


def read_times_s(spec: AdcSpec, n: int) -> np.ndarray:
    """Start of each read (s): conversion c reads from c * period + 2 edges for read_s."""
    t = spec.timing
    return np.arange(n) * t.period_s + 2 * t.edge_s


def _periodic_pwl(levels: Sequence[tuple[float, float]], idle_v: float, n: int, period_s: float,
                  edge_s: float) -> Pwl:
    """``idle_v``, then each (start_s, level) of ``levels`` (times within a period, ascending), back to
    ``idle_v`` at the last start; repeated for ``n`` periods, every change an ``edge_s`` ramp."""
    pts: list[tuple[float, float]] = [(0.0, idle_v)]
    for c in range(n):
        prev = idle_v
        for t0, v in levels:
            t_abs = c * period_s + t0
            pts += [(t_abs, prev), (t_abs + edge_s, v)]
            prev = v
    return Pwl(tuple(pts))


def stimulus_ramps_s(spec: AdcSpec, n: int) -> list[tuple[float, float]]:
    """(start, stop) times (s) of every stimulus edge of :func:`adc_tran_deck` over ``n`` conversions."""
    t = spec.timing
    start = 2 * t.edge_s
    within = [start, start + t.read_s]
    if t.scheme == "precharge":
        within += [start + t.precharge_s, start + t.sense_s - t.edge_s, start + t.sense_s]
    ramps = [(c * t.period_s + w, c * t.period_s + w + t.edge_s) for c in range(n) for w in within]
    for c in range(1, n):
        t0 = c * t.period_s - t.input_edge_s - t.edge_s
        ramps.append((t0 - t.input_edge_s, t0))
    return sorted(ramps)


def phase_edges_s(spec: AdcSpec, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The phases of the energy split (:func:`memspice.extract.energy.split_energies`) of ``n``
    conversions: their edges (s, from 0 to the end) and a flag per phase, True for a stimulus edge."""
    ramps = stimulus_ramps_s(spec, n)
    edges = np.unique(np.concatenate([[0.0], np.ravel(ramps), [n * spec.timing.period_s]]))
    mid = 0.5 * (edges[:-1] + edges[1:])
    flags = np.zeros(mid.size, bool)
    for a, b in ramps:
        flags |= (mid > a) & (mid < b)
    return edges, flags


def read_stimuli(spec: AdcSpec, n: int, *, encoder: bool) -> list[Card]:
    """Supplies and controls of ``n`` conversions in the spec's evaluation scheme (see :func:`adc_tran_deck`)."""
    t = spec.timing
    cell = spec.cell
    start = 2 * t.edge_s
    width = t.read_s - t.edge_s
    # idle at the source reference, so no current flows through the dividers between reads
    read = Pulse(cell.v_ref_v, cell.v_read_v, start, t.edge_s, t.edge_s, width, t.period_s)
    extra: list[Card] = []
    if t.scheme == "precharge":
        end = start + t.read_s
        pull: Pulse | Pwl = _periodic_pwl([(start, 0.0), (start + t.precharge_s, cell.v_pu_v), (end, cell.vdd_v)],
                                          cell.vdd_v, n, t.period_s, t.edge_s)
        sense = start + t.sense_s
        if encoder:
            extra = [VSource("sen", "vsen_n", "0", 0.0,
                             _periodic_pwl([(sense, cell.vdd_v), (end, 0.0)], 0.0, n, t.period_s, t.edge_s)),
                     VSource("rst", "vrst_n", "0", cell.vdd_v,
                             _periodic_pwl([(sense - t.edge_s, 0.0), (end, cell.vdd_v)], cell.vdd_v, n, t.period_s,
                                           t.edge_s))]
    else:
        pull = Pulse(cell.vdd_v, cell.v_pu_v, start, t.edge_s, t.edge_s, width, t.period_s)
    cards: list[Card] = [VSource("read", "vread_n", "0", cell.v_ref_v, read),
                         VSource("ref", "vref_n", "0", cell.v_ref_v),
                         VSource("ml", "vml_n", "0", cell.vdd_v),
                         VSource("inv", "vinv_n", "0", cell.vdd_v),
                         VSource("pu", "vpu_n", "0", cell.vdd_v, pull)]
    if encoder:
        cards.append(VSource("enc", "venc_n", "0", cell.vdd_v))
    return cards + extra


def cells_timed_deck(spec: AdcSpec, card: DeviceCard, g_lower_s: Sequence[float], g_upper_s: Sequence[float],
                     inputs_v: np.ndarray, delvto_v: np.ndarray | None = None) -> Deck:
    """The cell array (no encoder) read in the conversion timing, each cell from its own input.

    ``inputs_v`` (V) has one row per conversion and one column per cell: cell k converts
    ``inputs_v[c, k]`` in conversion c (both of its input gates on node ``in<k>``), so one transient
    steps every cell across its own bounds at once. Cell outputs sampled at the end of each read give
    the bounds in the timing the converter uses (write-verify in timing, :mod:`memspice.characterize.adc.timed`).

    The deck holds ``len(g_lower_s)`` cells (default: the spec's array); they do not interact (ideal
    supplies, an input source each), so a deck's cells can be slots holding cells of several chips
    (closed-loop chips in the timing, :mod:`memspice.characterize.adc.chips_timed`), each with its own
    threshold shifts ``delvto_v`` (V, slots x 9 in the order of :data:`~memspice.netlist.qcell.CELL_DEVICES`;
    ``alter`` steps before the transient; None: nominal transistors, no steps).
    """
    x = np.asarray(inputs_v, dtype=float)
    n = x.shape[0]
    slots = len(g_lower_s)
    cards: list[Card] = list(q._preamble(spec, card))
    for k in range(slots):
        cards += q._cell_cards(k, card, float(g_lower_s[k]), float(g_upper_s[k]), in_a=f"in{k}", in_b=f"in{k}")
        cards.append(VSource(f"in{k}", f"in{k}", "0", float(x[0, k]), input_waveform(spec, x[:, k])))
    cards += read_stimuli(spec, n, encoder=False)
    t = spec.timing
    vectors = tuple(f"v(out{k})" for k in range(slots))
    steps: list = []
    if delvto_v is not None:
        dv = np.asarray(delvto_v, dtype=float)
        steps = [Alter(name, "delvto", float(v)) for k in range(slots)
                 for name, v in zip(q.cell_transistor_names(k), dv[k], strict=True)]
    steps.append(Analyze(Tran(t.max_step_s / 5, n * t.period_s, t.max_step_s), vectors, label="timed"))
    return Deck(title=f"qcell cells {t.scheme} timing", cards=cards, steps=steps,
                header=q.header(spec, card, "cell bounds in the conversion timing"))


def adc_tran_deck(spec: AdcSpec, card: DeviceCard, g_lower_s: Sequence[float], g_upper_s: Sequence[float],
                  inputs_v: Sequence[float], *, frozen: bool = True, extra_vectors: Sequence[str] = ()) -> Deck:
    """Transient deck: one conversion per period for each input in ``inputs_v`` (V); ``frozen=False``
    lets the memristor states move (read disturb), ``extra_vectors`` are saved too.

    Static scheme: the read supply pulses from v_ref_v to v_read_v and the pull-up gate from VDD to
    v_pu_v for read_s per period; the other supplies are constant. Every supply is its own source so
    its energy is measured: read, ref, ml, inv, pu (gate control), enc, and the input driver vin.

    Precharge scheme (``timing.scheme = "precharge"``): the pull-up gate goes to 0 V for precharge_s
    (the match line is precharged to VDD), then to v_pu_v (the pull-up is the keeper) until the end of
    the read; the read supply is on for the whole read (the 9T cell cannot hold its match line without
    the dividers); the encoder's ROM supply ``vsen`` rises and the bit-line reset ``vrst`` falls at
    sense_s, and the code is captured at the end of the read.
    """
    t = spec.timing
    n = len(inputs_v)
    precharge = t.scheme == "precharge"
    cards = [*q.adc_cards(spec, card, g_lower_s, g_upper_s, encoder=True, sense_enable=precharge, frozen=frozen),
             *read_stimuli(spec, n, encoder=True),
             VSource("in", "in", "0", float(inputs_v[0]), input_waveform(spec, inputs_v))]
    stop = n * t.period_s
    return Deck(title=f"qcell adc {spec.bits}-bit transient", cards=cards,
                steps=[Analyze(Tran(t.max_step_s / 5, stop, t.max_step_s), (*tran_vectors(spec), *extra_vectors),
                               label="tran")],
                header=q.header(spec, card, "conversion energy and delay"))


def render_golden(spec: AdcSpec, card: DeviceCard, conductances: Mapping[str, Sequence[float]],
                  include_dir: str | None = None) -> dict[str, str]:
    """Deterministic deck texts for ``netlists/`` (no timestamps): DC transfer and transient.

    ``conductances`` holds ``g_lower_s`` and ``g_upper_s`` (S, one per cell); the golden files use
    the first-order guesses of :func:`memspice.reference.qcell.first_guess_conductances` so that no
    simulation is needed to write them. ``include_dir``: see :func:`relocate_includes`.
    """
    gl, gu = conductances["g_lower_s"], conductances["g_upper_s"]
    centres = 0.5 * (spec.edges_v()[:-1] + spec.edges_v()[1:])
    inputs = centres[: min(4, spec.n_cells)]
    return {
        f"qcell_adc_{spec.bits}bit_dc.cir": q.relocate_includes(q.adc_dc_deck(spec, card, gl, gu),
                                                              include_dir).render(),
        f"qcell_adc_{spec.bits}bit_tran.cir": q.relocate_includes(adc_tran_deck(spec, card, gl, gu, inputs),
                                                                  include_dir).render(),
    }
