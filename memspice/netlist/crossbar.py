"""Netlists of a crossbar tile: rows x (2 cols) cells, wire segments, row drivers and column sensing.

Topology (node names in brackets; r = row 0..rows-1, k = physical column 0..2 cols-1, column 2j
is G+ and 2j+1 is G- of logical column j):

- row driver ``Vin<r>`` [d<r>] -> optional driver resistor ``Rdrv<r>`` [e<r>] -> one row segment
  ``Rrw<r>_0`` -> [r<r>_0] -> segments ``Rrw<r>_<k>`` between [r<r>_<k-1>] and [r<r>_<k>]:
  drivers sit at the left edge, a signal reaches column k through k + 1 segments;
- cell (r, k) from [r<r>_<k>] to the column node [b<k>_<r>]: a memristor ``Xc<r>_<k>`` (1R), or
  the memristor to [m<r>_<k>] and an NMOS ``Ma<r>_<k>`` (drain m, gate [wl<r>], source b, bulk 0)
  for 1T1R, the word line driven by ``Vwl<r>``; with ``device = "resistor"`` a linear resistor
  ``Rc<r>_<k>`` of 1/G replaces the memristor;
- column segments ``Rcw<k>_<r>`` from [b<k>_<r>] down to [b<k>_<r+1>], the last one to [s<k>]:
  row 0 is farthest from the sense amplifier, row rows-1 nearest;
- sense: ``Vcs<k>`` (0 V) from [s<k>] into the TIA input [x<k>] (or to ground for an ammeter): its
  current ``i(vcs<k>)`` is the column current; op-amp ``Xtia<k>`` (models/opamp.lib, + input at
  ground, rails [vdd]/[vss] from ``Vdd``/``Vss``), feedback ``Rf<k>`` (and ``Cf<k>`` in transients)
  from [x<k>] to the output [o<k>]. The ADC sees v(o<2j+1>) - v(o<2j>) = R_f (I+ - I-).

Transient decks add a capacitance to ground at every row and column node (the wire).

Memristor states are DC sources inside the instances (``Vx0``), so a sample's conductances are
applied with ``alter @v.xc<r>_<k>.vx0[dc]`` on a deck parsed once. A batched Monte Carlo deck
(:func:`batched_dc_deck`) instead uses the state-port read variants, each state node [xs<r>_<k>] a
table of the sample index [idx] swept by one ``.dc``. Pure text emission.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from memspice.netlist.cards import (
    Capacitor,
    Card,
    Comment,
    Include,
    Instance,
    Mosfet,
    Param,
    Pwl,
    Resistor,
    TableSources,
    VSource,
)
from memspice.netlist.deck import Alter, Analysis, Analyze, Dc, Deck, Op, Step
from memspice.netlist.device import memristor
from memspice.netlist.read_cells import CELL_PARAM_PREFIX, READ_LIB, inline_cell
from memspice.resources import model_path
from memspice.spec.crossbar import CrossbarSpec

#: Frozen-read subcircuits (models/memristor_read.lib) by model name.
READ_SUBCKTS = {"vteam": "vteam_read", "yakopcic": "yakopcic_read"}
#: Their state-port variants (same library): ports p n x, no x0 (the state is v(x), driven from outside).
READ_X_SUBCKTS = {"vteam": "vteam_read_x", "yakopcic": "yakopcic_read_x"}
READ_X_PORTS = ("p", "n", "x")
#: Node (and source ``V<node>``) of the sample index a batched deck sweeps.
SAMPLE_INDEX = "idx"
OPAMP_LIB = "opamp.lib"
OPAMP_SUBCKT = "opamp"
OPAMP_PORTS = ("inp", "inn", "out", "vdd", "vss")
OPAMP_PARAMS = ("a0", "gbw", "rout", "iq", "gm")


# -- names --------------------------------------------------------------------------------------

def cell(r: int, k: int) -> str:
    return f"c{r}_{k}"


def input_source(r: int) -> str:
    """Name of row r's driver as ngspice knows it (alter target, i(...) vector)."""
    return f"vin{r}"


def wordline_source(r: int) -> str:
    return f"vwl{r}"


def sense_source(k: int) -> str:
    return f"vcs{k}"


def out_node(k: int) -> str:
    return f"o{k}"


def column_current(k: int) -> str:
    return f"i({sense_source(k)})"


def output_vectors(spec: CrossbarSpec) -> tuple[str, ...]:
    """Vectors a DC read keeps: every column current, and every TIA output."""
    vecs = [column_current(k) for k in range(spec.phys_cols)]
    if spec.sense.kind == "tia":
        vecs += [f"v({out_node(k)})" for k in range(spec.phys_cols)]
    return tuple(vecs)


def state_target(r: int, k: int) -> str:
    """Alter target of cell (r, k)'s state source."""
    return f"v.x{cell(r, k)}.vx0"


# -- values ------------------------------------------------------------------------------------

def cell_values(spec: CrossbarSpec, g_s: np.ndarray) -> np.ndarray:
    """What each cell instance takes: the state for a memristor, the resistance for a resistor."""
    g = np.asarray(g_s, dtype=float)
    if spec.device == "resistor":
        return 1.0 / g
    return np.asarray(spec.device_card.state_for(g), dtype=float)


def cell_steps(spec: CrossbarSpec, g_s: np.ndarray, changed: np.ndarray | None = None) -> list[Step]:
    """Alter steps that set cell conductances ``g_s`` (rows, 2 cols) in S (only ``changed`` cells)."""
    values = cell_values(spec, g_s)
    steps: list[Step] = []
    for r, k in np.argwhere(np.ones_like(values, dtype=bool) if changed is None else changed):
        if spec.device == "resistor":
            steps.append(Alter(f"r{cell(r, k)}", "resistance", float(values[r, k])))
        else:
            steps.append(Alter(state_target(r, k), "dc", float(values[r, k])))
    return steps


def input_steps(v_in_v: np.ndarray, changed: np.ndarray | None = None) -> list[Step]:
    """Alter steps that set the row drivers' DC levels (V)."""
    v = np.asarray(v_in_v, dtype=float)
    rows = range(v.size) if changed is None else np.flatnonzero(changed)
    return [Alter(input_source(r), "dc", float(v[r])) for r in rows]


# -- cards -------------------------------------------------------------------------------------

def _include(name: str, include_dir: str | None) -> Include:
    return Include(str(model_path(name)) if include_dir is None else f"{include_dir}/{name}")


def opamp_params(spec: CrossbarSpec) -> dict[str, float]:
    s = spec.sense
    return {"a0": s.a0, "gbw": s.gbw_hz, "rout": s.r_out_ohm, "iq": s.i_q_a, "gm": 1e-3}


@dataclass(frozen=True)
class Waves:
    """Transient drive: a PWL per row (None: constant at its DC level) and per word line."""

    inputs: Sequence[Pwl | None]
    wordlines: Sequence[Pwl | None] | None = None


def tile_cards(spec: CrossbarSpec, g_s: np.ndarray, v_in_v: np.ndarray, *, waves: Waves | None = None,
               capacitors: bool = False, include_dir: str | None = None) -> list[Card]:
    """The tile's cards at conductances ``g_s`` (rows, 2 cols; S) and row voltages ``v_in_v`` (V).

    ``include_dir`` writes model includes as ``<include_dir>/<file>`` (golden netlists) instead
    of absolute paths. ``capacitors`` adds the wire capacitances and the TIA feedback capacitor.
    """
    rows, pc = spec.rows, spec.phys_cols
    g = np.asarray(g_s, dtype=float)
    v = np.asarray(v_in_v, dtype=float)
    if g.shape != (rows, pc):
        raise ValueError(f"conductances of shape {g.shape}; the tile needs ({rows}, {pc})")
    if v.shape != (rows,):
        raise ValueError(f"{v.shape} row voltages; the tile needs ({rows},)")
    card = spec.device_card
    w = spec.wire
    cards: list[Card] = [Comment(
        f"crossbar tile: {rows} rows x {spec.cols} signed column(s) ({pc} physical), {spec.cell} cells, "
        f"{spec.device} ({card.name}, {spec.read_model} model), sense {spec.sense.kind}")]
    if spec.device == "memristor":
        cards.append(_include(READ_LIB if spec.read_model == "read" else card.decl.lib_path.name, include_dir))
    if spec.cell == "1T1R":
        cards.append(_include(spec.access.lib, include_dir))
    if spec.sense.kind == "tia":
        cards.append(_include(OPAMP_LIB, include_dir))
    values = cell_values(spec, g)
    params = card.spice_params()
    for r in range(rows):
        wave = waves.inputs[r] if waves is not None else None
        cards.append(VSource(f"in{r}", f"d{r}", "0", float(v[r]), wave))
        head = f"d{r}"
        if spec.drive.r_driver_ohm > 0:
            cards.append(Resistor(f"drv{r}", f"d{r}", f"e{r}", spec.drive.r_driver_ohm))
            head = f"e{r}"
        for k in range(pc):
            cards.append(Resistor(f"rw{r}_{k}", head if k == 0 else f"r{r}_{k - 1}", f"r{r}_{k}", w.r_row_segment_ohm))
        if spec.cell == "1T1R":
            wl = waves.wordlines[r] if waves is not None and waves.wordlines is not None else None
            cards.append(VSource(f"wl{r}", f"wl{r}", "0", spec.access.v_wl_v, wl))
    for r in range(rows):
        for k in range(pc):
            top = f"r{r}_{k}"
            bottom = f"m{r}_{k}" if spec.cell == "1T1R" else f"b{k}_{r}"
            name = cell(r, k)
            if spec.device == "resistor":
                cards.append(Resistor(name, top, bottom, float(values[r, k])))
            elif spec.read_model == "read":
                cards.append(Instance(name, READ_SUBCKTS[card.model], [top, bottom],
                                      {**params, "x0": float(values[r, k])}))
            else:
                cards.append(memristor(card, name, top, bottom, x0=float(values[r, k]), frozen=True))
            if spec.cell == "1T1R":
                cards.append(Mosfet(f"a{r}_{k}", bottom, f"wl{r}", f"b{k}_{r}", "0", spec.access.nmos,
                                    spec.access.w_m, spec.access.l_m))
    for k in range(pc):
        for r in range(rows):
            nxt = f"b{k}_{r + 1}" if r < rows - 1 else f"s{k}"
            cards.append(Resistor(f"cw{k}_{r}", f"b{k}_{r}", nxt, w.r_col_segment_ohm))
    if capacitors:
        for r in range(rows):
            for k in range(pc):
                if w.c_row_segment_f > 0:
                    cards.append(Capacitor(f"rw{r}_{k}", f"r{r}_{k}", "0", w.c_row_segment_f))
                if w.c_col_segment_f > 0:
                    cards.append(Capacitor(f"cw{k}_{r}", f"b{k}_{r}", "0", w.c_col_segment_f))
    if spec.sense.kind == "tia":
        cards.append(VSource("dd", "vdd", "0", spec.sense.v_supply_v))
        cards.append(VSource("ss", "vss", "0", -spec.sense.v_supply_v))
        op = opamp_params(spec)
        for k in range(pc):
            cards.append(VSource(f"cs{k}", f"s{k}", f"x{k}", 0.0))
            cards.append(Instance(f"tia{k}", OPAMP_SUBCKT, ["0", f"x{k}", out_node(k), "vdd", "vss"], op))
            cards.append(Resistor(f"f{k}", f"x{k}", out_node(k), spec.r_f_ohm))
            if capacitors and spec.c_f_f > 0:
                cards.append(Capacitor(f"f{k}", f"x{k}", out_node(k), spec.c_f_f))
    else:
        for k in range(pc):
            cards.append(VSource(f"cs{k}", f"s{k}", "0", 0.0))
    return cards


def header(spec: CrossbarSpec) -> dict[str, str]:
    return {"spec_hash": spec.spec_hash(), "card": spec.device_card.name,
            "card_hash": spec.device_card.spec_hash()}


def dc_deck(spec: CrossbarSpec, patterns: Sequence[tuple[np.ndarray, np.ndarray]], *,
            title: str = "crossbar tile DC reads", include_dir: str | None = None) -> Deck:
    """One deck reading every (conductances, row voltages) pattern: the first is the netlist's
    nominal, each later one is applied with alter steps (only the values that change) before an Op."""
    if not patterns:
        raise ValueError("no patterns")
    g0, v0 = patterns[0]
    cards = tile_cards(spec, g0, v0, include_dir=include_dir)
    vecs = output_vectors(spec)
    steps: list[Step] = [Analyze(Op(), vecs, label="p0")]
    g_prev, v_prev = np.asarray(g0, dtype=float), np.asarray(v0, dtype=float)
    for n, (g, v) in enumerate(patterns[1:], start=1):
        g, v = np.asarray(g, dtype=float), np.asarray(v, dtype=float)
        steps += cell_steps(spec, g, g != g_prev)
        steps += input_steps(v, v != v_prev)
        steps.append(Analyze(Op(), vecs, label=f"p{n}"))
        g_prev, v_prev = g, v
    return Deck(title, cards, steps=steps, header=header(spec))


def batches(spec: CrossbarSpec) -> bool:
    """Whether :func:`batched_dc_deck` can read this tile (memristor cells with the frozen-read model)."""
    return spec.device == "memristor" and spec.read_model == "read"


#: Batched cell forms: "inline" (default) writes each cell as its I-V B-source at top level, the card's
#: parameters as ``.param`` lines, mode switches folded; "subckt" instantiates the state-port subcircuit
#: per cell (the form before; the same numbers, measured 0.0 difference: ``scripts/bench_chunk_forms.py``).
CELL_FORMS = ("inline", "subckt")
def batched_fixed_cards(spec: CrossbarSpec, v_in_v: np.ndarray, cells: str = "inline") -> list[Card]:
    """The cards of a batched read that do not depend on the samples: the tile at row voltages
    ``v_in_v`` with every cell reading its state from node [xs<r>_<k>], and the index source ``Vidx``.

    ``cells="inline"``: each cell the state-port variant's I-V B-source ``Bmc<r>_<k>`` written at top level
    (:func:`~memspice.netlist.read_cells.inline_cell`) with the card's parameters as ``.param cellp_<name>``
    lines and its mode switch (VTEAM ``{iv}``) folded to the branch the card selects, so ngspice builds one
    branch's derivative per cell instead of both (a quarter of a 64-row chunk deck's ngspice CPU) and
    expands no subcircuit; ``cells="subckt"``: each cell an instance ``Xc<r>_<k>`` of the state-port
    subcircuit (the form before). Both give the same numbers (tests/sim/test_crossbar_batch.py).
    """
    if not batches(spec):
        raise ValueError("a batched read needs memristor cells with read_model 'read'")
    if cells not in CELL_FORMS:
        raise ValueError(f"cells={cells!r}: one of {', '.join(CELL_FORMS)}")
    sub, sub_x = READ_SUBCKTS[spec.device_card.model], READ_X_SUBCKTS[spec.device_card.model]
    where = {cell(r, k): (r, k) for r in range(spec.rows) for k in range(spec.phys_cols)}
    any_g = np.full((spec.rows, spec.phys_cols), spec.device_card.window_s()[1])  # x0 is dropped below
    cards: list[Card] = []
    params: dict[str, float] | None = None
    for c in tile_cards(spec, any_g, v_in_v):
        if isinstance(c, Instance) and c.subckt == sub:
            r, k = where[c.name]
            own = {p: v for p, v in c.params.items() if p != "x0"}
            if cells == "subckt":
                cards.append(Instance(c.name, sub_x, [*c.nodes, f"xs{r}_{k}"], own))
                continue
            if params is None:
                params = own
            elif own != params:  # pragma: no cover - every cell takes the card's parameters
                raise ValueError("inline cells need one parameter set for all cells")
            cards.append(inline_cell(c.name, *c.nodes, f"xs{r}_{k}", sub_x, own))
        else:
            cards.append(c)
    if params is not None:
        cards = [Param(CELL_PARAM_PREFIX + p, v) for p, v in sorted(params.items())] + cards
    return [*cards, VSource(SAMPLE_INDEX, SAMPLE_INDEX, "0", 0.0)]


@functools.cache
def _state_nodes(rows: int, phys_cols: int) -> tuple[str, ...]:
    return tuple(f"xs{r}_{k}" for r in range(rows) for k in range(phys_cols))


def batched_dc_deck(spec: CrossbarSpec, g_samples: np.ndarray, v_in_v: np.ndarray, *, title: str,
                    header: dict[str, str] | None = None, fixed: Sequence[Card] | None = None,
                    cells: str = "inline") -> Deck:
    """One deck reading ``n >= 2`` samples of cell conductances ``g_samples`` (n, rows, 2 cols; S) at
    row voltages ``v_in_v``: every cell is a state-port read variant whose state node [xs<r>_<k>] is a
    table source of the sample index [idx] (``Vidx``), and one ``dc vidx 0 n-1 1`` reads sample s at
    point s (one solve per sample, no control command per sample). Only when :func:`batches`.
    ``fixed``: :func:`batched_fixed_cards` of the same spec, voltages and ``cells`` form, e.g. rendered once
    (:class:`~memspice.netlist.deck.Rendered`) for all chunks.
    """
    g = np.asarray(g_samples, dtype=float)
    n = g.shape[0]
    if not batches(spec) or n < 2:
        raise ValueError(f"a batched read needs memristor cells with read_model 'read' and 2+ samples ({n})")
    states = cell_values(spec, g)  # elementwise: every sample at once
    names = _state_nodes(spec.rows, spec.phys_cols)
    tables = [TableSources(names, names, SAMPLE_INDEX, states.reshape(n, -1).T)]  # row-major cells, as names
    fixed = batched_fixed_cards(spec, v_in_v, cells) if fixed is None else fixed
    sweep = Analyze(Dc(f"v{SAMPLE_INDEX}", 0, n - 1, 1), output_vectors(spec), label="samples")
    return Deck(title, [*fixed, *tables], steps=[sweep], header=header or {})


def read_analyses(spec: CrossbarSpec, analysis: Analysis | None = None) -> list[Analyze]:
    return [Analyze(analysis or Op(), output_vectors(spec), label="read")]


def golden_deck(spec: CrossbarSpec, g_s: np.ndarray, v_in_v: np.ndarray, include_dir: str = "../models") -> Deck:
    """The deterministic deck kept in ``netlists/``: the tile at one pattern with an Op."""
    cards = tile_cards(spec, g_s, v_in_v, include_dir=include_dir)
    return Deck(f"memspice crossbar tile {spec.rows}x{spec.cols}", cards, steps=read_analyses(spec),
                header=header(spec))


# -- transient drive ---------------------------------------------------------------------------

def slot_times(spec: CrossbarSpec) -> np.ndarray:
    """Per read slot: (start, edge start, top start, top end, fall end) in s."""
    d = spec.drive
    out = []
    for s in range(d.slots):
        t0 = s * d.slot_s
        e = t0 + d.t_gap_s
        out.append((t0, e, e + d.t_rise_s, e + d.t_rise_s + d.t_read_s, e + 2 * d.t_rise_s + d.t_read_s))
    return np.asarray(out)


def pulse_pwl(spec: CrossbarSpec, levels: Sequence[float]) -> Pwl | None:
    """A PWL holding ``levels[s]`` (V) on the top of read slot s, 0 between reads (None if all 0)."""
    if not any(levels):
        return None
    pts: list[tuple[float, float]] = [(0.0, 0.0)]
    for (_, e, top, end, fall), level in zip(slot_times(spec), levels, strict=True):
        pts += [(e, 0.0), (top, float(level)), (end, float(level)), (fall, 0.0)]
    return Pwl(tuple(pts))


def transient_stop_s(spec: CrossbarSpec) -> float:
    return spec.drive.slots * spec.drive.slot_s + spec.drive.t_gap_s


def transient_max_step_s(spec: CrossbarSpec) -> float:
    """Largest step: 1/400 of a pulse top (the settling time's resolution before interpolation).

    The PWL corners are breakpoints, so ngspice steps finely through the edges on its own; a
    tenth-of-an-edge limit everywhere was 4x slower and moved the 128-row settling time by 2e-4
    and the read energy by 1e-6 (measured).
    """
    return spec.drive.t_read_s / 400.0


def pwl_value(pwl: Pwl | None, t: np.ndarray) -> np.ndarray:
    """Value of a PWL at times ``t`` (exact at ngspice's time points: PWL corners are breakpoints)."""
    if pwl is None:
        return np.zeros_like(np.asarray(t, dtype=float))
    tp, vp = zip(*pwl.points, strict=True)
    return np.interp(t, tp, vp)


def transient_vectors(spec: CrossbarSpec) -> tuple[str, ...]:
    vecs = [*output_vectors(spec), *(f"i({input_source(r)})" for r in range(spec.rows))]
    if spec.cell == "1T1R":
        vecs += [f"i({wordline_source(r)})" for r in range(spec.rows)]
    if spec.sense.kind == "tia":
        vecs += ["i(vdd)", "i(vss)"]
    return tuple(vecs)


def transient_deck(spec: CrossbarSpec, g_s: np.ndarray, levels_v: np.ndarray, *,
                   title: str = "crossbar tile transient read", include_dir: str | None = None) -> tuple[Deck, Waves]:
    """The tile read by pulses: ``levels_v`` (rows, slots) in V is each row's level in each slot.

    Word lines (1T1R) pulse with the same timing at ``access.v_wl_v``. Sources hold their top
    level as DC value, so an Op on the deck gives the settled read of the last slot.
    """
    levels = np.asarray(levels_v, dtype=float)
    slots = spec.drive.slots
    if levels.shape != (spec.rows, slots):
        raise ValueError(f"levels of shape {levels.shape}; expected ({spec.rows}, {slots})")
    waves = Waves(inputs=[pulse_pwl(spec, levels[r]) for r in range(spec.rows)],
                  wordlines=[pulse_pwl(spec, [spec.access.v_wl_v] * slots)] * spec.rows
                  if spec.cell == "1T1R" else None)
    cards = tile_cards(spec, g_s, levels[:, -1], waves=waves, capacitors=True, include_dir=include_dir)
    step = transient_max_step_s(spec)
    from memspice.netlist.deck import Tran

    tran = Tran(step_s=step, stop_s=transient_stop_s(spec), max_step_s=step)
    deck = Deck(title, cards, steps=[Analyze(tran, transient_vectors(spec), label="tran")], header=header(spec))
    return deck, waves


def physical_to_logical(values: np.ndarray) -> np.ndarray:
    """Differences of physical-column pairs along the last axis: (..., 2 cols) -> (..., cols) as + minus -."""
    a = np.asarray(values, dtype=float)
    return a[..., 0::2] - a[..., 1::2]
