"""Transient reads: read energy against DC power times pulse duration, and settling to the DC value."""

import numpy as np
import pytest

from memspice.characterize.crossbar import Pattern, full_scale_pattern, run_transient
from memspice.reference.nodal import solve_tile
from memspice.spec.crossbar import CrossbarSpec

pytestmark = pytest.mark.ngspice


def _driver_power_w(spec: CrossbarSpec, weights: np.ndarray, v: np.ndarray) -> float:
    """DC power the row drivers deliver, from the nodal reference: sum_r v_r (v_r - v_row0_r) / (r_drv + r_seg)."""
    sol = solve_tile(spec.conductances(weights), v, r_row_ohm=spec.wire.r_row_segment_ohm,
                     r_col_ohm=spec.wire.r_col_segment_ohm, r_driver_ohm=spec.drive.r_driver_ohm)
    i_rows = (v - sol.v_row_v[:, 0]) / (spec.drive.r_driver_ohm + spec.wire.r_row_segment_ohm)
    return float(v @ i_rows)


@pytest.mark.parametrize("mode", ["analog", "bit_serial"])
def test_energy_equals_dc_power_times_duration_for_a_resistive_tile(mode):
    """A tile of linear resistors with no capacitance sensed by an ammeter is memoryless: the power
    follows v(t)^2 exactly, so each read slot costs P_dc (t_read + 2 t_rise / 3) (the two linear
    edges contribute t_rise/3 each). The energy integral is exact for piecewise-linear v and i and
    ngspice's time points include the PWL corners, so the only error is the double-precision
    arithmetic: tolerance 1e-9 relative (measured ~1e-13)."""
    spec = CrossbarSpec(rows=12, cols=2, device="resistor", sense={"kind": "ammeter"},
                        wire={"r_row_segment_ohm": 2.0, "r_col_segment_ohm": 2.0, "c_row_segment_f": 0.0,
                              "c_col_segment_f": 0.0},
                        drive={"mode": mode, "input_bits": 3, "r_driver_ohm": 20.0, "t_read_s": 5e-9})
    rng = np.random.default_rng(4)
    w = rng.uniform(-1, 1, (12, 2))
    slots = spec.drive.slots
    x = rng.uniform(0, 1, (12, slots)) if mode == "analog" else rng.integers(0, 2, (12, slots)).astype(float)
    tr = run_transient(spec, Pattern(w, x, "test"), adc_bits=6)
    d = spec.drive
    expected = sum(_driver_power_w(spec, w, spec.voltages(x[:, s])) for s in range(slots)) \
        * (d.t_read_s + 2 * d.t_rise_s / 3)
    e = tr["energy"]
    assert e["drivers_J"] == pytest.approx(expected, rel=1e-9)
    assert e["per_read_J"] == pytest.approx(expected, rel=1e-9)  # no op-amp, no word lines
    assert e["per_mac_J"] == pytest.approx(expected / (12 * 2), rel=1e-9)
    # memoryless: every slot's output equals the DC read of its inputs
    assert np.all(np.abs(tr["final_minus_dc_lsb"]) < 1e-6)
    assert tr["settled_all"]


def test_tia_read_settles_to_the_dc_value_and_accounts_the_op_amps():
    """A 64-row TIA column with wire capacitance: the full-scale step settles inside the read and
    ends at the DC operating point (within 1e-3 LSB: the read is ~10x the settling time, so the
    residual decays far below that). The op-amps' quiescent energy is i_q * 2 v_supply per op-amp
    over the pulse (edges and top) exactly; their dynamic energy is the column current taken from
    the -1 V rail, |v_ss| * integral of i_col, which for a current following the pulse is
    |v_ss| I_col (t_read + t_rise) with I_col from the nodal reference. Tolerance 1e-3: the
    column and feedback capacitances move charge on the edges and the op-amp's finite bandwidth
    delays the current by ~1 ns, which shifts but hardly changes the integral (measured 6e-5)."""
    spec = CrossbarSpec(rows=64, cols=1)
    p = full_scale_pattern(spec)
    tr = run_transient(spec, p, adc_bits=5)
    assert tr["settled_all"] and 0 < tr["settling_time_s"] < spec.drive.t_read_s / 4
    assert abs(tr["final_minus_dc_lsb"][0]) < 1e-3
    e = tr["energy"]
    d, s = spec.drive, spec.sense
    assert e["opamp_quiescent_J"] == pytest.approx(s.i_q_a * 2 * s.v_supply_v * 2 * (d.t_read_s + 2 * d.t_rise_s))
    sol = solve_tile(spec.conductances(p.weights), spec.voltages(p.x[:, 0]), r_row_ohm=1.0, r_col_ohm=1.0,
                     sense="tia", a0=s.a0, r_f_ohm=spec.r_f_ohm, r_out_ohm=s.r_out_ohm)
    i_out = sol.i_col_a.sum()  # both TIAs sink their column currents (plus nothing else at DC)
    assert e["opamp_dynamic_J"] == pytest.approx(s.v_supply_v * i_out * (d.t_read_s + d.t_rise_s), rel=1e-3)
    assert tr["swing_excess_V"] == 0.0
