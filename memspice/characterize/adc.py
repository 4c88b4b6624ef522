"""Characterize a Q-cell ADC in ngspice: programming map, write-verify, transfer, energy, Monte Carlo.

The flow (each step a function, so callers can run any part):

1. :func:`programming_map` - DC sweeps of isolated branch test cells over the card's conductance
   window give each bound as a monotonic function of its memristor conductance.
2. :func:`check_reachable` - every target boundary must lie in the reachable range of the bound
   that sets it; otherwise a :class:`~memspice.errors.SpecError` names the boundary and the range.
3. :func:`program` - per-cell bound targets (the Gray encoder decides which bound of a pair sets a
   transition; the other gets an overlap guard band), a first guess from the inverted map, then
   write-verify: sweep the cell array, correct each conductance through the local map slope, until
   every bound is within ``program_aim_lsb``.
4. :func:`transfer` - the whole converter with its transistor-level encoder swept at
   ``sweep_step_lsb``: code versus input, measured boundaries, INL, DNL, ENOB.
5. :func:`conversion_energy` - a transient over several conversions: energy per supply, delay.
6. Monte Carlo - :class:`QcellAdcCircuit` is the programmed converter as a Monte Carlo circuit
   (:mod:`memspice.montecarlo.circuit`); :func:`run_mc` runs it through the Monte Carlo engine:
   values drawn from the plan's SeedSequence (one child per chunk), one parsed deck with ``alter``
   steps per chunk, worker processes, an atomic chunk cache that resumes an interrupted run.
7. :func:`characterize` writes everything (CSV, JSON, figures, ``adc.json``) to a folder.
"""

from __future__ import annotations

import hashlib
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from memspice import __version__
from memspice.errors import SimulationError, SpecError
from memspice.extract import adc as ex
from memspice.io import write_csv, write_json
from memspice.montecarlo.circuit import ParamGroup
from memspice.netlist import qcell as nq
from memspice.netlist.deck import Analyze, Deck, Step
from memspice.ngspice import simulate
from memspice.raw import Plot
from memspice.spec.adc import AdcSpec
from memspice.spec.device import DeviceCard, load_card

PAPER = {
    "energy_per_conversion_J": 12.58e-15,
    "area_um2": 24.29,
    "bits": 5,
    "energy_split": {"source/input driver": 0.738, "ML precharge": 0.127, "other": 0.102, "encoder": 0.033},
    "area_split": {"encoder": 0.659, "cell array": 0.341},
    "walden_fom_J": 12.58e-15 / 2**5,
    "linearity_lsb": {  # RMS over samples of max |INL| (max |DNL|), DOMAIN.md section 1.2
        3: {"0%": (0.085, 0.085), "1%": (0.117, 0.118), "2.5%": (0.152, 0.192)},
        4: {"0%": (0.054, 0.033), "1%": (0.159, 0.210), "2.5%": (0.325, 0.491)},
        5: {"0%": (0.080, 0.142), "1%": (0.319, 0.419), "2.5%": (0.700, 1.070)},
        6: {"0%": (0.155, 0.141), "1%": (0.717, 0.940), "2.5%": (1.694, 2.262)},
    },
}


@dataclass(frozen=True)
class RunOptions:
    """How to run ngspice: backend, run-directory root, progress display, Monte Carlo workers and cache.

    ``workers``: Monte Carlo worker processes (None: one per core; the numbers do not depend on it).
    ``mc_cache_root``: folder of the Monte Carlo engine's chunk cache (``characterize adc`` uses
    ``OUT/mc_cache``, so an interrupted run resumes); None: a temporary folder, removed afterwards.
    """

    backend: str = "shared"
    run_root: Path | None = None
    show_progress: bool = True
    workers: int | None = None
    mc_cache_root: Path | None = None

    def sim(self, deck):
        return simulate(deck, backend=self.backend, run_root=self.run_root)


# -- 1. programming map -----------------------------------------------------------------------------


def map_grid_s(card: DeviceCard, n: int = 21) -> np.ndarray:
    """Conductances (S) of the map: ``n`` points across the card's window, denser at the low end."""
    g0, g1 = card.window_s()
    u = np.linspace(0.0, 1.0, n)
    return g0 + (g1 - g0) * (0.6 * u + 0.4 * u**2)


def programming_map(spec: AdcSpec, card: DeviceCard, opts: RunOptions = RunOptions(), n: int = 21) -> ex.ProgrammingMap:
    """Bound (V) of each branch versus its conductance (S) over the card window (isolated branches)."""
    g = map_grid_s(card, n)
    plot = opts.sim(nq.map_deck(spec, card, g))[0]
    v = plot["v-sweep"]
    out = np.stack([plot[f"v(out{k})"] for k in range(2 * n)], axis=1)
    lower = ex.branch_bound(v, out[:, :n], spec.cell.vdd_v, "lower")
    upper = ex.branch_bound(v, out[:, n:], spec.cell.vdd_v, "upper")
    return ex.ProgrammingMap(g_s=g, lower_v=lower, upper_v=upper)


# -- 2./3. targets, reachability, write-verify ------------------------------------------------------


@dataclass(frozen=True)
class BoundPlan:
    """Target (V) of every cell bound, and which bound sets each transition."""

    lower_v: np.ndarray  # (n_cells,), NaN for cell 0 (don't care: set to the lowest conductance)
    upper_v: np.ndarray  # (n_cells,), NaN for the top cell (set to the highest conductance)
    dominant: list[str]  # per boundary i = 1..N-1: "lower" (cell i) or "upper" (cell i-1)
    targets_v: np.ndarray  # (N-1,)

    def dominant_cell(self, i: int) -> tuple[int, str]:
        """(cell, side) of the bound that sets transition i (1-based)."""
        side = self.dominant[i - 1]
        return (i, side) if side == "lower" else (i - 1, side)


def plan_bounds(spec: AdcSpec, targets_v: np.ndarray) -> BoundPlan:
    """Per-cell bound targets: the dominant bound on the target, the recessive one overlapping it.

    The overlap guard is ``guard_lsb`` LSB, capped at half the width of the cell it overlaps so that a
    recessive bound never reaches a second neighbour.
    """
    n = spec.n_cells
    t = np.asarray(targets_v, dtype=float)
    edges = np.concatenate([[spec.input_lo_v], t, [spec.input_hi_v]])
    widths = np.diff(edges)
    dom = ex.dominant_sides(spec.bits)
    lower = np.full(n, np.nan)
    upper = np.full(n, np.nan)
    for i in range(1, n):
        ti = t[i - 1]
        if dom[i - 1] == "lower":
            guard = min(spec.guard_lsb * spec.lsb_v, 0.5 * widths[i])
            lower[i] = ti
            upper[i - 1] = ti + guard
        else:
            guard = min(spec.guard_lsb * spec.lsb_v, 0.5 * widths[i - 1])
            upper[i - 1] = ti
            lower[i] = ti - guard
    return BoundPlan(lower_v=lower, upper_v=upper, dominant=dom, targets_v=t)


def check_reachable(spec: AdcSpec, pmap: ex.ProgrammingMap, targets_v: np.ndarray, card_name: str = "") -> None:
    """Raise SpecError naming the first boundary the conductance window cannot reach (and the range)."""
    plan = plan_bounds(spec, targets_v)
    field_name = "boundaries_v" if spec.boundaries_v else "boundaries_v (uniform set)"
    for i in range(1, spec.n_cells):
        _, side = plan.dominant_cell(i)
        lo, hi = pmap.reachable_v(side)
        value = float(plan.targets_v[i - 1])
        if not (lo <= value <= hi):
            raise SpecError(f"{field_name}[{i - 1}]", value,
                            f"a boundary the {side} bound can reach with card {card_name or spec.card}'s window: "
                            f"{lo:.4f}..{hi:.4f} V")
    top = pmap.reachable_v("upper")[1]
    if not top >= spec.input_hi_v:
        raise SpecError("input_hi_v", spec.input_hi_v,
                        f"a top of the input range the top cell's upper bound can reach (at most {top:.4f} V)")


@dataclass
class Programming:
    """Programmed conductances (S) per cell and the write-verify history."""

    g_lower_s: np.ndarray
    g_upper_s: np.ndarray
    plan: BoundPlan
    lower_v: np.ndarray = field(default_factory=lambda: np.array([]))
    upper_v: np.ndarray = field(default_factory=lambda: np.array([]))
    iterations: int = 0  # measurements (sweeps) so far, across write-verify rounds
    history_lsb: list[float] = field(default_factory=list)  # max |dominant error| per iteration
    pmap: ex.ProgrammingMap | None = None

    def dominant_bounds_v(self) -> np.ndarray:
        out = []
        for i in range(1, len(self.g_lower_s)):
            cell, side = self.plan.dominant_cell(i)
            out.append((self.lower_v if side == "lower" else self.upper_v)[cell])
        return np.array(out)


def measure_cells(spec: AdcSpec, card: DeviceCard, g_lower_s, g_upper_s, opts: RunOptions):
    """DC sweep of the cell array (no encoder): input (V), outputs (points, cells), bounds (V)."""
    plot = opts.sim(nq.adc_dc_deck(spec, card, g_lower_s, g_upper_s, encoder=False))[0]
    v = plot["v-sweep"]
    out = np.stack([plot[f"v(out{k})"] for k in range(spec.n_cells)], axis=1)
    lower, upper = ex.cell_bounds(v, out, spec.cell.vdd_v)
    return v, out, lower, upper


def program(spec: AdcSpec, card: DeviceCard, pmap: ex.ProgrammingMap, targets_v: np.ndarray,
            opts: RunOptions = RunOptions(), log: Callable[[str], None] | None = None,
            start: Programming | None = None, offsets_v: np.ndarray | None = None) -> Programming:
    """Write-verify: first guess from the map, then correct conductances until bounds are on target.

    Each cell is a 2 x 2 problem: its measured (lower, upper) bounds against its two conductances.
    The map gives the diagonal of the Jacobian; in a narrow window the two pull-downs' sub-threshold
    tails add on the match line, so each bound also moves with the other conductance. A per-cell
    Broyden update learns that coupling from the measurements; a window that vanished is reopened by
    moving both bounds outwards by half an LSB.

    ``start`` continues from an earlier programming; ``offsets_v`` (one per boundary) moves the cell-level
    aim of each dominant bound, so that the *converter's* transition (read through the encoder) lands
    on target where the encoder switches a little away from the cell output's mid-rail crossing.
    """
    g0, g1 = card.window_s()
    plan = plan_bounds(spec, targets_v)
    n = spec.n_cells
    lo_r = pmap.reachable_v("lower")
    up_r = pmap.reachable_v("upper")

    def guess(side: str, b: np.ndarray) -> np.ndarray:
        rng = lo_r if side == "lower" else up_r
        return np.clip(pmap.conductance_s(side, np.clip(b, *rng)), g0, g1)

    has = np.stack([np.isfinite(plan.lower_v), np.isfinite(plan.upper_v)], axis=1)  # controlled bounds
    tgt = np.stack([plan.lower_v, plan.upper_v], axis=1)
    if offsets_v is not None:
        for i in range(1, n):
            cell, side = plan.dominant_cell(i)
            tgt[cell, 0 if side == "lower" else 1] -= offsets_v[i - 1]
    x = np.stack([np.full(n, g0), np.full(n, g1)], axis=1)  # (g_lower, g_upper) per cell
    # first guess: the map, each window widened by half an LSB on both sides so that narrow ones open
    # (their bounds move inwards in the cell, see above); write-verify then closes them onto target
    x[has[:, 0], 0] = guess("lower", plan.lower_v[has[:, 0]] - 0.5 * spec.lsb_v)
    x[has[:, 1], 1] = guess("upper", plan.upper_v[has[:, 1]] + 0.5 * spec.lsb_v)
    if start is not None:
        x = np.stack([start.g_lower_s, start.g_upper_s], axis=1).copy()
    prog = Programming(g_lower_s=x[:, 0], g_upper_s=x[:, 1], plan=plan, pmap=pmap)
    lsb = spec.lsb_v
    dom = np.zeros((n, 2), bool)
    for i in range(1, n):
        cell, side = plan.dominant_cell(i)
        dom[cell, 0 if side == "lower" else 1] = True

    def diag_jacobian(xx: np.ndarray) -> np.ndarray:
        jac = np.zeros((n, 2, 2))
        jac[:, 0, 0] = pmap.slope_v_per_s("lower", xx[:, 0])
        jac[:, 1, 1] = pmap.slope_v_per_s("upper", xx[:, 1])
        return jac

    jac = diag_jacobian(x)
    prev_x = prev_y = None
    prev_ok = np.zeros(n, bool)
    last_ok = np.full((n, 2), np.nan)  # last conductances at which the cell's window was open
    scale = np.ones(n)  # per-cell step scale, halved after a step that closed the window
    max_step = 2 * lsb  # in volts of bound movement per iteration
    for it in range(1, spec.program_max_iter + 1):
        _, _, lower, upper = measure_cells(spec, card, x[:, 0], x[:, 1], opts)
        y = np.stack([lower, upper], axis=1)
        prog.g_lower_s, prog.g_upper_s = x[:, 0].copy(), x[:, 1].copy()
        prog.lower_v, prog.upper_v, prog.iterations = lower, upper, it
        err = np.where(has, y - tgt, 0.0)
        ok = np.all(np.isfinite(err), axis=1)
        dom_err = np.abs(err[dom]) / lsb
        worst = float(np.max(dom_err)) if np.all(np.isfinite(dom_err)) and dom_err.size else (
            float("inf") if dom_err.size else 0.0)
        prog.history_lsb.append(worst)
        # recessive bounds only need to stay on their side of the dominant one: half the guard will do
        rec_tol = (0.5 * spec.guard_lsb + spec.program_aim_lsb) * lsb
        rec = err[has & ~dom]
        rec_ok = bool(np.all(np.abs(rec[np.isfinite(rec)]) < rec_tol))
        if log:
            log(f"write-verify iteration {it}: worst boundary error {worst:.4f} LSB")
        if worst <= spec.program_aim_lsb and rec_ok and np.all(ok):
            break
        # the bounds are read on the sweep grid (+-half a step): stop once corrections stop helping
        if it >= 3 and worst >= 0.9 * min(prog.history_lsb[:-1]) and worst <= spec.program_tol_lsb / 2 and rec_ok:
            break
        new_x = x.copy()
        for k in range(n):
            h = has[k]
            if not h.any():
                continue
            if not ok[k]:
                if np.all(np.isfinite(last_ok[k])):  # the last step closed the window: go half-way back
                    new_x[k] = last_ok[k] + 0.5 * (x[k] - last_ok[k])
                    scale[k] *= 0.5
                else:  # never open yet: open it by moving both bounds outwards
                    if h[0]:
                        new_x[k, 0] -= 0.5 * lsb / jac[k, 0, 0]
                    if h[1]:
                        new_x[k, 1] += 0.5 * lsb / jac[k, 1, 1]
                continue
            idx = np.nonzero(h)[0]
            if prev_x is not None and prev_ok[k]:
                dx = (x[k] - prev_x[k])[idx]
                dy = (y[k] - prev_y[k])[idx]
                if np.dot(dx, dx) > 0:
                    sub = jac[k][np.ix_(idx, idx)]
                    sub = sub + np.outer(dy - sub @ dx, dx) / np.dot(dx, dx)
                    if np.all(np.diag(sub) > 0) and np.linalg.cond(sub) < 1e3:
                        jac[k][np.ix_(idx, idx)] = sub
            last_ok[k] = x[k]
            sub = jac[k][np.ix_(idx, idx)]
            e = err[k, idx]
            e = e * min(1.0, max_step / max(float(np.max(np.abs(e))), 1e-30))
            new_x[k, idx] = x[k, idx] - scale[k] * np.linalg.solve(sub, e)
            scale[k] = min(1.0, 1.5 * scale[k])
        prev_ok = ok.copy()
        prev_x, prev_y = x.copy(), y.copy()
        x = np.clip(new_x, g0, g1)
    return prog


def sweep_cells(spec: AdcSpec, card: DeviceCard, g_lower_s, g_upper_s, start: float, stop: float, step: float,
                opts: RunOptions = RunOptions()):
    """Bounds (V) of independent cells swept from ``start`` to ``stop`` (V) in steps of ``step`` (V)."""
    plot = opts.sim(nq.cells_sweep_deck(spec, card, g_lower_s, g_upper_s, start, stop, step))[0]
    out = np.stack([plot[f"v(out{k})"] for k in range(len(g_lower_s))], axis=1)
    return ex.cell_bounds(plot["v-sweep"], out, spec.cell.vdd_v)


def program_cell(spec: AdcSpec, card: DeviceCard, pmap: ex.ProgrammingMap, lower_v: float, upper_v: float,
                 opts: RunOptions = RunOptions(), tol_v: float = 2e-4, step_v: float = 2.5e-4,
                 max_iter: int = 8) -> tuple[float, float, float, float]:
    """Write-verify one cell to the window [lower_v, upper_v) (V): (g_lower, g_upper, lower, upper)."""
    g0, g1 = card.window_s()
    gl = float(np.clip(pmap.conductance_s("lower", lower_v), g0, g1))
    gu = float(np.clip(pmap.conductance_s("upper", upper_v), g0, g1))
    lo = hi = float("nan")
    for _ in range(max_iter):
        (lo,), (hi,) = sweep_cells(spec, card, [gl], [gu], lower_v - 0.05, upper_v + 0.05, step_v, opts)
        if abs(lo - lower_v) <= tol_v and abs(hi - upper_v) <= tol_v:
            break
        gl = float(np.clip(gl - (lo - lower_v) / pmap.slope_v_per_s("lower", gl), g0, g1))
        gu = float(np.clip(gu - (hi - upper_v) / pmap.slope_v_per_s("upper", gu), g0, g1))
    return gl, gu, float(lo), float(hi)


def reference_tables(spec: AdcSpec, opts: RunOptions = RunOptions()):
    """Single-device I-V tables of every cell transistor size (the independent reference's input)."""
    from memspice.reference.qcell import DeviceTables

    cell = spec.cell
    plot = opts.sim(nq.device_table_deck(cell))[0]
    (d0, d1, dd), (g0, g1, dg) = nq.table_grid_v(cell)
    n_vd, n_vg = round((d1 - d0) / dd) + 1, round((g1 - g0) / dg) + 1
    currents = {role: plot[f"i(vm_{role})"] for role in nq.TABLE_DEVICES}
    return DeviceTables.from_sweep(plot["v-sweep"], currents, n_vd, n_vg, (g0, g1), pmos=("pullup", "inv_p"))


def reference_window(spec: AdcSpec, card: DeviceCard, tables, g_lower_s: float, g_upper_s: float):
    """The reference's window of a cell with read conductances ``g_lower_s``, ``g_upper_s`` (S)."""
    from memspice.reference.qcell import CellBias, cell_window

    c = spec.cell
    bias = CellBias(c.vdd_v, c.v_read_v, c.v_ref_v, c.v_pu_v, card.model, card.params, card.read_v)
    return cell_window(tables, bias, float(card.state_for(g_lower_s)), float(card.state_for(g_upper_s)))


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

    @property
    def codes_ok(self) -> bool:
        return self.expected_codes == self.sampled_codes


ENERGY_GROUPS = {  # supply -> group of the paper's split
    "read": "source/input driver",
    "in": "source/input driver",
    "ml": "match line (pull-up, output inverter)",
    "pu": "match line (pull-up, output inverter)",
    "inv": "other (B inverters)",
    "ref": "other (B inverters)",
    "enc": "encoder",
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
    plot = opts.sim(nq.adc_tran_deck(spec, card, prog.g_lower_s, prog.g_upper_s, inputs))[0]
    t = plot["time"]
    cell, tm = spec.cell, spec.timing
    rails = {"read": cell.v_read_v, "ref": cell.v_ref_v, "ml": cell.vdd_v, "inv": cell.vdd_v, "pu": cell.vdd_v,
             "enc": cell.vdd_v, "in": tm.driver_supply_v}
    currents = {name: plot[f"i(v{name})"] for name in nq.SUPPLIES}
    n = len(inputs)
    energies = {k: e / n for k, e in ex.supply_energies_j(t, currents, rails).items()}
    absorbed = cell.v_ref_v * ex.absorbed_charge_c(t, currents["ref"]) / n
    starts = nq.read_times_s(spec, n)
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
                        period_s=tm.period_s)


def conversion_energy_settled(spec: AdcSpec, card: DeviceCard, prog: Programming, opts: RunOptions = RunOptions(),
                              seed: int = 0, max_doublings: int = 3,
                              log: Callable[[str], None] | None = None) -> EnergyResult:
    """:func:`conversion_energy` with a read window long enough for every sampled code to be right.

    The energy is dominated by the dividers' current times the read window, so it is only meaningful
    for a window the converter actually needs: if a code is sampled wrong, or the last output edge
    comes later than 80 % of the window, the read window (and the period, keeping the idle time) is
    doubled and the transient run again, at most ``max_doublings`` times.
    """
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
    """Area estimate (um^2) from device count and sizes with the layout model of ``spec.layout``."""
    cells = spec.n_cells * nq.cell_area_m2(spec) * 1e12
    enc = nq.encoder_area_m2(spec) * 1e12
    return {"cell_array_um2": cells, "encoder_um2": enc, "total_um2": cells + enc,
            "per_cell_um2": cells / spec.n_cells,
            "transistors": 9 * spec.n_cells + len(nq.encoder_device_sizes(spec.bits, spec.encoder)),
            "memristors": 2 * spec.n_cells}


# -- 6. Monte Carlo -------------------------------------------------------------------------------


@dataclass(frozen=True)
class McSamples:
    """Literal values applied to each Monte Carlo sample, kept with the results (seed recorded)."""

    seed: int
    g_lower_s: np.ndarray  # (M, n_cells) applied: programmed + read noise, clipped to the window
    g_upper_s: np.ndarray  # (M, n_cells)
    delvto_v: np.ndarray  # (M, n_cells, 9), order of memspice.netlist.qcell.CELL_DEVICES

    def __len__(self) -> int:
        return self.g_lower_s.shape[0]

    def table(self) -> dict[str, np.ndarray]:
        """Long table: one row per (sample, cell)."""
        m, n = self.g_lower_s.shape
        cols: dict[str, np.ndarray] = {
            "sample": np.repeat(np.arange(m), n),
            "cell": np.tile(np.arange(n), m),
            "g_lower_S": self.g_lower_s.ravel(),
            "g_upper_S": self.g_upper_s.ravel(),
        }
        for j, dev in enumerate(nq.CELL_DEVICES):
            cols[f"delvto_{dev.name}_V"] = self.delvto_v[:, :, j].ravel()
        return cols


def mc_sigmas(spec: AdcSpec, card: DeviceCard) -> dict[str, float]:
    var = card.variability
    mc = spec.mc
    a_vt = mc.a_vt_v_m if mc.a_vt_v_m is not None else spec.cell.models.a_vt_v_m
    return {"program_sigma_s": var.program_sigma_s if mc.program_sigma_s is None else mc.program_sigma_s,
            "read_sigma_s": var.read_sigma_s if mc.read_sigma_s is None else mc.read_sigma_s,
            "a_vt_v_m": a_vt if mc.mismatch else 0.0}


def pelgrom_sigmas_v(spec: AdcSpec, a_vt_v_m: float) -> dict[str, float]:
    """Threshold mismatch sigma A_VT / sqrt(W L) (V) of each cell transistor, by instance name."""
    return {dev.name: a_vt_v_m / math.sqrt(getattr(spec.cell, dev.role).w_m * getattr(spec.cell, dev.role).l_m)
            for dev in nq.CELL_DEVICES}


BOUNDARY_MEASURE = "boundary_V_i{}"  # measurement name of internal boundary i (0-based), V


class QcellAdcCircuit:
    """The programmed Q-cell ADC as a Monte Carlo circuit (:mod:`memspice.montecarlo.circuit`).

    The deck is the cell array at its read-phase supplies (no encoder: codes follow from the cell
    outputs through the Gray OR logic, as the encoder computes them), conductances at their
    programmed (nominal) values; every sample sets every varied value with ``alter`` and sweeps the
    input at ``sweep_step_lsb``.

    Groups: ``g_lower``, ``g_upper`` (S) the programmed conductances of each cell's MA and MB
    (nominal: the write-verified values; bounded by the card window); ``dg_read_lower``,
    ``dg_read_upper`` (S) read-noise offsets added to them (nominal 0; frozen for the sample's sweep;
    the sum is clipped to the window); ``delvto_<device>`` (V) the BSIM4 ``delvto`` of that
    transistor in every cell (nominal 0; devices of :data:`memspice.netlist.qcell.CELL_DEVICES`).
    Measurements: ``boundary_V_i<i>`` the code-density transition of internal boundary i (V,
    resolution +-half a sweep step), ``code_error_rate`` (fraction of in-range sweep inputs whose
    code is off the target quantizer's by more than one) and ``code_mismatch_rate`` (by any).
    """

    kind = "qcell_adc"

    def __init__(self, spec: AdcSpec, g_lower_s, g_upper_s, card: DeviceCard | None = None):
        self.spec = spec
        self.card = card if card is not None else load_card(spec.card)
        self.g_lower_s = np.asarray(g_lower_s, dtype=float).copy()
        self.g_upper_s = np.asarray(g_upper_s, dtype=float).copy()
        n = spec.n_cells
        for name, g in (("g_lower_s", self.g_lower_s), ("g_upper_s", self.g_upper_s)):
            if g.shape != (n,):
                raise SpecError(f"plan.spec.{name}", g.tolist(), f"{n} conductances (S), one per cell")
            self.card.state_for(g)  # inside the window, or a SpecError naming it
        self.window = self.card.window_s()
        self.targets_v = spec.targets_v()

    @classmethod
    def from_programming(cls, spec: AdcSpec, card: DeviceCard, prog: Programming) -> QcellAdcCircuit:
        return cls(spec, prog.g_lower_s, prog.g_upper_s, card)

    @classmethod
    def from_spec(cls, data: Mapping[str, Any], base_dir: str | Path = ".",
                  opts: RunOptions | None = None) -> QcellAdcCircuit:
        """From a plan's spec: ``{file = "circuits/qcell_adc_4bit.toml", overrides = {...}}`` (path
        relative to ``base_dir``; overrides dotted as with ``--param``) or the ``[adc]`` fields inline.

        The conductances are those of the nominal programming (programming map, write-verify and the
        converter-level correction, as ``characterize adc`` does: tens of seconds), or ``g_lower_s``
        and ``g_upper_s`` (S, one per cell) given next to the spec.
        """
        table = dict(data)
        g_lower = table.pop("g_lower_s", None)
        g_upper = table.pop("g_upper_s", None)
        if (g_lower is None) != (g_upper is None):
            missing = "g_upper_s" if g_upper is None else "g_lower_s"
            raise SpecError(f"plan.spec.{missing}", None, "both g_lower_s and g_upper_s, or neither")
        if "file" in table:
            path = Path(table.pop("file"))
            overrides = dict(table.pop("overrides", {}) or {})
            if table:
                key = sorted(table)[0]
                raise SpecError(f"plan.spec.{key}", table[key],
                                "only file, overrides, g_lower_s and g_upper_s next to file")
            from memspice.spec.adc import load_adc_spec

            spec = load_adc_spec(path if path.is_absolute() else Path(base_dir) / path)
            if overrides:
                spec = spec.with_overrides(overrides, where="plan.spec.overrides")
        else:
            spec = AdcSpec.from_dict(table, where="plan.spec")
        card = load_card(spec.card)
        if g_lower is not None:
            return cls(spec, g_lower, g_upper, card)
        opts = opts or RunOptions(backend="subprocess", show_progress=False)
        _, prog, _ = program_converter(spec, card, opts)
        return cls.from_programming(spec, card, prog)

    def spec_hash(self) -> str:
        """The converter (without its Monte Carlo settings), the card and the programmed conductances."""
        from memspice.spec.adc import MonteCarloSpec

        h = hashlib.sha256(self.spec.replace(mc=MonteCarloSpec()).spec_hash().encode())
        h.update(self.card.spec_hash().encode())
        h.update(np.ascontiguousarray(self.g_lower_s).tobytes())
        h.update(np.ascontiguousarray(self.g_upper_s).tobytes())
        return h.hexdigest()[:16]

    def deck(self) -> Deck:
        return Deck(f"qcell adc {self.spec.bits}-bit monte carlo",
                    nq.mc_cards(self.spec, self.card, self.g_lower_s, self.g_upper_s),
                    header={**nq.header(self.spec, self.card, "Monte Carlo"), "circuit hash": self.spec_hash()})

    def param_groups(self) -> dict[str, ParamGroup]:
        lo, hi = self.window
        n = self.spec.n_cells
        cells = range(n)
        groups = {
            "g_lower": ParamGroup("g_lower", "S", self.g_lower_s.copy(), tuple(f"g_lower_c{k}" for k in cells),
                                  doc="programmed conductance of each cell's MA (lower bound)", lower=lo, upper=hi),
            "g_upper": ParamGroup("g_upper", "S", self.g_upper_s.copy(), tuple(f"g_upper_c{k}" for k in cells),
                                  doc="programmed conductance of each cell's MB (upper bound)", lower=lo, upper=hi),
            "dg_read_lower": ParamGroup("dg_read_lower", "S", np.zeros(n), tuple(f"dg_read_lower_c{k}" for k in cells),
                                        doc="read-noise offset of MA, added to g_lower (frozen for the sweep)"),
            "dg_read_upper": ParamGroup("dg_read_upper", "S", np.zeros(n), tuple(f"dg_read_upper_c{k}" for k in cells),
                                        doc="read-noise offset of MB, added to g_upper (frozen for the sweep)"),
        }
        for dev in nq.CELL_DEVICES:
            name = f"delvto_{dev.name}"
            groups[name] = ParamGroup(name, "V", np.zeros(n), tuple(f"delvto_c{k}_{dev.name}" for k in cells),
                                      doc=f"threshold shift (BSIM4 delvto) of {dev.name} ({dev.role}) in each cell")
        return groups

    def conductances(self, values: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Applied (g_lower, g_upper) in S: programmed + read noise, clipped to the card window."""
        lo, hi = self.window
        out = []
        for side, nominal in (("lower", self.g_lower_s), ("upper", self.g_upper_s)):
            g = np.asarray(values.get(f"g_{side}", nominal), dtype=float)
            if f"dg_read_{side}" in values:
                g = g + np.asarray(values[f"dg_read_{side}"], dtype=float)
            out.append(np.clip(g, lo, hi))
        return out[0], out[1]

    def delvto(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Threshold shifts (n_cells, 9) in V, columns in the order of CELL_DEVICES."""
        n = self.spec.n_cells
        return np.stack([np.asarray(values.get(f"delvto_{dev.name}", np.zeros(n)), dtype=float)
                         for dev in nq.CELL_DEVICES], axis=1)

    def apply(self, values: Mapping[str, np.ndarray]) -> list[Step]:
        gl, gu = self.conductances(values)
        return list(nq.sample_alters(self.spec, self.card, gl, gu, self.delvto(values)))

    def analyses(self) -> list[Analyze]:
        return [nq.mc_analysis(self.spec)]

    def measure_names(self) -> list[str]:
        return [BOUNDARY_MEASURE.format(i) for i in range(self.spec.n_cells - 1)] + [
            "code_error_rate", "code_mismatch_rate"]

    def measure(self, plots: Sequence[Plot]) -> dict[str, float]:
        spec = self.spec
        plot = plots[0]
        v = plot["v-sweep"]
        out = np.stack([plot[f"v(out{k})"] for k in range(spec.n_cells)], axis=1)
        codes = ex.codes_from_match(out < spec.cell.vdd_v / 2)
        measured = ex.transitions_from_codes(v, codes, spec.n_cells)
        keep = (v >= spec.input_lo_v) & (v < spec.input_hi_v)
        diff = np.abs(codes[keep] - ex.ideal_codes(v[keep], self.targets_v))
        result = {BOUNDARY_MEASURE.format(i): float(b) for i, b in enumerate(measured)}
        result["code_error_rate"] = float(np.mean(diff > 1))
        result["code_mismatch_rate"] = float(np.mean(diff > 0))
        return result

    def run_samples(self, samples: Sequence[Mapping[str, np.ndarray]],
                    opts: RunOptions = RunOptions()) -> list[dict[str, float]]:
        """The engine's per-chunk work without the engine: one parsed deck, each sample's ``alter``
        steps then its sweep; ``samples`` holds one {group: values} per sample (groups left out stay
        at nominal)."""
        steps: list[Step] = []
        for values in samples:
            steps += [*self.apply(values), *self.analyses()]
        base = self.deck()
        res = opts.sim(Deck(base.title, base.cards, steps=steps, options=base.options, header=base.header))
        n_an = len(self.analyses())
        return [self.measure(res.plots[s * n_an:(s + 1) * n_an]) for s in range(len(samples))]

    def applied_samples(self, values: Mapping[str, np.ndarray], seed: int) -> McSamples:
        """The literal values the samples ran with, from the engine's per-group values (samples, members)."""
        m = len(next(iter(values.values())))
        gl, gu, dv = [], [], []
        for s in range(m):
            one = {g: v[s] for g, v in values.items()}
            a, b = self.conductances(one)
            gl.append(a)
            gu.append(b)
            dv.append(self.delvto(one))
        return McSamples(seed=seed, g_lower_s=np.array(gl), g_upper_s=np.array(gu), delvto_v=np.array(dv))


def mc_variations(spec: AdcSpec, card: DeviceCard) -> list[dict[str, Any]]:
    """The engine's variations of ``spec.mc``: untruncated normal programming error and read noise on
    both memristors of every cell (card sigmas unless overridden) and, with ``mc.mismatch``, a
    Pelgrom threshold shift N(0, A_VT / sqrt(W L)) on every transistor."""
    sig = mc_sigmas(spec, card)
    out: list[dict[str, Any]] = []
    for side in ("lower", "upper"):
        out.append({"group": f"g_{side}", "sigma": sig["program_sigma_s"], "truncate_sigma": None,
                    "label": "program"})
    for side in ("lower", "upper"):
        out.append({"group": f"dg_read_{side}", "sigma": sig["read_sigma_s"], "truncate_sigma": None,
                    "label": "read"})
    if sig["a_vt_v_m"] > 0:
        for name, sigma in pelgrom_sigmas_v(spec, sig["a_vt_v_m"]).items():
            out.append({"group": f"delvto_{name}", "sigma": sigma, "truncate_sigma": None, "label": "mismatch"})
    return out


@dataclass
class McResult:
    measured_v: np.ndarray  # (M, N-1), successful samples only
    code_error_rate: np.ndarray  # (M,) fraction of in-range grid inputs with |code - ideal| > 1
    code_mismatch: np.ndarray  # (M,) fraction with any code difference from the ideal quantizer
    sample: np.ndarray | None = None  # (M,) sample index of each row (default 0..M-1)
    failed: tuple[int, ...] = ()  # samples ngspice could not solve (left out of the rows above)
    cache_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.sample is None:
            self.sample = np.arange(len(self.measured_v))


def run_mc(circuit: QcellAdcCircuit, samples: int, seed: int, *, vary: Sequence[Mapping[str, Any]],
           cache_root: str | Path, chunk_size: int = 10, backend: str = "shared", workers: int | None = None,
           scheduler: str | None = None, show_progress: bool = True):
    """Monte Carlo of the programmed converter through the engine
    (:func:`memspice.montecarlo.engine.run_circuit`): chunks of ``chunk_size`` samples, one alter deck
    each, on ``workers`` processes (None: one per core; the engine starts no more than there are
    chunks to run), cached under ``cache_root``. Returns the engine's result."""
    from memspice.montecarlo.engine import run_circuit

    return run_circuit(circuit, name=f"qcell_adc-{circuit.spec.bits}bit", samples=samples, seed=seed, vary=vary,
                       chunk_size=chunk_size, backend=backend, workers=workers, scheduler=scheduler,
                       cache_root=cache_root, show_progress=show_progress)


def mc_result(circuit: QcellAdcCircuit, engine_result) -> McResult:
    """The converter's view of an engine result: measured boundaries of the samples that ran."""
    status = np.array([s for r in engine_result.records for s in r["status"]])
    ok = status == "ok"
    n_b = circuit.spec.n_cells - 1
    measured = np.stack([engine_result.measure(BOUNDARY_MEASURE.format(i)) for i in range(n_b)], axis=1)
    index = np.arange(len(status))
    return McResult(measured_v=measured[ok], code_error_rate=engine_result.measure("code_error_rate")[ok],
                    code_mismatch=engine_result.measure("code_mismatch_rate")[ok], sample=index[ok],
                    failed=tuple(int(k) for k in index[~ok]), cache_dir=engine_result.cache_dir)


def monte_carlo(spec: AdcSpec, card: DeviceCard, prog: Programming,
                opts: RunOptions = RunOptions()) -> tuple[McResult, McSamples]:
    """``spec.mc.samples`` samples of the converter as programmed by ``prog`` (open loop: programming
    does not see the sample's variation), through the engine with ``opts.workers`` and cached under
    ``opts.mc_cache_root`` (a temporary folder when None)."""
    circuit = QcellAdcCircuit.from_programming(spec, card, prog)
    mc = spec.mc

    def go(root: Path):
        res = run_mc(circuit, mc.samples, mc.seed, vary=mc_variations(spec, card), cache_root=root,
                     chunk_size=mc.chunk, backend=opts.backend, workers=opts.workers,
                     show_progress=opts.show_progress)
        values = {g: res.values(g) for g in circuit.param_groups()}
        return mc_result(circuit, res), circuit.applied_samples(values, mc.seed)

    if opts.mc_cache_root is not None:
        return go(Path(opts.mc_cache_root))
    import tempfile

    with tempfile.TemporaryDirectory(prefix="memspice-adc-mc-") as tmp:
        result, samples = go(Path(tmp))
    result.cache_dir = None
    return result, samples


def mc_statistics(spec: AdcSpec, mc: McResult, targets_v: np.ndarray) -> dict:
    lsb = spec.lsb_v
    meas = mc.measured_v
    sigma = np.std(meas, axis=0, ddof=1) if len(meas) > 1 else np.full(meas.shape[1], np.nan)
    inl_max, dnl_max = [], []
    for row in meas:
        inl, dnl = ex.inl_dnl(row, targets_v, spec.input_lo_v, spec.input_hi_v, lsb)
        inl_max.append(np.max(np.abs(inl)))
        dnl_max.append(np.max(np.abs(dnl)))
    inl_max, dnl_max = np.array(inl_max), np.array(dnl_max)
    span = spec.input_hi_v - spec.input_lo_v
    return {
        "samples": len(meas),
        "failed_samples": list(mc.failed),
        "boundary_sigma_V": sigma,
        "boundary_sigma_lsb": sigma / lsb,
        "boundary_sigma_rms_V": float(np.sqrt(np.mean(sigma**2))),
        "boundary_sigma_pct_of_range": float(100 * np.sqrt(np.mean(sigma**2)) / span),
        "inl_max_lsb_rms": float(np.sqrt(np.mean(inl_max**2))),
        "dnl_max_lsb_rms": float(np.sqrt(np.mean(dnl_max**2))),
        "inl_max_lsb_mean": float(np.mean(inl_max)),
        "dnl_max_lsb_mean": float(np.mean(dnl_max)),
        "inl_max_lsb_p95": float(np.percentile(inl_max, 95)),
        "dnl_max_lsb_p95": float(np.percentile(dnl_max, 95)),
        "code_error_rate": float(np.mean(mc.code_error_rate)),
        "code_mismatch_rate": float(np.mean(mc.code_mismatch)),
        "inl_max_lsb": inl_max,
        "dnl_max_lsb": dnl_max,
    }


# -- 7. the whole characterization -------------------------------------------------------------------


@dataclass
class AdcResult:
    spec: AdcSpec
    card: DeviceCard
    pmap: ex.ProgrammingMap
    prog: Programming
    transfer: Transfer
    energy: EnergyResult | None
    area: dict[str, float]
    mc: McResult | None = None
    mc_samples: McSamples | None = None
    mc_stats: dict | None = None
    pullup_sensitivity: dict | None = None


def program_converter(spec: AdcSpec, card: DeviceCard, opts: RunOptions = RunOptions(),
                      log: Callable[[str], None] | None = None) -> tuple[ex.ProgrammingMap, Programming, Transfer]:
    """Nominal programming: map, reachability check, write-verify, then write-verify on the
    converter's own transitions (through the cell-level loop). Returns (map, programming, transfer)."""
    targets = spec.targets_v()
    say = log or (lambda s: None)
    say(f"programming map over card {card.name}'s window {card.window_s()[0] * 1e6:.1f}.."
        f"{card.window_s()[1] * 1e6:.1f} uS")
    pmap = programming_map(spec, card, opts)
    check_reachable(spec, pmap, targets, card.name)
    prog = program(spec, card, pmap, targets, opts, log=say)
    say("transfer sweep with the transistor-level encoder")
    tr = transfer(spec, card, prog, opts)
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
        prog = program(spec, card, pmap, targets, opts, log=say, start=prog, offsets_v=offsets)
        prog.history_lsb = history + prog.history_lsb
        prog.iterations += done
        tr = transfer(spec, card, prog, opts)
    return pmap, prog, tr


def run_adc(spec: AdcSpec, opts: RunOptions = RunOptions(), *, energy: bool = True,
            log: Callable[[str], None] | None = None) -> AdcResult:
    """Map, reachability check, write-verify, transfer, energy and (if ``mc.samples``) Monte Carlo.

    The Monte Carlo runs through the engine (:func:`monte_carlo`) with ``opts.workers`` processes,
    cached under ``opts.mc_cache_root``.
    """
    card = load_card(spec.card)
    targets = spec.targets_v()
    say = log or (lambda s: None)
    pmap, prog, tr = program_converter(spec, card, opts, log=say)
    en = None
    if energy:
        say(f"transient: {spec.timing.conversions} conversions")
        en = conversion_energy_settled(spec, card, prog, opts, log=say)
    result = AdcResult(spec=spec, card=card, pmap=pmap, prog=prog, transfer=tr, energy=en, area=area_um2(spec),
                       pullup_sensitivity=pullup_sensitivity_lsb(spec, card, prog, opts=opts))
    if spec.mc.samples:
        say(f"Monte Carlo: {spec.mc.samples} samples")
        mc, samples = monte_carlo(spec, card, prog, opts)
        if mc.failed:
            say(f"Monte Carlo: {len(mc.failed)} sample(s) failed in ngspice and are left out: "
                f"{', '.join(map(str, mc.failed[:10]))}{' ...' if len(mc.failed) > 10 else ''}")
        if not len(mc.measured_v):
            raise SimulationError(f"Monte Carlo: all {spec.mc.samples} samples failed in ngspice")
        result.mc, result.mc_samples = mc, samples
        result.mc_stats = mc_statistics(spec, mc, targets)
    return result


def summary(result: AdcResult) -> dict:
    spec, tr, en = result.spec, result.transfer, result.energy
    energy = en.energy_per_conversion_j if en else None
    fom = ex.walden_fom_j(energy, tr.enob) if en else None
    groups: dict[str, float] = {}
    if en:
        for name, e in en.by_supply_j.items():
            groups[ENERGY_GROUPS[name]] = groups.get(ENERGY_GROUPS[name], 0.0) + e
    stats = result.mc_stats or {}
    lo_g, hi_g = result.card.window_s()
    return {
        "bits": spec.bits,
        "energy_per_conversion_J": energy,
        "delay_s": en.delay_s if en else None,
        "read_window_s": en.read_s if en else None,
        "conversion_period_s": en.period_s if en else None,
        "inl_max_lsb": tr.inl_max_lsb,
        "dnl_max_lsb": tr.dnl_max_lsb,
        "area_um2": result.area["total_um2"],
        "boundary_sigma_V": list(stats["boundary_sigma_V"]) if stats else None,
        "boundary_sigma_rms_V": stats.get("boundary_sigma_rms_V"),
        "input_range_V": [spec.input_lo_v, spec.input_hi_v],
        "lsb_V": spec.lsb_v,
        "max_boundary_error_lsb": float(np.max(np.abs(tr.error_lsb))),
        "monotonic": tr.monotonic,
        "encoder_disagreements_off_transitions": tr.encoder_disagreements(),
        "enob": tr.enob,
        "walden_fom_J_per_step": fom,
        "energy_by_supply_J": en.by_supply_j if en else None,
        "energy_by_group_J": groups or None,
        "ref_absorbed_J": en.ref_absorbed_j if en else None,
        "transient_codes_ok": en.codes_ok if en else None,
        "area": result.area,
        "write_verify_iterations": result.prog.iterations,
        "write_verify_history_lsb": result.prog.history_lsb,
        "card": {"name": result.card.name, "model": result.card.model, "window_S": [lo_g, hi_g]},
        "reachable_V": {side: list(result.pmap.reachable_v(side)) for side in ("lower", "upper")},
        "ml_scheme": "ratioed pull-up during the read (static), gated off between reads",
        "ml_pullup_sensitivity": result.pullup_sensitivity,
        "monte_carlo": ({k: v for k, v in stats.items() if k not in ("boundary_sigma_V", "inl_max_lsb", "dnl_max_lsb")}
                        | {"seed": spec.mc.seed, **mc_sigmas(spec, result.card),
                           "seeding": f"Monte Carlo engine: numpy SeedSequence(seed).spawn(chunks), one child per "
                                      f"chunk of mc.chunk = {spec.mc.chunk} samples (independent of workers)"})
                       if stats else None,
        "paper": {k: v for k, v in PAPER.items() if k != "linearity_lsb"},
        "spec_hash": spec.spec_hash(),
        "memspice_version": __version__,
    }


def adc_artifact(result: AdcResult) -> dict:
    """``adc.json``: what the neural-network side loads."""
    spec = result.spec
    mc = result.mc.measured_v.tolist() if result.mc is not None else []
    return {
        "bits": spec.bits,
        "input_range_V": [spec.input_lo_v, spec.input_hi_v],
        "targets_V": result.transfer.targets_v.tolist(),
        "measured_V": result.transfer.measured_v.tolist(),
        "mc_measured_V": mc,
        "source": (f"memspice {__version__} characterize adc: {spec.bits}-bit Q-cell ADC in ngspice, "
                   f"card {result.card.name}, transistors {spec.cell.transistors}, spec hash {spec.spec_hash()}"
                   + (f", Monte Carlo seed {spec.mc.seed}" if mc else "")),
    }


def write_outputs(result: AdcResult, out_dir: Path, *, figures: bool = True) -> dict:
    """Write boundaries.csv, transfer.csv, summary.json, adc.json, programming/MC tables, figures."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec, tr = result.spec, result.transfer
    n_b = spec.n_cells - 1
    sample: list = [""] * n_b
    index = list(range(n_b))
    target = list(tr.targets_v)
    measured = list(tr.measured_v)
    if result.mc is not None:
        for m, row in zip(result.mc.sample, result.mc.measured_v, strict=True):
            sample += [m] * n_b
            index += list(range(n_b))
            target += list(tr.targets_v)
            measured += list(row)
    write_csv(out_dir / "boundaries.csv", {"index": index, "target_V": target, "measured_V": measured,
                                           "sample": sample})
    write_csv(out_dir / "transfer.csv", {"input_V": tr.v_in, "code": tr.codes, "code_cell_logic": tr.codes_logic,
                                         "ideal_code": tr.ideal})
    write_csv(out_dir / "linearity.csv", {"code": np.arange(spec.n_cells), "inl_lsb": tr.inl_lsb,
                                          "dnl_lsb": tr.dnl_lsb})
    p = result.prog
    write_csv(out_dir / "programming.csv", {
        "cell": np.arange(spec.n_cells), "g_lower_S": p.g_lower_s, "g_upper_S": p.g_upper_s,
        "target_lower_V": p.plan.lower_v, "target_upper_V": p.plan.upper_v,
        "measured_lower_V": p.lower_v, "measured_upper_V": p.upper_v})
    write_csv(out_dir / "programming_map.csv", {"g_S": result.pmap.g_s, "lower_V": result.pmap.lower_v,
                                                "upper_V": result.pmap.upper_v})
    if result.energy is not None:
        en = result.energy
        write_csv(out_dir / "energy.csv", {"supply": list(en.by_supply_j),
                                           "energy_per_conversion_J": list(en.by_supply_j.values())})
        write_csv(out_dir / "conversions.csv", {"input_V": en.inputs_v, "expected_code": en.expected_codes,
                                                "sampled_code": en.sampled_codes, "delay_s": en.delays_s})
    if result.mc_samples is not None:
        write_csv(out_dir / "mc_samples.csv", result.mc_samples.table())
        write_csv(out_dir / "mc_per_sample.csv", {
            "sample": result.mc.sample,
            "inl_max_lsb": result.mc_stats["inl_max_lsb"], "dnl_max_lsb": result.mc_stats["dnl_max_lsb"],
            "code_error_rate": result.mc.code_error_rate, "code_mismatch_rate": result.mc.code_mismatch})
    summ = summary(result)
    write_json(out_dir / "summary.json", summ)
    write_json(out_dir / "adc.json", adc_artifact(result))
    write_json(out_dir / "spec.json", {"adc": spec.to_dict(), "card": result.card.to_dict(),
                                       "memspice_version": __version__, "python": sys.version.split()[0]})
    if figures:
        write_figures(result, out_dir)
    return summ


def write_figures(result: AdcResult, out_dir: Path) -> list[Path]:
    """PNG figures: transfer staircase, INL/DNL, programming map, boundary distributions (MC)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec, tr = result.spec, result.transfer
    paths = []
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.step(tr.v_in, tr.codes, where="post", label="ngspice (transistor encoder)")
    ax.step(tr.v_in, tr.ideal, where="post", ls="--", lw=0.8, label="targets")
    ax.set_xlabel("input (V)")
    ax.set_ylabel("code")
    ax.set_title(f"{spec.bits}-bit Q-cell ADC transfer")
    ax.legend()
    paths.append(_save(fig, out_dir / "transfer.png"))
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(6, 5), sharex=True)
    codes = np.arange(spec.n_cells)
    a1.bar(codes, tr.inl_lsb)
    a1.set_ylabel("INL (LSB)")
    a2.bar(codes, tr.dnl_lsb)
    a2.set_ylabel("DNL (LSB)")
    a2.set_xlabel("code")
    paths.append(_save(fig, out_dir / "inl_dnl.png"))
    fig, ax = plt.subplots(figsize=(6, 4))
    pm = result.pmap
    ax.plot(pm.g_s * 1e6, pm.lower_v, "o-", label="lower bound (branch A)")
    ax.plot(pm.g_s * 1e6, pm.upper_v, "s-", label="upper bound (branch B)")
    ax.axhspan(spec.input_lo_v, spec.input_hi_v, color="0.9", label="input range")
    ax.set_xlabel(f"memristor read conductance at {result.card.read_v:g} V (uS)")
    ax.set_ylabel("boundary (V)")
    ax.legend()
    paths.append(_save(fig, out_dir / "programming_map.png"))
    if result.mc is not None and len(result.mc.measured_v):
        fig, ax = plt.subplots(figsize=(6, 4))
        dev = (result.mc.measured_v - tr.measured_v[None, :]) / spec.lsb_v
        ax.boxplot(dev, positions=np.arange(1, spec.n_cells))
        ax.set_xlabel("boundary index")
        ax.set_ylabel("deviation from nominal (LSB)")
        ax.set_title(f"Monte Carlo, {len(dev)} samples")
        paths.append(_save(fig, out_dir / "boundary_distributions.png"))
    return paths


def _save(fig, path: Path) -> Path:
    from memspice.report.plotting import save

    fig.tight_layout()
    return save(fig, path, dpi=120)[0]


def golden_decks(spec: AdcSpec, include_dir: str | None = "../models") -> dict[str, str]:
    """Deterministic golden deck texts for ``netlists/`` from a spec, without any simulation.

    Conductances are the straight-line first guesses of
    :func:`memspice.reference.qcell.first_guess_conductances` (write-verified values need ngspice).
    The transistor library is included as ``<include_dir>/<file>`` (default ``../models``: the decks
    run from ``netlists/`` in any clone; None: absolute paths); memristor models are inlined.
    """
    from memspice.reference.qcell import first_guess_conductances

    card = load_card(spec.card)
    g = first_guess_conductances(card.window_s(), spec.edges_v(), spec.input_lo_v, spec.input_hi_v, spec.lsb_v)
    decks = nq.render_golden(spec, card, g, include_dir=include_dir)
    decks[f"qcell_adc_{spec.bits}bit_map.cir"] = nq.relocate_includes(nq.map_deck(spec, card, map_grid_s(card)),
                                                                      include_dir).render()
    return dict(sorted(decks.items()))
