"""Crossbar extraction (pure numpy) on synthetic inputs with known answers."""

import math

import numpy as np
import pytest

from memspice.extract.crossbar import (
    delivered_energy_J,
    error_stats,
    fit_column_model,
    settling_time,
    variability_sigma_a,
)

pytestmark = pytest.mark.unit


def test_settling_of_an_exponential():
    # y = 1 - exp(-t/tau) enters 1 +- tol at t = tau ln(1/tol)
    tau, tol = 1e-9, 1e-3
    t = np.linspace(0, 20e-9, 200001)
    y = 1 - np.exp(-t / tau)
    got = settling_time(t, y, 0.0, t[-1], 1.0, tol)
    # linear interpolation between samples 1e-13 s apart: error below a sample spacing
    assert got == pytest.approx(tau * math.log(1 / tol), abs=1e-13)


def test_settling_of_a_ringing_step_uses_the_last_exit():
    t = np.linspace(0, 50e-9, 500001)
    y = 1 - np.exp(-t / 5e-9) * np.cos(2 * np.pi * t / 4e-9)
    tol = 0.01
    got = settling_time(t, y, 0.0, t[-1], 1.0, tol)
    outside = np.abs(y - 1) > tol
    last = t[np.flatnonzero(outside)[-1]]
    assert last <= got <= last + (t[1] - t[0])
    assert settling_time(t, y, 0.0, 10e-9, 1.0, tol) != settling_time(t, y, 0.0, 10e-9, 1.0, tol)  # nan: too short
    assert settling_time(t, np.full_like(t, 1.0), 0.0, t[-1], 1.0, tol) == 0.0


def test_energy_is_exact_for_piecewise_linear_v_and_i():
    # v ramps 0 -> 1 V over 1 ns, holds 10 ns, ramps down; i = -v / 1 kohm (the source delivers)
    tp = [0.0, 1e-9, 11e-9, 12e-9]
    vp = [0.0, 1.0, 1.0, 0.0]
    t = np.sort(np.concatenate([tp, np.linspace(0, 12e-9, 7)]))
    v = np.interp(t, tp, vp)
    i = -v / 1e3
    exact = (10e-9 + 2 * 1e-9 / 3) * 1.0**2 / 1e3  # P (top + 2 t_rise / 3): v^2 is quadratic on the ramps
    assert delivered_energy_J(t, v, i) == pytest.approx(exact, rel=1e-12)
    assert delivered_energy_J(t, v, i, t0=1e-9, t1=11e-9) == pytest.approx(10e-9 / 1e3, rel=1e-12)
    # a source absorbing energy (a line discharging into it) delivers none, unless asked to count it
    assert delivered_energy_J(t, v, -i) == 0.0
    assert delivered_energy_J(t, v, -i, returned=True) == pytest.approx(-exact, rel=1e-12)


def test_column_model_recovers_a_cubic():
    s = np.linspace(-1, 1, 41)
    coef = [0.01, 0.9, -0.02, -0.05]
    fit = fit_column_model(s, np.polynomial.polynomial.polyval(s, coef), 3)
    np.testing.assert_allclose(fit["coefficients"], coef, atol=1e-12)
    assert fit["residual_rms"] < 1e-12 and fit["r2"] == pytest.approx(1.0)
    short = fit_column_model([0.1, 0.5], [0.2, 0.6], 3)  # two points: a line, padded to 4 coefficients
    assert short["degree_fitted"] == 1 and len(short["coefficients"]) == 4
    np.testing.assert_allclose(short["coefficients"], [0.1, 1.0, 0.0, 0.0], atol=1e-12)


def test_error_stats():
    ideal = np.array([-1.0, -0.5, 0.0, 0.01, 0.5, 1.0]) * 1e-3
    spice = 0.9 * ideal + 1e-5
    st = error_stats(ideal, spice, 1e-3)
    assert st["gain"] == pytest.approx(0.9) and st["offset_fs"] == pytest.approx(0.01)
    # error = -0.1 ideal + 1e-5 A: largest at ideal = -1 mA (0.11 mA of the 1 mA full scale)
    assert st["rel_error_fs_max"] == pytest.approx(0.11)
    assert st["rel_error_reads"] == 4  # |ideal| >= 5 % of full scale
    assert st["rel_error_max"] == pytest.approx(0.12)  # at -0.5 mA: 0.06 mA / 0.5 mA


def test_variability_sigma():
    v = np.array([[0.1, 0.2], [0.0, 0.0]])
    got = variability_sigma_a(v, 2e-6)
    np.testing.assert_allclose(got, [math.sqrt(2 * (2e-6) ** 2 * 0.05), 0.0])
