"""The crossbar Monte Carlo's batched chunk (every sample one point of a .dc sweep of a sample index,
each cell's state a table of that index) gives the alter path's numbers, with any worker count and
backend, and falls back to the alter path when the batched run fails.

Tolerance: 1e-12 of the full-scale current (and of R_f times it for the TIA output). Both paths solve
the same nodal equations at the same states (the table returns its entry exactly at an integer index);
they differ only in Newton's starting point (the previous sweep point vs the previous operating point),
so with VTEAM cells (ohmic at a fixed state: a linear network but for the op-amp) the last iterates
agree to rounding: measured 2e-14 of full scale on a 64-row column (1.6e-12 relative to the signed
difference I+ - I-, which cancels). Nonlinear cells stop Newton at ngspice's default reltol 1e-3,
where both paths are equally good solutions a little apart: Yakopcic (sinh I-V) 6e-8 of full scale
(measured, 8 rows), tolerance 1e-6; with reltol 1e-6 in both decks they agree to 5e-16, so the
difference is the convergence tolerance and not the batching. 1T1R cells (the PTM access MOSFET)
differ by 8e-11 of full scale (9e-10 relative), unchanged with reltol 1e-6, abstol 1e-15 and vntol
1e-12: not Newton's tolerance but the MOSFET model evaluated in a DC sweep instead of an operating
point; tolerance 1e-9 of full scale. A wrong state, sample order or row voltage moves the output by
~1e-3 of full scale or more.
"""

from typing import ClassVar

import numpy as np
import pytest

from memspice.characterize.crossbar import CrossbarCircuit, run_mc
from memspice.montecarlo.circuit import Batch
from memspice.montecarlo.engine import run_chunk
from memspice.montecarlo.plan import Plan, Variation
from memspice.montecarlo.sampling import draw_chunk
from memspice.netlist.deck import Deck
from memspice.spec.crossbar import CrossbarSpec, CrossbarStudy, CrossbarStudySpec

pytestmark = pytest.mark.ngspice


def _circuit(**kw):
    return CrossbarCircuit.from_study(CrossbarStudy(crossbar=CrossbarSpec(**kw), study=CrossbarStudySpec(seed=5)))


def _with_options(deck, options):
    return Deck(deck.title, deck.cards, steps=deck.steps, options={**deck.options, **options}, header=deck.header)


class _Options(CrossbarCircuit):
    """Both paths' decks with extra solver options."""

    options: ClassVar[dict] = {}

    def deck(self):
        return _with_options(super().deck(), self.options)

    def batch(self, values):
        made = super().batch(values)
        return None if made is None else Batch(_with_options(made.deck, self.options), made.measure)


def _plan(c, samples=6, chunk_size=6):
    vary = (Variation(group="g", sigma=2.8e-6), Variation(group="dg_read", sigma=2e-7))
    return Plan(name="xb", circuit="crossbar", spec={"circuit_hash": c.spec_hash()}, samples=samples, seed=9,
                chunk_size=chunk_size, vary=vary)


def _both(c, plan):
    batched = run_chunk(plan, 0, c)
    c.batching = False
    try:
        alter = run_chunk(plan, 0, c)
    finally:
        c.batching = True
    return batched, alter


def _assert_same(c, batched, alter, frac=1e-12):
    fs = c.spec.i_full_scale_a
    for name in c.measure_names():
        a, b = np.array(alter["measures"][name]), np.array(batched["measures"][name])
        scale = fs * c.spec.r_f_ohm if name.startswith("v_out") else fs
        np.testing.assert_allclose(b, a, rtol=0, atol=frac * scale, err_msg=name)


@pytest.mark.parametrize("kw, options, frac", [
    (dict(card="vteam_paper", cols=2), {}, 1e-12),
    (dict(card="vteam_paper", cell="1T1R"), {}, 1e-9),
    (dict(card="yakopcic_paper"), {}, 1e-6),
    (dict(card="yakopcic_paper"), {"reltol": 1e-6}, 1e-12),
])
def test_batched_chunk_equals_the_alter_path(kw, options, frac):
    base = _circuit(rows=8, **kw)
    c = _Options(base.spec, base.weights, base.v_in_v)
    c.options = options  # an instance attribute: the class default stays {}
    batched, alter = _both(c, _plan(c))
    assert batched["batched"] is True and alter["batched"] is False
    assert batched["status"] == alter["status"] == ["ok"] * 6
    assert batched["values"].keys() == alter["values"].keys()
    assert all(np.array_equal(batched["values"][g], alter["values"][g]) for g in batched["values"])
    _assert_same(c, batched, alter, frac)
    assert len(set(batched["measures"][c.measure_names()[0]])) == 6  # the samples really differ


def test_same_table_for_any_worker_count_and_backend(tmp_path):
    c = _circuit(rows=8)
    kw = dict(program_sigma_s=2.8e-6, read_sigma_s=2e-7, chunk_size=3, show_progress=False)
    one = run_mc(c, 9, 4, cache_root=tmp_path / "a", workers=1, **kw)
    two = run_mc(c, 9, 4, cache_root=tmp_path / "b", workers=2, backend="shared", **kw)
    assert all(r["batched"] for r in one.records + two.records)
    for name in c.measure_names():
        assert one.measure(name).tolist() == two.measure(name).tolist()


class _BrokenBatch(CrossbarCircuit):
    """Its batched deck names a subcircuit ngspice does not know: the engine must use the alter path."""

    def batch(self, values):
        made = super().batch(values)
        from memspice.netlist.cards import Instance

        cards = [*made.deck.cards, Instance("bad", "no_such_subckt", ["idx", "0"])]
        return Batch(Deck(made.deck.title, cards, steps=made.deck.steps), made.measure)


def test_failed_batch_falls_back_to_the_alter_path():
    c = _circuit(rows=6)
    broken = _BrokenBatch(c.spec, c.weights, c.v_in_v)
    plan = _plan(c, samples=4, chunk_size=4)
    fell_back = run_chunk(plan, 0, broken)
    _, alter = _both(c, plan)
    assert fell_back["batched"] is False and fell_back["status"] == ["ok"] * 4
    assert fell_back["measures"] == alter["measures"]


def test_circuits_that_do_not_batch():
    values = {"g": np.zeros((3, 12)), "dg_read": np.zeros((3, 12))}
    assert _circuit(rows=6, device="resistor").batch(values) is None
    assert _circuit(rows=6, read_model="full").batch(values) is None
    one = {k: v[:1] for k, v in values.items()}
    assert _circuit(rows=6).batch(one) is None


@pytest.mark.parametrize("kw", [
    dict(card="vteam_paper", cols=2),
    dict(card="yakopcic_paper", cell="1T1R"),
])
def test_inline_cells_give_the_subckt_form_numbers(kw):
    """The default batched deck writes each cell as the library's I-V B-source at top level with the card's
    parameters as .param lines; the form before instantiated the state-port subcircuit per cell. Same
    equations, same numparam substitution of the parameters, same solve: identical to 1e-12 relative
    (measured 0.0 on a 64-row VTEAM column; a parameter written with Python's repr instead of through
    numparam moved the output by 1e-11, so this tolerance sees a changed parameter path)."""
    c = _circuit(rows=8, **kw)
    plan = _plan(c)
    inline = run_chunk(plan, 0, c)
    c.batch_cells = "subckt"
    try:
        sub = run_chunk(plan, 0, c)
    finally:
        c.batch_cells = "inline"
    assert inline["batched"] is True and sub["batched"] is True
    assert inline["status"] == sub["status"] == ["ok"] * 6
    for name in c.measure_names():
        a, b = np.array(sub["measures"][name], float), np.array(inline["measures"][name], float)
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=0, err_msg=name)  # nan (no TIA) equals nan
    made = c.batch(draw_chunk(plan, c.param_groups(), 0))
    text = made.deck.render()
    assert "vteam_read_x" not in text and "yakopcic_read_x" not in text and ".param cellp_" in text


def test_folded_exponential_cell_equals_the_library_subcircuit():
    """VTEAM's exponential I-V mode (iv=1, no paper card uses it): the inline cell, its mode switch folded
    to the exponential branch, gives the library subcircuit's current at every state of a sweep, to 1e-12
    relative; the linear branch would differ by orders of magnitude."""
    from memspice.netlist.cards import Include, Instance, Param, VSource
    from memspice.netlist.crossbar import READ_X_SUBCKTS
    from memspice.netlist.deck import Analyze, Dc, Deck
    from memspice.netlist.read_cells import CELL_PARAM_PREFIX, READ_LIB, inline_cell
    from memspice.ngspice import simulate
    from memspice.resources import model_path

    params = {**CrossbarSpec(rows=2, card="vteam_paper").device_card.spice_params(), "iv": 1}
    sub = READ_X_SUBCKTS["vteam"]
    cards = [Include(str(model_path(READ_LIB))), *(Param(CELL_PARAM_PREFIX + k, v) for k, v in params.items()),
             VSource("x", "x", "0", 0.5), VSource("a", "a", "0", 0.2), VSource("b", "b", "0", 0.2),
             Instance("lib", sub, ["a", "0", "x"], params), inline_cell("inl", "b", "0", "x", sub, params)]
    deck = Deck("folded cell", cards, steps=[Analyze(Dc("vx", 0.0, 1.0, 0.125), ("i(va)", "i(vb)"))])
    (plot,) = simulate(deck).plots
    lib, inl = np.asarray(plot["i(va)"]), np.asarray(plot["i(vb)"])
    np.testing.assert_allclose(inl, lib, rtol=1e-12, atol=0)
    ron, roff = params["ron"], params["roff"]
    np.testing.assert_allclose(-lib, 0.2 / (ron * np.exp(np.log(roff / ron) * np.arange(0, 1.0001, 0.125))),
                               rtol=1e-9)  # the exponential relation itself (independent reference)


def test_state_tables_reach_ngspice_in_every_number_form():
    """The batched deck's state tables (``TableSources``: integers over a power of two where exact, 17-digit
    ones over one more power where the entries span two binades, reprs otherwise) give ngspice the drawn
    values: each source's node swept over the sample index equals its entries, for sources in every form (a
    wrong digit, divisor or order moves a value by >= 1e-16 of it and usually by far more). Tolerance 1e-12
    relative: ngspice's DC solution of a B-source's node is not its table entry to the last bit (measured up to
    3.7e-13 relative, the same for every form: the solver, not the text), and the raw file's parser
    (``memspice.raw``) returns the float64 ngspice wrote."""
    from memspice.netlist.cards import Resistor, TableSources, VSource
    from memspice.netlist.deck import Analyze, Dc
    from memspice.ngspice import simulate

    rng = np.random.default_rng(11)
    n = 9
    tables = np.vstack([rng.normal(0.5, 0.01, (3, n)),  # around 0.5: two binades where a source spans them
                        rng.uniform(0.26, 0.49, (3, n)),  # one binade: integers
                        np.exp(rng.uniform(np.log(0.003), np.log(0.7), (2, n)))])  # more binades: reprs
    names = [f"xs{j}" for j in range(len(tables))]
    deck = Deck("tables", [VSource("idx", "idx", "0", 0.0), TableSources(names, names, "idx", tables),
                           *(Resistor(f"l{j}", name, "0", 1e3) for j, name in enumerate(names))],
                steps=[Analyze(Dc("vidx", 0, n - 1, 1), tuple(f"v({x})" for x in names), label="sweep")])
    text = deck.render()
    forms = [len(line.split(", ")[2]) if line.rsplit(")", 1)[1] else "repr" for line in text.splitlines()
             if line.startswith("Bxs")]  # digits of the integer entries, or reprs
    assert forms.count(17) >= 1 and forms.count(16) == 3 and forms.count("repr") == 2, forms
    plot = simulate(deck).plots[0]
    assert plot.n_points == n
    for j, name in enumerate(names):
        np.testing.assert_allclose(plot[f"v({name})"], tables[j], rtol=1e-12, atol=0, err_msg=name)
