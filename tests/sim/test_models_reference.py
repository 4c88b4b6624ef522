"""ngspice subcircuits of models/ against the scipy integration of the same equations.

Requirement (issue 2): the state within 1e-3 of its range (the normalised state spans 1) and the
current within 1e-3 of its peak, with the step chosen by memspice. The reference integrates with
Radau at rtol 1e-10, so its own error is orders of magnitude below the tolerance; the measured
errors are ~1e-4 or less (printed with -s), leaving a margin of about ten.
"""

import numpy as np
import pytest

from memspice.netlist.cards import VSource
from memspice.netlist.deck import Analyze, Deck, Op
from memspice.netlist.device import device_testbench, memristor, model_include, state_node
from memspice.ngspice import simulate
from memspice.reference.memristor import current, integrate
from memspice.spec.device import load_card
from memspice.spec.stimulus import SineStimulus, pulse_train

pytestmark = pytest.mark.ngspice

CASES = {
    # published sets with their usual stimuli
    "vteam_technion-sine": ("vteam_technion", SineStimulus(amplitude_v=1.0, freq_hz=50e6, cycles=2), 0.5),
    "vteam_technion-pulses": ("vteam_technion", pulse_train([-0.5, -0.6, 0.5, 0.8], 1e-9, edge_s=1e-10,
                                                            gap_s=1e-9), 0.5),
    "yakopcic_oblea-sine": ("yakopcic_oblea", SineStimulus(amplitude_v=0.45, freq_hz=100, cycles=2), 0.11),
    "yakopcic_oblea-pulses": ("yakopcic_oblea", pulse_train([0.4, 0.5, -0.4, -0.5], 1e-3, edge_s=1e-5,
                                                            gap_s=1e-3), 0.11),
    # paper-window cards with programming-like stimuli
    "vteam_paper-sine": ("vteam_paper", SineStimulus(amplitude_v=1.3, freq_hz=1e3, cycles=2), 0.5),
    "vteam_paper-pulses": ("vteam_paper", pulse_train([-1.0, -1.1, 1.0, 1.2], 2e-3, edge_s=1e-5,
                                                      gap_s=0.5e-3), 0.5),
    "yakopcic_paper-sine": ("yakopcic_paper", SineStimulus(amplitude_v=1.3, freq_hz=1e3, cycles=2), 0.5),
    "yakopcic_paper-pulses": ("yakopcic_paper", pulse_train([1.0, 1.1, -1.0, -1.2], 2e-3, edge_s=1e-5,
                                                            gap_s=0.5e-3), 0.5),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_transient_matches_reference(case):
    card_name, stimulus, x0 = CASES[case]
    card = load_card(card_name)
    plot = simulate(device_testbench(card, stimulus, x0=x0))["tran"]
    t = plot["time"]
    x_spice = plot[state_node("dut")]
    i_spice = -plot["i(vdrive)"]
    ref = integrate(card.model, card.params, stimulus.value, t, x0, breakpoints=stimulus.breakpoints())
    state_err = np.max(np.abs(x_spice - ref.x))
    current_err = np.max(np.abs(i_spice - ref.i)) / np.max(np.abs(ref.i))
    print(f"{case}: state error {state_err:.2e}, current error {current_err:.2e} of peak, {len(t)} points")
    # the stimulus really switches the device (a test that cannot fail is no test)
    assert np.ptp(ref.x) > 0.05
    assert state_err < 1e-3
    assert current_err < 1e-3


@pytest.mark.parametrize("card_name", ["vteam_paper", "yakopcic_paper", "vteam_technion", "yakopcic_oblea"])
@pytest.mark.parametrize("x0", [0.0, 0.37, 1.0])
def test_operating_point_holds_any_state(card_name, x0):
    """At DC the state is the initial state even with a switching bias across the device."""
    card = load_card(card_name)
    bias = 1.5  # above every card's thresholds
    deck = Deck("op", [model_include(card), VSource("b", "p", "0", bias), memristor(card, "dut", "p", "0", x0=x0)],
                steps=[Analyze(Op(), ("i(vb)", state_node("dut")))])
    op = simulate(deck)[0]
    assert op[state_node("dut")][0] == pytest.approx(x0, abs=1e-12)
    assert -op["i(vb)"][0] == pytest.approx(float(current(card.model, card.params, bias, x0)), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("card_name", ["vteam_paper", "yakopcic_paper"])
def test_frozen_state_does_not_move(card_name):
    card = load_card(card_name)
    stim = pulse_train([1.5, -1.5], 2e-3, edge_s=1e-5, gap_s=0.5e-3)
    moving = simulate(device_testbench(card, stim, x0=0.5))["tran"][state_node("dut")]
    frozen = simulate(device_testbench(card, stim, x0=0.5, frozen=True))["tran"][state_node("dut")]
    assert np.ptp(moving) > 0.05
    assert np.max(np.abs(frozen - 0.5)) < 1e-9


@pytest.mark.parametrize("card_name", ["vteam_paper", "yakopcic_paper"])
def test_read_below_threshold_does_not_disturb(card_name):
    card = load_card(card_name)
    stim = pulse_train([card.read_v, -card.read_v] * 3, 1e-3, edge_s=1e-6, gap_s=1e-4)
    x = simulate(device_testbench(card, stim, x0=0.5))["tran"][state_node("dut")]
    assert np.max(np.abs(x - 0.5)) < 1e-9
