"""Energy by cause on synthetic supply currents with known answers."""

import numpy as np
import pytest

from memspice.extract.energy import phase_charges_c, ramp_phases, split_energies

pytestmark = pytest.mark.unit


def _wave():
    """A 1 V supply: 2 uA DC for 1 ns, plus a 5 fC charge pulse (exponential, tau 10 ps) at its start,
    then idle (0 A) for 1 ns with 3 fC flowing back (not recovered)."""
    t = np.linspace(0, 2e-9, 200001)
    on = t < 1e-9
    tau = 10e-12
    i_deliver = np.where(on, 2e-6 + 5e-15 / tau * np.exp(-t / tau), 0.0)
    back = np.where(~on, 3e-15 / tau * np.exp(-(t - 1e-9) / tau), 0.0)
    return t, -i_deliver + back  # SPICE branch sign: delivering is negative


def test_static_and_switching_of_known_wave():
    t, i = _wave()
    delivered, static = phase_charges_c(t, i, [0.0, 1e-9, 2e-9])
    # static: 2 uA x 1 ns = 2 fC in the first phase, nothing in the second (back-flow is not delivery)
    assert static == pytest.approx([2e-15, 0.0], abs=1e-19)
    # switching: the 5 fC pulse (trapezoid on a 10 fs grid: 1e-4 relative)
    assert delivered - static == pytest.approx([5e-15, 0.0], rel=1e-3, abs=1e-19)
    split = split_energies(t, {"a": i}, {"a": 1.0}, [0.0, 1e-9, 2e-9], n_conversions=2)
    assert split.static_j["a"] == pytest.approx(1e-15, rel=1e-6)
    assert split.switching_j["a"] == pytest.approx(2.5e-15, rel=1e-3)
    assert split.energy_total_j == pytest.approx(3.5e-15, rel=1e-3)
    grouped = split.grouped({"a": "dividers"}, {"a": "input driver"})
    assert grouped["static_J"] == {"dividers": split.static_j["a"]}
    assert grouped["switching_J"] == {"input driver": split.switching_j["a"]}


def test_unsettled_phase_caps_static_at_delivered():
    t = np.linspace(0, 1e-9, 1001)
    i = -1e-6 * (t / 1e-9)  # a ramp that never settles: the settled estimate exceeds the delivered charge
    delivered, static = phase_charges_c(t, i, [0.0, 1e-9])
    assert static[0] == pytest.approx(delivered[0])


@pytest.mark.parametrize("edges", [[0.0], [0.0, 0.0], [1e-9, 0.0]])
def test_bad_edges(edges):
    with pytest.raises(ValueError, match="edges_s"):
        phase_charges_c(np.array([0.0, 1.0]), np.array([0.0, 0.0]), edges)


def test_constant_slope_ramp_is_switching():
    """A 1 fF gate driven by a 1 V/ns ramp draws 1 uA for 1 ns: charge onto a capacitance, not DC."""
    t = np.linspace(0, 2e-9, 2001)
    i = np.where(t < 1e-9, -1e-6, 0.0)
    edges = [0.0, 1e-9, 2e-9]
    ramp = ramp_phases(edges, [(0.0, 1e-9)])
    assert ramp.tolist() == [True, False]
    split = split_energies(t, {"in": i}, {"in": 1.0}, edges, ramp=ramp)
    assert split.static_j["in"] == 0.0
    assert split.switching_j["in"] == pytest.approx(1e-15, rel=2e-3)
    # without the ramp flag the same current would be read as DC
    assert split_energies(t, {"in": i}, {"in": 1.0}, edges).static_j["in"] == pytest.approx(1e-15, rel=2e-3)


def test_timed_crossing_outside_the_window_points_towards_the_bound():
    """The timed bound reader: interpolated crossing inside the window; one step past the window end on
    the side the output says the bound lies when it is outside (write-verify then moves towards it)."""
    from memspice.characterize.adc.timed import _crossing

    v = np.array([0.0, 0.1, 0.2, 0.3])
    # lower bound (output falls when the cell starts to match) at 0.15
    assert _crossing(v, np.array([1.0, 1.0, 0.0, 0.0]), 0.5, rising=False) == pytest.approx(0.15)
    assert _crossing(v, np.array([0.0, 0.0, 1.0, 1.0]), 0.5, rising=False) == pytest.approx(-0.1)  # matched: below
    assert _crossing(v, np.array([1.0, 1.0, 1.0, 1.0]), 0.5, rising=False) == pytest.approx(0.4)  # not yet: above
    # upper bound (output rises when the cell stops matching)
    assert _crossing(v, np.array([0.0, 0.0, 0.0, 0.0]), 0.5, rising=True) == pytest.approx(0.4)  # still matched
    assert _crossing(v, np.array([1.0, 1.0, 1.0, 1.0]), 0.5, rising=True) == pytest.approx(-0.1)
