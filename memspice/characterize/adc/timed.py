"""Write-verify in the conversion timing (issue 12): bounds read as the converter reads them.

The DC sweeps of :func:`~memspice.characterize.adc.programming.measure_cells` give a cell's bounds in
its read *state*; in the precharge scheme the code is captured a fixed time after the precharge ends,
so a bound is where the match line has (or has not) discharged by then, which moved the boundaries by
up to 1 LSB from the DC ones in a scratch study. A chip is verified through its own read, so:

- :func:`timed_bounds` reads every cell's bounds in one transient in the spec's scheme and timing
  (:func:`memspice.netlist.qcell.cells_timed_deck`): each cell steps its own input across its lower
  bound, then its upper bound, by 0.1 LSB over +-1.2 LSB; the output sampled at the end of each read,
  linearly interpolated at VDD/2 between neighbouring inputs, gives the bound.
- :func:`program_in_timing` closes write-verify on those timed bounds: the DC write-verify loop stays the
  inner loop (fast), and each outer round moves its aim by the timed error of every dominant bound (the
  same mechanism the static flow uses for the encoder's offset), until the timed bounds are within
  ``program_tol_lsb``.

Assumption stated with the result: the timed read of a cell does not depend on the previous
conversion's input (between reads the read supply idles at the source reference and the match line is
held low, which resets the cell); the encoder's own threshold is not part of the timed bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from memspice.characterize.adc.options import RunOptions
from memspice.characterize.adc.programming import Programming
from memspice.characterize.adc.verify import program
from memspice.extract import adc as ex
from memspice.netlist import qcell_tran as nqt
from memspice.spec.adc import AdcSpec
from memspice.spec.device import DeviceCard


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
                 step_lsb: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Every cell's (lower, upper) bounds (V) read in the conversion timing, searched within
    ``half_width_lsb`` of ``lower_v``/``upper_v`` (V, e.g. the DC bounds) in steps of ``step_lsb`` (the
    crossing is interpolated between steps); NaN where a cell has no such bound (NaN guess); a bound
    outside the window reads as one step beyond its end."""
    lsb, step = spec.lsb_v, step_lsb * spec.lsb_v
    offs = np.arange(-half_width_lsb * lsb, half_width_lsb * lsb + step / 2, step)
    m = offs.size
    centre = 0.5 * (spec.input_lo_v + spec.input_hi_v)
    lo_c = np.where(np.isfinite(lower_v), lower_v, centre)
    up_c = np.where(np.isfinite(upper_v), upper_v, centre)
    inputs = np.concatenate([lo_c[None, :] + offs[:, None], up_c[None, :] + offs[:, None]], axis=0)
    plot = opts.sim(nqt.cells_timed_deck(spec, card, g_lower_s, g_upper_s, inputs))[0]
    t = plot["time"]
    tm = spec.timing
    t_sample = nqt.read_times_s(spec, 2 * m) + tm.read_s - tm.edge_s
    half = spec.cell.vdd_v / 2
    lower = np.full(spec.n_cells, np.nan)
    upper = np.full(spec.n_cells, np.nan)
    for k in range(spec.n_cells):
        y = np.interp(t_sample, t, plot[f"v(out{k})"])
        if np.isfinite(lower_v[k]):  # out falls (the cell starts to match) as the input rises past the lower bound
            lower[k] = _crossing(inputs[:m, k], y[:m], half, rising=False)
        if np.isfinite(upper_v[k]):
            upper[k] = _crossing(inputs[m:, k], y[m:], half, rising=True)
    return lower, upper


@dataclass
class TimedProgramming:
    """Write-verify closed on bounds read in the conversion timing."""

    prog: Programming
    lower_v: np.ndarray  # timed bounds (V) per cell
    upper_v: np.ndarray
    dominant_v: np.ndarray  # the converter's boundaries (V): the dominant timed bound of each
    targets_v: np.ndarray
    rounds: int
    history_lsb: list[float]  # worst timed boundary error per round

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
                      opts: RunOptions = RunOptions(), max_rounds: int = 4,
                      log: Callable[[str], None] | None = None) -> TimedProgramming:
    """Continue write-verify from ``prog`` (DC-verified) until the bounds read in the spec's conversion
    timing are within ``program_tol_lsb`` of target (at most ``max_rounds`` timed reads)."""
    say = log or (lambda s: None)
    targets = prog.plan.targets_v
    lsb = spec.lsb_v
    offsets = np.zeros(spec.n_cells - 1)
    history: list[float] = []
    shift_lo = np.zeros(spec.n_cells)  # timed minus DC bound of the last round: where to search next
    shift_up = np.zeros(spec.n_cells)
    for rnd in range(1, max_rounds + 1):
        lo, up = timed_bounds(spec, card, prog.g_lower_s, prog.g_upper_s, prog.lower_v + shift_lo,
                              prog.upper_v + shift_up, opts)
        shift_lo = np.where(np.isfinite(lo - prog.lower_v), lo - prog.lower_v, shift_lo)
        shift_up = np.where(np.isfinite(up - prog.upper_v), up - prog.upper_v, shift_up)
        dom = dominant_of(prog, lo, up)
        err = dom - targets
        worst = float(np.max(np.abs(err))) / lsb if np.all(np.isfinite(err)) else float("inf")
        history.append(worst)
        say(f"write-verify in {spec.timing.scheme} timing, round {rnd}: worst boundary error {worst:.3f} LSB")
        if worst <= spec.program_tol_lsb or rnd == max_rounds:
            break
        err = np.where(np.isfinite(err), err, 0.0)
        offsets = offsets + np.where(np.abs(err) > spec.program_aim_lsb * lsb, err, 0.0)
        done, hist = prog.iterations, prog.history_lsb
        prog = program(spec, card, pmap, targets, opts, log=say, start=prog, offsets_v=offsets)
        prog.history_lsb = hist + prog.history_lsb
        prog.iterations += done
    return TimedProgramming(prog=prog, lower_v=lo, upper_v=up, dominant_v=dom, targets_v=targets, rounds=rnd,
                            history_lsb=history, _lsb=lsb)
