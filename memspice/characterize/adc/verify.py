"""The write-verify loops of a Q-cell ADC's nominal programming: verify windows and re-reads shared with
the chips' verify, the windowed verify read, :func:`program` (the whole converter), :func:`program_cell`
(one cell) and the independent reference's window of a cell. The controller they drive,
:class:`~memspice.characterize.adc.programming.WriteVerify`, is in
:mod:`memspice.characterize.adc.programming`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from memspice.characterize.adc.options import RunOptions
from memspice.characterize.adc.programming import (
    MAX_SWEEP_MARGIN_LSB,
    Programming,
    WriteVerify,
    beyond_sweep,
    measure_cells,
)
from memspice.extract import adc as ex
from memspice.netlist import qcell as nq
from memspice.spec.adc import AdcSpec
from memspice.spec.device import DeviceCard


def window_indices(spec: AdcSpec, tgt: np.ndarray, margin_lsb: float) -> tuple[int, int]:
    """Verify window of a cell with bound targets ``tgt`` (V, NaN: not controlled): its targets plus
    ``margin_lsb`` on each side as indices (first, last) of the full transfer sweep's grid; at
    MAX_SWEEP_MARGIN_LSB (or with no controlled bound) the whole input range plus that margin, as the
    whole-array sweep widened to it reads the cell (also the chips' verify windows, with their coarse reads)."""
    start0, _, step = nq.sweep_range_v(spec)
    t = tgt[np.isfinite(tgt)]
    if not t.size or margin_lsb >= MAX_SWEEP_MARGIN_LSB:
        t = np.concatenate([t, [spec.input_lo_v, spec.input_hi_v]])
    first = int(np.floor((float(np.min(t)) - margin_lsb * spec.lsb_v - start0) / step + 1e-9))
    last = int(np.ceil((float(np.max(t)) + margin_lsb * spec.lsb_v - start0) / step - 1e-9))
    return first, max(last, first + 4)


def reread_margin(has: np.ndarray, lower: np.ndarray, upper: np.ndarray, out: np.ndarray, vdd: float,
                  margin_lsb: float) -> tuple[bool, float | None]:
    """One cell's windowed reading (``has``, bounds and output of shape (1, 2) / (points, 1)): whether a
    controlled bound lies beyond the sweep, and the margin (LSB) to read it again with, or None when the
    reading stands. Beyond the window: the margin doubled; matching nowhere (closed, or moved wholly out
    of the window): the whole range at once; at MAX_SWEEP_MARGIN_LSB the reading stands either way.
    The rule of both the nominal programming's and the chips' verify reads."""
    beyond = bool(beyond_sweep(has, lower, upper, out, vdd).any())
    nowhere = bool(has.any()) and not np.any(out < vdd / 2)
    if margin_lsb >= MAX_SWEEP_MARGIN_LSB or not (beyond or nowhere):
        return beyond, None
    return beyond, MAX_SWEEP_MARGIN_LSB if nowhere else min(2 * margin_lsb, MAX_SWEEP_MARGIN_LSB)


def measure_cells_windowed(spec: AdcSpec, card: DeviceCard, g_lower_s, g_upper_s, wv: WriteVerify,
                           opts: RunOptions, counts: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bounds (V) of every cell, each read on the transfer sweep's grid around its own targets only.

    One verify deck (:mod:`memspice.netlist.qcell_verify`: cell k's input is the swept input plus its
    own offset; cells do not interact in DC) sweeps every cell over its targets +- the spec's margin (at
    least 1 LSB), so a sweep is a few LSB long whatever the input range, instead of the whole range at
    every iteration. A cell with a controlled bound beyond its window (it matches at that edge) is read
    again with the margin doubled up to MAX_SWEEP_MARGIN_LSB; one that matches nowhere in its window is
    read again at MAX_SWEEP_MARGIN_LSB (the whole range) before it is taken for closed. ``counts``
    (optional) accumulates ``decks`` and ``points`` (sweep points x cells) for profiling."""
    from memspice.netlist.deck import Analyze, Dc, Deck
    from memspice.netlist.qcell_verify import offset_alters, verify_cards

    n, vdd = spec.n_cells, spec.cell.vdd_v
    start0, _, step = nq.sweep_range_v(spec)
    lower, upper = np.full(n, np.nan), np.full(n, np.nan)
    margin = np.full(n, max(spec.sweep_margin_lsb, 1.0))
    pending = list(range(n))
    while pending:
        # only the cells read in this deck: a re-read of a few cells costs a few cells, not the array
        cards = verify_cards(spec, card, g_lower_s, g_upper_s, cells=pending)
        win = {k: window_indices(spec, wv.tgt[k], float(margin[k])) for k in pending}
        quiet = spec.cell.v_ref_v  # (cells not read are not in the deck)
        off = np.full(n, quiet)
        for k in pending:
            off[k] = start0 + win[k][0] * step
        points = max(b - a for a, b in win.values())
        read = set(pending)
        alters = [a for k, a in enumerate(offset_alters(off)) if k in read]
        deck = Deck(f"qcell adc {spec.bits}-bit windowed verify", cards,
                    steps=[*alters, Analyze(Dc("vin", 0.0, points * step, step),
                                                        tuple(f"v(out{k})" for k in pending), label="verify")],
                    header=nq.header(spec, card, "windowed verify"))
        plot = opts.sim(deck)[0]
        if counts is not None:
            counts["decks"] = counts.get("decks", 0) + 1
            counts["points"] = counts.get("points", 0) + (points + 1) * len(pending)
        v = plot["v-sweep"]
        again = []
        for k in pending:
            out = plot[f"v(out{k})"][:, None]
            lo, up = ex.cell_bounds(v, out, vdd)
            _, wider = reread_margin(wv.has[k:k + 1], lo, up, out, vdd, float(margin[k]))
            if wider is not None:
                margin[k] = wider
                again.append(k)
                continue
            lower[k], upper[k] = lo[0] + off[k], up[0] + off[k]
        pending = again
    return lower, upper


def program(spec: AdcSpec, card: DeviceCard, pmap: ex.ProgrammingMap, targets_v: np.ndarray,
            opts: RunOptions = RunOptions(), log: Callable[[str], None] | None = None,
            start: Programming | None = None, offsets_v: np.ndarray | None = None,
            windowed: bool = True, counts: dict | None = None) -> Programming:
    """Write-verify (:class:`WriteVerify`): first guess from the map, then correct conductances until
    bounds are on target.

    A controlled bound missing from the verify sweep because it lies beyond the sweep's edge (the cell
    matches there) is read by widening that sweep (doubling its margin, up to
    :data:`MAX_SWEEP_MARGIN_LSB`), not mistaken for a closed window.

    ``start`` continues from an earlier programming; ``offsets_v`` (one per boundary) moves the cell-level
    aim of each dominant bound, so that the *converter's* transition (read through the encoder) lands
    on target where the encoder switches a little away from the cell output's mid-rail crossing.
    """
    start_s = None if start is None else np.stack([start.g_lower_s, start.g_upper_s], axis=1)
    wv = WriteVerify(spec, card, pmap, targets_v, start_s=start_s, offsets_v=offsets_v)
    sweep_spec = spec
    for it in range(1, spec.program_max_iter + 1):
        if windowed:
            lower, upper = measure_cells_windowed(spec, card, wv.x[:, 0], wv.x[:, 1], wv, opts, counts)
            if wv.update(it, lower, upper, log):
                break
            continue
        while True:
            if counts is not None:
                counts["decks"] = counts.get("decks", 0) + 1
                s0, s1, st = nq.sweep_range_v(sweep_spec)
                counts["points"] = counts.get("points", 0) + (round((s1 - s0) / st) + 1) * spec.n_cells
            _, out, lower, upper = measure_cells(sweep_spec, card, wv.x[:, 0], wv.x[:, 1], opts)
            margin = sweep_spec.sweep_margin_lsb
            if margin >= MAX_SWEEP_MARGIN_LSB or not beyond_sweep(wv.has, lower, upper, out, spec.cell.vdd_v).any():
                break
            sweep_spec = sweep_spec.with_overrides({"sweep_margin_lsb": min(2 * max(margin, 0.5),
                                                                            MAX_SWEEP_MARGIN_LSB)})
            if log:
                log(f"write-verify: a bound lies beyond the verify sweep; widening it to "
                    f"+-{sweep_spec.sweep_margin_lsb:g} LSB")
        if wv.update(it, lower, upper, log):
            break
    return wv.prog


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
