"""Closed-loop chips in the precharge timing: each chip write-verified by its timed read, then read in it.

A precharge-scheme converter captures its code a fixed time after the match line's precharge, so a
bound is where the match line has (or has not) discharged by then: at 5 bits the timing moves the
bounds by up to ~2 LSB from their DC values (docs/adc.md 5b). A real chip is programmed after
fabrication and read in the timing it was programmed in, so a precharge chip's write-verify reads its
cells in that timing (:func:`~memspice.characterize.adc.timed.read_in_timing`, with the chip's own
threshold shifts), and its transfer is read in the same timing. Per chip, in the order of
:mod:`~memspice.characterize.adc.chips` (the same draws, so sample k is the same fabricated chip):

1. **Fabrication**: Pelgrom ``delvto`` of every transistor and the first write of every memristor (the
   nominal *timed* programming plus the card's programming error).
2. **Write-verify in the timing** (:class:`~memspice.characterize.adc.programming.ChipWriteVerify`, the
   DC chips' controller: band ``mc.band_v``, only bounds outside tolerance rewritten, each rewrite a
   device-level write-verify of a fresh draw): the verify is a timed read of the cells being programmed,
   the first (a locate) +-5 LSB around the nominal chip's timed bounds in 0.25 LSB steps (a first write
   lands ~2 LSB off at 5 bits: the open loop's boundary sigma), later ones +-1.2 LSB in 0.1 LSB steps around
   the controller's targets (a bound beyond its window is a saturated reading; a window read closed from
   saturated readings is read again wider before it is taken for closed). At most ``mc.max_iter`` reads.
3. **Use**: read noise, drift and the pull-up shift as for DC chips, then every cell's bounds read in the
   timing; the converter's transfer on the DC sweep's input grid is the cells' windows read there (cell k
   matches for lower_k <= v < upper_k: the encoder takes the one-hot match), its code-density transitions
   the boundaries (the measurements of :class:`~memspice.characterize.adc.montecarlo.QcellAdcCircuit`).

Batched per chunk as the DC chips are: every read of a chunk is ONE transient whose cells are slots, each
holding one cell of one chip (its conductances, threshold shifts and own input), and it holds only the
cells being programmed. Unlike the DC path's alter decks, each read is a fresh deck (its inputs and
conductances are cards): a transient costs per cell, so nothing is gained by parsing once.
Assumption (as the nominal timed verify, :mod:`~memspice.characterize.adc.timed`): a cell's timed read
does not depend on the previous conversion; the encoder's own threshold is not part of the bound.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from memspice.characterize.adc.chips import CLOSED_LOOP_BY_SCHEME, ClosedLoopAdcCircuit
from memspice.characterize.adc.montecarlo import code_measures
from memspice.characterize.adc.options import RunOptions
from memspice.characterize.adc.programming import Programming
from memspice.characterize.adc.timed import read_in_timing
from memspice.extract import adc as ex
from memspice.netlist import qcell as nq
from memspice.spec.adc import AdcSpec
from memspice.spec.device import DeviceCard

CHIP_FIRST_HALF_WIDTH_LSB = 5.0  # a chip's first read: +- this around the nominal chip's timed bounds ...
CHIP_FIRST_STEP_LSB = 0.25  # ... in steps of this (a locate: the later reads step by 0.1 LSB)
LATER_HALF_WIDTH_LSB = 1.2  # reads after the first (and the use read): +- this around the expected bounds
DECK_TIMEOUT_S = 4 * 3600.0  # hang guard of one timed read (wall s); see TimedClosedLoopAdcCircuit.deck_timeout_s

# (slots' g_lower, g_upper (S), guess lower, guess upper (V), has (slots, 2), half width (LSB), delvto (slots, 9))
#   -> (lower, upper, clamped, closed), as read_in_timing
Reader = Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


class TimedClosedLoopAdcCircuit(ClosedLoopAdcCircuit):
    """:class:`ClosedLoopAdcCircuit` whose chips are verified and read in the spec's (precharge) timing
    (see the module docstring). ``g_lower_s``/``g_upper_s``: the nominal programming verified in the
    timing (each chip's first write requests them); ``lower_v``/``upper_v``: its timed bounds (V, the first
    read's centres; NaN: the targets)."""

    kind = "qcell_adc_closed_timed"
    # The engine's per-sample time limit (120 s x chunk) is sized for DC verify sweeps; one timed read of a
    # chunk is a transient of up to chunk x 2^bits cells over ~80 conversions (at 5 bits, 4 chips, minutes of
    # CPU, and wall time grows with the machine's load: 2 chips' first read exceeded 240 s at load 9), so
    # the reads use this hang guard instead (chip_monte_carlo sets it to opts.timeout_s when that is longer).
    deck_timeout_s: float = DECK_TIMEOUT_S

    def __init__(self, spec: AdcSpec, g_lower_s, g_upper_s, card: DeviceCard, pmap: ex.ProgrammingMap,
                 lower_v=None, upper_v=None):
        super().__init__(spec, g_lower_s, g_upper_s, card, pmap)
        n = spec.n_cells
        self.lower_v = np.full(n, np.nan) if lower_v is None else np.asarray(lower_v, dtype=float)
        self.upper_v = np.full(n, np.nan) if upper_v is None else np.asarray(upper_v, dtype=float)

    @classmethod
    def from_programming(cls, spec: AdcSpec, card: DeviceCard, prog: Programming) -> TimedClosedLoopAdcCircuit:
        base = ClosedLoopAdcCircuit.from_programming(spec, card, prog)
        return cls(spec, prog.g_lower_s, prog.g_upper_s, card, base.pmap, prog.lower_v, prog.upper_v)

    def reader(self, backend: str, timeout_s: float, spec: AdcSpec | None = None) -> Reader:
        """The timed read through ngspice of ``spec`` (default the circuit's)."""
        opts = RunOptions(backend=backend, show_progress=False, timeout_s=timeout_s)
        spec = spec or self.spec

        def read(gl, gu, glo, gup, has, half, dv, step=0.1):
            return read_in_timing(spec, self.card, gl, gu, glo, gup, has, opts, half, dv, step_lsb=step)

        return read

    def run_values(self, values: Mapping[str, np.ndarray], *, backend: str = "subprocess",
                   timeout_s: float = 600.0, read: Reader | None = None) -> list[dict[str, float]]:
        """Program every chip of ``values`` by write-verify in the timing, then read it as used in the timing;
        one dict of measurements per chip (the engine's ``run_values`` hook). ``read``: the timed reader
        (default: ngspice, :func:`~memspice.characterize.adc.timed.read_in_timing`; tests pass a synthetic cell)."""
        spec, mc = self.spec, self.spec.mc
        n = spec.n_cells
        use_read = read
        timeout_s = max(timeout_s, self.deck_timeout_s)
        read = read or self.reader(backend, timeout_s)
        one, dv, first, noise, sig, ctl = self.start_chips(values)
        m = len(one)
        x = first.copy()
        bounds = np.full((m, n, 2), np.nan)
        clamped = np.zeros((m, n, 2), bool)
        nominal = np.stack([self.lower_v, self.upper_v], axis=1)
        guess = np.stack([np.where(np.isfinite(nominal), nominal, w.tgt) for w in ctl])  # (m, n, 2)
        iters = np.zeros(m, int)
        done = np.zeros(m, bool)
        todo = {c: ctl[c].has.any(axis=1) for c in range(m)}  # not cell 0 (written once, never read)
        for it in range(1, mc.max_iter + 1):
            cs, ks = _slots(todo)
            has = np.stack([ctl[c].has[k] for c, k in zip(cs, ks, strict=True)])
            half, step = (CHIP_FIRST_HALF_WIDTH_LSB, CHIP_FIRST_STEP_LSB) if it == 1 else (LATER_HALF_WIDTH_LSB, 0.1)
            lo, up, cl, _ = read(x[cs, ks, 0], x[cs, ks, 1], guess[cs, ks, 0], guess[cs, ks, 1], has, half, dv[cs, ks],
                                 step)
            bounds[cs, ks] = np.stack([lo, up], axis=1)
            clamped[cs, ks] = cl
            nxt = {}
            for c in todo:
                iters[c] = it
                if ctl[c].update(it, bounds[c, :, 0].copy(), bounds[c, :, 1].copy(), clamped=clamped[c]):
                    done[c] = True
                    continue
                if it == mc.max_iter:
                    continue
                rewritten = self.rewrite(ctl[c], x[c], noise[c, it - 1], sig)
                if rewritten.any():
                    nxt[c] = rewritten.any(axis=1)
                guess[c] = np.where(np.isfinite(ctl[c].tgt), ctl[c].tgt, guess[c])
            todo = nxt
            if not todo:
                break
        # use: read noise, drift and the pull-up shift (nothing programming can see), every cell read in the timing
        g0, g1 = self.window
        use = np.stack([np.stack([np.clip(x[c, :, j] + one[c].get(f"drift_{side}", 0.0)
                                          + one[c].get(f"dg_read_{side}", 0.0), g0, g1)
                                  for j, side in enumerate(("lower", "upper"))], axis=1) for c in range(m)])
        if use_read is None and mc.v_pu_shift_v:
            read = self.reader(backend, timeout_s,
                               spec.with_overrides({"cell.v_pu_v": spec.cell.v_pu_v + mc.v_pu_shift_v}))
        self.programmed_s, self.used_s = x.copy(), use  # the last chunk's chips (S, chips x cells x 2): for checks
        cs, ks = _slots({c: np.ones(n, bool) for c in range(m)})
        has = np.stack([ctl[c].has[k] for c, k in zip(cs, ks, strict=True)])
        centre = np.where(np.isfinite(bounds), bounds, np.stack([w.tgt for w in ctl]))
        lo, up, _, closed = read(use[cs, ks, 0], use[cs, ks, 1], centre[cs, ks, 0], centre[cs, ks, 1], has,
                                 LATER_HALF_WIDTH_LSB, dv[cs, ks])
        results = []
        for c in range(m):
            sel = cs == c
            meas = self.measure_bounds(lo[sel], up[sel], closed[sel])
            meas.update(self.closed_measures(ctl[c], done[c], x[c], iters[c]))
            results.append(meas)
        return results

    def measure_bounds(self, lower_v: np.ndarray, upper_v: np.ndarray, closed: np.ndarray) -> dict[str, float]:
        """The measurements of :meth:`QcellAdcCircuit.measure` from cell windows read in the timing: on the DC
        sweep's input grid cell k matches for lower_k <= v < upper_k (an uncontrolled bound, NaN, is open
        on its side; a closed window matches nowhere)."""
        spec = self.spec
        start, stop, step = nq.sweep_range_v(spec)
        v = start + step * np.arange(round((stop - start) / step) + 1)
        lo = np.where(np.isfinite(lower_v), lower_v, -np.inf)
        up = np.where(np.isfinite(upper_v), upper_v, np.inf)
        match = (v[:, None] >= lo[None, :]) & (v[:, None] < up[None, :]) & ~np.asarray(closed, bool)[None, :]
        return code_measures(spec, v, ex.codes_from_match(match), self.targets_v)


def _slots(todo: Mapping[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(chip, cell) of every slot of a read: the cells ``todo[chip]`` (bool per cell) of every chip."""
    pairs = [(c, int(k)) for c, cells in todo.items() for k in np.nonzero(cells)[0]]
    return np.array([p[0] for p in pairs], int), np.array([p[1] for p in pairs], int)


CLOSED_LOOP_BY_SCHEME["precharge"] = TimedClosedLoopAdcCircuit
