"""Energy by cause through real ngspice against hand calculations: C V^2 of a known capacitor and
DC power times the window."""

import numpy as np
import pytest

from memspice.extract.energy import ramp_phases, split_energies
from memspice.netlist.cards import Capacitor, Pulse, Resistor, VSource
from memspice.netlist.deck import Analyze, Deck, Tran
from memspice.ngspice import simulate

pytestmark = pytest.mark.ngspice

V, R_LOAD, R_SERIES, C = 0.8, 20e3, 1e3, 20e-15  # 32 uW of DC; tau = 20 ps
EDGE, WIDTH, PERIOD, N = 1e-12, 1e-9, 2e-9, 3


def test_static_is_dc_power_times_window_and_switching_is_cv2():
    """A pulsed supply (0 -> 0.8 V for 1 ns, three periods) feeds a 20 kOhm load and a 20 fF capacitor
    through 1 kOhm. Per pulse the supply delivers V^2/R x 1 ns = 32 fJ of DC energy and C V^2 = 12.8 fJ
    to charge the capacitor (half stored, half burnt in the series resistor; the stored half flows back
    into the source on the falling edge and is not recovered)."""
    cards = [VSource("s", "s", "0", 0.0, Pulse(0.0, V, 0.0, EDGE, EDGE, WIDTH - EDGE, PERIOD)),
             Resistor("load", "s", "0", R_LOAD), Resistor("ser", "s", "c", R_SERIES), Capacitor("c", "c", "0", C)]
    deck = Deck("energy split hand check", cards,
                steps=[Analyze(Tran(1e-13, N * PERIOD, 1e-12), ("i(vs)",), label="tran")])
    plot = simulate(deck, backend="subprocess")[0]
    ramps = [(c * PERIOD + a, c * PERIOD + a + EDGE) for c in range(N) for a in (0.0, WIDTH)]
    edges = np.unique(np.concatenate([np.ravel(ramps), [N * PERIOD]]))
    split = split_energies(plot["time"], {"s": plot["i(vs)"]}, {"s": V}, edges, n_conversions=N,
                           ramp=ramp_phases(edges, ramps))
    # static: a resistor's current follows the linear edge, which the split charges at the mean of both levels
    assert split.static_j["s"] == pytest.approx(V**2 / R_LOAD * WIDTH, rel=1e-3)
    # switching: C V^2 (the capacitor settles within the phase, 50 tau; 5e-3 covers the 1 ps time step)
    assert split.switching_j["s"] == pytest.approx(C * V**2, rel=5e-3)
