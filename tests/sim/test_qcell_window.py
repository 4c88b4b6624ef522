"""One Q-cell in ngspice against the independent stage-by-stage reference, and its programming map."""


import numpy as np
import pytest

from memspice.characterize import adc as flow
from memspice.papers.hong2025 import paper_data_dir
from memspice.spec.adc import AdcSpec
from memspice.spec.device import load_card

pytestmark = pytest.mark.ngspice

OPTS = flow.RunOptions(backend="shared", show_progress=False)
FIG2B = paper_data_dir("hong2025") / "fig2b.csv"


@pytest.fixture(scope="module")
def spec():
    return AdcSpec()


@pytest.fixture(scope="module")
def card(spec):
    return load_card(spec.card)


@pytest.fixture(scope="module")
def pmap(spec, card):
    return flow.programming_map(spec, card, OPTS)


@pytest.fixture(scope="module")
def tables(spec):
    return flow.reference_tables(spec, OPTS)


def test_single_cell_window_matches_independent_reference(spec, card, tables):
    """The SPICE window against a numpy/scipy KCL solve built from single-device I-V tables.

    Tolerance 0.5 mV: the SPICE bound is read on a 0.25 mV grid (linear interpolation of an output
    that switches within about a grid step: error below 0.13 mV); the reference interpolates its
    tables cubically on a 10 mV grid (about 0.1 mV on the bound where the input device is in strong
    inversion) and neglects the PTM gate tunnelling currents (nA against the tens of uA in a divider).
    """
    lo_g, hi_g = card.window_s()
    pairs = [(60e-6, 200e-6), (150e-6, 300e-6), (300e-6, min(400e-6, hi_g)), (lo_g * 1.1, 60e-6)]
    gl, gu = zip(*pairs, strict=True)
    lower, upper = flow.sweep_cells(spec, card, gl, gu, 0.55, 1.55, 2.5e-4, OPTS)
    for k, (a, b) in enumerate(pairs):
        ref = flow.reference_window(spec, card, tables, a, b)
        assert lower[k] == pytest.approx(ref.lower_v, abs=5e-4), (k, lower[k], ref)
        assert upper[k] == pytest.approx(ref.upper_v, abs=5e-4), (k, upper[k], ref)
        assert lower[k] < upper[k]
    # the reference's intermediate switching voltages are physical: mid-rail-ish trip points
    assert 0.35 < ref.ml_trip_v < 0.65 and 0.35 < ref.a_switch_v < 0.65 and 0.35 < ref.b_switch_v < 0.65


def test_programming_map_monotonic_and_covers_the_input_range(spec, card, pmap):
    for side in ("lower", "upper"):
        g, b = pmap.branch(side)
        assert len(g) >= 0.8 * len(pmap.g_s)  # nearly every grid conductance gives a bound in the sweep
        assert pmap.is_monotonic(side), (side, b)
        lo, hi = pmap.reachable_v(side)
        assert lo < spec.input_lo_v and hi > spec.input_hi_v
        slope_mv_per_us = np.diff(b) / np.diff(g) * 1e-3
        # the slope is of the order of QIM's 2.2 mV/uS (read on the map's 2 mV grid, hence the wide band)
        assert np.all((slope_mv_per_us > 0.3) & (slope_mv_per_us < 5.0))


def test_map_agrees_with_reference_at_its_ends(spec, card, pmap, tables):
    """Map bounds (isolated branches) equal the reference bounds of a cell whose other branch is far away.

    Tolerance 2 mV: the map is read on a 2 mV grid (its role is a first guess for write-verify).
    """
    g = pmap.g_s[[3, len(pmap.g_s) // 2]]
    lo_g, hi_g = card.window_s()
    for gg in g:
        ref_l = flow.reference_window(spec, card, tables, gg, hi_g).lower_v
        ref_u = flow.reference_window(spec, card, tables, lo_g, gg).upper_v
        assert pmap.boundary_v("lower", gg) == pytest.approx(ref_l, abs=2e-3)
        assert pmap.boundary_v("upper", gg) == pytest.approx(ref_u, abs=2e-3)


def test_cell_programs_to_the_paper_fig2b_window(spec, card, pmap):
    """Write-verify one cell to the window of the paper's Fig. 2b, [0.920, 1.132) V.

    The paper's cell is another technology; what carries over is the window a designer programs.
    The data file's output is low exactly on that window; write-verify stops within 0.2 mV.
    """
    data = np.loadtxt(FIG2B, delimiter=",", skiprows=1)
    v, out = data[:, 0], data[:, 3]
    inside = v[out < 0.5]
    assert inside.min() == pytest.approx(0.920, abs=1e-3) and inside.max() == pytest.approx(1.131, abs=1e-3)
    gl, gu, lo, hi = flow.program_cell(spec, card, pmap, 0.920, 1.132, OPTS)
    assert lo == pytest.approx(0.920, abs=2e-4) and hi == pytest.approx(1.132, abs=2e-4)
    assert gl < gu  # the upper bound's memristor conducts more, as both dividers share one read supply
