"""No text from a spec can add lines (a .control block, a shell command) to a deck.

Two independent guards are tested: the spec layer (every str field free of line breaks and control
characters, names and vectors held to the strict SPICE-safe pattern) and the deck writer (refuses
any line break or control character in text it did not generate itself).
"""

from __future__ import annotations

import pytest

from memspice.errors import SpecError, UnsafeTextError
from memspice.montecarlo.netlist_circuit import NetlistCircuitSpec, NetlistMeasure, NetlistParam
from memspice.montecarlo.plan import Plan, Variation
from memspice.netlist.cards import BSource, Comment, Instance, Raw, Resistor, Subckt
from memspice.netlist.deck import Alter, Analyze, Command, Deck, Op
from memspice.spec.adc import AdcSpec
from memspice.spec.crossbar import CrossbarStudy
from memspice.spec.device import DeviceCard, load_card
from memspice.study.spec import StudySpec

pytestmark = pytest.mark.unit

# line breaks and control characters that ngspice (or a terminal) would treat as a new line or
# worse; each is embedded in a payload that would run a shell command if it reached the deck
BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x00", "\x1b", "\x85", "\u2028", "\u2029", "\x7f"]
PAYLOADS = [f"x{b}.control{b}shell touch PWNED{b}.endc" for b in BREAKS] + ["i(v1)\nshell touch PWNED #"]


def _card(**changes):
    return load_card("vteam_paper").replace(**changes)


def _plan(**changes):
    base = {"name": "ok", "circuit": "netlist", "spec": {}, "samples": 2}
    return Plan.from_dict({**base, **changes}, where="plan")


# (spec type, builder from a hostile string, field the error must name)
SPEC_CASES = [
    ("DeviceCard.name", lambda s: _card(name=s), "name"),
    ("DeviceCard.source", lambda s: _card(source=s), "source"),
    ("DeviceCard.params key", lambda s: DeviceCard.from_dict(
        {"name": "c", "model": "vteam", "params": {s: 1.0}}, where="card"), "card.params"),
    ("Plan.name", lambda s: _plan(name=s), "plan.name"),
    ("Plan.measure", lambda s: _plan(measure=[s]), "plan.measure[0]"),
    ("Plan.circuit", lambda s: _plan(circuit=s), "plan.circuit"),
    ("Plan.spec value", lambda s: _plan(spec={"netlist": s}), "plan.spec.netlist"),
    ("Variation.group", lambda s: Variation.from_dict({"group": s, "sigma": 1.0}, where="vary[0]"),
     "vary[0].group"),
    ("Variation.label", lambda s: Variation.from_dict({"group": "g", "sigma": 1.0, "label": s}, where="vary[0]"),
     "vary[0].label"),
    ("NetlistMeasure.vector", lambda s: NetlistMeasure.from_dict({"name": "m", "vector": s}, where="m"),
     "m.vector"),
    ("NetlistMeasure.name", lambda s: NetlistMeasure.from_dict({"name": s, "vector": "v(1)"}, where="m"),
     "m.name"),
    ("NetlistParam.devices", lambda s: NetlistParam.from_dict(
        {"name": "g", "devices": ["r1", s], "parameter": "resistance", "nominal": [1.0, 1.0]}, where="p"),
     "p.devices[1]"),
    ("NetlistParam.parameter", lambda s: NetlistParam.from_dict(
        {"name": "g", "devices": ["r1"], "parameter": s, "nominal": [1.0]}, where="p"), "p.parameter"),
    ("NetlistCircuitSpec.analyses", lambda s: NetlistCircuitSpec.from_dict(
        {"netlist": "a.cir", "measures": [{"name": "m", "vector": "v(1)"}], "analyses": [s]}, where="spec"),
     "spec.analyses[0]"),
    ("CrossbarStudy.crossbar.card", lambda s: CrossbarStudy.from_dict({"crossbar": {"card": s}}),
     "crossbar.card"),
    ("CrossbarStudy.crossbar.access.nmos", lambda s: CrossbarStudy.from_dict(
        {"crossbar": {"access": {"nmos": s}}}), "crossbar.access.nmos"),
    ("AdcSpec.card", lambda s: AdcSpec.from_dict({"card": s}, where="adc"), "adc.card"),
    ("AdcSpec.cell.transistors", lambda s: AdcSpec.from_dict({"cell": {"transistors": s}}, where="adc"),
     "adc.cell.transistors"),
    ("StudySpec.study.name", lambda s: StudySpec.from_dict({"study": {"name": s}}), "study.name"),
    ("StudySpec.study.title", lambda s: StudySpec.from_dict({"study": {"name": "s", "title": s}}), "study.title"),
    ("StudySpec.device.cards", lambda s: StudySpec.from_dict({"study": {"name": "s"}, "device": {"cards": [s]}}),
     "device.cards[0]"),
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=[repr(b) for b in BREAKS] + ["measure-vector"])
@pytest.mark.parametrize(("kind", "build", "field"), SPEC_CASES, ids=[c[0] for c in SPEC_CASES])
def test_spec_layer_refuses_line_breaks(kind, build, field, payload, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as err:
        build(payload)
    assert err.value.field == field, (kind, str(err.value))
    assert "control characters" in err.value.expected
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("name", ["../../../x", "..", ".hidden", "-rf", "a b", "a/b", "a;b", "", "x" * 101,
                                  "v(1)", "a$b", "é"])
def test_names_follow_the_strict_pattern(name):
    with pytest.raises(SpecError) as err:
        _plan(name=name)
    assert err.value.field == "plan.name"
    assert "letters, digits" in err.value.expected


@pytest.mark.parametrize("name", ["vteam_paper", "a.b-c+d", "x1", "_", "run_2026.12"])
def test_names_that_are_accepted(name):
    assert _plan(name=name).name == name


@pytest.mark.parametrize("vector", ["v(out)", "v(a,b)", "i(vdd)", "@m1[id]", "v1#branch", "v(x1.n2)", "time"])
def test_vectors_that_are_accepted(vector):
    assert NetlistMeasure(name="m", vector=vector).vector == vector


@pytest.mark.parametrize("vector", ["v(out) ; shell x", "v(out) shell", "", "$x", "v(`id`)"])
def test_vectors_that_are_refused(vector):
    with pytest.raises(SpecError, match="vector"):
        NetlistMeasure(name="m", vector=vector)


# -- the deck writer on its own (as if a spec had let something through) ------------------------

def _deck(**changes) -> Deck:
    base = {"title": "t", "cards": [Resistor("1", "a", "0", 1e3)], "steps": [Analyze(Op(), ("v(a)",))]}
    return Deck(**{**base, **changes})


DECK_CASES = [
    ("title", lambda s: _deck(title=s)),
    ("header value", lambda s: _deck(header={"card": s})),
    ("header key", lambda s: _deck(header={s: "v"})),
    ("option value", lambda s: _deck(options={"method": s})),
    ("saved vector", lambda s: _deck(steps=[Analyze(Op(), (s,))])),
    ("command", lambda s: _deck(steps=[Command(s)])),
    ("instance parameter", lambda s: _deck(cards=[Instance("1", "sub", ["a", "0"], {"model": s})])),
    ("b-source expression", lambda s: _deck(cards=[BSource("1", "a", "0", "v", s)])),
    ("subcircuit body", lambda s: _deck(cards=[Subckt("sub", ["a"], [BSource("1", "a", "0", "v", s)])])),
]


@pytest.mark.parametrize("payload", PAYLOADS[:6], ids=[repr(b) for b in BREAKS[:6]])
@pytest.mark.parametrize(("what", "build"), DECK_CASES, ids=[c[0] for c in DECK_CASES])
def test_deck_writer_refuses_what_it_did_not_generate(what, build, payload):
    deck = build(payload)
    with pytest.raises(UnsafeTextError):
        deck.render()
    with pytest.raises(UnsafeTextError):  # the shared backend sends netlist lines and commands apart
        deck.netlist()
        deck.control_commands()


def test_deck_writer_refuses_a_control_block_in_verbatim_text():
    deck = _deck(cards=[Raw("r1 a 0 1k\n.control\nshell touch PWNED\n.endc")])
    with pytest.raises(UnsafeTextError, match="control block"):
        deck.render()


def test_deck_writer_keeps_its_own_multiline_cards():
    deck = _deck(cards=[Comment("two\nlines"), Raw("r1 a 0 1k\nr2 a 0 1k"), Resistor("3", "a", "0", 1.0)],
                 steps=[Alter("r1", "resistance", 2e3), Analyze(Op(), ("v(a)",))])
    text = deck.render()
    assert "* two\n* lines\n" in text and "r1 a 0 1k\nr2 a 0 1k\n" in text
    assert text.count(".control") == 1 and text.count(".endc") == 1
