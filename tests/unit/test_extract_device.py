import numpy as np
import pytest

from memspice.extract.device import energy_J, lobe_areas, mean_over, pinched, switching_onsets

pytestmark = pytest.mark.unit


def test_energy_of_a_resistor_matches_hand_calculation():
    t = np.linspace(0, 1e-3, 1001)
    v = np.full_like(t, 0.5)
    i = v / 1e3
    assert energy_J(t, v, i) == pytest.approx(0.25e-3 * 1e-3, rel=1e-12)  # V^2/R * T


def test_mean_over_a_ramp():
    t = np.linspace(0, 1, 11)
    assert mean_over(t, 2 * t, 0.5, 1.0) == pytest.approx(1.5)


def test_switching_onsets_on_a_synthetic_ramp():
    v = np.concatenate([np.linspace(0, 1, 101), np.linspace(1, 0, 101)[1:], np.linspace(0, -1, 101)[1:]])
    x = np.full_like(v, 0.5)
    moving_up = (v > 0.6)
    x[moving_up] += (v[moving_up] - 0.6) * 0.1
    x[101:] = x[100]
    moving_down = v < -0.3
    x[moving_down] -= (-v[moving_down] - 0.3) * 0.1
    on = switching_onsets(v, x, dx_tol=1e-4)
    assert on.positive_v == pytest.approx(0.61, abs=0.011)
    assert on.negative_v == pytest.approx(-0.31, abs=0.011)


def test_pinched_and_lobes():
    t = np.linspace(0, 1, 2001)
    v = np.sin(2 * np.pi * t)
    i_resistor = v / 100.0
    assert pinched(v, i_resistor)
    assert lobe_areas(v, i_resistor) == pytest.approx((0.0, 0.0), abs=1e-12)
    g = 1.0 + 0.5 * (1 - np.cos(2 * np.pi * t))  # conductance that grows while v > 0
    i = g * v
    pos, neg = lobe_areas(v, i)
    assert pos > 0 and neg > 0
    assert not pinched(v, i + 0.01)
