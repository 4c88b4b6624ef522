"""Write-verify in the conversion timing (issue 12): bounds read as the converter reads them.

The DC sweeps of :func:`~memspice.characterize.adc.programming.measure_cells` give a cell's bounds in
its read *state*; in the precharge scheme the code is captured a fixed time after the precharge ends,
so a bound is where the match line has (or has not) discharged by then, which moved the boundaries by
up to 1 LSB from the DC ones in a scratch study. A chip is verified through its own read, so:

- :func:`timed_bounds` reads every cell's bounds in transients in the spec's scheme and timing
  (:func:`memspice.netlist.qcell_tran.cells_timed_deck`): each cell steps its own input across its lower
  bound, then its upper bound, by 0.1 LSB over +-1.2 LSB; the output sampled at the end of each read,
  linearly interpolated at VDD/2 between neighbouring inputs, gives the bound. The cells are read in
  decks of a few and the grid a few inputs at a time, a cell leaving once both bounds are found (session
  9: the same bounds to 1e-5 V for 0.41 of the CPU of one deck of 64 cells, scripts/bench_timed_read.py).
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
WIDE_HALF_WIDTH_LSB = 6.0  # the re-read of a window read closed from saturated readings (LSB) ...
WIDE_STEP_LSB = 0.25  # ... in steps of this (a locate: a window it finds open is read again on the fine grid)
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


CHUNK_POINTS = 5  # grid inputs per side and slot in each transient of the chunked read (timed_bounds)
# slots per transient (timed_bounds): a transient's cost grows faster than its slot count. Measured (session 9,
# 5 bits, 0.45 ns precharge read, 64 slots x 50 conversions, CPU incl. ngspice): one deck of 64 139 s,
# 2 x 32 81 s, 4 x 16 73 s, 8 x 8 66 s, 16 x 4 65 s (scripts/bench_timed_read.py)
SLOTS_PER_DECK = 8


def timed_bounds(spec: AdcSpec, card: DeviceCard, g_lower_s, g_upper_s, lower_v: np.ndarray, upper_v: np.ndarray,
                 opts: RunOptions = RunOptions(), half_width_lsb: float = 1.2,
                 step_lsb: float = 0.1, delvto_v: np.ndarray | None = None,
                 chunk_points: int | None = CHUNK_POINTS,
                 slots_per_deck: int | None = SLOTS_PER_DECK) -> tuple[np.ndarray, np.ndarray]:
    """Every cell's (lower, upper) bounds (V) read in the conversion timing, searched within
    ``half_width_lsb`` of ``lower_v``/``upper_v`` (V, e.g. the DC bounds) on a grid of ``step_lsb``: each
    cell steps its own input up the grid across its lower bound, then across its upper bound, and the
    first crossing of VDD/2 in the bound's direction is interpolated between the two grid inputs that
    straddle it (:func:`_crossing`); NaN where a cell has no such bound (NaN guess); a bound outside the
    window reads as one step beyond its end. The cells are ``len(g_lower_s)`` slots (the spec's array, or
    cells of several chips), ``delvto_v`` (V, slots x 9) their threshold shifts.

    ``chunk_points`` (default :data:`CHUNK_POINTS`): the grid is converted in transients of this many inputs
    per side, and a slot leaves the next transient once both of its crossings are found (a transient costs
    per slot and conversion, and a bound near the window's centre is found half-way up the grid); None
    converts the whole grid in one transient (2 x grid conversions per slot: 50 at +-1.2 LSB in 0.1 LSB
    steps). ``slots_per_deck`` (default :data:`SLOTS_PER_DECK`): the slots of a transient are split into
    decks of at most this many (None: one deck); the cells do not interact, and a transient's CPU time grows
    faster than its slot count (its time steps follow every slot's edges). Every variant reads every slot's
    inputs in the same order and applies the same first-crossing rule to the same grid, so they give the
    same bounds up to the transient's time steps and history (the assumption below: a read does not depend
    on the previous conversion; tests/sim/test_qcell_precharge.py measures the difference)."""
    lsb, step = spec.lsb_v, step_lsb * spec.lsb_v
    offs = np.arange(-half_width_lsb * lsb, half_width_lsb * lsb + step / 2, step)
    m = offs.size
    centre = 0.5 * (spec.input_lo_v + spec.input_hi_v)
    lo_c = np.where(np.isfinite(lower_v), lower_v, centre)
    up_c = np.where(np.isfinite(upper_v), upper_v, centre)
    grid = np.stack([lo_c[None, :] + offs[:, None], up_c[None, :] + offs[:, None]])  # (side, grid, slots)
    has = np.stack([np.isfinite(lower_v), np.isfinite(upper_v)])  # (side, slots)
    g_lower_s, g_upper_s = np.asarray(g_lower_s, dtype=float), np.asarray(g_upper_s, dtype=float)
    dv = None if delvto_v is None else np.asarray(delvto_v, dtype=float)

    t_sample = nqt.read_times_s(spec, 2 * m) + spec.timing.read_s - spec.timing.edge_s
    per_deck = max(1, int(slots_per_deck or len(lower_v)))

    def convert(inputs: np.ndarray, live: np.ndarray) -> np.ndarray:
        """Outputs (V, conversions x live slots) at the end of each read of ``inputs`` by the ``live`` slots,
        ``per_deck`` slots per transient."""
        out = []
        ts = t_sample[:len(inputs)]
        for a in range(0, len(live), per_deck):
            part = live[a:a + per_deck]
            deck = nqt.cells_timed_deck(spec, card, g_lower_s[part], g_upper_s[part], inputs[:, a:a + per_deck],
                                        None if dv is None else dv[part])
            plot = opts.sim(deck)[0]
            out += [np.interp(ts, plot["time"], plot[f"v(out{j})"]) for j in range(len(part))]
        return np.stack(out, axis=1)

    return _scan(grid, has, spec.cell.vdd_v / 2, convert, m if chunk_points is None else chunk_points)


def _scan(grid: np.ndarray, has: np.ndarray, level: float, convert: Callable[[np.ndarray, np.ndarray], np.ndarray],
          chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`timed_bounds`'s search: every slot steps up its input grid (``grid``: side x points x slots; side
    0 the lower bound, where the output falls past ``level``, side 1 the upper, where it rises) ``chunk``
    points per side per call of ``convert(inputs (conversions x live slots), live slot indices)``, lower
    side first; a side is done at its first crossing (or at the grid's end) and a slot leaves the calls once
    both of its sides are (a side it does not control, ``has`` False, is done from the start). Returns the
    (lower, upper) bounds by :func:`_crossing` on what each side read: the same first crossing a read of
    the whole grid finds."""
    _, m, slots = grid.shape
    chunk = max(1, int(chunk))
    ys = np.full((2, m, slots), np.nan)  # outputs read so far (V), side x grid x slot
    nxt = np.zeros((2, slots), int)  # next grid index of each side and slot
    done = ~has
    rising = (False, True)
    while not done.all():
        live = np.nonzero(~done.all(axis=0))[0]
        idx = np.minimum(nxt[:, None, live] + np.arange(chunk)[None, :, None], m - 1)  # (side, chunk, live)
        y = convert(np.concatenate([grid[s][idx[s], live] for s in (0, 1)], axis=0), live)
        for s in (0, 1):
            for j, k in enumerate(live):
                if done[s, k]:
                    continue  # (its inputs in this call repeat grid points; their readings are not used)
                stop = min(nxt[s, k] + chunk, m)
                ys[s, nxt[s, k]:stop, k] = y[s * chunk:s * chunk + stop - nxt[s, k], j]
                nxt[s, k] = stop
                above = ys[s, :stop, k] > level
                crossed = (~above[:-1] & above[1:]) if rising[s] else (above[:-1] & ~above[1:])
                done[s, k] = bool(crossed.any()) or stop == m
    out = np.full((2, slots), np.nan)
    for s in (0, 1):
        for k in np.nonzero(has[s])[0]:
            n = nxt[s, k]  # n < m: the crossing was found early; _crossing finds the same first one in the prefix
            out[s, k] = _crossing(grid[s, :n, k], ys[s, :n, k], level, rising=rising[s])
    return out[0], out[1]


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
    :func:`~memspice.characterize.adc.verify.reread_margin`). The wide re-read is a locate, in
    :data:`WIDE_STEP_LSB` steps (session 9: in 0.1 LSB steps it was 242 conversions per window that stays
    closed, 41 % of a chip's read CPU); a window it finds open is read once more over +-``half_width_lsb``
    in ``step_lsb`` steps around what it found, so the bounds a controller accepts are always read on the
    fine grid. ``step_lsb``: the input step of the read."""
    lsb = spec.lsb_v
    # a bound the controller does not control (``has`` False: cell 0's, written once) is not read at all: a NaN
    # guess keeps its side out of every transient (timed_bounds), so a slot with neither side controlled is in
    # no transient, and a slot's uncontrolled side reads NaN and is never used
    has = np.asarray(has, bool)
    guess_lo = np.where(has[:, 0], np.asarray(guess_lo, dtype=float), np.nan)
    guess_up = np.where(has[:, 1], np.asarray(guess_up, dtype=float), np.nan)

    def read(idx, half, step, glo=guess_lo, gup=guess_up):
        kw = {} if delvto_v is None else {"delvto_v": np.asarray(delvto_v)[idx]}
        lo, up = timed_bounds(spec, card, np.asarray(g_lower_s)[idx], np.asarray(g_upper_s)[idx], glo[idx],
                              gup[idx], opts, half_width_lsb=half, step_lsb=step, **kw)
        lo, up = np.where(has[idx, 0], lo, np.nan), np.where(has[idx, 1], up, np.nan)
        clamped = np.stack([np.abs(lo - glo[idx]) > half * lsb, np.abs(up - gup[idx]) > half * lsb], axis=1)
        clamped &= np.isfinite(np.stack([lo, up], axis=1))
        closed = np.isfinite(lo) & np.isfinite(up) & (lo >= up)
        return lo, up, clamped, closed

    every = np.arange(len(guess_lo))
    lo, up, clamped, closed = read(every, half_width_lsb, step_lsb)
    again = closed & clamped.any(axis=1)
    if again.any() and half_width_lsb < WIDE_HALF_WIDTH_LSB:
        idx = np.nonzero(again)[0]
        lo[idx], up[idx], clamped[idx], closed[idx] = read(idx, WIDE_HALF_WIDTH_LSB, WIDE_STEP_LSB)
        found = idx[~closed[idx]]  # open after all: its bounds read again on the fine grid around the locate's
        if found.size:
            glo = np.where(np.isfinite(lo), lo, guess_lo)
            gup = np.where(np.isfinite(up), up, guess_up)
            lo[found], up[found], clamped[found], closed[found] = read(found, half_width_lsb, step_lsb, glo, gup)
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
