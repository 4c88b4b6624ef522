"""The memristor model equations in numpy, and a scipy integration of them.

This is the independent reference for the hand-written subcircuits of ``models/``: the same
published equations, coded again without SPICE, integrated by ``scipy.integrate.solve_ivp`` at
tight tolerances. Tests drive both with the same stimulus and compare state and current.
It also gives the analytic quantities netlist builders need (conductance of a state, state of a
conductance, conductance window), since those are closed-form functions of the I-V relation.

Parameters are the card's SI names (see :mod:`memspice.spec.device`); the state ``x`` is the
normalised state of the subcircuit (VTEAM: 0 = ON, 1 = OFF; Yakopcic: the model's x).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Params = Mapping[str, Any]


# -- VTEAM ------------------------------------------------------------------------------------

def _vteam_resistance(x: np.ndarray, p: Params) -> np.ndarray:
    xc = np.clip(x, 0.0, 1.0)
    if p["iv"] == "linear":
        return p["r_on_ohm"] + (p["r_off_ohm"] - p["r_on_ohm"]) * xc
    return p["r_on_ohm"] * np.exp(np.log(p["r_off_ohm"] / p["r_on_ohm"]) * xc)


def _vteam_current(v: np.ndarray, x: np.ndarray, p: Params) -> np.ndarray:
    return v / _vteam_resistance(x, p)


def _vteam_dxdt(v: np.ndarray, x: np.ndarray, p: Params) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    x = np.asarray(x, dtype=float)
    span = p["w_off_m"] - p["w_on_m"]
    w = p["w_on_m"] + x * span
    window = p["window"]
    off_drive = np.where(v > p["v_off_v"],
                         p["k_off_m_per_s"] * np.maximum(v / p["v_off_v"] - 1.0, 0.0) ** p["alpha_off"], 0.0)
    on_drive = np.where(v < p["v_on_v"],
                        p["k_on_m_per_s"] * np.maximum(v / p["v_on_v"] - 1.0, 0.0) ** p["alpha_on"], 0.0)
    if window == "none":
        f_off = np.where(x < 1.0, 1.0, 0.0)
        f_on = np.where(x > 0.0, 1.0, 0.0)
    elif window == "biolek":
        two_p = 2.0 * p["biolek_p"]
        f_off = 1.0 - np.sign(x) * np.abs(x) ** two_p
        f_on = 1.0 - np.sign(1.0 - x) * np.abs(1.0 - x) ** two_p
    elif window == "kvatinsky":
        with np.errstate(over="ignore"):  # exp(-exp(large)) is exactly the 0 it should be
            f_off = np.exp(-np.exp((w - p["a_off_m"]) / p["w_c_m"]))
            f_on = np.exp(-np.exp(-(w - p["a_on_m"]) / p["w_c_m"]))
    else:  # pragma: no cover - validated by the card
        raise ValueError(f"unknown window {window!r}")
    return (off_drive * f_off + on_drive * f_on) / span


# -- Yakopcic ---------------------------------------------------------------------------------

def _yakopcic_current(v: np.ndarray, x: np.ndarray, p: Params) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    a = np.where(v >= 0, p["a1_a"], p["a2_a"])
    return a * x * np.sinh(p["b_per_v"] * v)


def _yakopcic_dxdt(v: np.ndarray, x: np.ndarray, p: Params) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    x = np.asarray(x, dtype=float)
    g = np.where(v > p["v_p_v"], p["a_p_per_s"] * (np.exp(v) - np.exp(p["v_p_v"])), 0.0)
    g = g - np.where(v < -p["v_n_v"], p["a_n_per_s"] * (np.exp(-v) - np.exp(p["v_n_v"])), 0.0)
    xp, xn = p["x_p"], p["x_n"]
    # exponents clamped to the branch where they apply (<= 0 there), so no branch overflows
    x_up = np.maximum(x, xp)
    x_down = np.minimum(x, 1.0 - xn)
    f_up = np.where(x >= xp, np.exp(-p["alpha_p"] * (x_up - xp)) * ((xp - x_up) / (1.0 - xp) + 1.0), 1.0)
    f_down = np.where(x <= 1.0 - xn, np.exp(p["alpha_n"] * (x_down + xn - 1.0)) * (x_down / (1.0 - xn)), 1.0)
    f = np.where(p["eta"] * v > 0, f_up, f_down)
    return p["eta"] * g * f


@dataclass(frozen=True)
class _Equations:
    current: Callable[[np.ndarray, np.ndarray, Params], np.ndarray]
    dxdt: Callable[[np.ndarray, np.ndarray, Params], np.ndarray]


EQUATIONS: dict[str, _Equations] = {
    "vteam": _Equations(_vteam_current, _vteam_dxdt),
    "yakopcic": _Equations(_yakopcic_current, _yakopcic_dxdt),
}


def current(model: str, params: Params, v, x) -> np.ndarray:
    """Device current in A for voltage ``v`` (V) and state ``x``."""
    return EQUATIONS[model].current(np.asarray(v, dtype=float), np.asarray(x, dtype=float), params)


def dxdt(model: str, params: Params, v, x) -> np.ndarray:
    """State rate dx/dt in 1/s for voltage ``v`` (V) and state ``x``."""
    return EQUATIONS[model].dxdt(np.asarray(v, dtype=float), np.asarray(x, dtype=float), params)


def conductance(model: str, params: Params, x, read_v: float) -> np.ndarray:
    """Read conductance G = I(read_v) / read_v in S."""
    return current(model, params, read_v, x) / read_v


def conductance_window(model: str, params: Params, read_v: float) -> tuple[float, float]:
    """Lowest and highest read conductance (S) over the state range [0, 1]."""
    g = conductance(model, params, np.array([0.0, 1.0]), read_v)
    return float(g.min()), float(g.max())


def state_for_conductance(model: str, params: Params, g, read_v: float) -> np.ndarray:
    """The state whose read conductance is ``g`` (S); exact inverse of :func:`conductance`."""
    g = np.asarray(g, dtype=float)
    if model == "vteam":
        r = 1.0 / g
        r_on, r_off = params["r_on_ohm"], params["r_off_ohm"]
        if params["iv"] == "linear":
            return (r - r_on) / (r_off - r_on)
        return np.log(r / r_on) / np.log(r_off / r_on)
    if model == "yakopcic":
        a = params["a1_a"] if read_v >= 0 else params["a2_a"]
        return g * read_v / (a * np.sinh(params["b_per_v"] * read_v))
    raise ValueError(f"unknown model {model!r}")


def set_polarity(model: str, params: Params) -> float:
    """Sign of the voltage that raises the conductance (SET): -1 or +1."""
    if model == "vteam":
        return -1.0  # v < v_on < 0 drives towards x = 0, the ON state
    if model == "yakopcic":
        return 1.0 if params["eta"] > 0 else -1.0
    raise ValueError(f"unknown model {model!r}")


def switching_thresholds(model: str, params: Params) -> tuple[float, float]:
    """Magnitudes (V) of the SET and RESET thresholds."""
    if model == "vteam":
        return abs(params["v_on_v"]), abs(params["v_off_v"])
    if model == "yakopcic":
        up, down = params["v_p_v"], params["v_n_v"]
        return (up, down) if params["eta"] > 0 else (down, up)
    raise ValueError(f"unknown model {model!r}")


# -- integration ------------------------------------------------------------------------------

@dataclass
class ReferenceResult:
    """Reference trajectory: time (s), applied voltage (V), current (A), state."""

    t: np.ndarray
    v: np.ndarray
    i: np.ndarray
    x: np.ndarray


def integrate(model: str, params: Params, voltage: Callable[[np.ndarray], np.ndarray], t_eval,
              x0: float, *, breakpoints=(), rtol: float = 1e-10, atol: float = 1e-13,
              max_step_s: float | None = None) -> ReferenceResult:
    """Integrate dx/dt = f(v(t), x) with an implicit Radau scheme at tight tolerances.

    ``voltage`` maps times (s) to volts; ``breakpoints`` are times where it has kinks or jumps
    (pulse edges), at which integration is restarted so no step straddles them.
    """
    from scipy.integrate import solve_ivp

    t_eval = np.asarray(t_eval, dtype=float)
    t0, t1 = float(t_eval[0]), float(t_eval[-1])
    cuts = sorted({t0, t1, *(b for b in breakpoints if t0 < b < t1)})
    eqs = EQUATIONS[model]

    def rhs(t, y):
        return eqs.dxdt(voltage(np.asarray(t)), y, params)

    xs = np.empty_like(t_eval)
    state = float(x0)
    for a, b in itertools.pairwise(cuts):
        mask = (t_eval >= a) & (t_eval <= b)
        kwargs = {"max_step": max_step_s} if max_step_s else {}
        sol = solve_ivp(rhs, (a, b), [state], method="Radau", rtol=rtol, atol=atol, dense_output=True, **kwargs)
        if not sol.success:  # pragma: no cover - tight tolerances on smooth pieces
            raise RuntimeError(f"reference integration failed: {sol.message}")
        if mask.any():
            xs[mask] = sol.sol(t_eval[mask])[0]
        state = float(sol.y[0, -1])
    v = voltage(t_eval)
    return ReferenceResult(t=t_eval, v=v, i=eqs.current(v, xs, params), x=xs)


def voltage_for_current(model: str, params: Params, i_a, x) -> np.ndarray:
    """Device voltage (V) at which the device in state ``x`` carries current ``i_a`` (A).

    Closed-form inverse of the I-V relation (used for compliance-limited sweeps).
    """
    i_a = np.asarray(i_a, dtype=float)
    x = np.asarray(x, dtype=float)
    if model == "vteam":
        return i_a * _vteam_resistance(x, params)
    if model == "yakopcic":
        a = np.where(i_a >= 0, params["a1_a"], params["a2_a"])
        scale = np.maximum(a * x, 1e-30)
        return np.arcsinh(i_a / scale) / params["b_per_v"]
    raise ValueError(f"unknown model {model!r}")
