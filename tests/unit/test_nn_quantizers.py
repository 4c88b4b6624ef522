"""ADC models against hand-computed cases (DOMAIN.md section 4)."""

from __future__ import annotations

import numpy as np
import pytest

from memspice.nn import quantizers as q

pytestmark = [pytest.mark.unit, pytest.mark.torch]


def test_uniform_minmax_formula_outputs_lower_bin_edge():
    import torch

    # min 0, max 8, 2 bits: step 2; q = 0 + 2 * clamp(floor(x / 2), 0, 3)
    x = torch.tensor([0.0, 0.9, 1.999, 2.0, 2.5, 3.99, 4.0, 7.9, 8.0, -1.0, 9.0])
    expected = [0, 0, 0, 2, 2, 2, 4, 6, 6, 0, 6]
    assert q.quantize_minmax(x, 0.0, 8.0, 2).tolist() == expected
    fit = q.fit_uniform_minmax(np.array([0.0, 3.0, 8.0]), 2)
    assert fit.boundaries.tolist() == [2.0, 4.0, 6.0]
    assert fit.levels.tolist() == [0.0, 2.0, 4.0, 6.0]
    assert fit.quantize_np(x.numpy()).tolist() == expected


def test_quantize_sorted_search_puts_boundary_values_in_the_upper_cell():
    import torch

    b = torch.tensor([1.0, 2.0, 3.0])
    levels = torch.tensor([10.0, 20.0, 30.0, 40.0])
    x = torch.tensor([-5.0, 0.99, 1.0, 1.5, 2.0, 3.0, 99.0])
    assert q.quantize(x, b, levels).tolist() == [10, 10, 20, 20, 30, 40, 40]


def test_lloyd_max_two_clusters_one_bit():
    x = np.array([0, 0, 0, 1, 1, 1, 10, 10, 10, 11, 11, 11], dtype=float)
    fit = q.fit_lloyd_max(x, 1)
    # percentiles 0.5/99.5 of this set are 0 and 11 (no clipping); start boundary 5.5 is already optimal
    assert fit.boundaries.tolist() == pytest.approx([5.5])
    assert fit.levels.tolist() == pytest.approx([0.5, 10.5])


def test_lloyd_max_uniform_integers_two_bits():
    # 0..99: start boundaries 24.75, 49.5, 74.25 -> cell means 12, 37, 62, 87 -> midpoints 24.5, 49.5, 74.5,
    # which keep every sample in its cell: converged.
    x = np.arange(100, dtype=float)
    fit = q.lloyd_max_iterate(x, 2)
    assert fit.levels.tolist() == pytest.approx([12, 37, 62, 87])
    assert fit.boundaries.tolist() == pytest.approx([24.5, 49.5, 74.5])
    assert (fit.lo, fit.hi) == (0.0, 99.0)


def test_lloyd_max_clips_to_percentiles_and_subsamples():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1, 50_000), [1e6, -1e6]])
    lo, hi = np.percentile(x, [0.5, 99.5])
    prepared = q.lloyd_max_prepare(x, np.random.default_rng(0))
    assert prepared.size == 8000
    assert prepared.min() >= lo and prepared.max() <= hi
    fit = q.fit_lloyd_max(x, 3)
    assert lo <= fit.lo and fit.hi <= hi  # the outliers did not stretch the range
    assert np.all(np.diff(fit.boundaries) > 0)
    # Lloyd-Max levels are the centroids of their cells (the stationarity condition)
    cells = np.searchsorted(fit.boundaries, prepared, side="right")
    for k in range(8):
        assert fit.levels[k] == pytest.approx(prepared[cells == k].mean(), rel=1e-6, abs=1e-9)


def test_uniform_clipped_ignores_outliers_and_beats_minmax():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 20_000), [40.0, -40.0]])
    clipped = q.fit_uniform_clipped(x, 4)
    minmax = q.fit_uniform_minmax(x, 4)
    assert clipped.hi - clipped.lo < 0.3 * (minmax.hi - minmax.lo)
    mse = lambda f: np.mean((f.quantize_np(x) - x) ** 2)  # noqa: E731
    assert mse(clipped) < 0.1 * mse(minmax)
    # outputs at bin centres
    step = (clipped.hi - clipped.lo) / 16
    assert clipped.levels[0] == pytest.approx(clipped.lo + step / 2)


def test_perturb_moves_internal_boundaries_by_sigma_times_range():
    fit = q.uniform_minmax(0.0, 8.0, 2)  # boundaries 2, 4, 6; range 8
    moved = q.perturb(fit, 0.1, np.array([1.0, -1.0, 0.5]))
    assert moved.boundaries.tolist() == pytest.approx([2.8, 3.2, 6.4])
    assert (moved.lo, moved.hi) == (0.0, 8.0)
    assert moved.levels.tolist() == fit.levels.tolist()


def test_truncated_normal_is_truncated_at_two_sigma():
    z = q.truncated_normal(np.random.default_rng(0), 100_000)
    assert np.abs(z).max() <= 2.0
    # std of a standard normal truncated at +/-2 is 0.8796
    assert z.std() == pytest.approx(0.8796, abs=0.01)


def test_super_resolution_outputs_nominal_boundary_where_codes_disagree():
    import torch

    levels = torch.tensor([0.0, 1.0, 2.0, 3.0])
    nominal = torch.tensor([0.5, 1.5, 2.5])
    a = torch.tensor([0.4, 1.5, 2.5])
    b = torch.tensor([0.6, 1.5, 2.5])
    x = torch.tensor([0.3, 0.5, 0.7, 2.0])
    # 0.5: a says cell 1, b says cell 0 -> the boundary between them, 0.5
    assert q.super_resolution(x, a, b, nominal, levels).tolist() == [0.0, 0.5, 1.0, 2.0]


def test_variation_aware_reduces_expected_error_and_equals_lloyd_at_zero_sigma():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.laplace(0, 1, 6000), rng.normal(4, 0.3, 2000)])
    lloyd = q.fit_lloyd_max(x, 3)
    same = q.fit_variation_aware(x, 3, 0.0)
    assert same.boundaries.tolist() == pytest.approx(lloyd.boundaries.tolist())
    aware = q.fit_variation_aware(x, 3, 0.05, iterations=60)
    prepared = q.lloyd_max_prepare(x, np.random.default_rng(0))
    assert q.expected_mse(prepared, aware, 0.05) <= q.expected_mse(prepared, lloyd, 0.05)
    assert (aware.lo, aware.hi) == (lloyd.lo, lloyd.hi)
    # the expected error at sigma = 0 is the plain MSE
    assert q.expected_mse(prepared, lloyd, 0.0) == pytest.approx(np.mean((lloyd.quantize_np(prepared) - prepared) ** 2))


def test_expected_mse_matches_monte_carlo_of_the_variation_model():
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, 4000)
    fit = q.fit_lloyd_max(x, 2)
    sigma = 0.03
    draws = []
    for _ in range(400):
        moved = q.perturb(fit, sigma, q.truncated_normal(rng, 3))
        draws.append(np.mean((moved.quantize_np(x) - x) ** 2))
    # independent boundaries far apart (cells >> 2 sigma): the closed form is exact up to MC noise
    assert q.expected_mse(x, fit, sigma) == pytest.approx(np.mean(draws), rel=0.02)


def test_lookup_converter_equals_direct_conversion_on_integers():
    import torch

    fit = q.fit_lloyd_max(np.random.default_rng(0).normal(0, 50, 5000), 4)
    b = torch.tensor(fit.boundaries, dtype=torch.float32)
    lv = torch.tensor(fit.levels, dtype=torch.float32)
    direct = lambda p: q.quantize(p, b, lv)  # noqa: E731
    # the table must span every boundary; inputs beyond it fall into the end cells either way
    lo, hi = int(np.floor(fit.boundaries.min())) - 1, int(np.ceil(fit.boundaries.max())) + 1
    lut = q.LookupConverter(direct, lo, hi, "cpu")
    x = torch.arange(-300, 301, dtype=torch.float32)
    assert torch.equal(lut(x.clone()), direct(x))
    minmax = lambda p: q.quantize_minmax(p, -120.0, 90.0, 3)  # noqa: E731
    lut = q.LookupConverter(minmax, -130, 100, "cpu")
    assert torch.equal(lut(x.clone()), minmax(x))


def test_bin_occupancy_of_a_peaked_distribution():
    # the paper's Fig. 1 data: 50 % of layer 2's samples in one bin of a 4-bit min-max grid
    x = np.concatenate([np.zeros(50), np.linspace(-1, 1, 50)])
    occ = q.bin_occupancy(x, q.fit_uniform_minmax(x, 4))
    assert occ.sum() == pytest.approx(1.0)
    assert occ.max() == pytest.approx(0.53)  # the 50 zeros plus the 3 ramp points in [0, 0.125)


def test_variation_aware_fit_with_no_sample_near_any_boundary_keeps_the_start():
    """When no sample lies within the variation window of any boundary the expected error does not
    depend on the boundaries (no gradient): the fit keeps its start instead of failing."""
    import numpy as np

    from memspice.nn import quantizers as q

    x = np.random.default_rng(0).uniform(0.0, 0.1, 4000)
    start = q.AdcFit("lloyd_max", 2, np.array([0.8, 0.85, 0.9]), np.array([0.05, 0.82, 0.87, 0.95]), 0.0, 1.0)
    fit = q.fit_variation_aware(x, 2, 0.01, start=start)
    np.testing.assert_allclose(fit.boundaries, start.boundaries, atol=1e-6)
