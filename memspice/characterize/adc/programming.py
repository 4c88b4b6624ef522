"""Programming a Q-cell ADC: the programming map, bound targets, reachability and the write-verify
controller (:class:`WriteVerify`); the verify loops that drive it (windowed reads, nominal
programming, one cell, the independent reference's window) are in
:mod:`memspice.characterize.adc.verify`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from memspice.characterize.adc.options import RunOptions
from memspice.errors import SpecError
from memspice.extract import adc as ex
from memspice.netlist import qcell as nq
from memspice.spec.adc import AdcSpec
from memspice.spec.device import DeviceCard

# -- 1. programming map -----------------------------------------------------------------------------


def map_grid_s(card: DeviceCard, n: int = 21) -> np.ndarray:
    """Conductances (S) of the map: ``n`` points across the card's window, denser at the low end."""
    g0, g1 = card.window_s()
    u = np.linspace(0.0, 1.0, n)
    return g0 + (g1 - g0) * (0.6 * u + 0.4 * u**2)


def programming_map(spec: AdcSpec, card: DeviceCard, opts: RunOptions = RunOptions(), n: int = 21) -> ex.ProgrammingMap:
    """Bound (V) of each branch versus its conductance (S) over the card window (isolated branches)."""
    g = map_grid_s(card, n)
    plot = opts.sim(nq.map_deck(spec, card, g))[0]
    v = plot["v-sweep"]
    out = np.stack([plot[f"v(out{k})"] for k in range(2 * n)], axis=1)
    lower = ex.branch_bound(v, out[:, :n], spec.cell.vdd_v, "lower")
    upper = ex.branch_bound(v, out[:, n:], spec.cell.vdd_v, "upper")
    return ex.ProgrammingMap(g_s=g, lower_v=lower, upper_v=upper)


# -- 2./3. targets, reachability, write-verify ------------------------------------------------------


@dataclass(frozen=True)
class BoundPlan:
    """Target (V) of every cell bound, and which bound sets each transition."""

    lower_v: np.ndarray  # (n_cells,), NaN for cell 0 (don't care: set to the lowest conductance)
    upper_v: np.ndarray  # (n_cells,), NaN for the top cell (set to the highest conductance)
    dominant: list[str]  # per boundary i = 1..N-1: "lower" (cell i) or "upper" (cell i-1)
    targets_v: np.ndarray  # (N-1,)

    def dominant_cell(self, i: int) -> tuple[int, str]:
        """(cell, side) of the bound that sets transition i (1-based)."""
        side = self.dominant[i - 1]
        return (i, side) if side == "lower" else (i - 1, side)


def plan_bounds(spec: AdcSpec, targets_v: np.ndarray) -> BoundPlan:
    """Per-cell bound targets: the dominant bound on the target, the recessive one overlapping it.

    The overlap guard is ``guard_lsb`` LSB, capped at half the width of the cell it overlaps so that a
    recessive bound never reaches a second neighbour.
    """
    n = spec.n_cells
    t = np.asarray(targets_v, dtype=float)
    edges = np.concatenate([[spec.input_lo_v], t, [spec.input_hi_v]])
    widths = np.diff(edges)
    dom = ex.dominant_sides(spec.bits)
    lower = np.full(n, np.nan)
    upper = np.full(n, np.nan)
    for i in range(1, n):
        ti = t[i - 1]
        if dom[i - 1] == "lower":
            guard = min(spec.guard_lsb * spec.lsb_v, 0.5 * widths[i])
            lower[i] = ti
            upper[i - 1] = ti + guard
        else:
            guard = min(spec.guard_lsb * spec.lsb_v, 0.5 * widths[i - 1])
            upper[i - 1] = ti
            lower[i] = ti - guard
    return BoundPlan(lower_v=lower, upper_v=upper, dominant=dom, targets_v=t)


def check_reachable(spec: AdcSpec, pmap: ex.ProgrammingMap, targets_v: np.ndarray, card_name: str = "") -> None:
    """Raise SpecError naming the first boundary the conductance window cannot reach (and the range)."""
    plan = plan_bounds(spec, targets_v)
    field_name = "boundaries_v" if spec.boundaries_v else "boundaries_v (uniform set)"
    for i in range(1, spec.n_cells):
        _, side = plan.dominant_cell(i)
        lo, hi = pmap.reachable_v(side)
        value = float(plan.targets_v[i - 1])
        if not (lo <= value <= hi):
            raise SpecError(f"{field_name}[{i - 1}]", value,
                            f"a boundary the {side} bound can reach with card {card_name or spec.card}'s window: "
                            f"{lo:.4f}..{hi:.4f} V")
    top = pmap.reachable_v("upper")[1]
    if not top >= spec.input_hi_v:
        raise SpecError("input_hi_v", spec.input_hi_v,
                        f"a top of the input range the top cell's upper bound can reach (at most {top:.4f} V)")


@dataclass
class Programming:
    """Programmed conductances (S) per cell and the write-verify history."""

    g_lower_s: np.ndarray
    g_upper_s: np.ndarray
    plan: BoundPlan
    lower_v: np.ndarray = field(default_factory=lambda: np.array([]))
    upper_v: np.ndarray = field(default_factory=lambda: np.array([]))
    iterations: int = 0  # measurements (sweeps) so far, across write-verify rounds
    history_lsb: list[float] = field(default_factory=list)  # max |dominant error| per iteration
    pmap: ex.ProgrammingMap | None = None

    def dominant_bounds_v(self) -> np.ndarray:
        out = []
        for i in range(1, len(self.g_lower_s)):
            cell, side = self.plan.dominant_cell(i)
            out.append((self.lower_v if side == "lower" else self.upper_v)[cell])
        return np.array(out)


def edge_matches(out: np.ndarray, vdd: float) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: does it match at the first / last sweep point (its bound lies beyond that sweep edge)?"""
    out = np.atleast_2d(np.asarray(out, dtype=float))
    return out[0] < vdd / 2, out[-1] < vdd / 2


def measure_cells(spec: AdcSpec, card: DeviceCard, g_lower_s, g_upper_s, opts: RunOptions):
    """DC sweep of the cell array (no encoder): input (V), outputs (points, cells), bounds (V)."""
    plot = opts.sim(nq.adc_dc_deck(spec, card, g_lower_s, g_upper_s, encoder=False))[0]
    v = plot["v-sweep"]
    out = np.stack([plot[f"v(out{k})"] for k in range(spec.n_cells)], axis=1)
    lower, upper = ex.cell_bounds(v, out, spec.cell.vdd_v)
    return v, out, lower, upper


MAX_SWEEP_MARGIN_LSB = 8.0  # widest verify sweep beyond the input range (the spec's limit of sweep_margin_lsb)


def beyond_sweep(has: np.ndarray, lower: np.ndarray, upper: np.ndarray, out: np.ndarray, vdd: float) -> np.ndarray:
    """Cells with a controlled bound missing because it lies beyond the sweep (the cell matches at that
    edge), not because the window is closed: a wider sweep reads them."""
    first, last = edge_matches(out, vdd)
    return (has[:, 0] & ~np.isfinite(lower) & first) | (has[:, 1] & ~np.isfinite(upper) & last)


class WriteVerify:
    """Write-verify state of one converter (its cells' conductances and what was learnt about them).

    Each cell is a 2 x 2 problem: its measured (lower, upper) bounds against its two conductances.
    The map gives the diagonal of the Jacobian; in a narrow window the two pull-downs' sub-threshold
    tails add on the match line, so each bound also moves with the other conductance. A per-cell
    Broyden update learns that coupling from the measurements; a window that is closed (no match
    anywhere in the widest sweep) is reopened by moving both bounds outwards, half an LSB at first and
    doubling while it stays closed (:meth:`open_step_lsb`).

    ``aim_v``: a dominant bound is accepted within this distance of its aim (default
    ``program_aim_lsb``); ``rewrite_all``: a cell that is not accepted gets both conductances rewritten
    (the nominal programming) or only its bounds outside tolerance (chips: every write is noisy).
    :meth:`update` takes one measurement and sets :attr:`x` to the next conductances to write.
    """

    def __init__(self, spec: AdcSpec, card: DeviceCard, pmap: ex.ProgrammingMap, targets_v: np.ndarray, *,
                 start_s: np.ndarray | None = None, offsets_v: np.ndarray | None = None,
                 aim_v: float | None = None, rewrite_all: bool = True):
        self.spec, self.pmap = spec, pmap
        self.g0, self.g1 = card.window_s()
        g0, g1 = self.g0, self.g1
        plan = plan_bounds(spec, targets_v)
        self.plan = plan
        n = spec.n_cells
        self.n = n
        lo_r = pmap.reachable_v("lower")
        up_r = pmap.reachable_v("upper")

        def guess(side: str, b: np.ndarray) -> np.ndarray:
            rng = lo_r if side == "lower" else up_r
            return np.clip(pmap.conductance_s(side, np.clip(b, *rng)), g0, g1)

        planned = np.stack([np.isfinite(plan.lower_v), np.isfinite(plan.upper_v)], axis=1)
        # controlled (verified) bounds: the planned ones, except those of a cell whose Gray code is 0 (cell 0):
        # it drives no bit line of the OR-ROM, so its match adds nothing to any code (a gap reads code 0 as
        # well) and its upper bound, the guard of boundary 0, cannot move a transition. It is written once to
        # its planned guard and never verified. Why (session 11, the 992 fJ candidate's chips): 2 of 4
        # chips ran to the iteration cap with G_upper of cell 0 at the window's edge, a bound no code reads.
        self.has = planned & (ex.gray(np.arange(n)) != 0)[:, None]
        tgt = np.stack([plan.lower_v, plan.upper_v], axis=1)
        if offsets_v is not None:
            for i in range(1, n):
                cell, side = plan.dominant_cell(i)
                tgt[cell, 0 if side == "lower" else 1] -= offsets_v[i - 1]
        self.tgt = tgt
        x = np.stack([np.full(n, g0), np.full(n, g1)], axis=1)  # (g_lower, g_upper) per cell
        # first guess: the map, each window widened by half an LSB on both sides so that narrow ones open
        # (their bounds move inwards in the cell, see above); write-verify then closes them onto target
        x[planned[:, 0], 0] = guess("lower", plan.lower_v[planned[:, 0]] - 0.5 * spec.lsb_v)
        x[planned[:, 1], 1] = guess("upper", plan.upper_v[planned[:, 1]] + 0.5 * spec.lsb_v)
        if start_s is not None:
            x = np.asarray(start_s, dtype=float).copy()
        self.x = x
        self.prog = Programming(g_lower_s=x[:, 0], g_upper_s=x[:, 1], plan=plan, pmap=pmap)
        self.lsb = lsb = spec.lsb_v
        self.aim_lsb = spec.program_aim_lsb if aim_v is None else float(aim_v) / lsb
        self.aim_v = self.aim_lsb * lsb
        self.rewrite_all = rewrite_all
        dom = np.zeros((n, 2), bool)
        for i in range(1, n):
            cell, side = plan.dominant_cell(i)
            dom[cell, 0 if side == "lower" else 1] = True
        self.dom = dom
        jac = np.zeros((n, 2, 2))
        jac[:, 0, 0] = pmap.slope_v_per_s("lower", x[:, 0])
        jac[:, 1, 1] = pmap.slope_v_per_s("upper", x[:, 1])
        self.jac = jac
        self.prev_x = self.prev_y = None
        self.prev_ok = np.zeros(n, bool)
        self.prev_sat = np.zeros(n, bool)  # the cell's last reading was saturated (see update)
        self.last_ok = np.full((n, 2), np.nan)  # last conductances at which the cell's window was open
        self.scale = np.ones(n)  # per-cell step scale, halved after a step that closed the window
        self.closed_run = np.zeros(n, int)  # consecutive readings closed before the window ever opened
        self.max_step = 2 * lsb  # in volts of bound movement per iteration
        # recessive bounds only need to stay on their side of the dominant one: half the guard will do
        self.rec_tol = (0.5 * spec.guard_lsb + spec.program_aim_lsb) * lsb
        self.err = np.full((n, 2), np.nan)

    def accepted(self) -> np.ndarray:
        """(cells, 2): the bound is within its tolerance (uncontrolled bounds always are)."""
        tol = np.where(self.dom, self.aim_v, self.rec_tol)
        return ~self.has | (np.isfinite(self.err) & (np.abs(self.err) <= tol))

    OPEN_STEP_LSB = 0.5  # first outward move of each bound of a window that never read open
    OPEN_STEP_MAX_LSB = 4.0

    def open_step_lsb(self, k: int) -> float:
        """Outward move (LSB, each bound) for cell ``k``'s next write while its window has never read
        open: half an LSB, doubled after every further closed reading, at most OPEN_STEP_MAX_LSB.

        Why (issue 12/17, chip 0 of seed 1234 at 6 bits, cell 53, a 1-LSB (7.8 mV) cell near the top of
        the range): the chip's mismatch closed it by more than the fixed half-LSB step (~2.5 uS per
        conductance) could reopen in the 20-sweep cap: 20 sweeps moved G_lower 322.6 -> 285.7 uS and
        G_upper 267.2 -> 296.1 uS and it still read closed. Doubling finds the opening in log2 of the
        distance; write-verify then narrows it onto target with the learnt Jacobian."""
        return min(self.OPEN_STEP_LSB * 2.0 ** int(self.closed_run[k]), self.OPEN_STEP_MAX_LSB)

    def sensitivity_v_per_s(self) -> np.ndarray:
        """(cells, 2): how far the cell's controlled bounds move (V) per siemens of each of its two
        conductances, the larger of the two bounds' learnt Jacobian entries (the map's slope until a
        measurement says otherwise); 0 for a conductance of an uncontrolled side."""
        j = np.abs(self.jac) * self.has[:, :, None]  # rows: bounds (zeroed where not controlled)
        return np.max(j, axis=1) * self.has

    def _shifted(self, keep: np.ndarray, err: np.ndarray) -> np.ndarray:
        """(cells,): windows read shifted, not mis-sized: both bounds controlled, one accepted and one not,
        both errors of the same sign. A chip rewrites both bounds of such a cell (the window moves as a
        whole) instead of only the one outside tolerance.

        Why (issue 12/17, 6-bit chips of seed 1234, cells 59-62 at 1.15-1.19 V): a 1.5-LSB cell read with
        both bounds ~0.6 LSB low, its upper bound just inside the +-5 mV band (0.64 LSB at 6 bits) and kept;
        raising only G_lower by ~2 uS narrowed the window by 5 mV and closed it (both pull-downs' tails add
        on the match line), and the half-way-back rule then oscillated between open and closed until the
        20-sweep cap."""
        both = self.has.all(axis=1)
        one_kept = keep.sum(axis=1) == 1
        same = np.sign(err[:, 0]) * np.sign(err[:, 1]) > 0
        return both & one_kept & same

    def _widen_first(self, k: int, x: np.ndarray, new_x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Cell ``k``'s next write, with no conductance moved in the direction that narrows its window
        while the window reads narrower than its target (a raised G_lower raises the lower bound, a
        lowered G_upper lowers the upper bound), as long as the other conductance widens it.

        Why (issue 12, chip 2 of seed 1234, cell 26 of the chosen 5-bit design): in a 1-LSB cell near the
        top of the range both pull-downs' tails add on the match line, so the window narrows much faster
        than the learnt Jacobian predicts; a step that moves both bounds up from a window already too
        narrow (1.0-10 mV against 15.6 mV) closed it, and each closed reading halves the step scale
        (four in a row: 1/16). Widening first (the bound that widens moves this sweep, the other the
        next) keeps the window open; only chip programming (noisy rewrites) does this."""
        if not (y[1] - y[0] < self.tgt[k, 1] - self.tgt[k, 0]):
            return new_x
        d = new_x - x
        narrows = np.array([d[0] > 0, d[1] < 0])
        widens = np.array([d[0] < 0, d[1] > 0])
        if narrows.any() and widens.any():
            return np.where(narrows, x, new_x)
        return new_x

    def update(self, it: int, lower: np.ndarray, upper: np.ndarray,
               log: Callable[[str], None] | None = None, clamped: np.ndarray | None = None) -> bool:
        """Record measurement ``it`` (bounds in V, NaN where absent); True when programming is done,
        otherwise :attr:`x` holds the next conductances (S) to write. ``clamped`` (cells, 2): bounds read
        as the sweep's edge because they lie beyond it (saturated readings: they steer the step, but do
        not update the cell's learnt Jacobian)."""
        spec, n, has, dom, lsb, jac = self.spec, self.n, self.has, self.dom, self.lsb, self.jac
        x = self.x
        prog = self.prog
        y = np.stack([lower, upper], axis=1)
        prog.g_lower_s, prog.g_upper_s = x[:, 0].copy(), x[:, 1].copy()
        prog.lower_v, prog.upper_v, prog.iterations = lower, upper, it
        err = np.where(has, y - self.tgt, 0.0)
        self.err = err
        ok = np.all(np.isfinite(err), axis=1)
        dom_err = np.abs(err[dom]) / lsb
        worst = float(np.max(dom_err)) if np.all(np.isfinite(dom_err)) and dom_err.size else (
            float("inf") if dom_err.size else 0.0)
        prog.history_lsb.append(worst)
        rec = err[has & ~dom]
        rec_ok = bool(np.all(np.abs(rec[np.isfinite(rec)]) < self.rec_tol))
        if log:
            log(f"write-verify iteration {it}: worst boundary error {worst:.4f} LSB")
        if worst <= self.aim_lsb and rec_ok and np.all(ok):
            return True
        # the bounds are read on the sweep grid (+-half a step): stop once corrections stop helping
        if it >= 3 and worst >= 0.9 * min(prog.history_lsb[:-1]) and worst <= spec.program_tol_lsb / 2 and rec_ok:
            return True
        new_x = x.copy()
        for k in range(n):
            h = has[k]
            if not h.any():
                continue
            if not ok[k]:
                if np.all(np.isfinite(self.last_ok[k])):  # the last step closed the window: go half-way back
                    new_x[k] = self.last_ok[k] + 0.5 * (x[k] - self.last_ok[k])
                    self.scale[k] *= 0.5
                else:  # closed in the widest sweep and never open yet: open it by moving both bounds outwards
                    step = self.open_step_lsb(k) * lsb
                    if h[0]:
                        new_x[k, 0] -= step / jac[k, 0, 0]
                    if h[1]:
                        new_x[k, 1] += step / jac[k, 1, 1]
                    self.closed_run[k] += 1
                continue
            self.closed_run[k] = 0
            idx = np.nonzero(h)[0]
            sat = clamped is not None and bool(np.any(clamped[k]))
            if self.prev_x is not None and self.prev_ok[k] and not sat and not self.prev_sat[k]:
                dx = (x[k] - self.prev_x[k])[idx]
                dy = (y[k] - self.prev_y[k])[idx]
                if np.dot(dx, dx) > 0:
                    sub = jac[k][np.ix_(idx, idx)]
                    sub = sub + np.outer(dy - sub @ dx, dx) / np.dot(dx, dx)
                    if np.all(np.diag(sub) > 0) and np.linalg.cond(sub) < 1e3:
                        jac[k][np.ix_(idx, idx)] = sub
            self.last_ok[k] = x[k]
            sub = jac[k][np.ix_(idx, idx)]
            e = err[k, idx]
            e = e * min(1.0, self.max_step / max(float(np.max(np.abs(e))), 1e-30))
            new_x[k, idx] = x[k, idx] - self.scale[k] * np.linalg.solve(sub, e)
            if not self.rewrite_all and h.all():
                new_x[k] = self._widen_first(k, x[k], new_x[k], y[k])
            self.scale[k] = min(1.0, 1.5 * self.scale[k])
        if not self.rewrite_all:
            keep = self.accepted() & ok[:, None]
            keep &= ~self._shifted(keep, err)[:, None]
            new_x[keep] = x[keep]
        self.prev_ok = ok.copy()
        self.prev_sat = np.zeros(n, bool) if clamped is None else np.any(clamped, axis=1)
        self.prev_x, self.prev_y = x.copy(), y.copy()
        self.x = np.clip(new_x, self.g0, self.g1)
        return False


class ChipWriteVerify(WriteVerify):
    """:class:`WriteVerify` of a chip (``rewrite_all=False``) whose recessive bounds overlap the dominant
    bound as read, not only as planned.

    A recessive bound is planned ``guard_lsb`` beyond its boundary's target and accepted within
    ``rec_tol`` (0.28 LSB) of that plan, a dominant one within ``band_v`` (0.32 LSB at 5 bits) of its
    target: both at their limits towards each other leave a gap where no cell matches (code 0). Measured
    (issue 12, chip 7 of seed 1234, 5 bits): boundary 21's dominant bound read 0.276 LSB low and the
    recessive one 0.227 LSB low, both accepted (a 0.048 LSB gap); read noise in use widened it to 0.267
    LSB, moving the code-density transition of every boundary below it up by that (max |INL| 0.525 LSB).
    So once a dominant bound is accepted, an error of it towards its recessive neighbour moves that
    neighbour's target with it: the two overlap as read by at least guard - rec_tol (0.22 LSB)."""

    def __init__(self, spec: AdcSpec, card: DeviceCard, pmap: ex.ProgrammingMap, targets_v: np.ndarray, *,
                 start_s: np.ndarray | None = None, aim_v: float | None = None):
        super().__init__(spec, card, pmap, targets_v, start_s=start_s, aim_v=aim_v, rewrite_all=False)
        self.plan_tgt = self.tgt.copy()
        # per boundary: (dominant cell, column), (recessive cell, column), side of the recessive (+1 above)
        self.pairs = [((i, 0), (i - 1, 1), 1) if side == "lower" else ((i - 1, 1), (i, 0), -1)
                      for i, side in enumerate(self.plan.dominant, start=1)]

    def anchor_recessive(self, lower: np.ndarray, upper: np.ndarray) -> None:
        """Set each recessive bound's target from the plan and the reading (V) of its dominant neighbour."""
        y = np.stack([lower, upper], axis=1)
        tgt = self.plan_tgt.copy()
        for dom, rec, s in self.pairs:
            e = y[dom] - self.plan_tgt[dom]
            if np.isfinite(e) and abs(e) <= self.aim_v and s * e > 0:
                tgt[rec] += e
        self.tgt = tgt

    def update(self, it: int, lower: np.ndarray, upper: np.ndarray, log=None, clamped=None) -> bool:
        self.anchor_recessive(lower, upper)
        return super().update(it, lower, upper, log=log, clamped=clamped)
