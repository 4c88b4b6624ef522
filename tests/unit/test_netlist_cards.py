import pytest

from memspice.netlist.cards import (
    BSource,
    Capacitor,
    Instance,
    Pulse,
    Pwl,
    Resistor,
    Sine,
    Subckt,
    VSource,
    fmt,
    ident,
)
from memspice.netlist.deck import Alter, Analyze, Dc, Deck, Op, Tran

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "text"),
    [(1e-9, "1e-09"), (1000.0, "1000"), (0.1, "0.1"), (2.5e6, "2500000"), (1e22, "1e+22"), (3, "3"), (-0.2, "-0.2")],
)
def test_numbers_have_no_si_suffix(value, text):
    assert fmt(value) == text
    assert float(text) == value  # exact round trip


def test_non_finite_numbers_are_refused():
    with pytest.raises(ValueError):
        fmt(float("nan"))


def test_names_are_sanitised():
    assert ident("Row 3/Col-2") == "row_3_col_2"


def test_cards_render():
    assert Resistor("1", "A", "b", 1e3).render() == "R1 a b 1000"
    assert Capacitor("x", "a", "0", 1e-15, ic_v=0.5).render() == "Cx a 0 1e-15 ic=0.5"
    assert VSource("in", "a", "0", 0.0, Sine(0, 1, 1e3)).render() == "Vin a 0 dc 0 sin(0 1 1000 0 0)"
    assert VSource("p", "a", "0", 0.0, Pulse(0, 1, 0, 1e-9, 1e-9, 1e-6, 2e-6)).render() == (
        "Vp a 0 dc 0 pulse(0 1 0 1e-09 1e-09 1e-06 2e-06)")
    assert Instance("m1", "vteam", ["a", "b"], {"x0": 0.5, "frozen": 1}).render() == "Xm1 a b vteam frozen=1 x0=0.5"
    assert BSource("1", "a", "0", "i", "v(a)*2").render() == "B1 a 0 i=v(a)*2"
    sub = Subckt("cell", ["a", "b"], [Resistor("1", "a", "b", 10.0)], {"g": 1.0}).render()
    assert sub.splitlines() == [".subckt cell a b params: g=1", "R1 a b 10", ".ends cell"]


def test_pwl_times_must_increase():
    with pytest.raises(ValueError):
        Pwl(((0.0, 0.0), (1e-6, 1.0), (1e-6, 0.0))).render()


def test_nonpositive_resistor_is_refused():
    with pytest.raises(ValueError):
        Resistor("1", "a", "b", 0.0).render()


def test_deck_is_deterministic_and_runnable_text():
    deck = Deck("t", [VSource("1", "a", "0", 1.0), Resistor("1", "a", "0", 1e3)],
                steps=[Analyze(Op(), ("v(a)",)), Alter("r1", "resistance", 2e3), Analyze(Dc("v1", 0, 1, 0.5)),
                       Analyze(Tran(1e-9, 1e-6, max_step_s=1e-10))],
                header={"spec_hash": "abc"})
    text = deck.render()
    assert text == deck.render()
    assert "* spec_hash: abc" in text
    lines = text.splitlines()
    control = lines[lines.index(".control") + 1 : lines.index(".endc")]
    assert control == [
        "set filetype=binary", "set appendwrite",
        "save v(a)", "op", "write out.raw",
        "alter @r1[resistance] = 2000",
        "save all", "dc v1 0 1 0.5", "write out.raw",
        "save all", "tran 1e-09 1e-06 0 1e-10", "write out.raw",
        "quit",
    ]
    assert lines[-1] == ".end"
    assert ".control" not in deck.netlist()


def test_bad_dc_sweep_direction():
    with pytest.raises(ValueError):
        Dc("v1", 0, 1, -0.1).command()


def test_long_vector_lists_are_split():
    from memspice.netlist.deck import save_commands

    vecs = tuple(f"v(node{k})" for k in range(200))
    cmds = save_commands(vecs)
    assert len(cmds) > 1 and all(len(c) <= 400 for c in cmds)
    assert [v for c in cmds for v in c.split()[1:]] == list(vecs)


def test_table_sources_render_as_each_table_source():
    """A chunk's state tables rendered as one block are the text of each TableSource card, joined, one line
    per source; every entry reads back exactly (an independent reader, tests/table_text.py) in every number
    form: integers over a power of two where every entry is an exact 16-digit multiple of it (entries in
    one binade, near 0.5, tiny, huge, with trailing zero bits); 17-digit integers over one more power of two
    where the entries span two binades (the upper binade's then even, none odd within 64 of 2**53 nor above
    2**54 - 64); reprs otherwise (entries spanning more binades, a zero, a -0.0, an odd integer within 64 of
    2**53); a non-finite entry is refused."""
    import numpy as np

    from memspice.netlist.cards import TableSource, TableSources
    from tests.table_text import table_entries

    rng = np.random.default_rng(3)
    tables = np.exp(rng.uniform(-5, 0, (13, 11)))  # generic doubles over 7 binades: reprs
    tables[1, 3], tables[2, 0], tables[3, 0], tables[4, 10] = 1e-05, 1.0, 0.01, 0.1 + 0.2
    tables[5] = rng.uniform(0.5, 0.99, 11)  # one binade: integers
    tables[6] = rng.uniform(0.6, 0.9, 11) * 2.0 ** -1060  # subnormals: a divisor beyond 2**1074
    tables[7] = rng.uniform(1e20, 1.1e20, 11)  # above 2**53: a multiplier
    tables[8] = 0.75 + np.arange(11) * 2.0 ** -40  # trailing zero bits, still 16 digits each
    tables[9] = np.where(np.arange(11) == 4, -0.0, rng.uniform(0.5, 0.99, 11))
    tables[10] = np.where(np.arange(11) == 2, 1 - 2.0 ** -53, 0.75)  # 2**53 - 1 would be the integer: ngspice's
    # reader could round it (10 * m + c - '0'); one bit more, 2**54 - 2 is above 2**54 - 64: reprs
    tables[11] = np.exp(rng.uniform(np.log(0.26), np.log(0.99), 11)) * (1 + 2.0 ** -40)  # two binades: 17 digits
    tables[12] = np.where(np.arange(11) == 5, 0.5 - 2.0 ** -54, tables[11])  # odd 2**53 - 1 at one bit more: reprs
    names = [f"xs{j}_{j % 2}" for j in range(13)]
    block = TableSources(names, names, "idx", tables).render()
    assert block == "\n".join(TableSource(n, n, "idx", tables[j]).render() for j, n in enumerate(names))
    lines = block.split("\n")
    assert len(lines) == 13 and lines[1].startswith("Bxs1_1 xs1_1 0 v=pwl(v(idx), 0, ")
    assert "3, 1e-05" in lines[1] and lines[4].endswith("10, 0.30000000000000004)")
    forms = ["/" in line.rsplit(")", 1)[1] or "*" in line.rsplit(")", 1)[1] for line in lines]
    assert forms == [False] * 5 + [True] * 4 + [False] * 2 + [True, False]
    assert lines[5].endswith(")/9007199254740992") and lines[7].endswith(")*16384") and ", -0.0, " in lines[9]
    assert lines[11].endswith(")/9007199254740992/2") and len(lines[11].split(", ")[2]) == 17
    for j, line in enumerate(lines):
        index, entries = table_entries(line)
        assert index == list(range(11))
        assert entries == tables[j].tolist() and np.array_equal(np.signbit(entries), np.signbit(tables[j]))
    for bad in (np.where(np.arange(143).reshape(13, 11) == 7, np.nan, tables), tables[:, :1], tables[:4]):
        with pytest.raises(ValueError, match="table sources"):
            TableSources(names, names, "idx", bad).render()
