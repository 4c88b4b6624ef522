"""Q-cell ADC netlists: topology, determinism, encoder size, area model, Monte Carlo sampling (no ngspice)."""

import re
import subprocess
import sys

import numpy as np
import pytest

from memspice.characterize import adc as flow
from memspice.netlist import qcell as nq
from memspice.netlist import qcell_tran as nqt
from memspice.resources import project_root
from memspice.spec.adc import AdcSpec
from memspice.spec.device import load_card

pytestmark = pytest.mark.unit


def test_cell_is_the_qim_9t_topology():
    sub = nq.qcell_subckt(AdcSpec().cell).render().splitlines()
    assert sub[0] == ".subckt qcell_9t a b in_a in_b ml out vdd_ml vdd_inv vref vpu"
    devices = [line.split() for line in sub[1:-1]]
    assert len(devices) == 9
    nmos = [d for d in devices if d[5] == AdcSpec().cell.nmos]
    pmos = [d for d in devices if d[5] == AdcSpec().cell.pmos]
    assert len(nmos) == 6 and len(pmos) == 3  # six NMOS, three PMOS as in QIM's netlist
    by_name = {d[0].lower(): d[1:5] for d in devices}
    assert by_name["mn1"] == ["a", "in_a", "vref", "0"]  # lower-bound divider device
    assert by_name["mn2"] == ["b", "in_b", "vref", "0"]  # upper-bound divider device
    assert by_name["mn3"] == ["ml", "a", "0", "0"]  # A pulls the match line down
    assert by_name["mn4"] == ["ml", "ib", "0", "0"]  # inverted B pulls it down
    assert by_name["mp0"][:2] == ["ib", "b"] and by_name["mn0"][:2] == ["ib", "b"]  # B inverter
    assert by_name["mp1"] == ["ml", "vpu", "vdd_ml", "vdd_ml"]  # pull-up
    assert by_name["mp2"][:2] == ["out", "ml"] and by_name["mn5"][:2] == ["out", "ml"]  # output inverter


def _first_guess(spec, card):
    from memspice.reference.qcell import first_guess_conductances

    return first_guess_conductances(card.window_s(), spec.edges_v(), spec.input_lo_v, spec.input_hi_v, spec.lsb_v)


def test_decks_are_deterministic_and_plain():
    spec = AdcSpec(bits=3)
    a = flow.golden_decks(spec)
    b = flow.golden_decks(AdcSpec(bits=3))
    assert a == b
    assert set(a) == {"qcell_adc_3bit_dc.cir", "qcell_adc_3bit_tran.cir", "qcell_adc_3bit_map.cir"}
    for text in a.values():
        assert spec.spec_hash() in text
        assert not re.search(r"\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d", text)  # no timestamps
        # numbers in plain exponent form: no SI letter suffix after a digit in w=/l=/dc values
        assert not re.search(r"\b(?:w|l|dc)=?\s*-?[0-9.]+(?:meg|[munpfkg])\b", text, flags=re.IGNORECASE)
    dc = a["qcell_adc_3bit_dc.cir"]
    instances = [line for line in dc.splitlines() if line.startswith("Xc") and line.endswith(" qcell_9t")]
    assert len(instances) == 8
    assert "dc vin" in dc and ".include" in dc


def test_each_cell_has_two_frozen_memristors_from_the_card():
    spec = AdcSpec(bits=2)
    card = load_card(spec.card)
    g = _first_guess(spec, card)
    text = nq.adc_dc_deck(spec, card, g["g_lower_s"], g["g_upper_s"]).netlist()
    mem = [line for line in text.splitlines() if line.lower().startswith(("xma", "xmb"))]
    assert len(mem) == 2 * spec.n_cells
    assert all(" frozen=1" in line and line.split()[1] == "vread_n" for line in mem)
    x = float(re.search(r"x0=(\S+)", mem[0]).group(1))
    assert x == pytest.approx(float(card.state_for(g["g_lower_s"][0])))


@pytest.mark.parametrize("bits", [2, 3, 4, 5, 6])
def test_encoder_size(bits):
    spec = AdcSpec(bits=bits)
    cards = nq.encoder_cards(bits, spec.encoder, spec.cell)
    mos = [c for c in cards if c.render().startswith("M")]
    rom = [c for c in mos if c.name.startswith("rom")]
    assert len(rom) == bits * 2 ** (bits - 1)  # each Gray bit is set in half the codes
    # per bit: pull-down, reset, two sense inverters; Gray->binary: top inverter, then XOR (8) + inverter
    assert len(mos) == len(rom) + 6 * bits + 2 + 10 * (bits - 1)
    assert len(nq.encoder_device_sizes(bits, spec.encoder)) == len(mos)


def test_the_layout_rules_scale_with_the_card_s_node():
    """A 22 nm card with every size and both extension rules shrunk by 22/45 is the 45 nm layout shrunk
    geometrically: (22/45)^2 of its area, by the default rules (drawn at 45 nm, scaled to the card) or by
    rules given at 22 nm; normalised to 28 nm both cells then read the same."""
    from memspice.spec.adc import MosSize

    f = 22 / 45
    spec45 = AdcSpec()
    shrunk = {f"cell.{role}": {"w_m": getattr(spec45.cell, role).w_m * f, "l_m": max(getattr(spec45.cell, role).l_m * f,
                                                                                      22e-9)}
              for role in ("input", "pulldown", "pullup", "inv_n", "inv_p")}
    assert all(getattr(spec45.cell, r).l_m * f >= 22e-9 for r in ("input", "pulldown", "pullup", "inv_n", "inv_p"))
    spec22 = spec45.with_overrides({"cell.transistors": "ptm_22nm_hp", **shrunk})
    assert nq.cell_area_m2(spec22) == pytest.approx(f ** 2 * nq.cell_area_m2(spec45), rel=1e-9)
    given = spec22.with_overrides({"layout.rules_node_nm": 22.0, "layout.ext_w_m": 0.09e-6 * f,
                                   "layout.ext_l_m": 0.14e-6 * f})
    assert nq.cell_area_m2(given) == pytest.approx(nq.cell_area_m2(spec22), rel=1e-9)
    size = MosSize(0.1e-6, 0.05e-6)  # by hand: (W + 2 x 0.09 um x 22/45)(L + 2 x 0.14 um x 22/45)
    assert nq.device_area_m2(size, spec22) == pytest.approx((0.1e-6 + 0.18e-6 * f) * (0.05e-6 + 0.28e-6 * f))
    norm = [flow.area_um2(s)["cell_array_um2"] * (28 / s.cell.models.node_nm) ** 2 for s in (spec45, spec22)]
    assert norm[0] == pytest.approx(norm[1], rel=1e-9)


def test_the_rules_node_keeps_older_hashes_only_where_nothing_changed():
    """45 nm rules on the 45 nm card mean what the specs before the field meant: same hash as memspice
    at 2cbea1f (the literal, computed there). On the 22 nm card the rules now scale (area, wire caps,
    results differ), so the hash must differ from 2cbea1f's (b074fde3ee593545) and the field stays in."""
    spec = AdcSpec()
    assert spec.spec_hash() == "58871cbb4c8a433f"
    assert "rules_node_nm" not in spec.hash_data()["layout"]
    assert spec.with_overrides({"layout.rules_node_nm": 22.0}).spec_hash() != spec.spec_hash()
    spec22 = spec.with_overrides({"cell.transistors": "ptm_22nm_hp"})
    assert spec22.hash_data()["layout"]["rules_node_nm"] == 45.0
    assert spec22.spec_hash() != "b074fde3ee593545"


def test_area_model_by_hand():
    spec = AdcSpec()
    lay = spec.layout

    def dev(w, length):
        return (w + 2 * lay.ext_w_m) * (length + 2 * lay.ext_l_m)

    c = spec.cell
    cell = (2 * dev(c.input.w_m, c.input.l_m) + 2 * dev(c.pulldown.w_m, c.pulldown.l_m)
            + dev(c.pullup.w_m, c.pullup.l_m) + 2 * dev(c.inv_n.w_m, c.inv_n.l_m) + 2 * dev(c.inv_p.w_m, c.inv_p.l_m))
    assert nq.cell_area_m2(spec) == pytest.approx(cell * lay.routing_factor)
    area = flow.area_um2(spec)
    assert area["cell_array_um2"] == pytest.approx(16 * cell * lay.routing_factor * 1e12)
    assert area["total_um2"] == pytest.approx(area["cell_array_um2"] + area["encoder_um2"])
    assert area["transistors"] == 9 * 16 + 32 + 6 * 4 + 2 + 30


def test_transient_deck_idles_the_read_supply_at_the_reference():
    spec = AdcSpec(bits=2)
    card = load_card(spec.card)
    g = _first_guess(spec, card)
    text = nqt.adc_tran_deck(spec, card, g["g_lower_s"], g["g_upper_s"], [0.8, 1.0]).netlist()
    read = next(line for line in text.splitlines() if line.startswith("Vread "))
    assert f"pulse({spec.cell.v_ref_v!r} {spec.cell.v_read_v!r}" in read
    pu = next(line for line in text.splitlines() if line.startswith("Vpu "))
    assert f"pulse(1 {spec.cell.v_pu_v!r}" in pu


def _mc_values(spec, card, circuit, n, seed, chunk=None):
    """The values the Monte Carlo engine draws for chunk 0 of ``characterize adc``'s plan (pure numpy)."""
    from memspice.montecarlo.plan import Plan, Variation
    from memspice.montecarlo.sampling import draw_chunk

    vary = tuple(Variation.from_dict(v) for v in flow.mc_variations(spec, card))
    plan = Plan(name="t", circuit="qcell_adc", spec={"circuit_hash": circuit.spec_hash()}, samples=n, seed=seed,
                chunk_size=chunk or n, vary=vary)
    return draw_chunk(plan, circuit.param_groups(), 0)


def _circuit(spec, card):
    g = _first_guess(spec, card)
    return flow.QcellAdcCircuit(spec, g["g_lower_s"], g["g_upper_s"], card)


def test_mc_sampling_is_seeded_and_separate_from_simulation():
    spec = AdcSpec(bits=2)
    card = load_card(spec.card)
    c = _circuit(spec, card)
    a = c.applied_samples(_mc_values(spec, card, c, 50, 7), 7)
    b = c.applied_samples(_mc_values(spec, card, c, 50, 7), 7)
    d = c.applied_samples(_mc_values(spec, card, c, 50, 8), 8)
    np.testing.assert_array_equal(a.g_lower_s, b.g_lower_s)
    np.testing.assert_array_equal(a.delvto_v, b.delvto_v)
    assert not np.array_equal(a.g_lower_s, d.g_lower_s)
    lo, hi = card.window_s()
    assert a.g_lower_s.min() >= lo and a.g_upper_s.max() <= hi
    # spreads follow the card (programming and read noise add) and Pelgrom (input device, 0.6 x 0.4 um)
    sd = np.hypot(card.variability.program_sigma_s, card.variability.read_sigma_s)
    inner = (c.g_lower_s > lo + 4 * sd) & (c.g_lower_s < hi - 4 * sd)
    dev = (a.g_lower_s - c.g_lower_s)[:, inner]
    assert np.std(dev) == pytest.approx(sd, rel=0.25)  # 50 x cells draws
    sig_in = spec.cell.models.a_vt_v_m / np.sqrt(0.6e-6 * 0.4e-6)
    assert np.std(a.delvto_v[:, :, 0]) == pytest.approx(sig_in, rel=0.3)
    assert flow.pelgrom_sigmas_v(spec, spec.cell.models.a_vt_v_m)["mn1"] == pytest.approx(sig_in, rel=1e-12)
    table = a.table()
    assert len(table["sample"]) == 50 * spec.n_cells and "delvto_mn1_V" in table
    off = spec.with_overrides({"mc.mismatch": False})
    assert not any(v["group"].startswith("delvto") for v in flow.mc_variations(off, card))
    assert np.all(c.applied_samples(_mc_values(off, card, c, 3, 1), 1).delvto_v == 0)


def test_mc_circuit_groups_and_measurements():
    spec = AdcSpec(bits=2)
    card = load_card(spec.card)
    c = _circuit(spec, card)
    groups = c.param_groups()
    assert set(groups) == {"g_lower", "g_upper", "dg_read_lower", "dg_read_upper",
                           *(f"delvto_{d.name}" for d in nq.CELL_DEVICES)}
    assert (groups["g_lower"].lower, groups["g_lower"].upper) == card.window_s()
    np.testing.assert_array_equal(groups["g_upper"].nominal, c.g_upper_s)
    labels = [lab for g in groups.values() for lab in g.labels]
    assert len(labels) == len(set(labels))  # unique sample-table columns
    assert c.measure_names() == ["boundary_V_i0", "boundary_V_i1", "boundary_V_i2", "code_error_rate",
                                 "code_mismatch_rate"]
    # read noise adds to the programmed value and the sum stays in the window
    _, hi = card.window_s()
    gl, _ = c.conductances({"g_lower": np.full(4, hi), "dg_read_lower": np.full(4, 1e-6)})
    assert np.all(gl == hi)
    # the hash covers the conductances but not the Monte Carlo settings
    assert flow.QcellAdcCircuit(spec.with_overrides({"mc.samples": 9}), c.g_lower_s, c.g_upper_s,
                                card).spec_hash() == c.spec_hash()
    assert flow.QcellAdcCircuit(spec, c.g_lower_s * 1.01, c.g_upper_s, card).spec_hash() != c.spec_hash()


def test_mc_chunk_deck_parses_once_and_alters_every_sample():
    from memspice.netlist.deck import Deck

    spec = AdcSpec(bits=2)
    card = load_card(spec.card)
    c = _circuit(spec, card)
    values = _mc_values(spec, card, c, 3, 1)
    steps = []
    for s in range(3):
        steps += [*c.apply({g: v[s] for g, v in values.items()}), *c.analyses()]
    base = c.deck()
    text = Deck(base.title, base.cards, steps=steps, header=base.header).render()
    assert text.count(".subckt qcell_9t") == 1 and text.count("\ndc vin") == 3
    alters = [line for line in text.splitlines() if line.startswith("alter ")]
    assert len(alters) == 3 * spec.n_cells * (2 + 9)
    assert "alter @v.xma0.vx0[dc] = " in text and "alter @m.xc3.mn1[delvto] = " in text


def test_mc_from_spec_table_and_bad_keys(tmp_path):
    from memspice.errors import SpecError

    spec = AdcSpec(bits=2)
    card = load_card(spec.card)
    g = _first_guess(spec, card)
    gl, gu = list(g["g_lower_s"]), list(g["g_upper_s"])
    c = flow.QcellAdcCircuit.from_spec({"bits": 2, "g_lower_s": gl, "g_upper_s": gu})
    np.testing.assert_array_equal(c.g_lower_s, gl)
    assert c.spec.bits == 2
    f = flow.QcellAdcCircuit.from_spec({"file": "circuits/qcell_adc_4bit.toml", "overrides": {"bits": 2},
                                        "g_lower_s": gl, "g_upper_s": gu}, project_root())
    assert f.spec.bits == 2 and f.spec.cell.v_read_v == 0.8
    with pytest.raises(SpecError) as info:
        flow.QcellAdcCircuit.from_spec({"file": "circuits/qcell_adc_4bit.toml", "seed": 1}, project_root())
    assert info.value.field == "plan.spec.seed"
    with pytest.raises(SpecError) as info:
        flow.QcellAdcCircuit.from_spec({"bits": 2, "g_lower_s": gl[:3], "g_upper_s": gu})
    assert info.value.field == "plan.spec.g_lower_s"
    with pytest.raises(SpecError):
        flow.QcellAdcCircuit.from_spec({"bits": 2, "g_lower_s": gl})


def test_characterize_module_imports_light():
    code = ("import sys, memspice.characterize.adc, memspice.cli.adc\n"
            "print(','.join(m for m in ('matplotlib', 'PySpice', 'scipy.optimize') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
