"""The numpy nodal reference against hand calculations (no SPICE)."""

import numpy as np
import pytest

from memspice.reference.nodal import solve_tile

pytestmark = pytest.mark.unit


def test_one_cell_is_a_series_circuit():
    # driver 10 ohm + row segment 2 ohm + cell 1/G + column segment 3 ohm to the ammeter
    g = 1e-3
    sol = solve_tile(np.array([[g]]), np.array([0.2]), r_row_ohm=2.0, r_col_ohm=3.0, r_driver_ohm=10.0)
    assert sol.i_col_a[0] == pytest.approx(0.2 / (10 + 2 + 1 / g + 3), rel=1e-13)


def test_one_cell_with_a_tia():
    # a finite-gain inverting amplifier fed through R = row + cell + column segments, solved by hand
    g, v, a0, rf, ro = 1e-4, 0.2, 1e3, 5e3, 50.0
    r_series = 1.0 + 1 / g + 1.0
    sol = solve_tile(np.array([[g]]), np.array([v]), r_row_ohm=1.0, r_col_ohm=1.0, sense="tia", a0=a0,
                     r_f_ohm=rf, r_out_ohm=ro)
    # unknowns x (virtual ground) and o: KCL at x: (x - v)/R + (x - o)/rf = 0;
    # KCL at o: (o - x)/rf + (o + a0 x)/ro = 0
    m = np.array([[1 / r_series + 1 / rf, -1 / rf], [-1 / rf + a0 / ro, 1 / rf + 1 / ro]])
    x, o = np.linalg.solve(m, [v / r_series, 0.0])
    assert sol.v_out_v[0] == pytest.approx(o, rel=1e-12)
    assert sol.i_col_a[0] == pytest.approx((v - x) / r_series, rel=1e-12)


def test_ideal_wires_give_the_dot_product():
    rng = np.random.default_rng(0)
    g = rng.uniform(50e-6, 450e-6, (64, 4))
    v = rng.uniform(0, 0.2, 64)
    sol = solve_tile(g, v, r_row_ohm=1e-9, r_col_ohm=1e-9)
    np.testing.assert_allclose(sol.i_col_a, v @ g, rtol=1e-9)


def test_wire_resistance_only_lowers_the_currents_and_far_rows_lose_most():
    g = np.full((32, 2), 200e-6)
    v = np.full(32, 0.2)
    sol = solve_tile(g, v, r_row_ohm=1.0, r_col_ohm=1.0)
    assert np.all(sol.i_col_a < v @ g)
    cell_v = sol.v_row_v - sol.v_col_v.T  # (rows, cols)
    assert cell_v[0, 1] < cell_v[-1, 0]  # row 0 is farthest from the sense, column 1 from the drivers


def test_newton_with_a_linear_cell_function_is_the_linear_solve():
    rng = np.random.default_rng(1)
    g = rng.uniform(50e-6, 450e-6, (16, 2))
    v = rng.uniform(0, 0.2, 16)
    lin = solve_tile(g, v, r_row_ohm=2.0, r_col_ohm=2.0)
    newton = solve_tile(g * 0.5, v, r_row_ohm=2.0, r_col_ohm=2.0, cell_current=lambda vc: g * vc)
    np.testing.assert_allclose(newton.i_col_a, lin.i_col_a, rtol=1e-12)
    assert newton.iterations > 1
