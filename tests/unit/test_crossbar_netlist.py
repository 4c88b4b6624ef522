"""Crossbar netlists as text: topology, determinism, alter targets, and the golden file."""

import re

import numpy as np
import pytest

from memspice.characterize.crossbar import draw_patterns, golden_netlist, pattern_reads
from memspice.netlist.crossbar import (
    OPAMP_PARAMS,
    READ_SUBCKTS,
    READ_X_PORTS,
    READ_X_SUBCKTS,
    batched_dc_deck,
    cell_steps,
    cell_values,
    dc_deck,
    input_steps,
    tile_cards,
    transient_deck,
)
from memspice.netlist.deck import Alter, Analyze
from memspice.resources import circuits_dir, model_path, project_root
from memspice.spec.crossbar import CrossbarSpec, load_study
from memspice.spec.device import MODELS
from tests.table_text import table_entries

pytestmark = pytest.mark.unit


def _render(cards):
    return "\n".join(c.render() for c in cards)


def _lines(text, prefix):
    return [ln for ln in text.splitlines() if ln.startswith(prefix)]


@pytest.mark.parametrize("cell", ["1R", "1T1R"])
def test_topology_counts(cell):
    spec = CrossbarSpec(rows=5, cols=2, cell=cell)
    g = spec.conductances(np.zeros((5, 2)))
    text = _render(tile_cards(spec, g, np.full(5, 0.1)))
    assert len(_lines(text, "Vin")) == 5
    assert len(_lines(text, "Rrw")) == 5 * 4  # one segment per row and physical column
    assert len(_lines(text, "Rcw")) == 4 * 5
    assert len(_lines(text, "Xc")) == 20
    assert len(_lines(text, "Xtia")) == 4 and len(_lines(text, "Rf")) == 4 and len(_lines(text, "Vcs")) == 4
    assert len(_lines(text, "Ma")) == (20 if cell == "1T1R" else 0)
    assert len(_lines(text, "Vwl")) == (5 if cell == "1T1R" else 0)
    assert not _lines(text, "C")  # DC decks carry no capacitors
    # a cell of row 2, column 3 sits between its row node and its column node (or the access node)
    x = next(ln for ln in text.splitlines() if ln.startswith("Xc2_3 "))
    assert x.split()[1:3] == (["r2_3", "m2_3"] if cell == "1T1R" else ["r2_3", "b3_2"])
    assert "Rcw3_4 b3_4 s3 1" in text.splitlines()  # the last column segment reaches the sense node
    assert re.search(r"^e|^E", text, re.M) is None  # no stray elements


def test_ammeter_and_resistor_variants():
    spec = CrossbarSpec(rows=3, device="resistor", sense={"kind": "ammeter"}, drive={"r_driver_ohm": 50.0})
    g = spec.conductances(np.array([[0.5], [-0.5], [0.0]]))
    text = _render(tile_cards(spec, g, np.zeros(3)))
    assert "Vcs0 s0 0 dc 0" in text and "opamp" not in text and ".include" not in text
    assert f"Rc0_0 r0_0 b0_0 {float(1 / g[0, 0])!r}" in text
    assert "Rdrv1 d1 e1 50" in text and "Rrw1_0 e1 r1_0 1" in text


def test_render_is_deterministic_and_uses_plain_numbers():
    spec = CrossbarSpec(rows=8, cols=1)
    reads = pattern_reads(spec, draw_patterns(spec, 3, [5, 0]))
    a = dc_deck(spec, reads).render()
    b = dc_deck(spec, pattern_reads(spec, draw_patterns(spec, 3, [5, 0]))).render()
    assert a == b
    assert not re.search(r"\d[munpfkgt]\b", a.split(".control")[0].lower().replace("vin", ""))


def test_alter_steps_touch_only_what_changes():
    spec = CrossbarSpec(rows=4)
    w0 = np.zeros((4, 1))
    w1 = w0.copy()
    w1[2, 0] = 0.5
    g0, g1 = spec.conductances(w0), spec.conductances(w1)
    v = np.full(4, 0.1)
    deck = dc_deck(spec, [(g0, v), (g1, v), (g1, v * 0.5)])
    alters = [s for s in deck.steps if isinstance(s, Alter)]
    assert [a.device for a in alters[:1]] == ["v.xc2_0.vx0"]  # only G+ of row 2 changes
    assert len(alters) == 1 + 4 and sum(isinstance(s, Analyze) for s in deck.steps) == 3
    assert alters[0].value == pytest.approx(float(spec.device_card.state_for(g1[2, 0])))
    assert [s.device for s in input_steps(np.zeros(2))] == ["vin0", "vin1"]
    r_spec = CrossbarSpec(rows=4, device="resistor")
    step = cell_steps(r_spec, g1, g1 != g0)[0]
    assert (step.device, step.param) == ("rc2_0", "resistance") and step.value == pytest.approx(1 / g1[2, 0])


def test_transient_deck_pulses_and_capacitors():
    spec = CrossbarSpec(rows=3, cell="1T1R", drive={"mode": "bit_serial", "input_bits": 2})
    g = spec.conductances(np.zeros((3, 1)))
    levels = np.array([[0.2, 0.0], [0.0, 0.0], [0.2, 0.2]])
    deck, waves = transient_deck(spec, g, levels)
    text = deck.render()
    assert waves.inputs[1] is None and "Vin1 d1 0 dc 0\n" in text
    assert "pwl(" in _lines(text, "Vin0")[0] and len(waves.inputs[0].points) == 9
    assert len(_lines(text, "Vwl")) == 3 and "pwl(" in _lines(text, "Vwl0")[0]
    assert len(_lines(text, "Crw")) == 6 and len(_lines(text, "Ccw")) == 6 and len(_lines(text, "Cf")) == 2
    assert "tran " in text


def test_model_libraries_agree_with_python():
    """The read variants accept exactly the full models' parameters (minus frozen), and the op-amp's
    parameters are the ones the netlister passes."""

    def header(text, name):
        m = re.search(rf"^\.subckt {name} (.*?)(?=^[^+])", text, re.M | re.S)
        head = m.group(1).replace("\n+", " ")
        ports, _, params = head.partition("params:")
        return ports.split(), set(re.findall(r"(\w+)=", params))

    read = model_path("memristor_read.lib").read_text()
    for model, subckt in READ_SUBCKTS.items():
        decl = MODELS[model]
        ports, params = header(read, subckt)
        full_ports, full_params = header(decl.lib_path.read_text(), decl.subckt)
        assert tuple(ports) == decl.ports == tuple(full_ports)
        assert params == full_params - {"frozen"}
        assert f".ends {subckt}" in read
        ports_x, params_x = header(read, READ_X_SUBCKTS[model])  # the state-port variant of batched reads
        assert tuple(ports_x) == (*decl.ports, "x") == READ_X_PORTS
        assert params_x == full_params - {"frozen", "x0"}
        assert f".ends {READ_X_SUBCKTS[model]}" in read
    opamp = model_path("opamp.lib").read_text()
    ports, params = header(opamp, "opamp")
    assert ports == ["inp", "inn", "out", "vdd", "vss"] and params == set(OPAMP_PARAMS)
    for text in (read, opamp):
        assert "Source:" in text[:600] and "Licence" in text[:1200]


def _normalise(text: str) -> str:
    return re.sub(r"memspice \d+\.\d+\.\d+\S*", "memspice X", text)


def test_golden_netlist_matches_a_fresh_rendering():
    """netlists/crossbar_128.cir is what scripts/regen_netlists.py writes today (version normalised;
    tests/unit/test_golden_netlists.py compares every golden file byte for byte);
    tests/sim/test_crossbar_golden.py checks what it computes."""
    golden = (project_root() / "netlists" / "crossbar_128.cir").read_text()
    fresh = golden_netlist(load_study(circuits_dir() / "crossbar_128.toml"), include_dir="../models")
    assert _normalise(golden) == _normalise(fresh)
    assert '.include "../models/memristor_read.lib"' in golden


def test_batched_deck_tables_every_cell_state_by_sample_index():
    """One .dc sweep of Vidx over the samples; cell (r, k)'s state node is a table whose entry s is
    sample s's state (read back from the text), no alter and no internal state source."""
    spec = CrossbarSpec(rows=3, cols=1, card="vteam_paper")
    rng = np.random.default_rng(1)
    lo, hi = spec.device_card.window_s()
    g = rng.uniform(lo, hi, size=(4, 3, 2))
    text = batched_dc_deck(spec, g, np.array([0.1, 0.2, 0.3]), title="t").render()
    assert "alter" not in text and "dc vidx 0 3 1" in text and "Vidx idx 0 dc 0" in text
    # every cell the library's I-V B-source inline, reading its state node; the card's parameters once
    cells = re.findall(r"^Bmc(\d+)_(\d+) r\1_\2 b\2_\1 i=v\(r\1_\2,b\2_\1\) / .*v\(xs\1_\2\)", text, re.M)
    assert len(cells) == 6 and "x0=" not in text and "vteam_read_x" not in text
    ron = spec.device_card.spice_params()["ron"]
    assert re.findall(r"^\.param cellp_ron=(.*)$", text, re.M) == [repr(float(ron)).removesuffix(".0")]
    assert "{cellp_ron}" in text and "{ron}" not in text
    sub = batched_dc_deck(spec, g, np.array([0.1, 0.2, 0.3]), title="t", cells="subckt").render()
    assert len(re.findall(r"^Xc\d+_\d+ .* vteam_read_x ", sub, re.M)) == 6 and "cellp_" not in sub
    for r in range(3):
        for k in range(2):
            line = re.search(rf"^Bxs{r}_{k} xs{r}_{k} 0 v=pwl\(v\(idx\),.*$", text, re.M).group(0)
            index, entries = table_entries(line)
            assert index == [0, 1, 2, 3]
            assert entries == [cell_values(spec, g[s])[r, k] for s in range(4)]
    with pytest.raises(ValueError, match="2\\+ samples"):
        batched_dc_deck(spec, g[:1], np.zeros(3), title="t")
    with pytest.raises(ValueError, match="read_model"):
        batched_dc_deck(spec.replace(device="resistor"), g, np.zeros(3), title="t")
    with pytest.raises(ValueError, match="cells='x'"):
        batched_dc_deck(spec, g, np.zeros(3), title="t", cells="x")


def test_inline_cell_expression_is_the_librarys():
    """Inline cells take their I-V expression from models/memristor_read.lib's state-port variants (the one
    source of the equations), ports and parameters renamed; a library line it cannot rename is refused."""
    import memspice.netlist.read_cells as xb

    for model, sub in READ_X_SUBCKTS.items():
        expr = xb.read_x_expression(sub)
        lib = (project_root() / "memspice" / "data" / "models" / "memristor_read.lib").read_text()
        block = lib[lib.index(f".subckt {sub} "):lib.index(f".ends {sub}")]
        assert " ".join(block[block.index("Bm p n i =") + 10:].replace("\n+", " ").split()) == " ".join(expr.split())
        card = xb.inline_cell("c1_0", "r1_0", "b0_1", "xs1_0", sub).render()
        assert card.startswith("Bmc1_0 r1_0 b0_1 i=") and "v(p" not in card and "v(x)" not in card
        assert "v(r1_0,b0_1)" in card and "v(xs1_0)" in card and model
    with pytest.raises(ValueError, match="no subcircuit"):
        xb.read_x_expression("no_such")


def test_parameter_mode_switches_are_folded():
    """VTEAM's ``({iv} < 0.5) ? (linear) : (exponential)`` becomes the branch the card selects (a B-source
    would build both branches' derivatives per cell); a condition on a voltage, a parameter not given or a
    choice that is not a whole operand stays as written."""
    from memspice.netlist.read_cells import fold_parameter_choices, read_x_expression

    expr = read_x_expression("vteam_read_x")
    linear, expo = fold_parameter_choices(expr, {"iv": 0}), fold_parameter_choices(expr, {"iv": 1})
    assert "?" not in linear and "?" not in expo and "exp(" in expo and "exp(" not in linear
    assert linear.replace(" ", "") == "v(p,n)/((((" + "{ron})+(({roff})-({ron}))*min(max(v(x),0),1))))"
    assert fold_parameter_choices(expr, {}) == expr
    yak = read_x_expression("yakopcic_read_x")
    assert fold_parameter_choices(yak, {"a1": 1.0, "a2": 2.0}) == yak  # its condition is on v(p,n)
    assert fold_parameter_choices("x + ({iv} < 0.5) ? (1) : (2)", {"iv": 0}) == "x + ({iv} < 0.5) ? (1) : (2)"
    assert fold_parameter_choices("(({iv} < 0.5) ? 1 : (2))", {"iv": 0}) == "(({iv} < 0.5) ? 1 : (2))"
    assert fold_parameter_choices("(({a} >= 1e-3) ? (v(b)) : (3)) * (({c} < 2) ? (4) : (5))",
                                  {"a": 1e-3, "c": 2}) == "((v(b))) * ((5))"


def test_fixed_part_rendered_once_gives_the_same_deck():
    """The engine renders a batched read's sample-independent cards once (Rendered); the deck text is
    the same as rendering every card, and Rendered checks its cards as the deck writer does."""
    from memspice.errors import UnsafeTextError
    from memspice.netlist.cards import Raw
    from memspice.netlist.crossbar import batched_fixed_cards
    from memspice.netlist.deck import Rendered

    spec = CrossbarSpec(rows=4, cols=2, card="yakopcic_paper", cell="1T1R")
    lo, hi = spec.device_card.window_s()
    g = np.random.default_rng(2).uniform(lo, hi, size=(3, 4, 4))
    v = np.array([0.1, 0.2, 0.0, 0.3])
    plain = batched_dc_deck(spec, g, v, title="t").render()
    fixed = [Rendered.of(batched_fixed_cards(spec, v))]
    assert batched_dc_deck(spec, g, v, title="t", fixed=fixed).render() == plain
    assert "{cellp_a1}" in plain and "yakopcic_read_x" not in plain and "dc vidx 0 2 1" in plain
    sub = [Rendered.of(batched_fixed_cards(spec, v, "subckt"))]
    assert batched_dc_deck(spec, g, v, title="t", fixed=sub, cells="subckt").render() == batched_dc_deck(
        spec, g, v, title="t", cells="subckt").render()
    with pytest.raises(UnsafeTextError):
        Rendered.of([Raw("x\n.control\nshell echo hi\n.endc")])
