"""Closed-loop chip Monte Carlo: spec knobs, the band check, the sweep-edge rule, adc.json modes (no ngspice)."""

import json

import numpy as np
import pytest

from memspice.characterize.adc import chips
from memspice.characterize.adc.montecarlo import AdcMcResult
from memspice.characterize.adc.programming import ChipWriteVerify, beyond_sweep
from memspice.errors import SpecError
from memspice.extract import adc as ex
from memspice.extract.adc import ProgrammingMap
from memspice.nn.artifacts import load_spice_adc
from memspice.spec.adc import AdcSpec
from memspice.spec.device import load_card


@pytest.mark.parametrize(("changes", "field"), [
    ({"mc.programming": "half"}, "mc.programming"),
    ({"mc.band_v": 0.0}, "mc.band_v"),
    ({"mc.max_iter": 0}, "mc.max_iter"),
    ({"mc.v_pu_shift_v": 0.5}, "mc.v_pu_shift_v"),
    ({"mc.drift_sigma_s": -1e-6}, "mc.drift_sigma_s"),
    ({"mc.write_band_frac": 1.5}, "mc.write_band_frac"),
])
def test_bad_programming_knobs_name_the_field(changes, field):
    with pytest.raises(SpecError) as info:
        AdcSpec().with_overrides(changes)
    assert info.value.field.endswith(field.split(".")[-1])


def test_defaults_are_closed_loop_with_a_5_mv_band():
    mc = AdcSpec().mc
    assert (mc.programming, mc.band_v, mc.open_reference) == ("closed", 5e-3, True)


def test_a_band_below_the_read_noise_floor_is_refused():
    spec = AdcSpec()
    card = load_card(spec.card)
    g0, g1 = card.window_s()
    g = np.linspace(g0, g1, 11)
    slope = 2.2e3  # V/S (2.2 mV/uS, QIM's programming example), a straight map
    pmap = ProgrammingMap(g_s=g, lower_v=0.6 + slope * (g - g0), upper_v=0.7 + slope * (g - g0))
    floor = card.variability.read_sigma_s * slope  # independent: read sigma times the map slope
    assert chips.read_noise_floor_v(spec, card, pmap) == pytest.approx(floor, rel=1e-3)
    chips.check_band(spec, card, pmap)  # 5 mV is far above it
    with pytest.raises(SpecError) as info:
        chips.check_band(spec.with_overrides({"mc.band_v": 0.5 * floor}), card, pmap)
    assert info.value.field == "mc.band_v"
    with pytest.raises(SpecError) as info:  # a device-level band below the floor cannot be verified either
        chips.check_band(spec.with_overrides({"mc.write_band_frac": 0.5 * floor / spec.mc.band_v}), card, pmap)
    assert info.value.field == "mc.write_band_frac"


def test_the_read_noise_floor_is_read_where_the_map_was_measured():
    """A branch that stops reaching bounds part-way (NaN beyond, as a real map does past its top bound): the
    floor is the card's read sigma through the steepest slope of the measured part (the analytic derivative
    of the quadratic below at its last measured point, 3 % for the interpolant), not of the interpolant
    extrapolated into the unreached part (1.23x steeper here: the end cubic run to the top of the window)."""
    spec = AdcSpec()
    card = load_card(spec.card)
    g0, g1 = card.window_s()
    g = np.linspace(g0, g1, 11)
    s, q = 2.2e3, 2.2e3 / (g[6] - g0) / 2  # upper slope 2.2 mV/uS at g0, twice that at g[6]
    upper = 0.7 + s * (g - g0) + q * (g - g0) ** 2
    upper[7:] = np.nan
    pmap = ProgrammingMap(g_s=g, lower_v=0.6 + s * (g - g0), upper_v=upper)
    steepest = s + 2 * q * (g[6] - g0)  # 4.4 mV/uS at the last measured upper bound
    assert chips.read_noise_floor_v(spec, card, pmap) == pytest.approx(card.variability.read_sigma_s * steepest,
                                                                       rel=0.03)


@pytest.mark.parametrize("band_s", [1.0e-6, 2.5e-6, 5e-6])
def test_a_verified_write_is_the_pulse_and_read_loop(band_s):
    """The device-level write-verify's error, drawn quantile for quantile from one N(0, sigma) draw,
    against the loop itself (pulse + N(0, sigma), read + N(0, s_r), repeat until within the band),
    run by brute force on another generator: spread and pulses per rewrite within 5 % (4000 samples:
    the standard error of a std is ~1.1 %)."""
    sigma, sr = 2.8e-6, 0.2e-6
    z = np.random.default_rng(0).normal(0.0, sigma, 4000)
    got = np.array([chips.verified_write_error_s(v, band_s, sigma, sr) for v in z])
    rng = np.random.default_rng(1)
    kept, pulses = [], 0
    while len(kept) < 4000:
        e = rng.normal(0.0, sigma)
        pulses += 1
        if abs(e + rng.normal(0.0, sr)) <= band_s:
            kept.append(e)
    assert np.std(got) == pytest.approx(np.std(kept), rel=0.05)
    assert np.max(np.abs(got)) <= band_s + 6 * sr
    assert 1 / chips.write_accept_probability(band_s, sigma, sr) == pytest.approx(pulses / 4000, rel=0.05)
    assert chips.verified_write_error_s(1e-6, np.inf, sigma, sr) == 1e-6  # no device-level verify: the draw


def test_a_bound_beyond_the_sweep_is_told_from_a_closed_window():
    vdd = 1.0
    out = np.full((71, 3), vdd)
    out[:20, 0] = 0.0  # cell 0 matches from the sweep start: its lower bound is below the sweep
    out[60:, 1] = 0.0  # cell 1 still matches at the end: its upper bound is above the sweep
    has = np.ones((3, 2), bool)  # cell 2 never matches: a closed window, not a sweep problem
    lower = np.array([np.nan, 1.2, np.nan])
    upper = np.array([0.8, np.nan, np.nan])
    assert beyond_sweep(has, lower, upper, out, vdd).tolist() == [True, True, False]


def test_adc_json_carries_both_modes_and_closed_is_the_default_row(tmp_path):
    targets = [0.8, 0.9, 1.0]
    closed = [[0.801, 0.899, 1.002]]
    opened = [[0.83, 0.88, 1.05], [0.78, 0.93, 0.99]]
    data = {"bits": 2, "input_range_V": [0.7, 1.2], "targets_V": targets, "measured_V": targets,
            "mc_measured_V": closed, "mc_programming": "closed",
            "mc": {"open": {"measured_V": opened}, "closed": {"measured_V": closed}}}
    path = tmp_path / "adc.json"
    path.write_text(json.dumps(data))
    art = load_spice_adc(path)
    views = art.by_programming()
    assert [m for m, _ in views] == ["closed", "open"]
    assert np.allclose(views[1][1].trial_errors(), (np.array(opened) - targets) / 0.5)
    assert len(views[0][1].trial_errors()) == 1
    # an older artifact without modes is one row
    del data["mc"], data["mc_programming"]
    path.write_text(json.dumps(data))
    assert [m for m, _ in load_spice_adc(path).by_programming()] == [""]


def test_a_saturated_reading_steers_the_bound_back_not_outwards():
    """A controlled upper bound beyond the widest verify sweep (the cell matches at its top edge) is
    read as that edge: the next write lowers that conductance (towards the target). Read as missing
    (NaN), the same cell was taken for a closed window and its upper bound pushed further out."""
    from memspice.characterize.adc.programming import WriteVerify

    spec = AdcSpec(bits=2)
    card = load_card(spec.card)
    g0, g1 = card.window_s()
    g = np.linspace(g0, g1, 11)
    slope = 2.2e3  # V/S, a straight map rising with conductance on both branches
    pmap = ProgrammingMap(g_s=g, lower_v=0.3 + slope * (g - g0), upper_v=0.35 + slope * (g - g0))
    targets = spec.targets_v()

    def controller():
        return WriteVerify(spec, card, pmap, targets, aim_v=spec.mc.band_v, rewrite_all=False)

    wv = controller()
    k = 1  # a middle cell: both bounds controlled
    lower, upper = wv.tgt[:, 0].copy(), wv.tgt[:, 1].copy()
    edge = spec.input_hi_v + 8 * spec.lsb_v
    before = wv.x[k, 1]
    sat = upper.copy()
    sat[k] = edge
    clamped = np.zeros((spec.n_cells, 2), bool)
    clamped[k, 1] = True
    assert not wv.update(1, lower, sat, clamped=clamped)
    assert wv.x[k, 1] < before  # moved back towards the target
    old = controller()
    missing = upper.copy()
    missing[k] = np.nan
    assert not old.update(1, lower, missing)
    assert old.x[k, 1] > before  # the closed-window rule: outwards


def _straight_map_controller(rewrite_all: bool = False):
    """A 2-bit controller on a straight map (both branches 2.2 mV/uS) and its spec and card."""
    from memspice.characterize.adc.programming import WriteVerify

    spec = AdcSpec(bits=2)
    card = load_card(spec.card)
    g0, g1 = card.window_s()
    g = np.linspace(g0, g1, 11)
    slope = 2.2e3  # V/S
    pmap = ProgrammingMap(g_s=g, lower_v=0.3 + slope * (g - g0), upper_v=0.35 + slope * (g - g0))
    wv = WriteVerify(spec, card, pmap, spec.targets_v(), aim_v=spec.mc.band_v, rewrite_all=rewrite_all)
    return spec, card, pmap, wv


def _reading(wv, k: int, lower_shift_w: float, upper_shift_w: float):
    """Bounds on target except cell ``k``'s, shifted by the given multiples of its target width."""
    lower, upper = wv.tgt[:, 0].copy(), wv.tgt[:, 1].copy()
    w = wv.tgt[k, 1] - wv.tgt[k, 0]
    lower[k] += lower_shift_w * w
    upper[k] += upper_shift_w * w
    return lower, upper


def test_a_chip_never_narrows_a_window_already_too_narrow():
    """Both bounds of cell k read low and its window narrower than its target: a chip's next write
    raises only G_upper (widening); raising G_lower too closed such windows (issue 12, chip 2 of
    seed 1234). A window wider than its target, and the nominal programming (exact writes), move
    both conductances as before."""
    k = 1  # both bounds controlled
    _, _, _, wv = _straight_map_controller()
    x = wv.x[k].copy()
    assert not wv.update(1, *_reading(wv, k, -0.6, -0.9))  # width 0.7 of the target
    assert wv.x[k, 0] == x[0] and wv.x[k, 1] > x[1]
    _, _, _, wide = _straight_map_controller()
    assert not wide.update(1, *_reading(wide, k, -0.9, -0.6))  # width 1.3 of the target
    assert wide.x[k, 0] > x[0] and wide.x[k, 1] > x[1]
    _, _, _, nominal = _straight_map_controller(rewrite_all=True)
    assert not nominal.update(1, *_reading(nominal, k, -0.6, -0.9))
    assert nominal.x[k, 0] > x[0] and nominal.x[k, 1] > x[1]


def test_a_window_closed_only_at_the_cap_is_not_one_that_never_opened():
    """At the iteration cap a cell whose window read open at an earlier verify is reported as closed at
    the last verify (it can be programmed), one never read open as 'window never opened'."""
    spec, card, pmap, wv = _straight_map_controller()
    circuit = chips.ClosedLoopAdcCircuit(spec, wv.x[:, 0], wv.x[:, 1], card, pmap)
    k = 1
    lower, upper = _reading(wv, k, -0.6, -0.9)
    assert not wv.update(1, lower, upper)
    lower[k] = upper[k] = np.nan
    assert not wv.update(2, lower, upper)
    assert circuit._diagnose(wv, False, wv.x)[:2] == (chips.WINDOW_LOST, k - 1)
    _, _, _, never = _straight_map_controller()
    assert not never.update(1, lower, upper)
    assert circuit._diagnose(never, False, never.x)[:2] == (chips.WINDOW_CLOSED, k - 1)


def test_a_stopped_chip_names_the_bound_that_stopped_it():
    """The worst unaccepted bound is recorded as cell and side, dominant or the recessive guard, and
    reported in words: boundary 0 is set by cell 1's lower bound or guarded by cell 0's upper one, and
    which of them stopped a chip is what a designer needs to read its reach margin."""
    spec, card, pmap, wv = _straight_map_controller()
    circuit = chips.ClosedLoopAdcCircuit(spec, wv.x[:, 0], wv.x[:, 1], card, pmap)
    k = 1
    lower, upper = _reading(wv, k, -0.6, -0.9)
    lower[k] = upper[k] = np.nan
    assert not wv.update(1, lower, upper)
    got = circuit.closed_measures(wv, False, wv.x, 7)
    cell, side = divmod(int(got["nonconverged_bound"]), 2)
    assert cell == k and got["nonconverged_boundary"] == (k - 1 if side == 0 else k)
    assert got["nonconverged_dominant"] == float(wv.dom[k, side]) and got["verify_iterations"] == 7.0
    done = circuit.closed_measures(wv, True, wv.x, 3)
    assert (done["nonconverged_bound"], done["nonconverged_dominant"], done["converged"]) == (-1.0, -1.0, 1.0)
    mc = AdcMcResult(measured_v=np.zeros((3, 3)), code_error_rate=np.zeros(3), code_mismatch=np.zeros(3),
                     programming="closed", converged=np.array([True, False, False]),
                     reason=np.array([0, chips.WINDOW_EDGE, chips.ITERATION_CAP]), boundary=np.array([-1, 0, 0]),
                     bound=np.array([-1, 2, 1]), bound_dominant=np.array([-1, 1, 0]), iterations=np.array([3, 9, 9]))
    rows = chips.nonconverged(mc)
    assert [r["bound"] for r in rows] == ["cell 1 lower (dominant)", "cell 0 upper (recessive guard)"]
    assert [r["sample"] for r in rows] == [1, 2]


def test_a_window_that_never_opened_is_opened_by_a_doubling_step():
    """Each closed reading of a window that never read open moves both bounds outwards by half an LSB,
    then 1, 2, 4 LSB (capped): a fixed half-LSB step could not reopen a 6-bit chip's cell that its
    mismatch closed by more than 20 half-LSB steps (issue 12/17, chip 0 of seed 1234, cell 53)."""
    spec, _, _, wv = _straight_map_controller()
    k = 1
    slope = 2.2e3  # V/S, the straight map's
    lower, upper = wv.tgt[:, 0].copy(), wv.tgt[:, 1].copy()
    lower[k] = upper[k] = np.nan
    moves = []
    for it in range(1, 7):
        before = wv.x[k].copy()
        assert not wv.update(it, lower, upper)
        moves.append(((before[0] - wv.x[k, 0]) * slope / spec.lsb_v, (wv.x[k, 1] - before[1]) * slope / spec.lsb_v))
    expected = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    g0, g1 = wv.g0, wv.g1
    for (d_lo, d_up), e in zip(moves, expected, strict=True):
        # a move is smaller only where the card's window clips it
        assert d_lo == pytest.approx(e, rel=1e-9) or wv.x[k, 0] == g0
        assert d_up == pytest.approx(e, rel=1e-9) or wv.x[k, 1] == g1
    assert moves[0] == pytest.approx((0.5, 0.5), rel=1e-9)
    assert moves[1] == pytest.approx((1.0, 1.0), rel=1e-9)


def test_a_chip_moves_a_shifted_window_as_a_whole():
    """Both bounds of cell k read low, the upper one inside the band and the lower one outside it: a
    chip rewrites both (the window moves as a whole); raising only G_lower narrowed such 6-bit windows
    until they closed (issue 12/17). Errors of opposite signs (a window too wide) keep the accepted bound."""
    k = 1
    band = 5e-3  # the chips' default acceptance band (V)
    _, _, _, wv = _straight_map_controller()
    x = wv.x[k].copy()
    lower, upper = wv.tgt[:, 0].copy(), wv.tgt[:, 1].copy()
    lower[k] -= 1.6 * band
    upper[k] -= 0.6 * band
    assert not wv.update(1, lower, upper)
    assert wv.x[k, 0] > x[0] and wv.x[k, 1] > x[1]
    _, _, _, wide = _straight_map_controller()
    lower[k] = wide.tgt[k, 0] - 1.6 * band
    upper[k] = wide.tgt[k, 1] + 0.6 * band
    assert not wide.update(1, lower, upper)
    assert wide.x[k, 0] > x[0] and wide.x[k, 1] == x[1]


def test_cell_0s_bounds_are_written_once_and_never_verified():
    """Cell 0 (Gray code 0) drives no bit line: whatever its window, every code is the same (checked on the
    OR of Gray codes), so its upper bound, boundary 0's recessive guard, is written once to its planned
    guard and never verified: a chip whose cell-0 guard stays far off converges and is not stopped by it."""
    spec, _card, pmap, wv = _straight_map_controller()
    n = spec.n_cells
    assert not wv.has[0].any() and wv.has[1:].any()
    assert wv.x[0, 1] == pytest.approx(pmap.conductance_s("upper", wv.plan.upper_v[0] + 0.5 * spec.lsb_v))
    lower, upper = wv.tgt[:, 0].copy(), wv.tgt[:, 1].copy()
    upper[0] = spec.input_hi_v  # cell 0 matches over the whole range
    x0 = wv.x.copy()
    assert wv.update(1, lower, upper) and np.array_equal(wv.x, x0)
    v = np.linspace(spec.input_lo_v, spec.input_hi_v, 401)
    lo = np.where(np.isfinite(lower), lower, -np.inf)

    def codes(up):
        return ex.codes_from_match((v[:, None] >= lo) & (v[:, None] < np.where(np.isfinite(up), up, np.inf)))

    wide, gap = upper.copy(), upper.copy()
    gap[0] = spec.input_lo_v  # or nowhere: a gap below cell 1 reads code 0 as well
    assert np.array_equal(codes(wide), codes(gap)) and codes(wide).max() == n - 1


def test_a_rewrite_is_verified_as_finely_as_the_cell_is_sensitive():
    """The device-level band of a rewrite is write_band_frac * band_v through the steeper of the map's
    slope and the cell's learnt sensitivity: after two open readings that show a bound moving 3x faster
    than the map says (and the other bound moving too), the band of that conductance shrinks by the learnt
    ratio; a cell
    the map describes keeps the map's band."""
    spec, card, pmap, wv = _straight_map_controller()
    circuit = chips.ClosedLoopAdcCircuit(spec, wv.x[:, 0], wv.x[:, 1], card, pmap)
    k = 2  # both bounds dominant
    slope = 2.2e3  # V/S, the straight map's
    assert np.allclose(wv.sensitivity_v_per_s()[k], slope)
    # every upper bound 40 mV low (beyond the recessive tolerance too): every verified G_upper rewritten (not
    # cell 0's: no code reads it), no G_lower
    lower, upper = wv.tgt[:, 0].copy(), wv.tgt[:, 1] - 0.04
    x0 = wv.x.copy()
    assert not wv.update(1, lower, upper)
    dg = wv.x[:, 1] - x0[:, 1]
    assert dg[0] == 0 and np.all(dg[1:3] > 0) and np.all(wv.x[:, 0] == x0[:, 0])
    # cell k: its upper bound moves 3x the map per S of G_upper, its lower bound -2x; the others as the map
    upper2 = upper + slope * dg
    lower2 = lower.copy()
    upper2[k] = upper[k] + 3 * slope * dg[k]
    lower2[k] = lower[k] - 2 * slope * dg[k]
    assert not wv.update(2, lower2, upper2)
    sens = wv.sensitivity_v_per_s()
    assert sens[k, 1] > 2.5 * slope
    assert np.allclose(sens[1], slope, rtol=1e-6)  # a cell that behaved as the map says
    req = wv.x.copy()
    map_band = circuit.write_band_s(req)
    band = circuit.write_band_s(req, sens)
    assert band[k, 1] == pytest.approx(map_band[k, 1] * slope / sens[k, 1], rel=1e-9)
    assert band[1, 1] == pytest.approx(map_band[1, 1], rel=1e-6)
    assert np.allclose(map_band[k], spec.mc.write_band_frac * spec.mc.band_v / slope, rtol=1e-6)


def _gap_reading(wv, toward: float):
    """Bounds on their planned targets except transition 2 (2 bits, lower-dominant: cell 2's lower bound,
    the recessive one cell 1's upper): the dominant bound ``toward`` x its band above target, the recessive
    one 0.9 x its tolerance below its plan (a gap when ``toward`` is near 1). Not transition 1: a gap
    below cell 1 reads code 0, cell 0's own code, and cell 0's bounds are not verified."""
    lower, upper = wv.plan_tgt[:, 0].copy(), wv.plan_tgt[:, 1].copy()
    lower[2] += toward * wv.aim_v
    upper[1] -= 0.9 * wv.rec_tol
    return lower, upper


def test_a_chip_rewrites_a_recessive_bound_that_leaves_a_gap():
    """Each bound inside its own tolerance, but the dominant bound (cell 2's lower) high and the
    recessive one (cell 1's upper) low leave a gap where no cell matches: the plain controller accepted
    it (issue 12, chip 7 of seed 1234: code 0 in use, max |INL| 0.525 LSB); a chip's controller
    rewrites the recessive bound upwards and keeps the accepted dominant one. A dominant error away
    from the recessive side changes nothing."""
    from memspice.characterize.adc.programming import WriteVerify

    spec, card, pmap, _ = _straight_map_controller()
    spec = spec.with_overrides({"mc.band_v": 0.05})  # 0.4 LSB at 2 bits: a band wider than the guard's slack
    chip = ChipWriteVerify(spec, card, pmap, spec.targets_v(), aim_v=spec.mc.band_v)
    plain = WriteVerify(spec, card, pmap, spec.targets_v(), aim_v=spec.mc.band_v, rewrite_all=False)
    lower, upper = _gap_reading(chip, 0.9)
    assert ex.dominant_sides(spec.bits)[1] == "lower"
    assert upper[1] < lower[2]  # the two cells do not overlap: a gap
    assert plain.update(1, lower, upper)  # accepted as it was
    x = chip.x.copy()
    assert not chip.update(1, lower, upper)
    assert chip.x[1, 1] > x[1, 1]  # cell 1's upper bound goes up
    assert chip.x[2, 0] == x[2, 0]  # the dominant bound, accepted, is kept
    assert chip.update(2, lower, upper + np.where(np.arange(spec.n_cells) == 1, 0.9 * chip.aim_v, 0.0))
    away = ChipWriteVerify(spec, card, pmap, spec.targets_v(), aim_v=spec.mc.band_v)
    assert away.update(1, *_gap_reading(away, -0.9))
