"""The precharge/evaluate scheme against the static one (real ngspice): same codes, energy by cause; closed-loop
chips verified and read in the precharge timing against the whole converter."""

import numpy as np
import pytest

from memspice.characterize import adc as flow
from memspice.characterize.adc.chips_timed import TimedClosedLoopAdcCircuit
from memspice.characterize.adc.montecarlo import BOUNDARY_MEASURE, mc_sigmas, pelgrom_sigmas_v
from memspice.characterize.adc.timed import program_in_timing, timed_bounds
from memspice.errors import SpecError
from memspice.netlist import qcell as nq
from memspice.netlist import qcell_tran as nqt
from memspice.netlist.deck import Alter, Deck
from memspice.spec.adc import AdcSpec
from memspice.spec.device import load_card

pytestmark = pytest.mark.ngspice

OPTS = flow.RunOptions(backend="shared", show_progress=False)
PRE = {"timing.scheme": "precharge", "timing.read_s": 0.6e-9, "timing.period_s": 1.0e-9}


@pytest.fixture(scope="module")
def programmed():
    spec = AdcSpec(bits=3)
    card = load_card(spec.card)
    pmap = flow.programming_map(spec, card, OPTS)
    prog = flow.program(spec, card, pmap, spec.targets_v(), OPTS)
    return spec, card, pmap, prog


@pytest.fixture(scope="module")
def timed_programming(programmed):
    """The 3-bit converter write-verified in the precharge timing (from its DC programming)."""
    spec, card, pmap, prog = programmed
    pre_spec = spec.with_overrides(PRE)
    return pre_spec, program_in_timing(pre_spec, card, pmap, prog, OPTS)


def test_precharge_converts_the_same_codes_as_static(programmed, timed_programming):
    spec, card, _, prog = programmed
    static = flow.conversion_energy_settled(spec, card, prog, OPTS)
    pre_spec, timed = timed_programming
    # verified in its own timing: every boundary within the write-verify tolerance
    assert np.max(np.abs(timed.error_lsb)) <= spec.program_tol_lsb
    pre = flow.conversion_energy(pre_spec, card, timed.prog, OPTS)
    assert static.codes_ok and pre.codes_ok
    assert pre.sampled_codes == static.sampled_codes == static.expected_codes
    for en in (static, pre):
        # the split adds up to the per-supply totals computed independently (rail x delivered charge)
        assert en.static_j + en.switching_j == pytest.approx(en.energy_per_conversion_j, rel=1e-9)
        assert 0 < en.switching_j < en.energy_per_conversion_j
        causes = en.by_cause()
        assert sum(causes["static_J"].values()) == pytest.approx(en.static_j, rel=1e-9)
        # the dividers are the largest static cause in both schemes (DOMAIN.md 1.3)
        assert max(causes["static_J"], key=causes["static_J"].get) == "dividers"


@pytest.mark.slow
def test_timed_bounds_agree_with_dc_in_a_long_static_read(programmed):
    """The timed read is an independent measurement of the same bounds: in the static scheme with a
    read window long enough to settle, it agrees with the DC sweep within the sweep resolution."""
    spec, card, _, prog = programmed
    slow = spec.with_overrides({"timing.read_s": 4.8e-9, "timing.period_s": 5.2e-9})
    lo, up = timed_bounds(slow, card, prog.g_lower_s, prog.g_upper_s, prog.lower_v, prog.upper_v, OPTS)
    ok = np.isfinite(prog.lower_v)
    # DC bounds are read to +-half a sweep step; the timed crossing is interpolated: one step covers both
    assert np.max(np.abs(lo[ok] - prog.lower_v[ok])) <= spec.sweep_step_lsb * spec.lsb_v + 1e-4
    ok = np.isfinite(prog.upper_v)
    assert np.max(np.abs(up[ok] - prog.upper_v[ok])) <= spec.sweep_step_lsb * spec.lsb_v + 1e-4


def test_chunked_timed_read_equals_the_whole_grid_read(programmed):
    """The timed read in chunks (slots leave once both crossings are found) and in decks of a few slots (the
    default: 8 per deck; here also 3) against the whole grid in one transient of every slot: the same inputs
    in the same order, so the same bounds up to the transient's time steps and history (measured 1.1e-7 V
    at 3 bits, +-1.2 LSB; 2.5e-6 V at 5 bits, 64 slots in decks of 16; tolerance 1e-5 V = 1.6e-4 LSB)."""
    spec, card, _, prog = programmed
    pre = spec.with_overrides(PRE)
    chunked = timed_bounds(pre, card, prog.g_lower_s, prog.g_upper_s, prog.lower_v, prog.upper_v, OPTS)
    whole = timed_bounds(pre, card, prog.g_lower_s, prog.g_upper_s, prog.lower_v, prog.upper_v, OPTS,
                         chunk_points=None, slots_per_deck=None)
    split = timed_bounds(pre, card, prog.g_lower_s, prog.g_upper_s, prog.lower_v, prog.upper_v, OPTS,
                         slots_per_deck=3)  # the 8 cells in decks of 3, 3 and 2
    for got, ref, guess in zip(chunked + split, whole + whole, (prog.lower_v, prog.upper_v) * 2, strict=True):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(guess))
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)


def test_read_window_too_short_is_a_spec_error(programmed):
    spec, card, _, prog = programmed
    # valid timing on paper (sense after precharge, 3 edges to settle) but too short for the cell
    short = spec.with_overrides({**PRE, "timing.read_s": 0.15e-9, "timing.precharge_s": 0.05e-9,
                                 "timing.sense_s": 0.08e-9})
    with pytest.raises(SpecError, match=r"timing\.read_s"):
        flow.conversion_energy_settled(short, card, prog, OPTS)


# -- closed-loop chips in the precharge timing (chips_timed) ------------------------------------------

SIDE_LSB = 0.25  # reference inputs this far either side of a measured boundary (LSB)


def draw(circuit, m, seed):
    """``m`` fabricated chips as the engine draws them (card programming sigma on the first write and every
    rewrite, Pelgrom threshold shifts); no read noise or drift, so use = programmed."""
    spec, card = circuit.spec, circuit.card
    rng = np.random.default_rng(seed)
    sig = mc_sigmas(spec, card)
    pel = pelgrom_sigmas_v(spec, sig["a_vt_v_m"])
    values = {}
    for name, group in circuit.param_groups().items():
        nominal = np.broadcast_to(group.nominal, (m, len(group.nominal)))
        spread = (sig["program_sigma_s"] if name.startswith(("g_", "write_")) else
                  pel[name[len("delvto_"):]] if name.startswith("delvto_") else 0.0)
        values[name] = nominal + spread * rng.standard_normal(nominal.shape)
    return values


def converter_codes(spec, card, g_lower_s, g_upper_s, delvto_v, inputs_v):
    """Codes the whole converter (encoder included) captures for ``inputs_v`` in the spec's timing, with one
    chip's conductances and threshold shifts."""
    deck = nqt.adc_tran_deck(spec, card, g_lower_s, g_upper_s, inputs_v)
    alters = [Alter(name, "delvto", float(v)) for k in range(spec.n_cells)
              for name, v in zip(nq.cell_transistor_names(k), delvto_v[k], strict=True)]
    plot = OPTS.sim(Deck(deck.title, deck.cards, steps=[*alters, *deck.steps], header=deck.header))[0]
    t = plot["time"]
    starts = nqt.read_times_s(spec, len(inputs_v))
    vdd, tm = spec.cell.vdd_v, spec.timing
    codes = []
    for c in range(len(inputs_v)):
        t_sample = starts[c] + tm.read_s - tm.edge_s
        codes.append(sum(int(np.interp(t_sample, t, plot[f"v(d{j})"]) > vdd / 2) << j for j in range(spec.bits)))
    return codes


def test_chips_verified_in_the_timing_match_the_whole_converter(timed_programming):
    """Closed-loop chips in the precharge timing (one chip, so that the test runs in the default suite: two
    cost ~150-180 s of CPU): each chip write-verified by its own timed read
    lands in the acceptance band in the timing, and its measured boundaries agree with an independent
    reference, the whole converter (cells, encoder: the transient of adc_tran_deck) with that chip's
    conductances and threshold shifts converting inputs just either side of each measured boundary."""
    spec, timed = timed_programming
    card = load_card(spec.card)
    circuit = TimedClosedLoopAdcCircuit.from_programming(spec, card, timed.prog)
    values = draw(circuit, 1, seed=3)
    rows = circuit.run_values(values, backend="shared")
    targets, lsb = spec.targets_v(), spec.lsb_v
    for row in rows:
        assert row["converged"] == 1.0
        b = np.array([row[BOUNDARY_MEASURE.format(i)] for i in range(spec.n_cells - 1)])
        # accepted within the band as read in the timing; the transfer is on the 0.05-LSB sweep grid and the
        # timed read interpolates between 0.1-LSB steps: half of each on top
        assert np.max(np.abs(b - targets)) <= spec.mc.band_v + 0.075 * lsb
    # the independent reference: chip 0 as a whole converter converts just below each measured boundary to
    # the code below it and just above to the code above (0.25 LSB: the timed read's resolution and the
    # encoder's threshold, which the cells' read leaves out, are well inside it)
    one = {g: v[0] for g, v in values.items()}
    b0 = np.array([rows[0][BOUNDARY_MEASURE.format(i)] for i in range(spec.n_cells - 1)])
    inputs = np.ravel(np.stack([b0 - SIDE_LSB * lsb, b0 + SIDE_LSB * lsb], axis=1))
    expected = np.ravel(np.stack([np.arange(spec.n_cells - 1), np.arange(1, spec.n_cells)], axis=1)).tolist()
    got = converter_codes(spec, card, circuit.used_s[0, :, 0], circuit.used_s[0, :, 1], circuit.delvto(one), inputs)
    assert got == expected
    # and the chip's mismatch matters: the nominal programming on chip 0 (open loop) is off by more
    assert not np.allclose(circuit.used_s[0], np.stack([timed.prog.g_lower_s, timed.prog.g_upper_s], axis=1))
