"""Measuring a programmed Q-cell ADC: transfer (codes, INL/DNL, ENOB), conversion energy and delay,
area; and the nominal programming closed through the converter's own transfer
(:func:`program_converter`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from memspice.characterize.adc.energy import STATIC_CAUSES, SWITCHING_GROUPS
from memspice.characterize.adc.options import RunOptions
from memspice.characterize.adc.programming import Programming, check_reachable, measure_cells, programming_map
from memspice.characterize.adc.verify import program
from memspice.errors import SpecError
from memspice.extract import adc as ex
from memspice.extract.energy import EnergySplit, split_energies
from memspice.netlist import qcell as nq
from memspice.netlist import qcell_tran as nqt
from memspice.spec.adc import AdcSpec
from memspice.spec.device import DeviceCard

# -- 4. transfer ------------------------------------------------------------------------------------


@dataclass
class Transfer:
    v_in: np.ndarray
    codes: np.ndarray  # from the transistor-level encoder
    codes_logic: np.ndarray  # from the cell outputs through the Gray OR logic
    ideal: np.ndarray
    measured_v: np.ndarray  # (N-1,)
    targets_v: np.ndarray
    inl_lsb: np.ndarray
    dnl_lsb: np.ndarray
    enob: float
    monotonic: bool

    @property
    def inl_max_lsb(self) -> float:
        return float(np.max(np.abs(self.inl_lsb)))

    @property
    def dnl_max_lsb(self) -> float:
        return float(np.max(np.abs(self.dnl_lsb)))

    @property
    def error_lsb(self) -> np.ndarray:
        return self.inl_lsb[1:]

    def encoder_disagreements(self) -> int:
        """Sweep points where encoder and cell-logic codes differ, not counting those within 1.5
        steps of a transition (there a cell output is between the rails and the ROM's threshold
        differs slightly from VDD/2)."""
        step = float(self.v_in[1] - self.v_in[0])
        near = np.min(np.abs(self.v_in[:, None] - self.measured_v[None, :]), axis=1) <= 1.5 * step
        return int(np.sum((self.codes != self.codes_logic) & ~near))


def transfer(spec: AdcSpec, card: DeviceCard, prog: Programming, opts: RunOptions = RunOptions()) -> Transfer:
    """The whole converter swept at ``sweep_step_lsb``: codes, measured boundaries, INL/DNL, ENOB."""
    targets = prog.plan.targets_v
    plot = opts.sim(nq.adc_dc_deck(spec, card, prog.g_lower_s, prog.g_upper_s, encoder=True))[0]
    v = plot["v-sweep"]
    vdd = spec.cell.vdd_v
    bits_v = np.stack([plot[f"v(d{j})"] for j in range(spec.bits)], axis=1)
    codes = ex.codes_from_bits(bits_v, vdd)
    out = np.stack([plot[f"v(out{k})"] for k in range(spec.n_cells)], axis=1)
    logic = ex.codes_from_match(out < vdd / 2)
    # code-density transitions: resolution +-step/2 (the restored outputs switch within one step)
    measured = ex.transitions_from_codes(v, codes, spec.n_cells)
    inl, dnl = ex.inl_dnl(measured, targets, spec.input_lo_v, spec.input_hi_v, spec.lsb_v)
    return Transfer(v_in=v, codes=codes, codes_logic=logic, ideal=ex.ideal_codes(v, targets), measured_v=measured,
                    targets_v=targets, inl_lsb=inl, dnl_lsb=dnl, enob=ex.enob(v, codes, spec.edges_v()),
                    monotonic=bool(np.all(np.diff(codes) >= 0)))


# -- 5. energy and delay ----------------------------------------------------------------------------


@dataclass
class EnergyResult:
    energy_per_conversion_j: float
    by_supply_j: dict[str, float]  # per conversion
    ref_absorbed_j: float  # per conversion, absorbed by the source reference (not added)
    delay_s: float  # worst over the conversions
    delays_s: list[float]
    inputs_v: list[float]
    expected_codes: list[int]
    sampled_codes: list[int]
    read_s: float = float("nan")  # read window used
    period_s: float = float("nan")  # conversion period used
    split: EnergySplit | None = None  # static and switching parts per supply (extract.energy)
    scheme: str = "static"

    @property
    def codes_ok(self) -> bool:
        return self.expected_codes == self.sampled_codes

    @property
    def switching_j(self) -> float:
        """Switching (C V^2) energy per conversion (J): the basis of the paper's 12.58 fJ."""
        return self.split.switching_total_j if self.split else float("nan")

    @property
    def static_j(self) -> float:
        return self.split.static_total_j if self.split else float("nan")

    def by_cause(self) -> dict:
        """``{"static_J": {cause: J}, "switching_J": {group: J}}`` per conversion."""
        return self.split.grouped(STATIC_CAUSES, SWITCHING_GROUPS) if self.split else {}


ENERGY_GROUPS = {  # supply -> group of the paper's split
    "read": "source/input driver",
    "in": "source/input driver",
    "ml": "match line (pull-up, output inverter)",
    "pu": "match line (pull-up, output inverter)",
    "inv": "other (B inverters)",
    "ref": "other (B inverters)",
    "enc": "encoder",
    "sen": "encoder",
    "rst": "encoder",
}


def conversion_inputs(spec: AdcSpec, targets_v: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (V) at the centres of ``timing.conversions`` target cells spread evenly over the codes
    (lowest and highest included; every cell, repeated, when there are more conversions than cells),
    in a seeded order so that consecutive conversions jump; and their codes.

    The energy and the read window depend on which codes are converted, so the set is fixed by the
    spec: a random draw of 8 of 16 cells moved the 4-bit energy by 2.7x between seeds (the read
    window doubled when a slow code happened to be drawn).
    """
    n, m = spec.n_cells, spec.timing.conversions
    k = np.resize(np.arange(n), m) if m >= n else np.round(np.linspace(0, n - 1, m)).astype(int)
    k = np.random.default_rng(seed).permutation(k)
    edges = np.concatenate([[spec.input_lo_v], targets_v, [spec.input_hi_v]])
    centres = 0.5 * (edges[:-1] + edges[1:])
    return centres[k], k


def pullup_sensitivity_lsb(spec: AdcSpec, card: DeviceCard, prog: Programming, dv_v: float = 0.01,
                           opts: RunOptions = RunOptions()) -> dict[str, float]:
    """Boundary shift (LSB) for a +dv_v change of the pull-up gate bias: the price of a ratioed match line.

    A ratioed (static) match line sets each bound where a pull-down balances the pull-up, so the bias
    of the pull-up is part of every boundary; a precharged line would not have this dependence but
    would make the bounds depend on the evaluation time instead.
    """
    base = measure_cells(spec, card, prog.g_lower_s, prog.g_upper_s, opts)
    moved = measure_cells(spec.with_overrides({"cell.v_pu_v": spec.cell.v_pu_v + dv_v}), card, prog.g_lower_s,
                          prog.g_upper_s, opts)
    out = {}
    for name, idx in (("lower", 2), ("upper", 3)):
        d = (moved[idx] - base[idx]) / spec.lsb_v
        d = d[np.isfinite(d)]
        out[f"{name}_mean_lsb"] = float(np.mean(d)) if d.size else float("nan")
    out["dv_v"] = dv_v
    return out


def conversion_energy(spec: AdcSpec, card: DeviceCard, prog: Programming, opts: RunOptions = RunOptions(),
                      seed: int = 0) -> EnergyResult:
    """Transient over ``timing.conversions`` conversions (:func:`conversion_inputs`, ``seed`` orders
    them): energy per conversion by supply, and delay."""
    inputs, codes = conversion_inputs(spec, prog.plan.targets_v, seed)
    plot = opts.sim(nqt.adc_tran_deck(spec, card, prog.g_lower_s, prog.g_upper_s, inputs))[0]
    t = plot["time"]
    cell, tm = spec.cell, spec.timing
    supplies = nqt.tran_supplies(spec)
    rails = {name: cell.vdd_v for name in supplies}
    rails.update({"read": cell.v_read_v, "ref": cell.v_ref_v, "in": tm.driver_supply_v})
    currents = {name: plot[f"i(v{name})"] for name in supplies}
    n = len(inputs)
    energies = {k: e / n for k, e in ex.supply_energies_j(t, currents, rails).items()}
    edges, ramp = nqt.phase_edges_s(spec, n)
    split = split_energies(t, currents, rails, edges, n_conversions=n, ramp=ramp)
    absorbed = cell.v_ref_v * ex.absorbed_charge_c(t, currents["ref"]) / n
    starts = nqt.read_times_s(spec, n)
    bits_v = np.stack([plot[f"v(d{j})"] for j in range(spec.bits)], axis=1)
    delays, sampled = [], []
    for c in range(n):
        t_read = starts[c] + tm.edge_s / 2  # midpoint of the read-supply edge
        t_sample = starts[c] + tm.read_s - tm.edge_s
        bits = [ex.sample_at(t, bits_v[:, j], t_sample) > cell.vdd_v / 2 for j in range(spec.bits)]
        sampled.append(int(sum(int(b) << j for j, b in enumerate(bits))))
        delays.append(ex.last_crossing_delay_s(t, bits_v, cell.vdd_v, t_read, t_sample))
    finite = [d for d in delays if np.isfinite(d)]
    return EnergyResult(energy_per_conversion_j=float(sum(energies.values())), by_supply_j=energies,
                        ref_absorbed_j=float(absorbed), delay_s=float(max(finite)) if finite else float("nan"),
                        delays_s=delays, inputs_v=[float(x) for x in inputs],
                        expected_codes=[int(k) for k in codes], sampled_codes=sampled, read_s=tm.read_s,
                        period_s=tm.period_s, split=split, scheme=tm.scheme)


def conversion_energy_settled(spec: AdcSpec, card: DeviceCard, prog: Programming, opts: RunOptions = RunOptions(),
                              seed: int = 0, max_doublings: int = 3,
                              log: Callable[[str], None] | None = None) -> EnergyResult:
    """:func:`conversion_energy` with a read window long enough for every sampled code to be right.

    The energy is dominated by the dividers' current times the read window, so it is only meaningful
    for a window the converter actually needs: if a code is sampled wrong, or the last output edge
    comes later than 80 % of the window, the read window (and the period, keeping the idle time) is
    doubled and the transient run again, at most ``max_doublings`` times.
    """
    if spec.timing.scheme == "precharge":
        # the precharge scheme's timing is a design choice that programming was verified in: never
        # stretch it silently
        en = conversion_energy(spec, card, prog, opts, seed)
        if not en.codes_ok:
            tm = spec.timing
            raise SpecError("timing.read_s", tm.read_s,
                            f"a read window in which the match lines settle (precharge scheme, sense at "
                            f"{tm.sense_s:g} s): codes {en.sampled_codes} were captured for {en.expected_codes}")
        return en
    for attempt in range(max_doublings + 1):
        en = conversion_energy(spec, card, prog, opts, seed)
        finite = [d for d in en.delays_s if np.isfinite(d)]
        settled = en.codes_ok and (not finite or max(finite) <= 0.8 * spec.timing.read_s)
        if settled or attempt == max_doublings:
            return en
        tm = spec.timing
        idle = tm.period_s - tm.read_s
        if log:
            log(f"read window {tm.read_s * 1e9:g} ns too short (codes {en.sampled_codes} for "
                f"{en.expected_codes}); doubling it")
        spec = spec.with_overrides({"timing.read_s": 2 * tm.read_s, "timing.period_s": 2 * tm.read_s + idle})
    return en  # pragma: no cover - the loop always returns


# -- area -----------------------------------------------------------------------------------------


def area_um2(spec: AdcSpec) -> dict[str, float]:
    """Area estimate (um^2) from device count and sizes with the layout model of ``spec.layout``, at the
    transistor card's node and scaled by (normalise_node_nm / node)^2 (``total_normalised_um2``)."""
    cells = spec.n_cells * nq.cell_area_m2(spec) * 1e12
    enc = nq.encoder_area_m2(spec) * 1e12
    scale = (spec.layout.normalise_node_nm / spec.cell.models.node_nm) ** 2
    return {"cell_array_um2": cells, "encoder_um2": enc, "total_um2": cells + enc,
            "node_nm": spec.cell.models.node_nm, "normalised_node_nm": spec.layout.normalise_node_nm,
            "total_normalised_um2": (cells + enc) * scale,
            "per_cell_um2": cells / spec.n_cells,
            "transistors": 9 * spec.n_cells + len(nq.encoder_device_sizes(spec.bits, spec.encoder)),
            "memristors": 2 * spec.n_cells}



# -- nominal programming, closed through the converter's own transitions ----------------------


def program_converter(spec: AdcSpec, card: DeviceCard, opts: RunOptions = RunOptions(),
                      log: Callable[[str], None] | None = None, *, windowed: bool = True,
                      counts: dict | None = None) -> tuple[ex.ProgrammingMap, Programming, Transfer]:
    """Nominal programming: map, reachability check, write-verify, then write-verify on the
    converter's own transitions (through the cell-level loop). Returns (map, programming, transfer).

    ``windowed`` (default): each verify reads every cell around its own targets only
    (:func:`~memspice.characterize.adc.verify.measure_cells_windowed`); False: the whole-array
    sweep of the whole input range at every iteration (the same grid; kept for comparison).
    ``counts`` (optional) accumulates verify decks and points, and ``transfers``."""
    targets = spec.targets_v()
    say = log or (lambda s: None)
    say(f"programming map over card {card.name}'s window {card.window_s()[0] * 1e6:.1f}.."
        f"{card.window_s()[1] * 1e6:.1f} uS")
    pmap = programming_map(spec, card, opts)
    check_reachable(spec, pmap, targets, card.name)
    prog = program(spec, card, pmap, targets, opts, log=say, windowed=windowed, counts=counts)
    def counted_transfer(prog: Programming) -> Transfer:
        if counts is not None:
            counts["transfers"] = counts.get("transfers", 0) + 1
        return transfer(spec, card, prog, opts)

    say("transfer sweep with the transistor-level encoder")
    tr = counted_transfer(prog)
    offsets = np.zeros(spec.n_cells - 1)
    for _ in range(2):  # write-verify on the converter's own output, through the cell-level loop
        err = tr.measured_v - tr.targets_v
        worst = float(np.max(np.abs(err))) / spec.lsb_v
        say(f"transfer: worst boundary error {worst:.3f} LSB (read to +-{spec.sweep_step_lsb / 2:g} LSB)")
        if worst <= spec.program_tol_lsb:
            break
        offsets = offsets + np.where(np.abs(err) > spec.program_aim_lsb * spec.lsb_v, err, 0.0)
        done = prog.iterations
        history = prog.history_lsb
        prog = program(spec, card, pmap, targets, opts, log=say, start=prog, offsets_v=offsets,
                       windowed=windowed, counts=counts)
        prog.history_lsb = history + prog.history_lsb
        prog.iterations += done
        tr = counted_transfer(prog)
    return pmap, prog, tr
