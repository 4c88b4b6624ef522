"""The hand-written subcircuits of models/ agree with their Python declarations."""

import re

import numpy as np
import pytest

from memspice.errors import InputError, SpecError
from memspice.spec.device import MODELS, builtin_cards, load_card

pytestmark = pytest.mark.unit


def _subckt_header(text: str, name: str) -> tuple[list[str], dict[str, float]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("*"):
            continue
        if lines and line.startswith("+"):
            lines.append(line[1:])
        elif lines:
            break
        elif line.lower().startswith(f".subckt {name}"):
            lines.append(line)
    header = " ".join(lines)
    head, _, params = header.partition("params:")
    ports = head.split()[2:]
    values = dict(re.findall(r"(\w+)=(\S+)", params))
    return ports, {k: float(v) for k, v in values.items()}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_lib_matches_declaration(model):
    decl = MODELS[model]
    text = decl.lib_path.read_text()
    ports, params = _subckt_header(text, decl.subckt)
    assert tuple(ports) == decl.ports
    declared = {p.spice for p in decl.params} | set(decl.instance_params)
    assert set(params) == declared
    for p in decl.params:  # the subcircuit defaults are the published set
        assert params[p.spice] == pytest.approx(p.to_spice(p.default)), p.name
    assert f".ends {decl.subckt}" in text
    assert "Source:" in text.splitlines()[2] or "Source:" in text[:400]


def test_builtin_cards_load():
    names = set(builtin_cards())
    assert {"vteam_technion", "vteam_paper", "yakopcic_oblea", "yakopcic_paper"} <= names
    for name in names:
        card = load_card(name)
        assert card.source


@pytest.mark.parametrize("name", ["vteam_paper", "yakopcic_paper"])
def test_paper_cards_cover_the_programmed_levels(name):
    card = load_card(name)
    lo, hi = card.window_s()
    assert lo <= 100e-6 and hi >= 400e-6
    # set and reset thresholds above the 0.2 V read so reads do not disturb the state
    from memspice.reference.memristor import switching_thresholds

    assert min(switching_thresholds(card.model, card.params)) > 0.2


@pytest.mark.parametrize("name", ["vteam_paper", "yakopcic_paper", "vteam_technion"])
def test_state_conductance_round_trip(name):
    card = load_card(name)
    lo, hi = card.window_s()
    g = np.linspace(max(lo, 1e-9), hi, 7)
    np.testing.assert_allclose(card.conductance(card.state_for(g)), g, rtol=1e-12)


def test_bad_cards():
    card = load_card("vteam_paper")
    with pytest.raises(SpecError, match=r"params\.r_off_ohm"):
        card.with_params(r_off_ohm=100.0)
    with pytest.raises(SpecError, match=r"params\.r_on_ohm: got -5"):
        card.with_params(r_on_ohm=-5.0)
    with pytest.raises(SpecError, match=r"params\.nope"):
        card.with_params(nope=1.0)
    with pytest.raises(SpecError, match=r"params\.window"):
        card.with_params(window="hann")
    with pytest.raises(SpecError, match="g_target_s"):
        card.state_for(1.0)
    with pytest.raises(InputError, match="no such built-in card"):
        load_card("vteam_nonexistent")
