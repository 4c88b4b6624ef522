"""The nominal programming's windowed verify (each cell read around its own targets, issue 17) reads
what the whole-array sweep of the whole input range reads, and programs the same converter."""

import numpy as np
import pytest

from memspice.characterize import adc as flow
from memspice.characterize.adc.programming import WriteVerify
from memspice.characterize.adc.verify import measure_cells_windowed
from memspice.spec.adc import AdcSpec
from memspice.spec.device import load_card

pytestmark = pytest.mark.ngspice

OPTS = flow.RunOptions(backend="shared", show_progress=False)


@pytest.fixture(scope="module")
def prog3():
    spec = AdcSpec(bits=3)
    card = load_card(spec.card)
    pmap = flow.programming_map(spec, card, OPTS)
    return spec, card, pmap


def test_windowed_bounds_equal_the_whole_array_sweep(prog3):
    spec, card, pmap = prog3
    wv = WriteVerify(spec, card, pmap, spec.targets_v())
    # the first guess (bounds up to an LSB off target) and one moved by half an LSB of conductance
    for x in (wv.x, np.clip(wv.x * 1.01, *card.window_s())):
        counts: dict = {}
        lower, upper = measure_cells_windowed(spec, card, x[:, 0], x[:, 1], wv, OPTS, counts)
        _, _, ref_lower, ref_upper = flow.measure_cells(spec, card, x[:, 0], x[:, 1], OPTS)
        # the controlled bounds: the same grid, cells independent in DC (independent reference: the
        # whole-array deck of flow.measure_cells)
        has = wv.has
        assert np.all(np.isfinite(lower[has[:, 0]])) and np.all(np.isfinite(upper[has[:, 1]]))
        np.testing.assert_allclose(lower[has[:, 0]], ref_lower[has[:, 0]], atol=1e-5)
        np.testing.assert_allclose(upper[has[:, 1]], ref_upper[has[:, 1]], atol=1e-5)
        assert counts["decks"] >= 1


def test_windowed_programming_matches_the_whole_range_one(prog3):
    spec, card, pmap = prog3
    _, pw, tw = flow.program_converter(spec, card, OPTS)
    _, pf, tf = flow.program_converter(spec, card, OPTS, windowed=False)
    step_lsb = spec.sweep_step_lsb
    # the transfer's boundaries agree within the read resolution of each (+-step/2 each: one step)
    assert np.max(np.abs(tw.measured_v - tf.measured_v)) <= step_lsb * spec.lsb_v + 1e-9
    # the programmed conductances agree: their difference moves each bound (through the map's slope)
    # by less than one sweep step
    for side, gw, gf in (("lower", pw.g_lower_s, pf.g_lower_s), ("upper", pw.g_upper_s, pf.g_upper_s)):
        moved = np.abs((gw - gf) * pmap.slope_v_per_s(side, gf))
        assert np.max(moved) <= step_lsb * spec.lsb_v
    # and both are on target as the nominal programming requires
    assert np.max(np.abs(tw.measured_v - tw.targets_v)) <= spec.program_tol_lsb * spec.lsb_v + 1e-9
