"""Netlists of the Q-cell analog-CAM ADC (pure text emission from typed cards).

The 9T2M cell (DOMAIN.md section 2, the QIM connectivity): the nine transistors are the
subcircuit ``qcell_9t`` built here from :class:`~memspice.spec.adc.QCellSpec`; its two
memristors are instances of the card's model subcircuit, attached outside it between the read
supply and the divider nodes (so Monte Carlo can ``alter`` their state sources):

- MA (read supply -> A), MN1 (A -> source reference, gate IN_A): lower-bound divider;
- MB (read supply -> B), MN2 (B -> source reference, gate IN_B): upper-bound divider;
- MP0/MN0: inverter B -> IB (supply VDD_INV);
- MN3 (gate A), MN4 (gate IB): match-line pull-downs; MP1 (gate VPU): match-line pull-up;
- MP2/MN5: output inverter ML -> OUT (supply VDD_ML). OUT is low when the cell matches.

Match-line scheme ("ratioed pull-up, gated between reads"): during a read the pull-up is biased
at ``v_pu_v`` and fights the pull-downs (a static, ratioed match line, so DC sweeps give the
boundaries exactly); between reads the read supply is off and the pull-up gate is at VDD, so
A and B sit at the source reference, IB is high, MN4 holds every match line low and no static current
flows (the read supply idles at the source reference, so the dividers carry no current either).
Each read therefore charges only the matched cell's match line.

Encoder: a Gray-coded OR-ROM. Bit line j has a PMOS from the encoder supply with gate OUT_k for
every cell k whose Gray code has bit j set, a weak always-on NMOS pull-down, and an NMOS reset driven by the
pull-up control (on between reads only). Two matching
neighbours (an overlap of windows) OR two adjacent Gray codes, which is always one of the two
codes: no sparkle. Sense inverters restore the bit lines; an XOR chain converts Gray to binary.
Cell 0 (Gray 0) has no ROM device: no match at all reads as code 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memspice.netlist.cards import (
    Capacitor,
    Card,
    Comment,
    Include,
    Instance,
    Mosfet,
    Subckt,
    VSource,
)
from memspice.netlist.deck import Alter, Analyze, Dc, Deck
from memspice.netlist.device import memristor, model_include
from memspice.spec.adc import AdcSpec, EncoderSpec, MosSize, QCellSpec, TransistorModels
from memspice.spec.device import DeviceCard

SUBCKT = "qcell_9t"
PORTS = ("a", "b", "in_a", "in_b", "ml", "out", "vdd_ml", "vdd_inv", "vref", "vpu")


@dataclass(frozen=True)
class CellDevice:
    """One transistor of the Q-cell: instance name, role (size field of QCellSpec), type, nodes d g s b."""

    name: str
    role: str
    kind: str  # "n" or "p"
    d: str
    g: str
    s: str
    b: str


# Names follow the QIM netlist (MNM0..MNM5, MPM0..MPM2) without the doubled M.
CELL_DEVICES: tuple[CellDevice, ...] = (
    CellDevice("mn1", "input", "n", "a", "in_a", "vref", "0"),
    CellDevice("mn2", "input", "n", "b", "in_b", "vref", "0"),
    CellDevice("mp0", "inv_p", "p", "ib", "b", "vdd_inv", "vdd_inv"),
    CellDevice("mn0", "inv_n", "n", "ib", "b", "0", "0"),
    CellDevice("mn3", "pulldown", "n", "ml", "a", "0", "0"),
    CellDevice("mn4", "pulldown", "n", "ml", "ib", "0", "0"),
    CellDevice("mp1", "pullup", "p", "ml", "vpu", "vdd_ml", "vdd_ml"),
    CellDevice("mp2", "inv_p", "p", "out", "ml", "vdd_ml", "vdd_ml"),
    CellDevice("mn5", "inv_n", "n", "out", "ml", "0", "0"),
)

# Supply sources of the converter, by role (their energies are reported separately).
# Keys are the VSource names (written "V<name>", so ngspice calls them "v<name>").
SUPPLIES = {
    "read": "read supply of the dividers (pulsed per conversion)",
    "ref": "source reference of the input transistors",
    "ml": "match-line pull-ups and output inverters",
    "inv": "B-branch inverters",
    "pu": "pull-up gate control",
    "enc": "encoder",
    "in": "input driver",
}


def transistor_include(models: TransistorModels) -> Include:
    return Include(str(models.lib_path))


def _mos(dev: CellDevice, size: MosSize, cell: QCellSpec, prefix: str = "") -> Mosfet:
    model = cell.nmos if dev.kind == "n" else cell.pmos
    # Mosfet cards add the "M" prefix: "mn1" is written as "Mn1", which ngspice calls "mn1"
    return Mosfet(prefix + dev.name[1:], dev.d, dev.g, dev.s, dev.b, model, size.w_m, size.l_m)


def qcell_subckt(cell: QCellSpec) -> Subckt:
    """The nine transistors of the Q-cell as subcircuit ``qcell_9t`` (ports: :data:`PORTS`)."""
    body: list[Card] = [_mos(dev, getattr(cell, dev.role), cell) for dev in CELL_DEVICES]
    return Subckt(SUBCKT, PORTS, body)


def cell_transistor_names(k: int) -> list[str]:
    """ngspice names of the nine transistors of cell ``k`` (for ``alter``): ``m.xc<k>.mn1``..."""
    return [f"m.xc{k}.{dev.name}" for dev in CELL_DEVICES]


def memristor_state_source(name: str) -> str:
    """ngspice name of the source that holds the state of memristor instance ``name``."""
    return f"v.x{name.lower()}.vx0"


# -- encoder ------------------------------------------------------------------------------------


def gray(k: int) -> int:
    return k ^ (k >> 1)


def encoder_cards(bits: int, enc: EncoderSpec, models: QCellSpec, *, supply: str = "venc_n",
                  reset: str = "vpu_n", rom_supply: str | None = None) -> list[Card]:
    """Gray OR-ROM, sense inverters and Gray-to-binary XOR chain; outputs ``d0``..``d<n-1>``.

    ``models`` gives the model names (``.nmos``, ``.pmos``): the cell spec, which picks them.
    ``rom_supply`` (default: ``supply``) feeds the ROM PMOS: the precharge scheme pulses it as the
    sense enable, so the ROM does not fight the bit-line reset while every match line is precharged.
    """
    rom = rom_supply or supply
    cards: list[Card] = [Comment("encoder: Gray-coded OR-ROM (gate = cell output, active low)")]
    n_cells = 2 ** bits
    for j in range(bits):
        for k in range(1, n_cells):
            if (gray(k) >> j) & 1:
                # bulk on the constant supply: a pulsed ROM supply then does not charge the n-wells
                cards.append(Mosfet(f"rom{k}_{j}", f"bl{j}", f"out{k}", rom, supply, models.pmos,
                                    enc.rom_p.w_m, enc.rom_p.l_m))
        cards.append(Mosfet(f"blpd{j}", f"bl{j}", supply, "0", "0", models.nmos,
                            enc.bl_pulldown.w_m, enc.bl_pulldown.l_m))
        # reset between reads: the pull-up control is at VDD when idle and at v_pu_v (below the
        # threshold) during a read, so this device empties the bit line only between reads
        cards.append(Mosfet(f"blrst{j}", f"bl{j}", reset, "0", "0", models.nmos,
                            enc.bl_reset.w_m, enc.bl_reset.l_m))
        # sense: gn = not bl (= not g), g = not gn
        cards.extend(_inverter(f"sa{j}", f"bl{j}", f"gn{j}", enc, models, supply))
        cards.extend(_inverter(f"sb{j}", f"gn{j}", f"g{j}", enc, models, supply))
    cards.append(Comment("Gray to binary: d[n-1] = g[n-1], d[j] = d[j+1] xor g[j]"))
    top = bits - 1
    cards.extend(_inverter(f"bt{top}", f"gn{top}", f"d{top}", enc, models, supply))
    for j in range(top - 1, -1, -1):
        cards.extend(_inverter(f"dn{j + 1}", f"d{j + 1}", f"dn{j + 1}", enc, models, supply))
        cards.extend(_xor(f"x{j}", f"d{j + 1}", f"dn{j + 1}", f"g{j}", f"gn{j}", f"d{j}", enc, models, supply))
    return cards


def _inverter(name: str, inp: str, out: str, enc: EncoderSpec, models: QCellSpec, supply: str) -> list[Card]:
    return [
        Mosfet(f"{name}p", out, inp, supply, supply, models.pmos, enc.logic_p.w_m, enc.logic_p.l_m),
        Mosfet(f"{name}n", out, inp, "0", "0", models.nmos, enc.logic_n.w_m, enc.logic_n.l_m),
    ]


def _xor(name: str, a: str, an: str, b: str, bn: str, out: str, enc: EncoderSpec, models: QCellSpec,
         supply: str) -> list[Card]:
    """Static CMOS XOR (8 devices): pull-down (a.b)+(an.bn), pull-up (an+bn)(a+b) in PMOS terms."""
    n, p = enc.logic_n, enc.logic_p
    nm, pm = models.nmos, models.pmos
    return [
        Mosfet(f"{name}n1", out, a, f"{name}s1", "0", nm, n.w_m, n.l_m),
        Mosfet(f"{name}n2", f"{name}s1", b, "0", "0", nm, n.w_m, n.l_m),
        Mosfet(f"{name}n3", out, an, f"{name}s2", "0", nm, n.w_m, n.l_m),
        Mosfet(f"{name}n4", f"{name}s2", bn, "0", "0", nm, n.w_m, n.l_m),
        # PMOS conducting when its gate is low: parallel (a, b) gives (an + bn); parallel (an, bn) gives (a + b)
        Mosfet(f"{name}p1", f"{name}s3", a, supply, supply, pm, p.w_m, p.l_m),
        Mosfet(f"{name}p2", f"{name}s3", b, supply, supply, pm, p.w_m, p.l_m),
        Mosfet(f"{name}p3", out, an, f"{name}s3", supply, pm, p.w_m, p.l_m),
        Mosfet(f"{name}p4", out, bn, f"{name}s3", supply, pm, p.w_m, p.l_m),
    ]


def encoder_device_sizes(bits: int, enc: EncoderSpec) -> list[MosSize]:
    """The sizes of every encoder transistor (for the area model), in netlist order."""
    sizes = []
    n_cells = 2 ** bits
    for j in range(bits):
        sizes += [enc.rom_p for k in range(1, n_cells) if (gray(k) >> j) & 1]
        sizes += [enc.bl_pulldown, enc.bl_reset] + [enc.logic_p, enc.logic_n] * 2
    sizes += [enc.logic_p, enc.logic_n]
    for _ in range(bits - 1):
        sizes += [enc.logic_p, enc.logic_n] + [enc.logic_n] * 4 + [enc.logic_p] * 4
    return sizes


# -- area and wires -----------------------------------------------------------------------------


def device_area_m2(size: MosSize, spec: AdcSpec) -> float:
    """One transistor's area (m^2): its gate plus the extension rules scaled to the card's node."""
    lay = spec.layout
    k = spec.cell.models.node_nm / lay.rules_node_nm
    return (size.w_m + 2 * k * lay.ext_w_m) * (size.l_m + 2 * k * lay.ext_l_m)


def cell_area_m2(spec: AdcSpec) -> float:
    """Area of one Q-cell (m^2): its nine devices (layout model) times the routing factor, plus memristors."""
    devices = sum(device_area_m2(getattr(spec.cell, dev.role), spec) for dev in CELL_DEVICES)
    return devices * spec.layout.routing_factor + 2 * spec.layout.memristor_m2


def encoder_area_m2(spec: AdcSpec) -> float:
    sizes = encoder_device_sizes(spec.bits, spec.encoder)
    return sum(device_area_m2(s, spec) for s in sizes) * spec.layout.routing_factor


def wire_caps_f(spec: AdcSpec) -> dict[str, float]:
    """Lumped wire capacitance (F) of the lines that run along the cell array (input, bit lines)."""
    pitch = math.sqrt(cell_area_m2(spec))
    length = spec.n_cells * pitch
    c = spec.layout.wire_c_f_per_m * length
    return {"in": c, **{f"bl{j}": c for j in range(spec.bits)}}


# -- decks --------------------------------------------------------------------------------------


def header(spec: AdcSpec, card: DeviceCard, what: str) -> dict[str, str]:
    return {
        "circuit": f"{spec.bits}-bit Q-cell analog-CAM ADC ({what})",
        "spec hash": spec.spec_hash(),
        "card": f"{card.name} ({card.model})",
        "transistors": spec.cell.models.source,
    }


def _cell_instance(k: int, in_a: str = "in", in_b: str = "in") -> Instance:
    nodes = {"a": f"a{k}", "b": f"b{k}", "in_a": in_a, "in_b": in_b, "ml": f"ml{k}", "out": f"out{k}",
             "vdd_ml": "vml_n", "vdd_inv": "vinv_n", "vref": "vref_n", "vpu": "vpu_n"}
    return Instance(f"c{k}", SUBCKT, [nodes[p] for p in PORTS])


def _cell_cards(k: int, card: DeviceCard, g_lower_s: float, g_upper_s: float, *, in_a: str = "in",
                in_b: str = "in", frozen: bool = True) -> list[Card]:
    return [
        memristor(card, f"ma{k}", "vread_n", f"a{k}", g_s=g_lower_s, frozen=frozen),
        memristor(card, f"mb{k}", "vread_n", f"b{k}", g_s=g_upper_s, frozen=frozen),
        _cell_instance(k, in_a, in_b),
    ]


def _dc_supplies(cell: QCellSpec, *, encoder: bool) -> list[Card]:
    """Supplies held at their read-phase values (DC analyses)."""
    cards: list[Card] = [
        VSource("read", "vread_n", "0", cell.v_read_v),
        VSource("ref", "vref_n", "0", cell.v_ref_v),
        VSource("ml", "vml_n", "0", cell.vdd_v),
        VSource("inv", "vinv_n", "0", cell.vdd_v),
        VSource("pu", "vpu_n", "0", cell.v_pu_v),
    ]
    if encoder:
        cards.append(VSource("enc", "venc_n", "0", cell.vdd_v))
    return cards


def _preamble(spec: AdcSpec, card: DeviceCard) -> list[Card]:
    return [transistor_include(spec.cell.models), model_include(card), qcell_subckt(spec.cell)]


def sweep_range_v(spec: AdcSpec) -> tuple[float, float, float]:
    """Start, stop and step (V) of the DC transfer sweep: the input range plus margins, at sweep_step_lsb."""
    lsb = spec.lsb_v
    step = spec.sweep_step_lsb * lsb
    margin = spec.sweep_margin_lsb * lsb
    start = spec.input_lo_v - margin
    n = math.ceil((spec.input_hi_v + margin - start) / step - 1e-9)
    return start, start + n * step, step


def map_sweep_v(spec: AdcSpec) -> tuple[float, float, float]:
    """Start, stop and step (V) of the programming-map sweeps (wider than the input range)."""
    span = spec.input_hi_v - spec.input_lo_v
    start = max(spec.cell.v_ref_v, spec.input_lo_v - 0.5 * span)
    stop = spec.input_hi_v + 0.8 * span
    step = 0.002
    n = math.ceil((stop - start) / step - 1e-9)
    return start, start + n * step, step


def map_deck(spec: AdcSpec, card: DeviceCard, g_grid_s: Sequence[float]) -> Deck:
    """Programming-map deck: one isolated test cell per conductance and branch, one DC sweep.

    Lower-bound cells ``k`` (0..m-1) have IN_B tied to the source reference (MN2 off: B at the read
    supply, MN4 off), so only branch A acts; upper-bound cells ``m + k`` have IN_A at the top of the
    sweep and the lowest conductance in MA (A pulled to the reference, MN3 off), so only branch B
    acts. Output crossings of VDD/2 give the bounds.
    """
    g = [float(v) for v in g_grid_s]
    lo_g, _ = card.window_s()
    start, stop, step = map_sweep_v(spec)
    cards: list[Card] = [*_preamble(spec, card), *_dc_supplies(spec.cell, encoder=False),
                         VSource("in", "in", "0", start), VSource("fixhi", "fixhi", "0", stop)]
    m = len(g)
    for k, gk in enumerate(g):
        cards += _cell_cards(k, card, gk, gk, in_a="in", in_b="vref_n")
    for k, gk in enumerate(g):
        cards += _cell_cards(m + k, card, lo_g, gk, in_a="fixhi", in_b="in")
    vectors = tuple(f"v(out{k})" for k in range(2 * m))
    return Deck(title="qcell programming map", cards=cards,
                steps=[Analyze(Dc("vin", start, stop, step), vectors, label="map")],
                header=header(spec, card, "programming map"))


def adc_cards(spec: AdcSpec, card: DeviceCard, g_lower_s: Sequence[float], g_upper_s: Sequence[float], *,
              encoder: bool = True, sense_enable: bool = False, frozen: bool = True) -> list[Card]:
    """Cell array (and encoder) without supplies or input source.

    ``sense_enable``: the encoder's ROM runs from ``vsen_n`` and its bit-line reset from ``vrst_n``
    (precharge scheme) instead of the encoder supply and the pull-up control. ``frozen=False``:
    memristor states free to move (read-disturb check).
    """
    cards: list[Card] = list(_preamble(spec, card))
    for k in range(spec.n_cells):
        cards += _cell_cards(k, card, float(g_lower_s[k]), float(g_upper_s[k]), frozen=frozen)
    if encoder:
        if sense_enable:
            cards += encoder_cards(spec.bits, spec.encoder, spec.cell, reset="vrst_n", rom_supply="vsen_n")
        else:
            cards += encoder_cards(spec.bits, spec.encoder, spec.cell)
    caps = wire_caps_f(spec)
    for node, c in caps.items():
        if encoder or not node.startswith("bl"):
            cards.append(Capacitor(f"cw_{node}", node, "0", c))
    return cards


def dc_vectors(spec: AdcSpec, *, encoder: bool) -> tuple[str, ...]:
    vec = [f"v(out{k})" for k in range(spec.n_cells)]
    if encoder:
        vec += [f"v(d{j})" for j in range(spec.bits)] + [f"v(g{j})" for j in range(spec.bits)]
    return tuple(vec)


def adc_dc_deck(spec: AdcSpec, card: DeviceCard, g_lower_s: Sequence[float], g_upper_s: Sequence[float], *,
                encoder: bool = True) -> Deck:
    """DC transfer deck: the whole converter at its read-phase supplies, input swept at sweep_step_lsb."""
    start, stop, step = sweep_range_v(spec)
    cards = [*adc_cards(spec, card, g_lower_s, g_upper_s, encoder=encoder),
             *_dc_supplies(spec.cell, encoder=encoder), VSource("in", "in", "0", start)]
    return Deck(title=f"qcell adc {spec.bits}-bit dc transfer", cards=cards,
                steps=[Analyze(Dc("vin", start, stop, step), dc_vectors(spec, encoder=encoder), label="transfer")],
                header=header(spec, card, "DC transfer"))


def cells_sweep_deck(spec: AdcSpec, card: DeviceCard, g_lower_s: Sequence[float], g_upper_s: Sequence[float],
                     start: float, stop: float, step: float, extra_vectors: Sequence[str] = ()) -> Deck:
    """Independent cells (any number, both inputs tied to the swept input), no encoder: single-cell studies."""
    cards: list[Card] = [*_preamble(spec, card), *_dc_supplies(spec.cell, encoder=False),
                         VSource("in", "in", "0", start)]
    for k, (gl, gu) in enumerate(zip(g_lower_s, g_upper_s, strict=True)):
        cards += _cell_cards(k, card, float(gl), float(gu))
    vectors = tuple(f"v(out{k})" for k in range(len(g_lower_s))) + tuple(extra_vectors)
    return Deck(title="qcell cells dc sweep", cards=cards, steps=[Analyze(Dc("vin", start, stop, step), vectors)],
                header=header(spec, card, "cell sweep"))


def sample_alters(spec: AdcSpec, card: DeviceCard, g_lower_s: Sequence[float], g_upper_s: Sequence[float],
                  delvto_v: np.ndarray) -> list[Alter]:
    """``alter`` steps that set every varied value of one Monte Carlo sample (nothing leaks from the last).

    Per cell: the state sources of MA and MB (the states that read ``g_lower_s[k]``, ``g_upper_s[k]``
    S) and the BSIM4 instance parameter ``delvto`` (V) of its nine transistors (``delvto_v[k]`` in the
    order of :data:`CELL_DEVICES`).
    """
    x_lo = np.atleast_1d(card.state_for(np.asarray(g_lower_s, dtype=float)))
    x_hi = np.atleast_1d(card.state_for(np.asarray(g_upper_s, dtype=float)))
    dv = np.asarray(delvto_v, dtype=float)
    return [a for k in range(spec.n_cells) for a in cell_alters(k, x_lo[k], x_hi[k], dv[k])]


def cell_alters(k: int, x_lower: float, x_upper: float, delvto_v: Sequence[float]) -> list[Alter]:
    """``alter`` steps loading cell ``k``: the states of MA and MB and ``delvto`` (V) of its nine
    transistors (in the order of :data:`CELL_DEVICES`)."""
    return [Alter(memristor_state_source(f"ma{k}"), "dc", float(x_lower)),
            Alter(memristor_state_source(f"mb{k}"), "dc", float(x_upper)),
            *(Alter(name, "delvto", float(v)) for name, v in zip(cell_transistor_names(k), delvto_v, strict=True))]


def mc_analysis(spec: AdcSpec, label: str = "sample") -> Analyze:
    """The DC sweep of one Monte Carlo sample: the cell array at ``sweep_step_lsb``, cell outputs kept."""
    start, stop, step = sweep_range_v(spec)
    return Analyze(Dc("vin", start, stop, step), dc_vectors(spec, encoder=False), label=label)


def mc_cards(spec: AdcSpec, card: DeviceCard, g_lower_s: Sequence[float], g_upper_s: Sequence[float]) -> list[Card]:
    """The Monte Carlo circuit (parsed once): the cell array without encoder, read-phase supplies, input."""
    start, _, _ = sweep_range_v(spec)
    return [*adc_cards(spec, card, g_lower_s, g_upper_s, encoder=False),
            *_dc_supplies(spec.cell, encoder=False), VSource("in", "in", "0", start)]


# -- device tables for the independent reference ------------------------------------------------

TABLE_DEVICES = ("input", "pulldown", "pullup", "inv_n", "inv_p")


def table_grid_v(cell: QCellSpec) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """(start, stop, step) of the drain and gate sweeps (V) of :func:`device_table_deck`."""
    return (0.0, cell.vdd_v, 0.01), (0.0, 1.6, 0.01)


def device_table_deck(cell: QCellSpec) -> Deck:
    """Single transistors of each cell size, drain and gate swept: the I-V tables of the reference.

    Each device sits alone between its own source and a zero-volt ammeter ``vm_<role>`` at its
    drain; NMOS sources are where the cell has them (the input device at the source reference,
    the others at ground), PMOS sources at VDD. Nothing of the Q-cell's wiring is reused.
    """
    m = cell.models
    (d0, d1, dd), (g0, g1, dg) = table_grid_v(cell)
    cards: list[Card] = [
        transistor_include(m),
        VSource("d", "d", "0", 0.0),
        VSource("g", "g", "0", 0.0),
        VSource("ref", "ref", "0", cell.v_ref_v),
        VSource("dd", "vdd", "0", cell.vdd_v),
    ]
    sources = {"input": ("ref", "0"), "pulldown": ("0", "0"), "inv_n": ("0", "0"),
               "pullup": ("vdd", "vdd"), "inv_p": ("vdd", "vdd")}
    for role in TABLE_DEVICES:
        size = getattr(cell, role)
        model = cell.pmos if role in ("pullup", "inv_p") else cell.nmos
        src, bulk = sources[role]
        cards.append(VSource(f"m_{role}", "d", f"d_{role}", 0.0))
        cards.append(Mosfet(f"t_{role}", f"d_{role}", "g", src, bulk, model, size.w_m, size.l_m))
    vectors = tuple(f"i(vm_{role})" for role in TABLE_DEVICES)
    # ngspice nests the second source outside the first: the drain sweeps fastest
    steps = [Analyze(_Dc2("vd", d0, d1, dd, "vg", g0, g1, dg), vectors, label="tables")]
    return Deck(title="qcell device tables", cards=cards, steps=steps)


@dataclass(frozen=True)
class _Dc2(Dc):
    """Nested DC sweep: ``dc src start stop step src2 start2 stop2 step2``."""

    source2: str = ""
    start2: float = 0.0
    stop2: float = 0.0
    step2: float = 0.0

    def __init__(self, source, start, stop, step, source2, start2, stop2, step2):
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "stop", stop)
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "source2", source2)
        object.__setattr__(self, "start2", start2)
        object.__setattr__(self, "stop2", stop2)
        object.__setattr__(self, "step2", step2)

    def command(self) -> str:
        inner = super().command()
        outer = Dc(self.source2, self.start2, self.stop2, self.step2).command()[3:]
        return f"{inner} {outer}"


# -- golden decks -------------------------------------------------------------------------------


def relocate_includes(deck: Deck, include_dir: str | None) -> Deck:
    """The deck with ``.include`` cards of ``models/`` files written as ``<include_dir>/<file>``
    (golden netlists: ``../models`` runs from ``netlists/`` in any clone); None keeps absolute paths."""
    if include_dir is None:
        return deck
    from memspice.resources import models_dir

    root = models_dir().resolve()

    def move(c: Card) -> Card:
        if isinstance(c, Include):
            path = Path(c.path).resolve()
            if path.is_relative_to(root):
                return Include(f"{include_dir}/{path.relative_to(root).as_posix()}")
        return c

    return Deck(deck.title, [move(c) for c in deck.cards], steps=deck.steps, options=deck.options,
                header=deck.header)
