"""The whole Q-cell ADC in ngspice: programming, code staircase, Monte Carlo through the engine, energy."""

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
# the Monte Carlo tests run ngspice as subprocesses, as the engine's plans do by default
SUB = flow.RunOptions(backend="subprocess", show_progress=False)


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


def _first_guess_circuit(spec):
    from memspice.reference.qcell import first_guess_conductances

    card = load_card(spec.card)
    g = first_guess_conductances(card.window_s(), spec.edges_v(), spec.input_lo_v, spec.input_hi_v, spec.lsb_v)
    return flow.QcellAdcCircuit(spec, g["g_lower_s"], g["g_upper_s"], card)


def _draw(circuit, n, seed, spec=None):
    """Full variation (programming, read noise, mismatch) as characterize adc draws it: one dict per sample."""
    from memspice.montecarlo.plan import Plan, Variation
    from memspice.montecarlo.sampling import draw_chunk

    spec = spec or circuit.spec
    vary = tuple(Variation.from_dict(v) for v in flow.mc_variations(spec, circuit.card))
    plan = Plan(name="t", circuit="qcell_adc", spec={}, samples=n, seed=seed, chunk_size=n, vary=vary)
    values = draw_chunk(plan, circuit.param_groups(), 0)
    return [{g: v[s] for g, v in values.items()} for s in range(n)]


def _literal_deck(circuit, values):
    """The sample written out literally: conductances in the memristor cards, and delvto on the
    transistor lines of a subcircuit per cell (no alter)."""
    from dataclasses import replace

    from memspice.netlist.cards import Subckt
    from memspice.netlist.deck import Deck

    spec, card = circuit.spec, circuit.card
    gl, gu = circuit.conductances(values)
    dv = circuit.delvto(values)
    cards = []
    for c in nq.mc_cards(spec, card, gl, gu):
        if isinstance(c, Subckt) and c.name == nq.SUBCKT:
            for k in range(spec.n_cells):
                body = [replace(nq._mos(dev, getattr(spec.cell, dev.role), spec.cell),
                                params={"delvto": float(dv[k, j])}) for j, dev in enumerate(nq.CELL_DEVICES)]
                cards.append(Subckt(f"{nq.SUBCKT}_{k}", nq.PORTS, body))
        elif getattr(c, "subckt", None) == nq.SUBCKT:
            cards.append(replace(c, subckt=f"{nq.SUBCKT}_{c.name[1:]}"))
        else:
            cards.append(c)
    return Deck("literal sample", cards, steps=list(circuit.analyses()))


def test_monte_carlo_alter_equals_literal_deck():
    """Samples applied with alter in one parsed deck (conductances through the memristors' state sources,
    threshold shifts through BSIM4's delvto instance parameter) give what decks written with the literal
    values give. Tolerance 1e-9 V on every cell output: the same equations from the same start."""
    c = _first_guess_circuit(AdcSpec(bits=2))
    samples = _draw(c, 2, 3)
    assert np.std(c.delvto(samples[0])) > 1e-3  # mismatch really is on
    altered = c.run_samples(samples, SUB)
    steps = []
    for values in samples:
        steps += [*c.apply(values), *c.analyses()]
    base = c.deck()
    from memspice.netlist.deck import Deck

    alter_plots = SUB.sim(Deck(base.title, base.cards, steps=steps)).plots
    for m, values in enumerate(samples):
        literal = SUB.sim(_literal_deck(c, values))[0]
        assert "delvto=" in _literal_deck(c, values).render()
        for k in range(c.spec.n_cells):
            np.testing.assert_allclose(alter_plots[m][f"v(out{k})"], literal[f"v(out{k})"], atol=1e-9)
        assert altered[m] == c.measure([literal])


def test_monte_carlo_samples_do_not_leak_into_each_other():
    """Each sample sets every value: a chunk of two equals the second run alone."""
    c = _first_guess_circuit(AdcSpec(bits=2))
    samples = _draw(c, 2, 11)
    both = c.run_samples(samples, SUB)
    second = c.run_samples(samples[1:], SUB)
    assert both[1] == pytest.approx(second[0], abs=1e-9)
    assert both[0] != both[1]


def test_engine_with_zero_sigma_reproduces_the_nominal_boundaries(adc3, tmp_path):
    """The run_adc path (engine, cache, workers) with every sigma zero: each sample is the nominal converter.

    Against the nominal cell-array sweep the boundaries are identical (same deck, same grid); against the
    transfer through the transistor encoder within one sweep step (the ROM switches a little away from
    the cell output's mid-rail crossing, see program's converter-level loop)."""
    spec, card, prog, tr = adc3
    zero = spec.with_overrides({"mc.samples": 3, "mc.chunk": 2, "mc.program_sigma_s": 0.0, "mc.read_sigma_s": 0.0,
                                "mc.a_vt_v_m": 0.0})
    opts = flow.RunOptions(backend="subprocess", show_progress=False, workers=1, mc_cache_root=tmp_path)
    mc, samples = flow.monte_carlo(zero, card, prog, opts)
    assert mc.measured_v.shape == (3, spec.n_cells - 1) and not mc.failed
    np.testing.assert_array_equal(samples.g_lower_s, np.tile(prog.g_lower_s, (3, 1)))
    assert np.all(samples.delvto_v == 0)
    v, out, _, _ = flow.measure_cells(spec, card, prog.g_lower_s, prog.g_upper_s, SUB)
    nominal = ex.transitions_from_codes(v, ex.codes_from_match(out < spec.cell.vdd_v / 2), spec.n_cells)
    for row in mc.measured_v:
        np.testing.assert_allclose(row, nominal, atol=1e-12)
        np.testing.assert_allclose(row, tr.measured_v, atol=spec.sweep_step_lsb * spec.lsb_v + 1e-12)
    assert mc.cache_dir is not None and len(list(mc.cache_dir.glob("chunk_*.json"))) == 2


def test_one_and_two_workers_give_identical_tables(tmp_path):
    from memspice.montecarlo.outputs import result_table

    c = _first_guess_circuit(AdcSpec(bits=2))
    vary = flow.mc_variations(c.spec, c.card)

    def go(workers, root):
        return flow.run_mc(c, 4, 9, vary=vary, cache_root=root, chunk_size=2, backend="subprocess", workers=workers,
                           show_progress=False)

    one, two = go(1, tmp_path / "a"), go(2, tmp_path / "b")
    assert result_table(one) == result_table(two)
    for g in c.param_groups():
        np.testing.assert_array_equal(one.values(g), two.values(g))
    assert one.n_failed == 0 and np.std(one.values("delvto_mn3")) > 0
    again = go(2, tmp_path / "a")  # the cache of the 1-worker run serves the 2-worker one
    assert again.computed_chunks == 0 and result_table(again) == result_table(one)
    assert flow.mc_result(c, one).measured_v.shape == (4, 3)


def test_plan_with_a_circuit_file_programs_and_runs(tmp_path):
    """`memspice mc` with circuit = "qcell_adc": the spec file plus overrides, programmed nominally
    (programming map and write-verify) when building the circuit, then the samples."""
    from pathlib import Path

    from memspice.characterize.registry import build_circuit
    from memspice.characterize.registry import run_plan_by_kind as run_plan
    from memspice.montecarlo.plan import load_plan

    plan = load_plan(Path(__file__).resolve().parent.parent / "data" / "mc" / "qcell_adc.toml")
    result = run_plan(plan, workers=1, cache_root=tmp_path, show_progress=False)
    circuit = build_circuit(plan)
    assert circuit.kind == "qcell_adc" and circuit.spec.bits == 2 and result.n_failed == 0
    # the nominal programming puts each boundary within 0.1 LSB of its target (cell-array read)
    (nominal,) = circuit.run_samples([{}], SUB)
    got = np.array([nominal[f"boundary_V_i{i}"] for i in range(3)])
    np.testing.assert_allclose(got, circuit.spec.targets_v(), atol=0.1 * circuit.spec.lsb_v)
    # and the samples scatter around it
    b = result.measure("boundary_V_i1")
    assert len(b) == 4 and np.std(b) > 0 and np.all(np.abs(b - got[1]) < 0.1)


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
    circuit = flow.QcellAdcCircuit(fine, prog.g_lower_s, prog.g_upper_s, card)
    dv = np.zeros(spec.n_cells)
    dv[4] = 0.010
    res = circuit.run_samples([{}, {"delvto_mn1": dv}], SUB)
    assert prog.plan.dominant_cell(4) == (4, "lower")  # Gray(4) = 110 has one bit more than Gray(3) = 010
    shift = res[1]["boundary_V_i3"] - res[0]["boundary_V_i3"]

    c = spec.cell
    m = c.models
    dev = [nq.transistor_include(m), VSource("d", "d", "0", 0.5), VSource("g", "g", "0", 0.9),
           VSource("s", "s", "0", c.v_ref_v), Mosfet("1", "d", "g", "s", "0", c.nmos, c.input.w_m, c.input.l_m)]
    sweep = Dc("vg", 0.6, 1.3, 1e-4)
    deck = Deck("delvto", dev, steps=[Analyze(sweep, ("i(vd)",)), Alter("m1", "delvto", 0.010),
                                      Analyze(sweep, ("i(vd)",))])
    p0, p1 = OPTS.sim(deck).plots
    vg = p0["v-sweep"]
    b0 = res[0]["boundary_V_i3"]
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
