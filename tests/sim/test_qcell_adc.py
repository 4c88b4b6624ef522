"""The whole Q-cell ADC in ngspice: programming, code staircase, Monte Carlo with alter, energy."""

import numpy as np
import pytest

from memspice.characterize import adc as flow
from memspice.errors import SpecError
from memspice.extract import adc as ex
from memspice.netlist import qcell as nq
from memspice.netlist.deck import Analyze, Dc
from memspice.spec.adc import AdcSpec
from memspice.spec.device import load_card

pytestmark = pytest.mark.ngspice

OPTS = flow.RunOptions(backend="shared", show_progress=False)


def _programmed(spec):
    card = load_card(spec.card)
    pmap = flow.programming_map(spec, card, OPTS)
    targets = spec.targets_v()
    flow.check_reachable(spec, pmap, targets, card.name)
    return card, flow.program(spec, card, pmap, targets, OPTS)


@pytest.fixture(scope="module")
def adc3():
    spec = AdcSpec(bits=3)
    card, prog = _programmed(spec)
    return spec, card, prog, flow.transfer(spec, card, prog, OPTS)


def _check_staircase(spec, tr):
    lsb = spec.lsb_v
    # a monotonic staircase through every code, in order
    assert tr.monotonic
    assert np.array_equal(np.unique(tr.codes), np.arange(spec.n_cells))
    # every nominal boundary within 0.1 LSB of its target (transitions are read to +-0.025 LSB)
    assert np.max(np.abs(tr.measured_v - tr.targets_v)) <= 0.1 * lsb + 1e-12
    # the transistor-level encoder agrees with the cells' outputs through the Gray OR logic
    assert tr.encoder_disagreements() == 0


def test_uniform_3bit_staircase(adc3):
    spec, _, prog, tr = adc3
    _check_staircase(spec, tr)
    assert prog.history_lsb[-1] <= spec.program_aim_lsb
    assert tr.enob > 2.9
    assert tr.inl_max_lsb <= 0.1 and tr.dnl_max_lsb <= 0.2


def test_non_uniform_3bit_staircase():
    """Any ascending set inside the range programs: here cells of 0.3 to 2.5 nominal LSB."""
    spec = AdcSpec(bits=3, boundaries_v=(0.74, 0.80, 0.82, 0.86, 0.95, 1.10, 1.15))
    card, prog = _programmed(spec)
    tr = flow.transfer(spec, card, prog, OPTS)
    _check_staircase(spec, tr)


def test_unreachable_boundary_names_index_and_range():
    spec = AdcSpec(bits=2, input_lo_v=0.5, boundaries_v=(0.55, 0.9, 1.0))
    card = load_card(spec.card)
    pmap = flow.programming_map(spec, card, OPTS)
    lo, hi = pmap.reachable_v("lower")
    with pytest.raises(SpecError) as info:
        flow.check_reachable(spec, pmap, spec.targets_v(), card.name)
    assert info.value.field == "boundaries_v[0]"
    assert f"{lo:.4f}..{hi:.4f} V" in str(info.value)


def test_monte_carlo_alter_equals_literal_deck(adc3):
    """A sample applied with alter gives what a deck written with its literal conductances gives.

    Threshold shifts are zero here so the literal deck needs no per-instance model; tolerance
    1e-9 V: the same equations solved from the same starting point.
    """
    spec, card, prog, _ = adc3
    smp = flow.sample_mc(spec.with_overrides({"mc.mismatch": False}), card, prog.g_lower_s, prog.g_upper_s, 2, 3)
    targets = prog.plan.targets_v
    altered = flow.mc_measure(spec, card, prog.g_lower_s, prog.g_upper_s, smp.rows(0, 2), targets, OPTS)
    for m in range(2):
        v, out, _, _ = flow.measure_cells(spec, card, smp.g_lower_s[m], smp.g_upper_s[m], OPTS)
        codes = ex.codes_from_match(out < spec.cell.vdd_v / 2)
        literal = ex.transitions_from_codes(v, codes, spec.n_cells)
        np.testing.assert_allclose(altered.measured_v[m], literal, atol=1e-9)


def test_monte_carlo_samples_do_not_leak_into_each_other(adc3):
    """Each sample sets every value: a chunk of two equals the two run alone."""
    spec, card, prog, _ = adc3
    smp = flow.sample_mc(spec, card, prog.g_lower_s, prog.g_upper_s, 2, 11)
    t = prog.plan.targets_v
    both = flow.mc_measure(spec, card, prog.g_lower_s, prog.g_upper_s, smp.rows(0, 2), t, OPTS)
    second = flow.mc_measure(spec, card, prog.g_lower_s, prog.g_upper_s, smp.rows(1, 2), t, OPTS)
    np.testing.assert_allclose(both.measured_v[1], second.measured_v[0], atol=1e-9)


def test_input_threshold_shift_moves_the_lower_bound_like_the_device_current(adc3):
    """delvto on cell 4's MN1 moves boundary 4 by the gate shift that keeps MN1's current constant.

    BSIM4's delvto also lowers the mobility (through the vertical field), so 10 mV of delvto moves the
    device current like ~13 mV of gate voltage; the expectation is taken from a single-device sweep at
    the boundary's operating point (drain at the ~0.5 V switching voltage of node A). Tolerance 1 mV:
    the drain voltage is approximated, and boundaries are read on a 0.2 mV grid.
    """
    from memspice.netlist.cards import Mosfet, VSource
    from memspice.netlist.deck import Alter, Deck

    spec, card, prog, _ = adc3
    fine = spec.with_overrides({"sweep_step_lsb": 0.2e-3 / spec.lsb_v})
    dv = np.zeros((spec.n_cells, 9))
    rows = [nq.McSample(prog.g_lower_s, prog.g_upper_s, dv.copy())]
    dv[4, 0] = 0.010
    rows.append(nq.McSample(prog.g_lower_s, prog.g_upper_s, dv))
    res = flow.mc_measure(fine, card, prog.g_lower_s, prog.g_upper_s, rows, prog.plan.targets_v, OPTS)
    assert prog.plan.dominant_cell(4) == (4, "lower")  # Gray(4) = 110 has one bit more than Gray(3) = 010
    shift = res.measured_v[1, 3] - res.measured_v[0, 3]

    c = spec.cell
    m = c.models
    dev = [nq.transistor_include(m), VSource("d", "d", "0", 0.5), VSource("g", "g", "0", 0.9),
           VSource("s", "s", "0", c.v_ref_v), Mosfet("1", "d", "g", "s", "0", c.nmos, c.input.w_m, c.input.l_m)]
    sweep = Dc("vg", 0.6, 1.3, 1e-4)
    deck = Deck("delvto", dev, steps=[Analyze(sweep, ("i(vd)",)), Alter("m1", "delvto", 0.010),
                                      Analyze(sweep, ("i(vd)",))])
    p0, p1 = OPTS.sim(deck).plots
    vg = p0["v-sweep"]
    b0 = res.measured_v[0, 3]
    i_at_boundary = np.interp(b0, vg, -p0["i(vd)"])
    expected = np.interp(i_at_boundary, -p1["i(vd)"], vg) - b0
    assert 0.010 < expected < 0.016
    assert shift == pytest.approx(expected, abs=1e-3)


def test_energy_and_delay_2bit():
    """Transient energy: codes sampled right, read supply dominant, and it matches a DC estimate.

    Independent estimate of the read energy: the read supply's DC current at each input (from a DC
    sweep of the same converter) times v_read times the time it is fully on (flat top plus one edge,
    since the current follows the ramps roughly linearly). Tolerance 10 %: the ramps are not exactly
    linear in current, the divider nodes and wires are charged on each edge (fJ against ~100 fJ),
    and the dividers' sub-threshold current at the idle level is neglected.
    """
    spec = AdcSpec(bits=2).with_overrides({"timing.conversions": 4})
    card, prog = _programmed(spec)
    en = flow.conversion_energy(spec, card, prog, OPTS, seed=5)
    assert en.codes_ok, (en.expected_codes, en.sampled_codes)
    assert en.energy_per_conversion_j == pytest.approx(sum(en.by_supply_j.values()))
    assert max(en.by_supply_j, key=en.by_supply_j.get) == "read"
    assert 0 < en.delay_s < spec.timing.read_s
    deck = nq.adc_dc_deck(spec, card, prog.g_lower_s, prog.g_upper_s)
    start, stop, step = nq.sweep_range_v(spec)
    deck.steps = [Analyze(Dc("vin", start, stop, step), ("i(vread)",))]
    plot = OPTS.sim(deck)[0]
    i_read = -np.interp(en.inputs_v, plot["v-sweep"], plot["i(vread)"])
    t = spec.timing
    estimate = spec.cell.v_read_v * np.mean(i_read) * (t.read_s - t.edge_s + t.edge_s)
    assert en.by_supply_j["read"] == pytest.approx(estimate, rel=0.10)
