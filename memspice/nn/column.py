"""Crossbar column models of the network side: what one sub-array's column does to a partial sum.

Two models, both with a random part (the cells' programming and read spread, ``sigma_g_rel``, driven
by each read's own inputs; a constant ``noise_sigma``) kept apart from the deterministic part:

- :class:`ColumnModel`: a polynomial of the normalized partial sum (a fit of SPICE reads on random
  patterns). It cannot see which rows carry the current, so the pattern-dependent IR drop is not in it.
- :class:`NodalColumn`: the column as the linear resistive network it is in the read regime. With
  ohmic (frozen-state, linear I-V) cells the sensed current is ``I = sum_i T_i V_i`` by superposition,
  with transfer coefficients ``T_i`` that depend on the programmed conductances and the wires, not on
  the inputs. :func:`transfer_coefficients` computes them exactly for the topology of
  :mod:`memspice.netlist.crossbar` with one logical column (``cols = 1``): row r driven at the left
  edge through ``r_driver`` and one row segment to the G+ cell, one more row segment to the G- cell;
  each physical column a ladder of column segments from row 0 (farthest) to the sense node at 0 V
  (row R-1 nearest, one segment from it to the sense). The network's layer then computes its partial
  sums with the **effective weights** ``w_eff_i = T_i / (g_max - g_min) * w_max`` (``T_i = G+_i - G-_i``
  without wires), so the IR drop of every column follows its own weights and rows exactly.

Not modelled by :class:`NodalColumn` (stated, not hidden): neighbouring logical columns' currents on a
shared row wire (the SPICE tile of the study has one logical column per tile), the TIA's finite gain
(the sense node is an ideal virtual ground; ngspice's op-amp of gain 1e4 moves it by ~1e-4 of the
read voltage), and device read nonlinearity: the model accepts only cards whose I-V is linear
(``iv = "linear"``, e.g. ``vteam_array``); a nonlinear card is refused by :func:`nodal_column_for`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class ColumnModel:
    """Crossbar column transfer on normalized partial sums ``s_in = psum / (rows * w_max * x_max)``:
    ``s_out = polyval_ascending(c, s_in) + e``. The deterministic part is the polynomial; ``e`` is
    random, zero-mean normal with variance ``noise_sigma^2 + (sigma_g_rel * sqrt(2 sum_i u_i^2) / rows)^2``:
    a constant part and the spread of the cells' conductances (``sigma_g_rel``: programming and read
    spread as a fraction of ``g_max - g_min``, wire attenuation included) driven by this read's own
    inputs ``u_i = x_i / x_max`` over the sub-array's rows (two cells per row, a differential pair)."""

    rows: int
    coefficients: tuple[float, ...]
    noise_sigma: float
    source: str = ""
    sigma_g_rel: float = 0.0

    def transfer(self, s: torch.Tensor) -> torch.Tensor:
        """The deterministic part ``polyval_ascending(c, s)``."""
        out = torch.full_like(s, self.coefficients[-1])
        for c in reversed(self.coefficients[:-1]):
            out = out * s + c
        return out

    def describe(self) -> dict:
        return {"kind": "polynomial", "rows": self.rows, "coefficients": list(self.coefficients),
                "noise_sigma": self.noise_sigma, "sigma_g_rel": self.sigma_g_rel, "source": self.source}


@dataclass
class NodalColumn:
    """A column of ``rows`` linear cells with wire resistance: deterministic IR drop by effective weights.

    Conductances: weight ``w`` (``|w| <= w_max``) is the pair ``G+ = g_min + (g_max - g_min) max(w, 0) / w_max``,
    ``G- = g_min + (g_max - g_min) max(-w, 0) / w_max`` (S), as :class:`memspice.spec.crossbar.CrossbarSpec`
    maps it. Wires: ``r_row_ohm`` per row segment, ``r_col_ohm`` per column segment, ``r_driver_ohm``
    behind each row driver (ohm). The random part as :class:`ColumnModel`'s (``sigma_g_rel``,
    ``noise_sigma``, normalized to full scale).
    """

    rows: int
    g_min_s: float
    g_max_s: float
    r_row_ohm: float
    r_col_ohm: float
    r_driver_ohm: float = 0.0
    sigma_g_rel: float = 0.0
    noise_sigma: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("r_row_ohm", "r_col_ohm", "r_driver_ohm", "g_min_s", "sigma_g_rel", "noise_sigma"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"NodalColumn.{name} = {v!r}: expected a finite value >= 0")
        if not self.g_max_s > self.g_min_s:
            raise ValueError(f"NodalColumn.g_max_s = {self.g_max_s!r}: expected above g_min_s = {self.g_min_s!r}")
        if int(self.rows) < 1:
            raise ValueError(f"NodalColumn.rows = {self.rows!r}: expected at least 1")

    def transfer(self, s: torch.Tensor) -> torch.Tensor:
        """Identity: the deterministic part is already in the effective weights."""
        return s

    def coefficients_s(self, w: np.ndarray, w_max: float) -> np.ndarray:
        """Transfer coefficients ``T`` (S) of columns of weights ``w`` (..., rows), row 0 farthest from the sense."""
        w = np.asarray(w, dtype=float)
        span = self.g_max_s - self.g_min_s
        gp = self.g_min_s + span * np.clip(w, 0, None) / w_max
        gm = self.g_min_s + span * np.clip(-w, 0, None) / w_max
        return transfer_coefficients(gp, gm, r_row_ohm=self.r_row_ohm, r_col_ohm=self.r_col_ohm,
                                     r_driver_ohm=self.r_driver_ohm)

    def effective_weights(self, w: torch.Tensor, w_max: float) -> torch.Tensor:
        """Weights (..., rows) as the column delivers them: ``T / (g_max - g_min) * w_max`` (float64 solve)."""
        t = self.coefficients_s(w.detach().double().cpu().numpy(), w_max)
        eff = t / (self.g_max_s - self.g_min_s) * w_max
        return torch.from_numpy(eff).to(dtype=w.dtype, device=w.device)

    def describe(self) -> dict:
        return {"kind": "nodal", "rows": self.rows, "g_min_S": self.g_min_s, "g_max_S": self.g_max_s,
                "r_row_ohm": self.r_row_ohm, "r_col_ohm": self.r_col_ohm, "r_driver_ohm": self.r_driver_ohm,
                "sigma_g_rel": self.sigma_g_rel, "noise_sigma": self.noise_sigma, "source": self.source}


def _row_admittances(gp: np.ndarray, gm: np.ndarray, r_row: float, r_drv: float):
    """Each row's two wire nodes eliminated: the currents into the column nodes p (G+) and m (G-) are
    ``[Ip, Im] = [yp, ym] V - [[a, b], [b, d]] [p, m]``."""
    if r_row > 0:
        g1, g2 = 1.0 / (r_drv + r_row), 1.0 / r_row
        det = g1 * g2 + g1 * gm + g2 * gm + g2 * gp + gp * gm  # (g1 + g2 + Gp)(g2 + Gm) - g2^2, expanded
        n11, n12, n22 = (g2 + gm) / det, g2 / det, (g1 + g2 + gp) / det
        g1n11, g1n12 = g1 * n11, g1 * n12
    elif r_drv > 0:  # the two wire nodes merge into one behind the driver resistance
        g1 = 1.0 / r_drv
        n11 = n12 = n22 = 1.0 / (g1 + gp + gm)
        g1n11 = g1n12 = g1 * n11
    else:  # both cells see the driver directly
        n11 = n12 = n22 = np.zeros_like(gp)
        g1n11 = g1n12 = np.ones_like(gp)
    yp, ym = gp * g1n11, gm * g1n12
    a, b, d = gp - gp * gp * n11, -gp * gm * n12, gm - gm * gm * n22
    return yp, ym, a, b, d


def transfer_coefficients(g_plus_s: np.ndarray, g_minus_s: np.ndarray, *, r_row_ohm: float, r_col_ohm: float,
                          r_driver_ohm: float = 0.0) -> np.ndarray:
    """``T`` (S, shape (..., rows)) with ``I+ - I- = sum_i T_i V_i`` for a differential column pair.

    ``g_plus_s``, ``g_minus_s``: (..., rows) cell conductances (S), row 0 farthest from the sense.
    Exact for the topology in the module docstring. By reciprocity (the network is resistive) one
    solve per column gives every ``T_i``: drive the sense nodes with +1 V (G+) and -1 V (G-) with all
    row drivers grounded and read the currents into the drivers. The column ladders with the row
    elimination are block tridiagonal (2x2 blocks, p and m of each row), solved from row 0 by
    accumulating the admittance seen upward (``K_i = Y_i + (I + r K_{i-1})^{-1} K_{i-1}``, stable for
    any ratio of wire to cell conductance) and back from the sense.
    """
    gp = np.asarray(g_plus_s, dtype=float)
    gm = np.asarray(g_minus_s, dtype=float)
    if gp.shape != gm.shape or gp.ndim < 1:
        raise ValueError(f"g_plus_s {gp.shape} and g_minus_s {gm.shape}: expected equal shapes (..., rows)")
    yp, ym, a, b, d = _row_admittances(gp, gm, float(r_row_ohm), float(r_driver_ohm))
    if r_col_ohm == 0:  # column nodes at the sense's 0 V
        return yp - ym
    r = float(r_col_ohm)
    rows = gp.shape[-1]
    # forward: K_i (symmetric 2x2: k11, k12, k22) and H_i = (I + r K_i)^{-1}, kept for the way back
    h11 = np.empty_like(gp)
    h12 = np.empty_like(gp)
    h21 = np.empty_like(gp)
    h22 = np.empty_like(gp)
    q11 = q12 = q22 = np.zeros(gp.shape[:-1])  # nothing above row 0
    for i in range(rows):
        k11, k12, k22 = a[..., i] + q11, b[..., i] + q12, d[..., i] + q22
        m11, m12, m21, m22 = 1 + r * k11, r * k12, r * k12, 1 + r * k22
        det = m11 * m22 - m12 * m21
        i11, i12, i21, i22 = m22 / det, -m12 / det, -m21 / det, m11 / det
        h11[..., i], h12[..., i], h21[..., i], h22[..., i] = i11, i12, i21, i22
        # (I + r K)^{-1} K: what row i's part of the ladder presents to the segment below it
        q11 = i11 * k11 + i12 * k12
        q12 = i11 * k12 + i12 * k22
        q22 = i21 * k12 + i22 * k22
    # back: z_{R-1} = H_{R-1} [1, -1]; z_i = H_i z_{i+1}
    t = np.empty_like(gp)
    zp, zm = np.ones(gp.shape[:-1]), -np.ones(gp.shape[:-1])
    for i in range(rows - 1, -1, -1):
        zp, zm = h11[..., i] * zp + h12[..., i] * zm, h21[..., i] * zp + h22[..., i] * zm
        t[..., i] = yp[..., i] * zp + ym[..., i] * zm
    return t
