"""Closed-loop chips in the precharge timing against a synthetic cell (no simulator): the control logic of
:class:`memspice.characterize.adc.chips_timed.TimedClosedLoopAdcCircuit` and the re-read rule of
:func:`memspice.characterize.adc.timed.read_in_timing`. The circuit result is
tests/sim/test_qcell_precharge.py (3 bits, 2 chips in ngspice, against the whole converter). One test asks the DC
closed loop (chips.ClosedLoopAdcCircuit) what its first verify reads."""

import numpy as np
import pytest

from memspice.characterize.adc import timed
from memspice.characterize.adc.chips_timed import TimedClosedLoopAdcCircuit
from memspice.characterize.adc.montecarlo import BOUNDARY_MEASURE, mc_sigmas
from memspice.characterize.adc.options import RunOptions
from memspice.characterize.adc.programming import plan_bounds
from memspice.extract.adc import ProgrammingMap
from memspice.spec.adc import AdcSpec
from memspice.spec.device import load_card

pytestmark = pytest.mark.unit

SPEC = AdcSpec().with_overrides({"bits": 4, "timing.scheme": "precharge"})
LSB = SPEC.lsb_v
CARD = load_card(SPEC.card)
G = np.linspace(40e-6, 470e-6, 21)
PMAP = ProgrammingMap(g_s=G, lower_v=0.60 + 2e3 * (G - 40e-6), upper_v=0.62 + 2e3 * (G - 40e-6))
SHIFT_V = -0.8 * LSB  # the timing reads every lower bound this far from the map (the DC read)
GAIN_V_PER_V = 0.5  # a bound moves this much per volt of its input device's threshold shift


def true_bounds(gl, gu, dv):
    """The synthetic chip's bounds in the timing: the map, the timing's shift of the lower bounds, and each
    cell's own threshold shift (column 0 moves the lower bound, column 1 the upper)."""
    return (PMAP.boundary_v("lower", gl) + SHIFT_V + GAIN_V_PER_V * dv[:, 0],
            PMAP.boundary_v("upper", gu) + GAIN_V_PER_V * dv[:, 1])


def fake_timed_bounds(log, guesses=None):
    """timed.timed_bounds with the synthetic cell in place of the simulator: the same input steps around the
    guesses, a cell output that falls linearly through VDD/2 over 0.3 LSB as the input passes its lower
    bound and rises as it passes its upper one (so a crossing between 0.1-LSB steps interpolates exactly),
    and the real reader's crossing rule (:func:`timed._crossing`, which also reads a bound beyond the window
    and a closed window as the simulator's output would make it)."""

    def read(spec, card, gl, gu, lower_v, upper_v, opts, half_width_lsb=1.2, step_lsb=0.1, delvto_v=None):
        log.append((len(gl), half_width_lsb, delvto_v is not None, step_lsb))
        if guesses is not None:
            guesses.append(np.stack([lower_v, upper_v], axis=1).copy())
        n = len(gl)
        lo, up = true_bounds(np.asarray(gl), np.asarray(gu), np.zeros((n, 9)) if delvto_v is None else delvto_v)
        offs = np.arange(-half_width_lsb * LSB, half_width_lsb * LSB + step_lsb * LSB / 2, step_lsb * LSB)
        vdd, w = spec.cell.vdd_v, 0.3 * LSB
        out_lo, out_up = np.full(n, np.nan), np.full(n, np.nan)
        for k in range(n):
            for guess, out, rising in ((lower_v, out_lo, False), (upper_v, out_up, True)):
                if not np.isfinite(guess[k]):
                    continue
                v = guess[k] + offs
                y = vdd * np.clip(np.maximum(0.5 - (v - lo[k]) / w, 0.5 + (v - up[k]) / w), 0.0, 1.0)
                out[k] = timed._crossing(v, y, vdd / 2, rising=rising)
        return out_lo, out_up

    return read


def nominal_circuit():
    """The nominal chip programmed on target in the timing (as program_in_timing leaves it)."""
    plan = plan_bounds(SPEC, SPEC.targets_v())
    gl = np.where(np.isfinite(plan.lower_v),
                  PMAP.conductance_s("lower", np.nan_to_num(plan.lower_v, nan=0.7) - SHIFT_V), 40e-6)
    gu = np.where(np.isfinite(plan.upper_v), PMAP.conductance_s("upper", np.nan_to_num(plan.upper_v, nan=0.7)), 470e-6)
    return TimedClosedLoopAdcCircuit(SPEC, gl, gu, CARD, PMAP, plan.lower_v, plan.upper_v)


def chips(circuit, m, seed):
    """The engine's values of ``m`` fabricated chips: first write and rewrite errors (the card's programming
    sigma), threshold shifts of 8 mV, no read noise."""
    rng = np.random.default_rng(seed)
    sig = mc_sigmas(SPEC, CARD)["program_sigma_s"]
    values = {}
    for name, group in circuit.param_groups().items():
        nominal = np.broadcast_to(group.nominal, (m, len(group.nominal)))
        spread = sig if name.startswith(("g_", "write_")) else 8e-3 if name.startswith("delvto") else 0.0
        values[name] = nominal + spread * rng.standard_normal(nominal.shape)
    return values


def test_each_chip_is_verified_by_its_own_timed_read_and_lands_in_band(monkeypatch):
    log = []
    monkeypatch.setattr(timed, "timed_bounds", fake_timed_bounds(log))
    circuit = nominal_circuit()
    values = chips(circuit, 3, seed=4)
    rows = circuit.run_values(values)
    targets = SPEC.targets_v()
    band = SPEC.mc.band_v + 0.5 * SPEC.sweep_step_lsb * LSB  # accepted within the band, read on the sweep grid
    for c, row in enumerate(rows):
        assert row["converged"] == 1.0 and row["nonconverged_boundary"] == -1.0
        measured = np.array([row[BOUNDARY_MEASURE.format(i)] for i in range(SPEC.n_cells - 1)])
        assert np.max(np.abs(measured - targets)) <= band
        # the same chip's first write (no verify) is off by much more: the verify saw its own mismatch
        one = {g: v[c] for g, v in values.items()}
        lo, _ = true_bounds(np.clip(one["g_lower"], *circuit.window), np.clip(one["g_upper"], *circuit.window),
                            circuit.delvto(one))
        assert np.max(np.abs(lo[1:] - targets)) > 2 * band
    # every read is one deck of slots (cells of all chips still being programmed) with their threshold shifts;
    # the first holds every cell of every chip but cell 0 (written once, never verified), later ones fewer;
    # the last is the use read of every cell
    assert all(dv for _, _, dv, _ in log)
    assert log[0][:2] == (3 * (SPEC.n_cells - 1), 5.0) and log[-1][0] == 3 * SPEC.n_cells
    assert min(n for n, _, _, _ in log[1:-1]) < 3 * SPEC.n_cells


def test_cell_0_is_not_read_in_the_timing(monkeypatch):
    """Cell 0's bounds are written once and never verified (Gray code 0: no code depends on them), so no timed
    read spends a slot on them: every read hands the simulator NaN guesses for both of cell 0's sides (a NaN
    guess keeps a side out of every transient, timed._scan), the chips' reads and the final use read alike,
    and every other cell's controlled sides finite ones."""
    guesses, log = [], []
    monkeypatch.setattr(timed, "timed_bounds", fake_timed_bounds(log, guesses))
    circuit = nominal_circuit()
    m = 2
    rows = circuit.run_values(chips(circuit, m, seed=4))
    assert all(r["converged"] == 1.0 for r in rows)
    n = SPEC.n_cells
    first, use = guesses[0], guesses[-1]
    # the first read holds cells 1..n-1 of every chip (the chips' first todo), with finite guesses for every
    # controlled side (cell n-1 has no upper bound)
    assert len(first) == m * (n - 1)
    per_chip = first.reshape(m, n - 1, 2)
    assert np.isfinite(per_chip[:, :, 0]).all() and np.isfinite(per_chip[:, :-1, 1]).all()
    # the use read holds every cell of every chip (slots chip by chip, cell by cell); cell 0's guesses are NaN
    assert len(use) == m * n
    per_chip = use.reshape(m, n, 2)
    assert np.isnan(per_chip[:, 0]).all()
    assert np.isfinite(per_chip[:, 1:, 0]).all() and np.isfinite(per_chip[:, 1:-1, 1]).all()



class _FirstVerify(Exception):
    """Stops a chip run at its first verify (what it was asked to read is all the test needs)."""


def test_the_dc_chip_verify_starts_from_the_cells_with_a_controlled_bound(monkeypatch):
    """The DC closed loop (chips.ClosedLoopAdcCircuit) asks its first verify for every cell but cell 0 of every
    chip: cell 0's bounds are written once and never verified (docs/adc.md section 3)."""
    from memspice.characterize.adc.chips import ClosedLoopAdcCircuit

    dc_spec = SPEC.with_overrides({"timing.scheme": "static"})
    plan = plan_bounds(dc_spec, dc_spec.targets_v())
    gl = np.where(np.isfinite(plan.lower_v), PMAP.conductance_s("lower", np.nan_to_num(plan.lower_v, nan=0.7)), 40e-6)
    gu = np.where(np.isfinite(plan.upper_v), PMAP.conductance_s("upper", np.nan_to_num(plan.upper_v, nan=0.7)), 470e-6)
    circuit = ClosedLoopAdcCircuit(dc_spec, gl, gu, CARD, PMAP)
    asked = []

    def first_verify(self, todo, *args, **kw):
        asked.append({c: cells.copy() for c, cells in todo.items()})
        raise _FirstVerify

    monkeypatch.setattr(ClosedLoopAdcCircuit, "_verify", first_verify)
    m, n = 3, dc_spec.n_cells
    with pytest.raises(_FirstVerify):
        circuit.run_values(chips(circuit, m, seed=4))
    (todo,) = asked
    assert sorted(todo) == list(range(m))
    for cells in todo.values():
        assert cells.shape == (n,) and not cells[0] and cells[1:].all()

def test_the_same_chips_give_the_same_rows(monkeypatch):
    monkeypatch.setattr(timed, "timed_bounds", fake_timed_bounds([]))
    circuit = nominal_circuit()
    a = circuit.run_values(chips(circuit, 2, seed=9))
    b = circuit.run_values(chips(circuit, 2, seed=9))
    assert a == b


def test_transfer_from_the_cells_windows_by_hand():
    """Cells abutting at known bounds give those boundaries (to half a sweep step); a gap is a code 0 stretch
    (a code error), a closed cell matches nowhere."""
    circuit = nominal_circuit()
    t = SPEC.targets_v()
    n = SPEC.n_cells
    lower = np.concatenate([[np.nan], t])
    upper = np.concatenate([t, [np.nan]])
    row = circuit.measure_bounds(lower, upper, np.zeros(n, bool))
    measured = np.array([row[BOUNDARY_MEASURE.format(i)] for i in range(n - 1)])
    assert np.max(np.abs(measured - t)) <= 0.5 * SPEC.sweep_step_lsb * LSB + 1e-12
    assert row["code_mismatch_rate"] <= 2 / 20 / n  # only the grid points on a boundary can differ
    closed = np.zeros(n, bool)
    closed[5] = True
    assert circuit.measure_bounds(lower, upper, closed)["code_error_rate"] > 0.5 / n


def test_a_window_beyond_both_search_windows_is_read_again_wider_not_taken_for_closed(monkeypatch):
    """A 1-LSB window 3 LSB above its targets: both +-1.2 LSB reads saturate (lower above its window, upper
    below its own), which reads like a closed window; the wide re-read (a coarse locate) finds it open, and
    a fine read around what it found gives its bounds. A really closed window stays closed."""
    log = []
    monkeypatch.setattr(timed, "timed_bounds", fake_timed_bounds(log))
    t_lo, t_up = 0.90, 0.90 + LSB
    gl = PMAP.conductance_s("lower", np.array([t_lo + 3 * LSB - SHIFT_V, t_lo + 1.0 * LSB - SHIFT_V]))
    gu = PMAP.conductance_s("upper", np.array([t_up + 3 * LSB, t_lo + 0.5 * LSB]))  # cell 1: upper below lower
    # without the re-read rule, the +-1.2 LSB read takes both for closed
    lo, up = fake_timed_bounds([])(SPEC, CARD, gl, gu, np.array([t_lo] * 2), np.array([t_up] * 2), RunOptions())
    assert np.all(lo >= up)
    has = np.ones((2, 2), bool)
    lo, up, clamped, closed = timed.read_in_timing(SPEC, CARD, gl, gu, np.array([t_lo] * 2), np.array([t_up] * 2),
                                                   has, RunOptions(), 1.2, np.zeros((2, 9)))
    # both re-read wide, in the locate's coarse steps; the one found open read again on the fine grid
    wide = (2, timed.WIDE_HALF_WIDTH_LSB, timed.WIDE_STEP_LSB)
    assert [(n, h, step) for n, h, _, step in log] == [(2, 1.2, 0.1), wide, (1, 1.2, 0.1)]
    assert list(closed) == [False, True] and not clamped[0].any()
    assert lo[0] == pytest.approx(t_lo + 3 * LSB, abs=1e-9) and up[0] == pytest.approx(t_up + 3 * LSB, abs=1e-9)
    assert np.isnan(lo[1]) and np.isnan(up[1])
