"""Nodal solve of a crossbar tile's DC operating point in numpy/scipy (no SPICE).

The independent reference for :mod:`memspice.netlist.crossbar`: the same physical network,
described here only by numbers, with its conductance matrix assembled by hand and solved with
``scipy.sparse.linalg.spsolve``. Nothing is shared with the netlist code.

Network (rows R, physical columns K): row r is driven by an ideal source ``v_in[r]`` behind
``r_driver`` and one row segment to the cell of column 0, then one row segment between
neighbouring columns. Cell (r, k) joins row node (r, k) to column node (k, r). Column k runs
from row 0 down to row R-1 with one column segment between neighbouring rows and one more to the
sense node. The sense is an ideal ammeter (sense node at 0 V) or a transimpedance amplifier:
a voltage-controlled voltage source ``a0 * (0 - v_x)`` behind ``r_out`` drives the output node,
and ``r_f`` joins the sense node x to the output.

Unknowns: row nodes, column nodes, and for a TIA the sense and output nodes. Linear cells
(conductances) solve in one step; nonlinear cells (a current function i(v)) by Newton iteration
to a step below 1e-13 V.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

CellCurrent = Callable[[np.ndarray], np.ndarray]


@dataclass
class NodalSolution:
    """Column currents into the sense (A), TIA outputs (V; nan for an ammeter) and node voltages."""

    i_col_a: np.ndarray
    v_out_v: np.ndarray
    v_row_v: np.ndarray  # (R, K)
    v_col_v: np.ndarray  # (K, R)
    iterations: int


def solve_tile(g_s: np.ndarray, v_in_v: np.ndarray, *, r_row_ohm: float, r_col_ohm: float,
               r_driver_ohm: float = 0.0, sense: str = "ammeter", a0: float | None = None,
               r_f_ohm: float | None = None, r_out_ohm: float | None = None,
               cell_current: CellCurrent | None = None, max_iterations: int = 100) -> NodalSolution:
    """DC solution of the tile.

    ``g_s`` (R, K) are the cell conductances (S) of linear cells; with ``cell_current`` (a function
    of the cell voltages, shape (R, K), returning currents in A) the cells are nonlinear and ``g_s``
    only gives Newton's starting point. Resistances in ohm, voltages in V.
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    g = np.asarray(g_s, dtype=float)
    v_in = np.asarray(v_in_v, dtype=float)
    n_r, n_k = g.shape
    tia = sense == "tia"
    if sense not in ("ammeter", "tia"):
        raise ValueError(f"sense must be 'ammeter' or 'tia', got {sense!r}")
    if tia and (a0 is None or r_f_ohm is None or r_out_ohm is None):
        raise ValueError("a TIA needs a0, r_f_ohm and r_out_ohm")

    # unknown indices
    row_idx = np.arange(n_r * n_k).reshape(n_r, n_k)
    col_idx = n_r * n_k + np.arange(n_k * n_r).reshape(n_k, n_r)
    n = 2 * n_r * n_k
    if tia:
        x_idx = n + np.arange(n_k)
        o_idx = n + n_k + np.arange(n_k)
        n += 2 * n_k
    g_row, g_col = 1.0 / r_row_ohm, 1.0 / r_col_ohm
    g_first = 1.0 / (r_driver_ohm + r_row_ohm)  # driver resistor and first segment in series

    rows_i: list[np.ndarray] = []
    cols_i: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    rhs = np.zeros(n)

    def stamp(a: np.ndarray, b: np.ndarray | None, gv: float | np.ndarray) -> None:
        """Conductance gv between unknowns a and b (b None: to a fixed 0 V node)."""
        a = np.atleast_1d(a)
        gv = np.broadcast_to(np.asarray(gv, dtype=float), a.shape)
        rows_i.append(a)
        cols_i.append(a)
        vals.append(gv)
        if b is not None:
            b = np.atleast_1d(b)
            rows_i.extend([b, a, b])
            cols_i.extend([b, b, a])
            vals.extend([gv, -gv, -gv])

    # row lines
    stamp(row_idx[:, 0], None, g_first)
    rhs[row_idx[:, 0]] += g_first * v_in
    for k in range(1, n_k):
        stamp(row_idx[:, k - 1], row_idx[:, k], g_row)
    # column lines
    for r in range(n_r - 1):
        stamp(col_idx[:, r], col_idx[:, r + 1], g_col)
    if tia:
        stamp(col_idx[:, -1], x_idx, g_col)
        stamp(x_idx, o_idx, 1.0 / r_f_ohm)
        # output node: current (a0 * (0 - v_x) - v_o) / r_out flows in
        g_out = 1.0 / r_out_ohm
        rows_i.extend([o_idx, o_idx])
        cols_i.extend([o_idx, x_idx])
        vals.extend([np.full(n_k, g_out), np.full(n_k, a0 * g_out)])
    else:
        stamp(col_idx[:, -1], None, g_col)
    base = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows_i), np.concatenate(cols_i))), shape=(n, n))

    top = row_idx.ravel()
    bottom = col_idx.T.ravel()  # cell (r, k) -> column node (k, r), in (r, k) order

    def cells_matrix(gc: np.ndarray):
        gc = gc.ravel()
        r = np.concatenate([top, bottom, top, bottom])
        c = np.concatenate([top, bottom, bottom, top])
        v = np.concatenate([gc, gc, -gc, -gc])
        return sp.csr_matrix((v, (r, c)), shape=(n, n))

    x = spsolve((base + cells_matrix(g)).tocsc(), rhs)
    iterations = 1
    if cell_current is not None:
        converged = False
        while not converged:
            if iterations > max_iterations:  # pragma: no cover - the tile's cells are monotonic
                raise RuntimeError("nodal Newton iteration did not converge")
            iterations += 1
            v_cell = (x[top] - x[bottom]).reshape(n_r, n_k)
            i_cell = np.asarray(cell_current(v_cell), dtype=float)
            h = 1e-7
            gd = (np.asarray(cell_current(v_cell + h)) - np.asarray(cell_current(v_cell - h))) / (2 * h)
            gd = np.maximum(gd, 1e-15)
            # residual: linear network currents plus nonlinear cell currents leaving each node
            inj = np.zeros(n)
            np.add.at(inj, top, i_cell.ravel())
            np.add.at(inj, bottom, -i_cell.ravel())
            resid = base @ x + inj - rhs
            dx = spsolve((base + cells_matrix(gd)).tocsc(), -resid)
            x = x + dx
            converged = bool(np.max(np.abs(dx)) < 1e-13)
    v_row = x[row_idx]
    v_col = x[col_idx]
    if tia:
        i_col = (v_col[:, -1] - x[x_idx]) * g_col
        v_out = x[o_idx]
    else:
        i_col = v_col[:, -1] * g_col
        v_out = np.full(n_k, np.nan)
    return NodalSolution(i_col_a=i_col, v_out_v=v_out, v_row_v=v_row, v_col_v=v_col, iterations=iterations)
