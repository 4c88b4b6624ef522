"""Descriptions of the Q-cell analog-CAM ADC: transistor models, cell sizes, timing, Monte Carlo.

The converter (Hong et al., Nat. Commun. 2025; DOMAIN.md section 2): 2^n Q-cells share the input;
cell k matches the window [lower_k, upper_k) set by two memristor dividers; a Gray-coded OR-ROM
encoder turns the one-hot match into the n-bit code. Everything here is plain validated data: the
netlist builders (:mod:`memspice.netlist.qcell`) turn it into decks, the flows
(:mod:`memspice.characterize.adc`) run them.

Boundary sets are validated here without simulation (count, order, input range); whether the
memristor window can reach them needs the programming map and is checked before any ADC deck
runs (:func:`memspice.characterize.adc.check_reachable`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from memspice.errors import InputError, SpecError
from memspice.resources import model_path
from memspice.spec.base import Spec, check, check_positive, load_spec, param

# -- transistor model sets ---------------------------------------------------------------------


@dataclass(frozen=True)
class TransistorModels:
    """A transistor model file of ``models/`` as Python sees it (a test checks the two agree)."""

    name: str
    lib: str
    nmos: str
    pmos: str
    nmos_no_tunnelling: str
    pmos_no_tunnelling: str
    node_nm: float
    vdd_nominal_v: float
    l_min_m: float
    a_vt_v_m: float
    source: str

    @property
    def lib_path(self) -> Path:
        return model_path(self.lib)

    def sigma_vt_v(self, w_m: float, l_m: float) -> float:
        """Pelgrom threshold mismatch sigma (V) of a W x L device: A_VT / sqrt(W L)."""
        return self.a_vt_v_m / math.sqrt(w_m * l_m)


PTM_45NM_HP = TransistorModels(
    name="ptm_45nm_hp",
    lib="ptm_45nm_hp.lib",
    nmos="ptm45hp_nmos",
    pmos="ptm45hp_pmos",
    nmos_no_tunnelling="ptm45hp_nmos_ngt",
    pmos_no_tunnelling="ptm45hp_pmos_ngt",
    node_nm=45.0,
    vdd_nominal_v=1.0,
    l_min_m=45e-9,
    a_vt_v_m=2.0e-3 * 1e-6,  # 2.0 mV um, see the header of models/ptm_45nm_hp.lib
    source="PTM 45 nm HP (ASU), Zhao & Cao, IEEE TED 53(11) 2006",
)

PTM_22NM_HP = TransistorModels(
    name="ptm_22nm_hp",
    lib="ptm_22nm_hp.lib",
    nmos="ptm22hp_nmos",
    pmos="ptm22hp_pmos",
    nmos_no_tunnelling="ptm22hp_nmos_ngt",
    pmos_no_tunnelling="ptm22hp_pmos_ngt",
    node_nm=22.0,
    vdd_nominal_v=0.8,
    l_min_m=22e-9,
    a_vt_v_m=1.7e-3 * 1e-6,  # 1.7 mV um: 45 nm's 2.0 scaled with t_ox, see the header of models/ptm_22nm_hp.lib
    source="PTM 22 nm HP (ASU), Zhao & Cao, IEEE TED 53(11) 2006",
)

TRANSISTOR_MODELS: dict[str, TransistorModels] = {m.name: m for m in (PTM_45NM_HP, PTM_22NM_HP)}


def get_transistors(name: str) -> TransistorModels:
    try:
        return TRANSISTOR_MODELS[name]
    except KeyError:
        raise SpecError("cell.transistors", name, f"one of {', '.join(TRANSISTOR_MODELS)}") from None


# -- sizes and sub-specs ------------------------------------------------------------------------


@dataclass(frozen=True)
class MosSize(Spec):
    """Drawn width and length of one transistor."""

    w_m: float = param(doc="channel width", unit="m")
    l_m: float = param(doc="drawn channel length", unit="m")

    def validate(self) -> None:
        check(1e-8 <= self.w_m <= 1e-4, "w_m", self.w_m, "a width from 1e-08 to 1e-04 m")
        check(1e-8 <= self.l_m <= 1e-5, "l_m", self.l_m, "a length from 1e-08 to 1e-05 m")


@dataclass(frozen=True)
class QCellSpec(Spec):
    """The 9T2M Q-cell: supplies, bias and transistor sizes (memristors come from the device card)."""

    transistors: str = param("ptm_45nm_hp", "transistor model set (models/<name>.lib)")
    gate_tunnelling: bool = param(False, "use the cards' gate tunnelling currents (20x slower DC sweeps; pA-nA)")
    vdd_v: float = param(1.0, "supply of the match line, the inverters and the encoder", "V")
    v_read_v: float = param(0.8, "read supply at the top of both memristor dividers (pulsed per conversion)", "V")
    v_ref_v: float = param(0.05, "source reference of the two input transistors", "V")
    v_pu_v: float = param(0.2, "gate bias of the match-line PMOS pull-up during a read", "V")
    input: MosSize = param(MosSize(0.6e-6, 0.4e-6), "input NMOS of each divider (MN1, MN2)")
    pulldown: MosSize = param(MosSize(0.1e-6, 0.1e-6), "match-line NMOS pull-downs (MN3, MN4)")
    pullup: MosSize = param(MosSize(0.1e-6, 0.2e-6), "match-line PMOS pull-up (MP1)")
    inv_n: MosSize = param(MosSize(0.1e-6, 0.05e-6), "NMOS of the B-branch and output inverters (MN0, MN5)")
    inv_p: MosSize = param(MosSize(0.2e-6, 0.05e-6), "PMOS of the B-branch and output inverters (MP0, MP2)")

    def validate(self) -> None:
        models = get_transistors(self.transistors)
        check_positive("vdd_v", self.vdd_v, "V")
        check(0 < self.v_read_v <= self.vdd_v * 1.5, "v_read_v", self.v_read_v,
              f"a read supply in (0, {1.5 * self.vdd_v:g}] V")
        check(0 <= self.v_ref_v < self.v_read_v, "v_ref_v", self.v_ref_v,
              f"a source reference in [0, v_read_v = {self.v_read_v:g}) V")
        check(0 <= self.v_pu_v < self.vdd_v, "v_pu_v", self.v_pu_v,
              f"a pull-up gate bias in [0, vdd_v = {self.vdd_v:g}) V")
        for name in ("input", "pulldown", "pullup", "inv_n", "inv_p"):
            size = getattr(self, name)
            check(size.l_m >= models.l_min_m * (1 - 1e-9), f"{name}.l_m", size.l_m,
                  f"a length >= {models.l_min_m:g} m (minimum of {models.name})")

    @property
    def models(self) -> TransistorModels:
        return get_transistors(self.transistors)

    @property
    def nmos(self) -> str:
        """NMOS model name used in netlists (with or without gate tunnelling)."""
        m = self.models
        return m.nmos if self.gate_tunnelling else m.nmos_no_tunnelling

    @property
    def pmos(self) -> str:
        m = self.models
        return m.pmos if self.gate_tunnelling else m.pmos_no_tunnelling


@dataclass(frozen=True)
class EncoderSpec(Spec):
    """Gray-coded OR-ROM encoder with Gray-to-binary XOR chain (transistor level)."""

    rom_p: MosSize = param(MosSize(0.2e-6, 0.05e-6), "ROM PMOS (gate = cell output, active low)")
    bl_pulldown: MosSize = param(MosSize(0.1e-6, 0.3e-6), "weak always-on NMOS pull-down of each bit line")
    bl_reset: MosSize = param(MosSize(0.2e-6, 0.05e-6), "NMOS that empties each bit line between reads")
    logic_n: MosSize = param(MosSize(0.1e-6, 0.05e-6), "NMOS of sense inverters and XOR gates")
    logic_p: MosSize = param(MosSize(0.2e-6, 0.05e-6), "PMOS of sense inverters and XOR gates")


SCHEMES = ("static", "precharge")


@dataclass(frozen=True)
class TimingSpec(Spec):
    """Clocking of one conversion, used by the transient energy and delay measurement."""

    period_s: float = param(1e-9, "conversion period", "s")
    read_s: float = param(0.6e-9, "read window: read supply on, pull-up biased; the code is sampled at its end", "s")
    edge_s: float = param(20e-12, "rise and fall time of the read and pull-up control edges", "s")
    input_edge_s: float = param(50e-12, "transition time of the input between conversions", "s")
    conversions: int = param(8, "conversions simulated to average the energy (inputs at cell centres spread "
                             "evenly over the codes)")
    driver_supply_v: float = param(1.2, "supply of the input driver: its energy is this times the charge it delivers",
                                   "V")
    max_step_s: float = param(5e-12, "maximum transient time step", "s")
    # -- evaluation scheme (issue 12): one block
    scheme: str = param("static", "match-line evaluation: 'static' (ratioed pull-up held at v_pu_v for the whole "
                        "read) or 'precharge' (pull-up gate at 0 V precharges the match line, then keeps it at "
                        "v_pu_v as a keeper; the encoder is sense-enabled)")
    precharge_s: float = param(0.15e-9, "precharge scheme: precharge phase from the read start (pull-up gate at 0 V)",
                               "s")
    sense_s: float = param(0.3e-9, "precharge scheme: sense enable (encoder ROM supply on, bit-line reset off) from "
                           "the read start; the code is captured at the end of the read window", "s")

    def validate(self) -> None:
        check_positive("period_s", self.period_s, "s")
        check(self.scheme in SCHEMES, "scheme", self.scheme, f"one of {', '.join(SCHEMES)}")
        if self.scheme == "precharge":
            check(2 * self.edge_s <= self.precharge_s < self.read_s, "precharge_s", self.precharge_s,
                  f"a precharge phase from 2 edges ({2 * self.edge_s:g} s) to below the read window "
                  f"(read_s = {self.read_s:g} s)")
            check(self.sense_s >= self.precharge_s + self.edge_s, "sense_s", self.sense_s,
                  f"a sense time after the precharge ends (precharge_s + edge_s = "
                  f"{self.precharge_s + self.edge_s:g} s)")
            check(self.sense_s + 3 * self.edge_s <= self.read_s, "read_s", self.read_s,
                  f"a read window that ends after the match line and encoder can settle: at least sense_s + "
                  f"3 edges = {self.sense_s + 3 * self.edge_s:g} s")
        check(0 < self.read_s < self.period_s, "read_s", self.read_s,
              f"a read window in (0, period_s = {self.period_s:g}) s")
        check(0 < self.edge_s < self.read_s / 2, "edge_s", self.edge_s, "an edge time below half the read window")
        idle = self.period_s - self.read_s
        check(0 < self.input_edge_s < idle / 2, "input_edge_s", self.input_edge_s,
              f"an input transition time below half the idle time ({idle / 2:g} s)")
        check(1 <= self.conversions <= 256, "conversions", self.conversions, "from 1 to 256 conversions")
        check_positive("driver_supply_v", self.driver_supply_v, "V")
        check_positive("max_step_s", self.max_step_s, "s")


@dataclass(frozen=True)
class LayoutSpec(Spec):
    """Area model: each transistor occupies (W + 2 ext_w)(L + 2 ext_l), times a routing factor.

    ``ext_l_m`` covers the contacted source/drain on each side of the gate, ``ext_w_m`` the
    diffusion spacing to the next device; both are drawn at ``rules_node_nm`` and scale by the transistor
    card's node over it (a 22 nm card's devices are not spaced by 45 nm rules). The cell pitch follows, and
    with it the lumped wire capacitance of the input and bit lines (``wire_c_f_per_m`` times the array's
    length, :func:`memspice.netlist.qcell.wire_caps_f`), so the rules change energy too. Memristors sit in the back
    end above the cell (``memristor_m2`` each, counted only if it exceeds nothing below them: by default zero).
    """

    ext_w_m: float = param(0.09e-6, "diffusion extension/spacing on each side of the width, at rules_node_nm", "m")
    ext_l_m: float = param(0.14e-6, "contacted source/drain length on each side of the gate, at rules_node_nm", "m")
    rules_node_nm: float = param(45.0, "node ext_w_m and ext_l_m are drawn at; on a card of another node they scale "
                                 "by card node / rules_node_nm (area, cell pitch and the wire caps that follow it)",
                                 "nm")
    routing_factor: float = param(1.5, "layout overhead factor for wiring and wells (>= 1)")
    memristor_m2: float = param(0.0, "extra silicon area per memristor (BEOL devices sit above the cell)", "m^2")
    wire_c_f_per_m: float = param(2e-10, "wire capacitance per length (0.2 fF/um)", "F/m")
    normalise_node_nm: float = param(28.0, "node the area is also reported at, scaled by (node / card node)^2 "
                                     "(28 nm: the core of the paper's cost file)", "nm")

    def validate(self) -> None:
        check(self.routing_factor >= 1, "routing_factor", self.routing_factor, "a factor >= 1")
        check(self.ext_w_m >= 0, "ext_w_m", self.ext_w_m, "a length >= 0 m")
        check(self.ext_l_m >= 0, "ext_l_m", self.ext_l_m, "a length >= 0 m")
        check(self.memristor_m2 >= 0, "memristor_m2", self.memristor_m2, "an area >= 0 m^2")
        check(self.wire_c_f_per_m >= 0, "wire_c_f_per_m", self.wire_c_f_per_m, "a capacitance >= 0 F/m")
        check(3 <= self.normalise_node_nm <= 500, "normalise_node_nm", self.normalise_node_nm,
              "a node from 3 to 500 nm")
        check(3 <= self.rules_node_nm <= 500, "rules_node_nm", self.rules_node_nm, "a node from 3 to 500 nm")


PROGRAMMING_MODES = ("closed", "open")


@dataclass(frozen=True)
class MonteCarloSpec(Spec):
    """Variability sampled by the Monte Carlo (values are drawn in Python and written into decks)."""

    samples: int = param(0, "number of Monte Carlo samples (0: none)")
    seed: int = param(20250101, "seed of numpy.random.SeedSequence (recorded with the results)")
    program_sigma_s: float | None = param(None, "std of programmed conductance (None: the card's)", "S")
    read_sigma_s: float | None = param(None, "std of read noise, frozen per sample (None: the card's)", "S")
    mismatch: bool = param(True, "sample transistor threshold mismatch (Pelgrom, A_VT of the model set)")
    a_vt_v_m: float | None = param(None, "Pelgrom coefficient override (None: the model set's)", "V m")
    chunk: int = param(10, "samples per ngspice run (one parse, alter steps between samples); the Monte Carlo "
                       "engine's unit of seeding, work and caching")
    # -- programming of each sample (issue 11): closed loop = a chip programmed after fabrication --
    programming: str = param("closed", "how each sample is programmed: closed (write-verify of that sample: it "
                             "sees its own mismatch) or open (the nominal conductances plus a programming error)")
    band_v: float = param(5e-3, "closed loop: write-verify accepts a dominant bound within +- this of its target",
                          "V")
    max_iter: int = param(20, "closed loop: write-verify iterations (verify sweeps) per sample at most")
    write_band_frac: float = param(0.5, "closed loop: each rewrite is a device-level write-verify (pulse, read the "
                                   "conductance with the card's read noise, repeat) accepting a conductance within "
                                   "write_band_frac * band_v / |dV/dG| of its request (dV/dG: the programming map's "
                                   "local slope); 0: one unverified write per rewrite (error sigma program_sigma_s)")
    open_reference: bool = param(True, "closed loop: also run the open-loop Monte Carlo of the same samples (what "
                                 "calibration buys; adc.json carries both)")
    v_pu_shift_v: float = param(0.0, "after programming: shift of the match-line pull-up bias V_PU during use", "V")
    drift_s: float = param(0.0, "after programming: mean conductance drift of every memristor before use", "S")
    drift_sigma_s: float = param(0.0, "after programming: std of each memristor's conductance drift before use", "S")

    def validate(self) -> None:
        check(0 <= self.samples <= 100000, "samples", self.samples, "from 0 to 100000 samples")
        check(self.seed >= 0, "seed", self.seed, "a non-negative integer")
        for name in ("program_sigma_s", "read_sigma_s", "a_vt_v_m"):
            value = getattr(self, name)
            check(value is None or value >= 0, name, value, "a value >= 0 or nothing")
        check(1 <= self.chunk <= 1000, "chunk", self.chunk, "from 1 to 1000 samples per run")
        check(self.programming in PROGRAMMING_MODES, "programming", self.programming,
              f"one of {', '.join(PROGRAMMING_MODES)}")
        check(math.isfinite(self.band_v) and 0 < self.band_v <= 0.1, "band_v", self.band_v,
              "an acceptance band in (0, 0.1] V")
        check(1 <= self.max_iter <= 100, "max_iter", self.max_iter, "from 1 to 100 write-verify iterations")
        check(math.isfinite(self.write_band_frac) and 0 <= self.write_band_frac <= 1, "write_band_frac",
              self.write_band_frac, "a fraction of band_v from 0 (no device-level verify) to 1")
        check(math.isfinite(self.v_pu_shift_v) and abs(self.v_pu_shift_v) <= 0.2, "v_pu_shift_v", self.v_pu_shift_v,
              "a bias shift from -0.2 to 0.2 V")
        check(math.isfinite(self.drift_s) and abs(self.drift_s) <= 1e-4, "drift_s", self.drift_s,
              "a drift from -1e-04 to 1e-04 S")
        check(math.isfinite(self.drift_sigma_s) and 0 <= self.drift_sigma_s <= 1e-4, "drift_sigma_s",
              self.drift_sigma_s, "a standard deviation from 0 to 1e-04 S")


# -- the converter --------------------------------------------------------------------------------

MIN_BITS, MAX_BITS = 2, 6


@dataclass(frozen=True)
class AdcSpec(Spec):
    """An n-bit Q-cell ADC: input range, boundary set, cell, encoder, timing, layout, Monte Carlo."""

    section = "adc"

    bits: int = param(4, "resolution n (2^n cells, 2^n - 1 internal boundaries)")
    input_lo_v: float = param(0.70, "bottom of the input range", "V")
    input_hi_v: float = param(1.20, "top of the input range", "V")
    boundaries_v: tuple[float, ...] = param((), "the 2^n - 1 internal boundaries, ascending (empty: uniform)", "V")
    card: str = param("vteam_paper", "memristor device card (built-in name or TOML path)")
    cell: QCellSpec = param(QCellSpec(), "the Q-cell")
    encoder: EncoderSpec = param(EncoderSpec(), "the encoder")
    timing: TimingSpec = param(TimingSpec(), "conversion timing for energy and delay")
    layout: LayoutSpec = param(LayoutSpec(), "area and wire model")
    mc: MonteCarloSpec = param(MonteCarloSpec(), "Monte Carlo")
    guard_lsb: float = param(0.5, "overlap given to the recessive bound of each boundary (capped at half a cell)",
                             "LSB")
    sweep_step_lsb: float = param(0.05, "input step of the DC transfer sweep", "LSB")
    sweep_margin_lsb: float = param(1.0, "sweep extends this far beyond the input range on each side", "LSB")
    program_tol_lsb: float = param(0.1, "write-verify stops when every nominal boundary is this close", "LSB")
    program_aim_lsb: float = param(0.03, "write-verify aims this close (bounds are read to +-half a sweep step)",
                                   "LSB")
    program_max_iter: int = param(40, "write-verify iterations at most")

    def validate(self) -> None:
        check(MIN_BITS <= self.bits <= MAX_BITS, "bits", self.bits, f"an integer from {MIN_BITS} to {MAX_BITS}")
        check(math.isfinite(self.input_lo_v) and self.input_lo_v >= 0, "input_lo_v", self.input_lo_v,
              "a finite voltage >= 0 V")
        check(self.input_hi_v > self.input_lo_v, "input_hi_v", self.input_hi_v,
              f"a voltage above input_lo_v = {self.input_lo_v:g} V")
        if self.boundaries_v:
            validate_boundaries(self.boundaries_v, self.bits, self.input_lo_v, self.input_hi_v)
        check(0 <= self.guard_lsb <= 2, "guard_lsb", self.guard_lsb, "a guard band from 0 to 2 LSB")
        check(0 < self.sweep_step_lsb <= 0.05, "sweep_step_lsb", self.sweep_step_lsb,
              "a step in (0, 0.05] LSB (the transfer is swept at 0.05 LSB or finer)")
        check(0 <= self.sweep_margin_lsb <= 8, "sweep_margin_lsb", self.sweep_margin_lsb, "a margin from 0 to 8 LSB")
        check(0 < self.program_tol_lsb <= 1, "program_tol_lsb", self.program_tol_lsb, "a tolerance in (0, 1] LSB")
        check(0 < self.program_aim_lsb <= self.program_tol_lsb, "program_aim_lsb", self.program_aim_lsb,
              f"an aim in (0, program_tol_lsb = {self.program_tol_lsb:g}] LSB")
        check(1 <= self.program_max_iter <= 50, "program_max_iter", self.program_max_iter, "from 1 to 50")
        models = self.cell.models  # the encoder is built from the cell's transistor set
        for name in ("rom_p", "bl_pulldown", "bl_reset", "logic_n", "logic_p"):
            size = getattr(self.encoder, name)
            check(size.l_m >= models.l_min_m * (1 - 1e-9), f"encoder.{name}.l_m", size.l_m,
                  f"a length >= {models.l_min_m:g} m (minimum of {models.name})")

    def hash_data(self) -> dict:
        """Every field, ``layout.rules_node_nm`` left out where it changes nothing the field's absence
        did not: rules at 45 nm on a 45 nm card (what every spec before the field meant), so that those
        runs, caches and golden decks keep their hashes. On a card of another node the rules now scale, so
        its area, wire caps and results differ from before and the field stays in (its old cache entries
        miss, as they must; a rules node equal to such a card's node also scales by 1 but is kept: a miss,
        never a stale hit)."""
        data = self.to_dict()
        if self.layout.rules_node_nm == 45.0 and self.cell.models.node_nm == 45.0:
            del data["layout"]["rules_node_nm"]
        return data

    # derived quantities
    @property
    def n_cells(self) -> int:
        return 2 ** self.bits

    @property
    def lsb_v(self) -> float:
        """Nominal LSB (V): the input range over 2^n."""
        return (self.input_hi_v - self.input_lo_v) / self.n_cells

    def targets_v(self) -> np.ndarray:
        """The internal boundaries (V): the given set or a uniform one over the input range."""
        if self.boundaries_v:
            return np.asarray(self.boundaries_v, dtype=float)
        return uniform_boundaries(self.bits, self.input_lo_v, self.input_hi_v)

    def edges_v(self) -> np.ndarray:
        """Input-range bottom, the internal boundaries and the top: 2^n + 1 values (V)."""
        return np.concatenate([[self.input_lo_v], self.targets_v(), [self.input_hi_v]])


def uniform_boundaries(bits: int, lo_v: float, hi_v: float) -> np.ndarray:
    """The 2^n - 1 internal boundaries (V) of a uniform n-bit quantizer on [lo_v, hi_v]."""
    n = 2 ** bits
    return lo_v + (hi_v - lo_v) * np.arange(1, n) / n


def validate_boundaries(values, bits: int, lo_v: float, hi_v: float, *, field: str = "boundaries_v") -> None:
    """Raise SpecError naming the first bad boundary: count, finiteness, order, input range."""
    b = [float(v) for v in values]
    expected = 2 ** bits - 1
    check(len(b) == expected, field, f"{len(b)} values",
          f"{expected} internal boundaries for {bits} bits (2^{bits} - 1)")
    for i, v in enumerate(b):
        check(math.isfinite(v), f"{field}[{i}]", v, "a finite voltage")
        check(lo_v < v < hi_v, f"{field}[{i}]", v, f"a boundary strictly inside the input range ({lo_v:g}, {hi_v:g}) V")
        if i:
            check(v > b[i - 1], f"{field}[{i}]", v,
                  f"a boundary above the previous one, boundaries_v[{i - 1}] = {b[i - 1]:g} V "
                  "(boundaries must be strictly ascending, without duplicates)")


def read_boundaries_csv(path: str | Path) -> tuple[float, ...]:
    """Boundaries (V) from a CSV with one column ``boundary_V`` (validated later against the spec)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(f"{path}: boundary file not found") from None
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read the boundary file ({err.strerror})") from None
    rows = list(csv.reader(line for line in text.splitlines() if line.strip()))
    if not rows or [c.strip() for c in rows[0]] != ["boundary_V"]:
        head = rows[0] if rows else []
        raise SpecError("boundaries", head, "a CSV whose only column is boundary_V", source=str(path))
    if len(rows) < 2:  # a header alone would silently program the uniform set
        raise SpecError("boundaries", "header only", "at least one boundary row under boundary_V", source=str(path))
    out = []
    for k, row in enumerate(rows[1:]):
        if len(row) != 1:
            raise SpecError(f"boundaries[{k}]", row, "one value per row (column boundary_V)", source=str(path))
        try:
            out.append(float(row[0]))
        except ValueError:
            raise SpecError(f"boundaries[{k}]", row[0], "a number in volts", source=str(path)) from None
    return tuple(out)


def load_adc_spec(path: str | Path) -> AdcSpec:
    """An :class:`AdcSpec` from the ``[adc]`` table of a TOML file (``circuits/qcell_adc_*.toml``)."""
    spec = load_spec(AdcSpec, path, section="adc")
    assert isinstance(spec, AdcSpec)
    return spec


def build_adc_spec(spec_file: str | Path | None, *, bits: int | None = None, boundaries: str | Path | None = None,
                   mc: int | None = None, seed: int | None = None, card: str | None = None,
                   overrides: Mapping[str, Any] | None = None, programming: str | None = None) -> AdcSpec:
    """The AdcSpec of a file (or the defaults), then ``overrides`` (dotted names), then the named arguments.

    Every check that needs no simulation happens here (card name, boundary spacing), so bad input
    fails before anything runs. Used by ``characterize adc`` and the study.
    """
    from memspice.spec.device import load_card

    spec = load_adc_spec(spec_file) if spec_file is not None else AdcSpec()
    overrides = dict(overrides or {})
    if bits is not None:
        overrides["bits"] = bits
        if boundaries is None and "boundaries_v" not in overrides and spec.boundaries_v:
            overrides["boundaries_v"] = []  # a new resolution without a new set: uniform
    if mc is not None:
        overrides["mc.samples"] = mc
    if seed is not None:
        overrides["mc.seed"] = seed
    if programming is not None:
        overrides["mc.programming"] = programming
    if card is not None:
        overrides["card"] = card
    if boundaries is not None:
        overrides["boundaries_v"] = list(read_boundaries_csv(boundaries))
    try:
        spec = spec.with_overrides(overrides) if overrides else spec
    except SpecError as err:
        source = str(boundaries) if boundaries is not None and err.field.startswith("boundaries_v") else None
        raise err.within(source=source) if source else err from None
    load_card(spec.card)  # a bad card name fails now, naming the built-in cards
    check_spacing(spec, str(boundaries) if boundaries is not None else None)
    return spec


def check_spacing(spec, source: str | None = None) -> None:
    """Boundaries closer than the transfer sweep's step cannot be told apart by the measurement that
    verifies them: write-verify could not converge and a code would vanish unseen."""
    targets = np.asarray(spec.targets_v())
    step = spec.sweep_step_lsb * spec.lsb_v
    gaps = np.diff(targets)
    if gaps.size and float(gaps.min()) < step:
        k = int(np.argmin(gaps))
        raise SpecError(f"boundaries_v[{k + 1}]", float(targets[k + 1]),
                        f"a boundary at least one sweep step ({step * 1e3:.3g} mV = sweep_step_lsb x LSB) above "
                        f"the previous one ({float(targets[k]):g} V)", source=source)
