"""Write-verify in the conversion timing (issue 12): bounds read as the converter reads them.

The DC sweeps of :func:`~memspice.characterize.adc.programming.measure_cells` give a cell's bounds in
its read *state*; in the precharge scheme the code is captured a fixed time after the precharge ends,
so a bound is where the match line has (or has not) discharged by then, which moved the boundaries by
up to 1 LSB from the DC ones in a scratch study. A chip is verified through its own read, so:

- :func:`timed_bounds` reads every cell's bounds in one transient in the spec's scheme and timing
  (:func:`memspice.netlist.qcell.cells_timed_deck`): each cell steps its own input across its lower
  bound, then its upper bound, by 0.1 LSB over +-1.2 LSB; the output sampled at the end of each read,
  linearly interpolated at VDD/2 between neighbouring inputs, gives the bound.
- :func:`program_in_timing` is write-verify (:class:`WriteVerify`, started from the DC programming) with
  the timed read as its verify: every iteration writes, then reads every cell's bounds in the timing,
  until the dominant bounds are on target (the earlier method, a DC inner loop with aims moved by the
  timed error, did not converge at 5 bits: the timing moves the bounds by up to ~2 LSB there).

Assumption stated with the result: the timed read of a cell does not depend on the previous
conversion's input (between reads the read supply idles at the source reference and the match line is
held low, which resets the cell); the encoder's own threshold is not part of the timed bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from memspice.characterize.adc.options import RunOptions
from memspice.characterize.adc.programming import Programming, WriteVerify
from memspice.extract import adc as ex
from memspice.netlist import qcell_tran as nqt
from memspice.spec.adc import AdcSpec
from memspice.spec.device import DeviceCard

FIRST_HALF_WIDTH_LSB = 2.5  # the first timed read's search window around the DC bounds (LSB)
WIDE_HALF_WIDTH_LSB = 6.0  # the re-read of a window read closed from saturated readings (LSB)
MAX_TIMED_READS = 16  # timed reads at most (each a 50-conversion transient of the array: ~20 s CPU at 5 bits)


def _crossing(v: np.ndarray, y: np.ndarray, level: float, rising: bool) -> float:
    """First input at which ``y`` crosses ``level`` (falling if not ``rising``), linearly interpolated.

    No crossing inside the window: one step beyond the end of the window on the side the output
    says the bound lies (so write-verify moves towards it and the next read searches there). A lower
    bound (output falling, ``rising`` False) lies below the window if the cell already matches at
    its start (output low), otherwise above it; an upper bound (output rising) lies above the window
    if the cell still matches at its end, otherwise below it."""
    above = y > level
    idx = np.nonzero(above[1:] != above[:-1])[0]
    idx = [i for i in idx if above[i + 1] == rising]
    if not idx:
        step = float(v[1] - v[0])
        matched_at = not above[-1] if rising else not above[0]
        below = (not matched_at) if rising else matched_at
        return float(v[0] - step) if below else float(v[-1] + step)
    i = idx[0]
    return float(v[i] + (level - y[i]) * (v[i + 1] - v[i]) / (y[i + 1] - y[i]))


def timed_bounds(spec: AdcSpec, card: DeviceCard, g_lower_s, g_upper_s, lower_v: np.ndarray, upper_v: np.ndarray,
                 opts: RunOptions = RunOptions(), half_width_lsb: float = 1.2,
                 step_lsb: float = 0.1, delvto_v: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every cell's (lower, upper) bounds (V) read in the conversion timing, searched within
    ``half_width_lsb`` of ``lower_v``/``upper_v`` (V, e.g. the DC bounds) in steps of ``step_lsb`` (the
    crossing is interpolated between steps); NaN where a cell has no such bound (NaN guess); a bound
    outside the window reads as one step beyond its end. The cells are ``len(g_lower_s)`` slots (the
    spec's array, or cells of several chips), ``delvto_v`` (V, slots x 9) their threshold shifts."""
    lsb, step = spec.lsb_v, step_lsb * spec.lsb_v
    offs = np.arange(-half_width_lsb * lsb, half_width_lsb * lsb + step / 2, step)
    m = offs.size
    centre = 0.5 * (spec.input_lo_v + spec.input_hi_v)
    lo_c = np.where(np.isfinite(lower_v), lower_v, centre)
    up_c = np.where(np.isfinite(upper_v), upper_v, centre)
    inputs = np.concatenate([lo_c[None, :] + offs[:, None], up_c[None, :] + offs[:, None]], axis=0)
    plot = opts.sim(nqt.cells_timed_deck(spec, card, g_lower_s, g_upper_s, inputs, delvto_v))[0]
    t = plot["time"]
    tm = spec.timing
    t_sample = nqt.read_times_s(spec, 2 * m) + tm.read_s - tm.edge_s
    half = spec.cell.vdd_v / 2
    slots = len(lower_v)
    lower = np.full(slots, np.nan)
    upper = np.full(slots, np.nan)
    for k in range(slots):
        y = np.interp(t_sample, t, plot[f"v(out{k})"])
        if np.isfinite(lower_v[k]):  # out falls (the cell starts to match) as the input rises past the lower bound
            lower[k] = _crossing(inputs[:m, k], y[:m], half, rising=False)
        if np.isfinite(upper_v[k]):
            upper[k] = _crossing(inputs[m:, k], y[m:], half, rising=True)
    return lower, upper


def read_in_timing(spec: AdcSpec, card: DeviceCard, g_lower_s, g_upper_s, guess_lo: np.ndarray,
                   guess_up: np.ndarray, has: np.ndarray, opts: RunOptions, half_width_lsb: float,
                   delvto_v: np.ndarray | None = None,
                   step_lsb: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One timed verify read of every slot: (lower, upper) bounds (V, NaN where not controlled by ``has``
    (slots, 2) or where the window is closed), ``clamped`` (slots, 2: a saturated reading, the bound lies
    beyond its search window) and ``closed`` (slots,: the cell never matches in the timing).

    A window reads closed when its lower bound reads at or above its upper one. A window that moved
    wholly beyond both search windows reads the same way from two saturated readings (lower one step
    above its window, upper one step below its own), so such a slot is read again over
    +-:data:`WIDE_HALF_WIDTH_LSB` before it is taken for closed (the DC verify's re-read rule,
    :func:`~memspice.characterize.adc.verify.reread_margin`). ``step_lsb``: the input step of the read
    (the wide re-read steps by 0.1 LSB)."""
    lsb = spec.lsb_v

    def read(idx, half, step):
        kw = {} if delvto_v is None else {"delvto_v": np.asarray(delvto_v)[idx]}
        lo, up = timed_bounds(spec, card, np.asarray(g_lower_s)[idx], np.asarray(g_upper_s)[idx], guess_lo[idx],
                              guess_up[idx], opts, half_width_lsb=half, step_lsb=step, **kw)
        lo, up = np.where(has[idx, 0], lo, np.nan), np.where(has[idx, 1], up, np.nan)
        clamped = np.stack([np.abs(lo - guess_lo[idx]) > half * lsb, np.abs(up - guess_up[idx]) > half * lsb], axis=1)
        clamped &= np.isfinite(np.stack([lo, up], axis=1))
        closed = np.isfinite(lo) & np.isfinite(up) & (lo >= up)
        return lo, up, clamped, closed

    every = np.arange(len(guess_lo))
    lo, up, clamped, closed = read(every, half_width_lsb, step_lsb)
    again = closed & clamped.any(axis=1)
    if again.any() and half_width_lsb < WIDE_HALF_WIDTH_LSB:
        idx = np.nonzero(again)[0]
        lo[idx], up[idx], clamped[idx], closed[idx] = read(idx, WIDE_HALF_WIDTH_LSB, 0.1)
    lo, up = np.where(closed, np.nan, lo), np.where(closed, np.nan, up)
    clamped &= ~closed[:, None]
    return lo, up, clamped, closed


@dataclass
class TimedProgramming:
    """Write-verify closed on bounds read in the conversion timing."""

    prog: Programming
    lower_v: np.ndarray  # timed bounds (V) per cell
    upper_v: np.ndarray
    dominant_v: np.ndarray  # the converter's boundaries (V): the dominant timed bound of each
    targets_v: np.ndarray
    rounds: int
    history_lsb: list[float]  # worst timed boundary error per timed read (``rounds``: the reads taken)

    @property
    def error_lsb(self) -> np.ndarray:
        return (self.dominant_v - self.targets_v) / self._lsb

    _lsb: float = 1.0


def dominant_of(prog: Programming, lower_v: np.ndarray, upper_v: np.ndarray) -> np.ndarray:
    out = []
    for i in range(1, len(prog.g_lower_s)):
        cell, side = prog.plan.dominant_cell(i)
        out.append((lower_v if side == "lower" else upper_v)[cell])
    return np.array(out)


def program_in_timing(spec: AdcSpec, card: DeviceCard, pmap: ex.ProgrammingMap, prog: Programming,
                      opts: RunOptions = RunOptions(), max_reads: int | None = None,
                      log: Callable[[str], None] | None = None) -> TimedProgramming:
    """Write-verify whose verify is the timed read: continue from ``prog`` (DC-verified) until every
    dominant bound read in the spec's conversion timing is on target (:class:`WriteVerify`'s own stopping
    rule, within ``program_aim_lsb``), at most ``max_reads`` timed reads (default :data:`MAX_TIMED_READS`,
    or ``program_max_iter`` if smaller; 8 reads at 5 bits for the 0.45 ns point of docs/adc.md 5d).

    The first read searches +-:data:`FIRST_HALF_WIDTH_LSB` around the DC bounds (the timing moves them by
    up to ~2 LSB at 5 bits); later reads +-1.2 LSB around the targets, a bound outside that window read as
    one step beyond it (a saturated reading: it steers the step but does not teach the Jacobian). A cell
    that never matches in the timing (its lower bound read at or above its upper one) is a closed window,
    read as absent, so the controller steps back from the write that closed it, as in the DC loop.

    Why not the DC loop with moved aims (the earlier method): at 5 bits in the precharge timing the
    lower bounds read 0.1-1.3 LSB (0.6 ns read) and 0.2-2.1 LSB (0.45 ns) below their DC values, upper
    bounds within +-0.5 LSB, growing towards the top of the range (measured, docs/adc.md 5d); the DC
    windows that would put them on target are closed or so narrow that the DC verify cannot read them,
    and the DC loop never converged there."""
    say = log or (lambda s: None)
    targets = prog.plan.targets_v
    lsb = spec.lsb_v
    wv = WriteVerify(spec, card, pmap, targets, start_s=np.stack([prog.g_lower_s, prog.g_upper_s], axis=1))
    guess_lo = np.asarray(prog.lower_v, dtype=float)
    guess_up = np.asarray(prog.upper_v, dtype=float)
    half = FIRST_HALF_WIDTH_LSB
    history: list[float] = []
    reads = max_reads or min(MAX_TIMED_READS, spec.program_max_iter)
    for it in range(1, reads + 1):
        lo, up, clamped, closed = read_in_timing(spec, card, wv.x[:, 0], wv.x[:, 1], guess_lo, guess_up, wv.has,
                                                 opts, half)
        done = wv.update(it, lo, up, clamped=clamped)
        dom = dominant_of(wv.prog, lo, up)
        err = dom - targets
        worst = float(np.max(np.abs(err))) / lsb if np.all(np.isfinite(err)) else float("inf")
        history.append(worst)
        say(f"write-verify in {spec.timing.scheme} timing, read {it}: worst boundary error {worst:.3f} LSB"
            + (f" ({int(closed.sum())} window(s) closed in the timing)" if closed.any() else ""))
        if done:
            break
        half = 1.2
        guess_lo = np.where(np.isfinite(wv.tgt[:, 0]), wv.tgt[:, 0], guess_lo)
        guess_up = np.where(np.isfinite(wv.tgt[:, 1]), wv.tgt[:, 1], guess_up)
    out = wv.prog  # the conductances the last read was taken with
    out.iterations += prog.iterations
    out.history_lsb = list(prog.history_lsb) + out.history_lsb
    return TimedProgramming(prog=out, lower_v=lo, upper_v=up, dominant_v=dom, targets_v=targets, rounds=it,
                            history_lsb=history, _lsb=lsb)
