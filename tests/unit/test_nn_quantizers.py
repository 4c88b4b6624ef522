"""ADC models against hand-computed cases (DOMAIN.md section 4)."""

from __future__ import annotations

import numpy as np
import pytest

from memspice.nn import quantizers as q

pytestmark = [pytest.mark.unit, pytest.mark.torch]


def test_uniform_minmax_is_readc_linear_quantization_with_cell_centres():
    import torch

    # ReADC linear_quantization_boundaries on min 0, max 9, 2 bits: np.linspace(0, 9, 4) = 0, 3, 6, 9;
    # boundaries [3, 6, 9]; outputs the centres 1.5, 4.5, 7.5 of the 3 cells and 9 at or above the max
    # (adaptive_quantize appends boundaries[-1] to the output levels)
    fit = q.fit_uniform_minmax(np.array([0.0, 3.0, 9.0]), 2)
    assert fit.boundaries.tolist() == [3.0, 6.0, 9.0]
    assert fit.levels.tolist() == [1.5, 4.5, 7.5, 9.0]
    assert (fit.lo, fit.hi) == (0.0, 9.0)
    x = torch.tensor([-1.0, 0.0, 2.999, 3.0, 5.9, 6.0, 8.99, 9.0, 12.0])
    expected = [1.5, 1.5, 1.5, 4.5, 4.5, 7.5, 7.5, 9.0, 9.0]
    b = torch.tensor(fit.boundaries, dtype=torch.float32)
    lv = torch.tensor(fit.levels, dtype=torch.float32)
    assert q.quantize(x, b, lv).tolist() == expected
    assert fit.quantize_np(x.numpy()).tolist() == expected
    # unbiased on a uniform input, unlike a lower-edge quantizer (mean error -step/2 = -1.5)
    u = np.linspace(0, 9, 90_001)[:-1]
    assert np.mean(fit.quantize_np(u) - u) == pytest.approx(0.0, abs=1e-3)


def test_lloyd_max_filter_preprocessing_is_the_authors_batch_code():
    # ReADC optimize_quantization_boundaries: drop samples outside the 0.5-99.5 percentiles, keep at
    # most max_samples, then append the raw min and max
    x = np.concatenate([np.arange(1000, dtype=float), [-500.0, 5000.0]])
    lo, hi = np.percentile(x, [0.5, 99.5])
    got = q.lloyd_max_prepare(x, np.random.default_rng(0), preprocess="filter")
    inside = x[(x >= lo) & (x <= hi)]
    assert got.size == inside.size + 2
    assert got[0] == -500.0 and got[-1] == 5000.0
    assert np.array_equal(got[1:-1], np.sort(inside))
    clipped = q.lloyd_max_prepare(x, np.random.default_rng(0), preprocess="clip")
    assert clipped.size == x.size and clipped.min() == lo and clipped.max() == hi
    fit = q.fit_lloyd_max(x, 2, preprocess="filter")
    assert (fit.lo, fit.hi) == (-500.0, 5000.0)  # the fit spans the raw range
    # a subsample of a larger data set appends that data's exact extremes (ReADC: min/max of the file)
    sub = q.lloyd_max_prepare(x, np.random.default_rng(0), preprocess="filter", extremes=(-900.0, 7000.0))
    assert (sub[0], sub[-1]) == (-900.0, 7000.0) and np.array_equal(sub[1:-1], np.sort(inside))


def test_lloyd_max_readc_iterates_as_the_authors_code():
    # ReADC lloyd_max_algorithm on [0, 1, 2, 3, 10], 1 bit, by hand: edges 0, 5, 10; cell 0 = [0, 5) holds
    # 0..3 (mean 1.5); cell 1 = [5, 10) is EMPTY (the sample 10 equals max and is in no cell), so it keeps
    # its start level 7.5; boundary (1.5 + 7.5) / 2 = 4.5; nothing moves again, but the loop runs its
    # minimum of 100 iterations. Iterating to convergence with the max inside the last cell gives
    # level 10 and boundary 5.75 instead.
    x = np.array([0.0, 1.0, 2.0, 3.0, 10.0])
    fit = q.lloyd_max_readc(x, 1)
    assert fit.boundaries.tolist() == [4.5] and fit.levels.tolist() == [1.5, 7.5]
    assert (fit.lo, fit.hi, fit.iterations) == (0.0, 10.0, 100)
    ours = q.lloyd_max_iterate(x, 1)
    assert ours.boundaries.tolist() == [5.75] and ours.levels.tolist() == [1.5, 10.0]
    # a fixed iteration cap (500 by default): a fit that needs more stops there
    lap = np.sort(np.random.default_rng(3).laplace(size=4000))
    free = q.lloyd_max_readc(lap, 5, min_iter=1).iterations  # without the minimum: converged after `free`
    assert 12 < free < 100 and q.lloyd_max_readc(lap, 5).iterations == 100
    capped = q.lloyd_max_readc(lap, 5, min_iter=1, max_iter=12)
    assert capped.iterations == 12 and not np.array_equal(capped.boundaries, q.lloyd_max_readc(lap, 5).boundaries)
    assert q.READC_MAX_ITER == 500 and q.READC_MIN_ITER == 100
    # the authors' batch code (preprocess 'filter') iterates their way
    y = np.concatenate([np.arange(1000, dtype=float), [-500.0, 5000.0]])
    via = q.fit_lloyd_max(y, 2, preprocess="filter")
    direct = q.lloyd_max_readc(q.lloyd_max_prepare(y, np.random.default_rng(0), preprocess="filter"), 2)
    assert np.array_equal(via.boundaries, direct.boundaries) and via.iterations == direct.iterations


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
    # min-max cells are 80/15 wide: the centre cell [-8/3, 8/3) maps nearly all of N(0, 1) to 0, so its
    # MSE is about the variance (~0.97 here without the two outliers' share); the clipped grid's ~0.15
    assert mse(minmax) == pytest.approx(1.0, abs=0.1)
    assert mse(clipped) < 0.2 * mse(minmax)
    # outputs at bin centres
    step = (clipped.hi - clipped.lo) / 16
    assert clipped.levels[0] == pytest.approx(clipped.lo + step / 2)


def test_perturb_moves_internal_boundaries_by_sigma_times_range():
    fit = q.uniform_centered(0.0, 8.0, 2)  # boundaries 2, 4, 6; range 8
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


def test_bin_occupancy_of_a_peaked_distribution():
    # the paper's Fig. 1 data: 50 % of layer 2's samples in one bin of a 4-bit min-max grid
    x = np.concatenate([np.zeros(50), np.linspace(-1, 1, 50)])
    occ = q.bin_occupancy(x, q.fit_uniform_minmax(x, 4))
    assert occ.sum() == pytest.approx(1.0)
    # 15 cells of 2/15 on [-1, 1]: the cell [-1/15, 1/15) holds the 50 zeros and the 4 ramp points
    # +-1/49, +-3/49 (ramp step 2/49)
    assert occ.max() == pytest.approx(0.54)


def test_variation_aware_fit_with_no_sample_near_any_boundary_keeps_the_start():
    """When no sample lies within the variation window of any boundary the expected error does not
    depend on the boundaries (no gradient): the fit keeps its start instead of failing."""
    import numpy as np

    from memspice.nn import quantizers as q

    x = np.random.default_rng(0).uniform(0.0, 0.1, 4000)
    start = q.AdcFit("lloyd_max", 2, np.array([0.8, 0.85, 0.9]), np.array([0.05, 0.82, 0.87, 0.95]), 0.0, 1.0)
    fit = q.fit_variation_aware(x, 2, 0.01, start=start)
    np.testing.assert_allclose(fit.boundaries, start.boundaries, atol=1e-6)


def test_variation_aware_fit_is_the_same_whatever_torch_s_thread_count():
    """The fit runs on one torch thread (with two its float32 reductions differed from process to process on
    a loaded machine: the default study's variation-aware column moved between two runs of one stage key),
    so its result does not depend on the caller's thread count, bit for bit, and the count is restored."""
    import torch

    from memspice.nn.quantizers import fit_variation_aware

    x = np.random.default_rng(3).standard_normal(20000) ** 3
    before = torch.get_num_threads()
    fits = {}
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            fits[threads] = fit_variation_aware(x, 5, 0.02, rng=np.random.default_rng(0))
            assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)
    assert fits[1].boundaries.tobytes() == fits[2].boundaries.tobytes()
    assert fits[1].levels.tobytes() == fits[2].levels.tobytes()
