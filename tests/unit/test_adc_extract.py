"""ADC extraction on synthetic inputs with known answers (pure numpy)."""

import itertools

import numpy as np
import pytest

from memspice.extract import adc as ex

pytestmark = pytest.mark.unit


def test_crossings_interpolate_linearly():
    x = np.linspace(0, 1, 11)
    y = 2 * x - 0.5  # crosses 0 at 0.25, rising
    pos, sign = ex.crossings(x, y, 0.0)
    np.testing.assert_allclose(pos, [0.25])
    assert sign.tolist() == [1]
    pos, sign = ex.crossings(x, -y, 0.0)
    assert sign.tolist() == [-1]


def _square_outputs(v, windows, vdd=1.0):
    """Ideal cell outputs: low (0) inside [lo, hi), high elsewhere."""
    return np.stack([np.where((v >= lo) & (v < hi), 0.0, vdd) for lo, hi in windows], axis=1)


def test_cell_bounds_from_square_windows():
    v = np.arange(0.0, 1.0, 0.01)
    out = _square_outputs(v, [(0.2, 0.5), (0.5, 0.8), (-1, 0.3), (0.9, 2.0)])
    lower, upper = ex.cell_bounds(v, out, 1.0)
    # a step between grid points crosses at their midpoint: half a step below the true edge
    np.testing.assert_allclose(lower[:2], [0.195, 0.495], atol=1e-12)
    np.testing.assert_allclose(upper[:3], [0.495, 0.795, 0.295], atol=1e-12)
    assert np.isnan(lower[2]) and np.isnan(upper[3])


def test_gray_codes_roundtrip_and_neighbour_overlaps_never_sparkle():
    n = 64
    k = np.arange(n)
    g = ex.gray(k)
    assert sorted(g.tolist()) == k.tolist()
    np.testing.assert_array_equal(ex.gray_to_binary(g), k)
    for i in range(1, n):
        assert bin(int(g[i] ^ g[i - 1])).count("1") == 1
        # two neighbours matching at once (an overlap) read as one of the two codes
        both = np.zeros((1, n), bool)
        both[0, [i - 1, i]] = True
        assert ex.codes_from_match(both)[0] in (i - 1, i)


def test_dominant_side_is_the_code_an_overlap_reads():
    for bits in (2, 3, 4, 5, 6):
        dom = ex.dominant_sides(bits)
        for i in range(1, 2**bits):
            both = np.zeros((1, 2**bits), bool)
            both[0, [i - 1, i]] = True
            code = ex.codes_from_match(both)[0]
            # overlap reads i: the transition happens where cell i starts (its lower bound) and vice versa
            assert (code == i) == (dom[i - 1] == "lower")
            assert ex.switching_gray_bit(i) == int(np.log2(int(ex.gray(i) ^ ex.gray(i - 1))))


def test_codes_one_hot_and_no_match():
    match = np.eye(8, dtype=bool)
    np.testing.assert_array_equal(ex.codes_from_match(match), np.arange(8))
    assert ex.codes_from_match(np.zeros((1, 8), bool))[0] == 0


def test_codes_from_bits():
    bits_v = np.array([[0.9, 0.1, 0.95], [0.1, 0.1, 0.1]])
    np.testing.assert_array_equal(ex.codes_from_bits(bits_v, 1.0), [5, 0])


def test_code_density_transitions_within_half_a_step():
    t_true = np.array([0.1234, 0.3456, 0.5678])
    step = 0.01
    v = np.arange(0.0, 1.0, step)
    codes = ex.ideal_codes(v, t_true)
    est = ex.transitions_from_codes(v, codes, 4)
    assert np.all(np.abs(est - t_true) <= step / 2 + 1e-12)


def test_inl_dnl_known_answer_and_paper_convention():
    lo, hi, lsb = 0.0, 1.0, 0.25
    targets = np.array([0.25, 0.5, 0.75])
    measured = np.array([0.25 + 0.025, 0.5, 0.75 - 0.05])
    inl, dnl = ex.inl_dnl(measured, targets, lo, hi, lsb)
    np.testing.assert_allclose(inl, [0.0, 0.1, 0.0, -0.2])
    np.testing.assert_allclose(dnl, [0.1, -0.1, -0.2, 0.2])
    assert dnl[0] == inl[1]  # as in the paper's Fig. 4 source data
    np.testing.assert_allclose(np.cumsum(dnl)[:-1], inl[1:])  # INL is the running sum of DNL


def test_inl_dnl_refer_to_non_uniform_targets():
    targets = np.array([0.1, 0.15, 0.7])
    inl, dnl = ex.inl_dnl(targets, targets, 0.0, 1.0, 0.25)
    assert np.all(inl == 0) and np.all(dnl == 0)


def test_enob_ideal_and_degraded():
    edges = np.linspace(0.0, 1.0, 17)
    v = np.linspace(0.0, 1.0, 20001)
    ideal = np.clip(ex.ideal_codes(v, edges[1:-1]), 0, 15)
    assert ex.enob(v, ideal, edges) == pytest.approx(4.0, abs=1e-9)
    shifted = edges[1:-1].copy()
    shifted[7] += 0.5 / 16  # half an LSB error on the middle boundary
    worse = ex.enob(v, ex.ideal_codes(v, shifted), edges)
    assert 3.8 < worse < 4.0


def test_supply_energy_counts_delivered_charge_only():
    t = np.linspace(0, 1e-9, 1001)
    i = np.full_like(t, -1e-3)  # SPICE branch current: negative = the source delivers
    i[t > 0.5e-9] = 2e-3  # then it absorbs: not recovered
    e = ex.supply_energies_j(t, {"a": i}, {"a": 1.0})
    assert e["a"] == pytest.approx(1.0 * 1e-3 * 0.5e-9, rel=2e-3)
    assert ex.absorbed_charge_c(t, i) == pytest.approx(2e-3 * 0.5e-9, rel=2e-3)


def test_last_crossing_delay():
    t = np.linspace(0, 1e-9, 1001)
    b0 = np.where(t > 0.3e-9, 1.0, 0.0)
    b1 = np.where((t > 0.2e-9) & (t < 0.25e-9), 1.0, 0.0)  # a glitch that settles earlier
    bits = np.stack([b0, b1], axis=1)
    d = ex.last_crossing_delay_s(t, bits, 1.0, 0.1e-9, 0.9e-9)
    assert d == pytest.approx(0.2e-9, abs=1e-12)
    assert np.isnan(ex.last_crossing_delay_s(t, np.zeros((1001, 2)), 1.0, 0.1e-9, 0.9e-9))


def test_lloyd_max_uniform_and_gaussian():
    rng = np.random.default_rng(1)
    u = rng.uniform(0, 1, 8000)
    b = ex.lloyd_max_boundaries(u, 4)
    np.testing.assert_allclose(b, [0.25, 0.5, 0.75], atol=0.02)  # sampling noise of 8000 draws
    g = rng.normal(0, 1, 200000)
    b = ex.lloyd_max_boundaries(g, 4, clip_percentiles=(0, 100), max_samples=200000)
    # Max (1960), 4 levels of a unit Gaussian: boundaries 0, +-0.9816
    np.testing.assert_allclose(b, [-0.9816, 0.0, 0.9816], atol=0.02)


def test_programming_map_inverse_and_slope():
    g = np.linspace(40e-6, 480e-6, 12)
    lower = 0.65 + 1.2e3 * g - 4e5 * g**2  # monotonic, sublinear like the real map
    upper = lower + 0.01
    pm = ex.ProgrammingMap(g_s=g, lower_v=lower, upper_v=upper)
    assert pm.is_monotonic("lower") and pm.is_monotonic("upper")
    for gg in (50e-6, 200e-6, 470e-6):
        b = pm.boundary_v("lower", gg)
        assert pm.conductance_s("lower", b) == pytest.approx(gg, rel=1e-6)
        assert pm.slope_v_per_s("lower", gg) == pytest.approx(1.2e3 - 8e5 * gg, rel=0.02)
    assert pm.reachable_v("upper") == (pytest.approx(upper[0]), pytest.approx(upper[-1]))


def test_walden_fom_of_the_paper():
    assert ex.walden_fom_J(12.58e-15, 5) == pytest.approx(0.393e-15, rel=1e-3)


@pytest.mark.parametrize(("bits", "k"), list(itertools.product([2, 3], range(4))))
def test_ideal_codes_half_open_cells(bits, k):
    edges = np.linspace(0, 1, 2**bits + 1)
    v = edges[min(k, 2**bits - 1)]
    assert ex.ideal_codes([v], edges[1:-1])[0] == min(k, 2**bits - 1)
