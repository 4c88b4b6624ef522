"""Q-cell ADC descriptions: validation of boundary sets, files, and the transistor model declaration."""

import re

import numpy as np
import pytest

from memspice.errors import InputError, SpecError
from memspice.papers.hong2025 import paper_data_dir
from memspice.resources import circuits_dir
from memspice.spec.adc import (
    PTM_22NM_HP,
    PTM_45NM_HP,
    AdcSpec,
    load_adc_spec,
    read_boundaries_csv,
    uniform_boundaries,
)

pytestmark = pytest.mark.unit


def test_defaults_are_a_valid_4bit_uniform_adc():
    spec = AdcSpec()
    assert spec.bits == 4 and spec.n_cells == 16
    assert spec.lsb_v == pytest.approx(0.5 / 16)
    t = spec.targets_v()
    assert t.shape == (15,)
    np.testing.assert_allclose(np.diff(t), spec.lsb_v)
    edges = spec.edges_v()
    assert edges[0] == spec.input_lo_v and edges[-1] == spec.input_hi_v and len(edges) == 17


def test_uniform_boundaries_exact():
    np.testing.assert_allclose(uniform_boundaries(2, 0.0, 1.0), [0.25, 0.5, 0.75])


@pytest.mark.parametrize(
    ("boundaries", "field", "phrase"),
    [
        ((0.8, 0.9), "boundaries_v", "3 internal boundaries for 2 bits"),
        ((0.8, 0.9, 1.0, 1.1), "boundaries_v", "3 internal boundaries"),
        ((0.9, 0.8, 1.0), "boundaries_v[1]", "strictly ascending"),
        ((0.8, 0.8, 1.0), "boundaries_v[1]", "without duplicates"),
        ((0.6, 0.9, 1.0), "boundaries_v[0]", "inside the input range (0.7, 1.2)"),
        ((0.8, 0.9, 1.2), "boundaries_v[2]", "inside the input range"),
        ((0.8, float("inf"), 1.0), "boundaries_v[1]", "finite"),
    ],
)
def test_bad_boundary_sets_name_the_field(boundaries, field, phrase):
    with pytest.raises(SpecError) as info:
        AdcSpec(bits=2, boundaries_v=boundaries)
    assert info.value.field == field
    assert phrase in str(info.value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"bits": 1}, "bits"),
        ({"bits": 7}, "bits"),
        ({"input_hi_v": 0.5}, "input_hi_v"),
        ({"sweep_step_lsb": 0.1}, "sweep_step_lsb"),
        ({"program_aim_lsb": 0.2}, "program_aim_lsb"),
    ],
)
def test_bad_scalars(changes, field):
    with pytest.raises(SpecError) as info:
        AdcSpec(**changes)
    assert info.value.field == field


def test_nested_overrides_and_unknown_keys():
    spec = AdcSpec().with_overrides({"cell.v_read_v": 0.7, "mc.samples": 5, "timing.read_s": 4e-10})
    assert spec.cell.v_read_v == 0.7 and spec.mc.samples == 5 and spec.timing.read_s == 4e-10
    with pytest.raises(SpecError, match=r"cell\.v_bogus"):
        AdcSpec().with_overrides({"cell.v_bogus": 1.0})
    with pytest.raises(SpecError, match=r"cell\.input\.l_m"):
        AdcSpec().with_overrides({"cell.input.l_m": 1e-8})  # below the 45 nm minimum
    with pytest.raises(SpecError, match="v_ref_v"):
        AdcSpec().with_overrides({"cell.v_ref_v": 0.9})  # above the read supply


def test_boundary_csv(tmp_path):
    good = tmp_path / "b.csv"
    good.write_text("boundary_V\n0.8\n0.9\n1.0\n")
    assert read_boundaries_csv(good) == (0.8, 0.9, 1.0)
    bad_head = tmp_path / "h.csv"
    bad_head.write_text("v\n0.8\n")
    with pytest.raises(SpecError, match="boundary_V"):
        read_boundaries_csv(bad_head)
    bad_value = tmp_path / "x.csv"
    bad_value.write_text("boundary_V\n0.8\nabc\n")
    with pytest.raises(SpecError, match=r"boundaries\[1\]"):
        read_boundaries_csv(bad_value)
    with pytest.raises(InputError, match="not found"):
        read_boundaries_csv(tmp_path / "missing.csv")


def test_circuit_files_load():
    uniform = load_adc_spec(circuits_dir() / "qcell_adc_4bit.toml")
    assert uniform.bits == 4 and uniform.boundaries_v == ()
    assert uniform.cell == AdcSpec().cell  # the file spells out the defaults
    lm = load_adc_spec(circuits_dir() / "qcell_adc_4bit_lloydmax.toml")
    assert len(lm.boundaries_v) == 15
    assert lm.spec_hash() != uniform.spec_hash()


def test_lloyd_max_circuit_regenerates_from_paper_data():
    """The boundaries in the Lloyd-Max circuit file are what its header says they are."""
    from memspice.extract.adc import lloyd_max_boundaries

    path = paper_data_dir("hong2025") / "fig1a.csv"
    x = np.loadtxt(path, delimiter=",", skiprows=1, usecols=0)
    b = 0.70 + 0.50 * lloyd_max_boundaries(x, 16)
    lm = load_adc_spec(circuits_dir() / "qcell_adc_4bit_lloydmax.toml")
    np.testing.assert_allclose(lm.boundaries_v, b, atol=1e-6)  # the file keeps 6 decimals


@pytest.mark.parametrize("models", [PTM_45NM_HP, PTM_22NM_HP], ids=lambda m: m.name)
def test_transistor_declaration_matches_model_file(models):
    text = models.lib_path.read_text()
    found = dict(re.findall(r"^\.model\s+(\S+)\s+(nmos|pmos)\s+level=54", text, flags=re.MULTILINE))
    assert found == {models.nmos: "nmos", models.pmos: "pmos",
                     models.nmos_no_tunnelling: "nmos", models.pmos_no_tunnelling: "pmos"}
    # the variants without tunnelling differ from the published cards in igcmod and igbmod only
    blocks = {m.group(1): m.group(0) for m in re.finditer(r"^\.model (\S+) .*?(?=\n\n|\Z)", text,
                                                           flags=re.MULTILINE | re.DOTALL)}
    for name, ngt_name in ((models.nmos, models.nmos_no_tunnelling), (models.pmos, models.pmos_no_tunnelling)):
        pub = blocks[name].split()
        ngt = blocks[ngt_name].split()
        diff = {(a, b) for a, b in zip(pub, ngt, strict=True) if a != b}
        assert diff == {(name, ngt_name), ("igcmod=1", "igcmod=0"), ("igbmod=1", "igbmod=0")}
    a_vt_mv_um = models.a_vt_v_m * 1e9
    assert f"A_VT = {a_vt_mv_um:.1f} mV um" in text  # the Pelgrom coefficient the declaration uses
    assert "ptm.asu.edu" in text and "Zhao" in text  # source and citation in the header
    assert models.sigma_vt_v(1e-6, 1e-6) == pytest.approx(a_vt_mv_um * 1e-3)
    # the declared node, supply and minimum length are the header's
    assert f"nominal Vdd = {models.vdd_nominal_v:g}" in text.replace("1.0V", "1V")
    assert float(re.search(r"drawn L >= (\S+) m", text).group(1)) == pytest.approx(models.l_min_m)
    # values written in plain exponent form, no SI suffixes
    body = text[text.index(".model"):]
    assert not re.search(r"=\s*-?[0-9.]+[a-df-zA-DF-Z]", body)


def test_energy_conversions_cover_the_codes_whatever_the_monte_carlo_seed():
    """The conversions of the energy study are fixed by the spec: evenly spread cells including the
    lowest and the highest, the same for any Monte Carlo seed (a seeded draw moved the energy 2.7x)."""
    import numpy as np

    from memspice.characterize.adc import conversion_inputs
    from memspice.spec.adc import AdcSpec, uniform_boundaries

    spec = AdcSpec(bits=4)
    targets = uniform_boundaries(4, spec.input_lo_v, spec.input_hi_v)
    _, k1 = conversion_inputs(spec, targets)
    _, k2 = conversion_inputs(spec.with_overrides({"mc.seed": 99}), targets)
    np.testing.assert_array_equal(k1, k2)
    assert len(k1) == spec.timing.conversions and {0, spec.n_cells - 1} <= set(k1.tolist())
    assert len(set(k1.tolist())) == spec.timing.conversions
    _, k_all = conversion_inputs(spec.with_overrides({"timing.conversions": 32}), targets)
    assert sorted(k_all.tolist()) == sorted(list(range(16)) * 2)


# -- evaluation scheme and its timing (issue 12) ------------------------------------------------


@pytest.mark.parametrize("overrides, field", [
    ({"timing.scheme": "dynamic"}, "scheme"),
    ({"timing.scheme": "precharge", "timing.precharge_s": 0.7e-9}, "precharge_s"),
    ({"timing.scheme": "precharge", "timing.precharge_s": 0.2e-9, "timing.sense_s": 0.1e-9}, "sense_s"),
    ({"timing.scheme": "precharge", "timing.sense_s": 0.58e-9}, "read_s"),
    ({"layout.normalise_node_nm": 0.0}, "normalise_node_nm"),
    ({"layout.rules_node_nm": 1000.0}, "rules_node_nm"),
    ({"cell.input": {"w_m": 0.15e-6, "l_m": 0.03e-6}}, "input.l_m"),
    ({"encoder.rom_p": {"w_m": 0.2e-6, "l_m": 0.03e-6}}, "encoder.rom_p.l_m"),
    ({"encoder.logic_n": {"w_m": 0.1e-6, "l_m": 0.02e-6}}, "encoder.logic_n.l_m"),
])
def test_bad_scheme_timing_and_sizes_name_the_field(overrides, field):
    with pytest.raises(SpecError, match=field.replace(".", r"\.")):
        AdcSpec().with_overrides(overrides)


def test_precharge_timing_accepted():
    spec = AdcSpec().with_overrides({"timing.scheme": "precharge", "timing.precharge_s": 0.15e-9,
                                     "timing.sense_s": 0.3e-9})
    assert spec.timing.scheme == "precharge"
