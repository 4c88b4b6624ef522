"""The timed read's chunked scan (timed._scan) against the read of the whole grid in one transient.

A synthetic cell stands in for the transient (this checks the search, not a circuit; the circuit comparison
on real ngspice is tests/sim/test_qcell_precharge.py): each slot's output at the end of a read is 1 below
its lower bound, 0 inside its window and 1 above its upper bound, smooth over a fraction of a grid step, so
a search window wider than the cell's window sees the output fall and rise again (the first crossing in the
bound's direction is the bound). The chunked scan must give the whole-grid scan's bounds exactly, for
bounds inside and outside the window, narrow and closed windows and uncontrolled bounds, with fewer
slot-conversions when the bounds lie inside the window."""

import numpy as np
import pytest

from memspice.characterize.adc.timed import _crossing, _scan

LEVEL = 0.5


def synthetic_cells(bounds: np.ndarray, width_v: float):
    """convert(inputs, live) for slots matching for bounds[0, k] <= v < bounds[1, k]; records the cost
    (conversions x live slots) of every call."""
    cost = []

    def convert(inputs: np.ndarray, live: np.ndarray) -> np.ndarray:
        cost.append(inputs.shape[0] * len(live))
        lo, up = bounds[0][live][None, :], bounds[1][live][None, :]
        fall = 0.5 * (1 - np.tanh((inputs - lo) / (2 * width_v)))  # 1 below the lower bound
        rise = 0.5 * (1 + np.tanh((inputs - up) / (2 * width_v)))  # 1 above the upper bound
        return np.clip(fall + rise, 0, 1)

    return convert, cost


def grid_around(guess: np.ndarray, points: int, step: float) -> np.ndarray:
    offs = (np.arange(points) - (points - 1) / 2) * step
    return guess[:, None, :] + offs[None, :, None]


@pytest.mark.parametrize(("points", "chunk", "seed"), [(25, 5, 0), (41, 5, 1), (25, 4, 2), (25, 1, 3), (7, 5, 4)])
def test_chunked_scan_gives_the_whole_grid_s_bounds(points, chunk, seed):
    rng = np.random.default_rng(seed)
    slots, step = 16, 1e-3
    half = (points - 1) / 2 * step
    width = rng.uniform(0.3, 2.0, slots) * 10 * step  # cell windows 3-20 steps wide (some inside one search window)
    lower = 0.8 + rng.uniform(-1.4 * half, 1.4 * half, slots)  # some beyond the window on either side
    bounds = np.stack([lower, lower + width])
    bounds[:, 5] = [0.8, 0.8 - 2 * step]  # a closed window: never matches
    bounds[:, 6] = [0.8, 0.8 + 0.5 * step]  # narrower than a grid step
    guess = bounds + rng.normal(0, 0.3 * half, bounds.shape)
    guess[0, 3] = guess[1, 7] = np.nan  # an uncontrolled bound: NaN
    has = np.isfinite(guess)
    grid = grid_around(np.where(has, guess, 0.8), points, step)
    convert, cost = synthetic_cells(bounds, 0.2 * step)
    lo, up = _scan(grid, has, LEVEL, convert, chunk)
    whole, whole_cost = synthetic_cells(bounds, 0.2 * step)
    lo_w, up_w = _scan(grid, has, LEVEL, whole, points)
    assert len(whole_cost) == 1 and whole_cost[0] == 2 * points * slots  # one transient of the whole grid
    np.testing.assert_array_equal(np.isnan(lo), ~has[0])
    np.testing.assert_array_equal(np.isnan(up), ~has[1])
    np.testing.assert_allclose(lo, lo_w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(up, up_w, rtol=0, atol=1e-12)
    # and the whole-grid read is _crossing over every grid input of each slot
    y = {s: whole(grid[s], np.arange(slots)) for s in (0, 1)}
    for s, got in ((0, lo_w), (1, up_w)):
        for k in np.nonzero(has[s])[0]:
            assert got[k] == pytest.approx(_crossing(grid[s, :, k], y[s][:, k], LEVEL, rising=bool(s)), abs=1e-12)
    if chunk < points:
        assert sum(cost) < whole_cost[0]


def test_chunked_scan_saves_about_half_when_bounds_sit_mid_window():
    """Verify reads centre their window on the expected bounds: the crossings are found half-way up."""
    slots, points, step = 32, 25, 1e-3
    bounds = np.stack([np.full(slots, 0.8), np.full(slots, 0.8 + 20 * step)])
    grid = grid_around(bounds, points, step)
    convert, cost = synthetic_cells(bounds, 0.2 * step)
    _scan(grid, np.ones((2, slots), bool), LEVEL, convert, 5)
    assert sum(cost) == 3 * 10 * slots  # 3 transients of 2 x 5 inputs: the crossing at point 13 of 25
