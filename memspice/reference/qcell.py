"""Independent reference for the Q-cell window: a stage-by-stage numpy/scipy solve of the cell.

The SPICE cell is one coupled nonlinear circuit. The reference rebuilds it by hand from its parts,
with no netlist of the cell: each transistor is an I-V table ``I(V_gate, V_drain)`` measured on a
*single* device of the same size and model (:func:`memspice.netlist.qcell.device_table_deck`), each
memristor is the numpy model of :mod:`memspice.reference.memristor`, and Kirchhoff's current law is
solved at each node with ``scipy.optimize.brentq``:

1. output inverter: the match-line voltage ``m*`` at which OUT = VDD/2 (n and p currents equal);
2. match line at ``m*``: the gate voltage ``a*`` at which the A pull-down sinks the pull-up current
   (plus the sub-threshold leak of the other pull-down); likewise ``ib*`` for the B pull-down;
3. B inverter: the node-B voltage ``b*`` at which the inverter output equals ``ib*``;
4. dividers: the input at which ``I_mem(V_R - a*) = I_MN1(V_in, a*)`` (and the same for ``b*``).

The boundary so found is where the SPICE output crosses VDD/2. What the reference neglects, and
so the tolerance a comparison must allow: gate tunnelling currents of the PTM cards (igcmod = 1;
pA to nA against micro-ampere node currents), and the interpolation error of the tables (cubic in
an asinh-compressed current, a 10 mV grid), together below a millivolt; see the tests.

It also gives the first-order analytic boundary of DOMAIN.md section 2 (input transistor in triode),
used to explain the shape of the programming map.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from memspice.reference import memristor

I_SCALE_A = 1e-9  # asinh compression scale of the tables: log-like above 1 nA, linear below


@dataclass
class DeviceTables:
    """Drain-current magnitudes (A) of single devices on a (gate, drain) grid, by role.

    NMOS tables give the current into the drain, PMOS tables the current out of it; voltages are
    node voltages (the sources sit where the cell has them: the input device at the source
    reference, other NMOS at ground, PMOS at VDD).
    """

    vg: np.ndarray
    vd: np.ndarray
    current_a: Mapping[str, np.ndarray]  # role -> (len(vg), len(vd))

    def __post_init__(self) -> None:
        from scipy.interpolate import RegularGridInterpolator

        self._interp = {
            role: RegularGridInterpolator((self.vg, self.vd), np.arcsinh(i / I_SCALE_A), method="cubic")
            for role, i in self.current_a.items()
        }

    def __call__(self, role: str, vg, vd) -> np.ndarray:
        vg, vd = np.broadcast_arrays(np.asarray(vg, dtype=float), np.asarray(vd, dtype=float))
        pts = np.stack([np.clip(vg, self.vg[0], self.vg[-1]), np.clip(vd, self.vd[0], self.vd[-1])], axis=-1)
        return (I_SCALE_A * np.sinh(self._interp[role](pts.reshape(-1, 2)))).reshape(vg.shape)

    @classmethod
    def from_sweep(cls, vd_sweep: np.ndarray, currents: Mapping[str, np.ndarray], n_vd: int, n_vg: int,
                   vg_range: tuple[float, float], pmos: tuple[str, ...]) -> DeviceTables:
        """From a nested DC sweep (drain inner, gate outer) of ammeter branch currents.

        The ammeter sits between the common drain node and the device's drain, so its branch
        current is the drain current of an NMOS (into the drain) and minus that of a PMOS.
        """
        vd = np.asarray(vd_sweep[:n_vd], dtype=float)
        vg = np.linspace(vg_range[0], vg_range[1], n_vg)
        tables = {}
        for role, i in currents.items():
            grid = np.asarray(i, dtype=float).reshape(n_vg, n_vd)
            tables[role] = -grid if role in pmos else grid
        return cls(vg=vg, vd=vd, current_a=tables)


@dataclass(frozen=True)
class CellBias:
    """Supplies (V) of the cell and its memristor model (from the device card)."""

    vdd_v: float
    v_read_v: float
    v_ref_v: float
    v_pu_v: float
    model: str
    params: Mapping[str, object]
    read_v: float


def _brentq(f: Callable[[float], float], a: float, b: float) -> float:
    from scipy.optimize import brentq

    fa, fb = f(a), f(b)
    if np.sign(fa) == np.sign(fb):
        raise ValueError(f"no sign change on [{a:g}, {b:g}] (f = {fa:g}, {fb:g})")
    return float(brentq(f, a, b, xtol=1e-9, rtol=1e-12, maxiter=200))


def output_trip_v(t: DeviceTables, bias: CellBias) -> float:
    """Match-line voltage (V) at which the output inverter output is VDD/2."""
    half = bias.vdd_v / 2
    return _brentq(lambda m: float(t("inv_n", m, half) - t("inv_p", m, half)), 0.0, bias.vdd_v)


def pulldown_gate_v(t: DeviceTables, bias: CellBias, m_v: float, other_gate_v: float) -> float:
    """Gate voltage (V) at which one pull-down plus the other's leak equals the pull-up current at ML = m_v."""
    i_pu = float(t("pullup", bias.v_pu_v, m_v))
    leak = float(t("pulldown", other_gate_v, m_v))
    return _brentq(lambda g: float(t("pulldown", g, m_v)) + leak - i_pu, 0.0, bias.vdd_v)


def b_inverter_input_v(t: DeviceTables, bias: CellBias, out_v: float) -> float:
    """Node-B voltage (V) at which the B inverter outputs ``out_v``."""
    return _brentq(lambda b: float(t("inv_n", b, out_v) - t("inv_p", b, out_v)), 0.0, bias.vdd_v)


def memristor_current_a(bias: CellBias, x: float, v_node: float) -> float:
    return float(memristor.current(bias.model, bias.params, bias.v_read_v - v_node, x))


def divider_node_v(t: DeviceTables, bias: CellBias, x: float, v_in: float) -> float:
    """Divider node voltage (V) for state ``x`` and input ``v_in`` (V)."""
    return _brentq(lambda v: memristor_current_a(bias, x, v) - float(t("input", v_in, v)),
                   bias.v_ref_v, bias.v_read_v)


def divider_input_v(t: DeviceTables, bias: CellBias, x: float, v_node: float, v_max: float = 1.6) -> float:
    """Input voltage (V) at which the divider node sits at ``v_node`` (V)."""
    i_mem = memristor_current_a(bias, x, v_node)
    return _brentq(lambda vin: float(t("input", vin, v_node)) - i_mem, bias.v_ref_v, v_max)


@dataclass(frozen=True)
class ReferenceWindow:
    lower_v: float
    upper_v: float
    ml_trip_v: float
    a_switch_v: float
    b_switch_v: float
    ib_switch_v: float


def cell_window(t: DeviceTables, bias: CellBias, x_lower: float, x_upper: float) -> ReferenceWindow:
    """The window [lower, upper) (V) of a cell whose memristors have states ``x_lower``, ``x_upper``."""
    m = output_trip_v(t, bias)
    # lower bound: B is high (MN4 gate = B-inverter output, near 0); iterate once on that leak gate
    ib_low = 0.0
    a_star = pulldown_gate_v(t, bias, m, ib_low)
    lower = divider_input_v(t, bias, x_lower, a_star)
    b_at_lower = divider_node_v(t, bias, x_upper, lower)
    ib_low = _inverter_out_v(t, bias, b_at_lower)
    a_star = pulldown_gate_v(t, bias, m, ib_low)
    lower = divider_input_v(t, bias, x_lower, a_star)
    # upper bound: A is low; its pull-down leaks with gate = divider A at the upper input
    a_low = bias.v_ref_v
    for _ in range(2):
        ib_star = pulldown_gate_v(t, bias, m, a_low)
        b_star = b_inverter_input_v(t, bias, ib_star)
        upper = divider_input_v(t, bias, x_upper, b_star)
        a_low = divider_node_v(t, bias, x_lower, upper)
    return ReferenceWindow(lower_v=lower, upper_v=upper, ml_trip_v=m, a_switch_v=a_star, b_switch_v=b_star,
                           ib_switch_v=ib_star)


def _inverter_out_v(t: DeviceTables, bias: CellBias, v_in: float) -> float:
    return _brentq(lambda o: float(t("inv_n", v_in, o) - t("inv_p", v_in, o)), 0.0, bias.vdd_v)


# -- first-order analytic boundary (DOMAIN.md section 2) ----------------------------------------


def first_order_boundary_v(g_s, *, v_read_v: float, v_ref_v: float, v_switch_v: float, vt_v: float,
                           beta_a_per_v2: float) -> np.ndarray:
    """Boundary (V) with the input transistor in triode, I = beta (V_ov - V_ds/2) V_ds, and an ohmic memristor.

    Setting the memristor current G (V_R - V_sw) equal to the transistor current at V_ds = V_sw - V_ref
    gives V_in = V_ref + V_T + V_ds/2 + G (V_R - V_sw) / (beta V_ds): linear in G. The real map
    bends (sublinear) because the device is near saturation and mobility degrades at high V_ov.
    """
    vds = v_switch_v - v_ref_v
    return v_ref_v + vt_v + vds / 2 + np.asarray(g_s, dtype=float) * (v_read_v - v_switch_v) / (beta_a_per_v2 * vds)


def first_guess_conductances(g_window_s: tuple[float, float], edges_v: np.ndarray, lo_v: float,
                             hi_v: float, lsb_v: float) -> dict[str, np.ndarray]:
    """Conductances (S) per cell from a straight line over the card window, without simulation.

    The line maps [g_min, g_max] onto [lo - LSB, hi + 2 LSB]; only used where no programming map
    exists yet (golden netlists). Cell k gets edges k and k+1; cell 0's lower and the top cell's
    upper memristor sit at the window ends.
    """
    g0, g1 = g_window_s
    b0, b1 = lo_v - lsb_v, hi_v + 2 * lsb_v
    g = g0 + (np.asarray(edges_v, dtype=float) - b0) * (g1 - g0) / (b1 - b0)
    g = np.clip(g, g0, g1)
    lower = g[:-1].copy()
    upper = g[1:].copy()
    lower[0] = g0
    upper[-1] = g1
    return {"g_lower_s": lower, "g_upper_s": upper}
