"""The verify read of closed-loop chips: the cells of every chip of a chunk that are being programmed,
read in one deck per pass (:meth:`ClosedLoopAdcCircuit._verify
<memspice.characterize.adc.chips.ClosedLoopAdcCircuit._verify>`).

What a chip's verify reads: each cell's bounds on the transfer sweep's grid, around its own targets (+-
the spec's margin, at least 1 LSB); a bound beyond that window is read again with the margin doubled;
a cell matching nowhere in it is read over the whole input range +- MAX_SWEEP_MARGIN_LSB before it is
taken for closed (:func:`~memspice.characterize.adc.verify.reread_margin`). This module computes those
readings with fewer simulated points, the same bounds (tests/sim/test_qcell_closed_loop.py: to 1e-5 V,
ngspice's DC convergence along two different sweeps):

- **locate** (a chip's first verify, whose bounds can be anywhere): the whole sweep range at
  LOCATE_STRIDE grid steps. A cell it reads open with every controlled bound inside is then read on
  the fine grid only from the coarse point before its first crossing to the one after its last (the
  fine crossings lie between those points); a cell it reads closed goes straight to the whole-range
  read; any other cell is read around its targets and what the locate saw, as before.
- **whole-range read, coarse then fine**: every coarse_stride-th grid point of the whole range, then the
  fine grid only from the coarse point before the first match to the one after the last; where no
  coarse point matches, the fine grid within one coarse step of the coarse point where the cell's
  match line is highest (or the whole range on the fine grid where the coarse match line rises above
  ML_RISE_V in more than one place: then the premise below does not hold). Why that cannot miss a
  window at least one fine step wide: a cell matches
  where its match line is above its output inverter's switching point (the inverter is driven by the
  match line alone), the match line's superlevel sets above ~0.03 V are intervals (one peak: branch
  A's pull-down falls and branch B's rises with the input; the only other rise, towards the top of
  the range, stays below ~0.03 V; measured, 4-bit chips), and within COARSE_MAX_V / 2 of a peak above
  the switching point (~0.45 V) the match line is still above ~0.14 V. So when no coarse point
  matches, the highest coarse point is one of the two around the peak, and the window - an interval
  around the peak between two coarse points that do not match - lies within one coarse step of it.
  tests/sim/test_qcell_closed_loop.py places windows 1-3 fine steps wide at every position between
  coarse points and reads them as the fine whole-range sweep does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from memspice.characterize.adc.programming import MAX_SWEEP_MARGIN_LSB, WriteVerify, beyond_sweep, edge_matches
from memspice.characterize.adc.verify import reread_margin, window_indices
from memspice.extract import adc as ex
from memspice.netlist import qcell as nq
from memspice.netlist.deck import Analyze, Dc, Step

LOCATE_STRIDE = 8  # grid steps between the locate's points
COARSE_STRIDE = 8  # grid steps between a whole-range read's coarse points, at most ...
COARSE_MAX_V = 0.0125  # ... and at most this far apart (V): see the module docstring
ML_RISE_V = 0.03  # a match line above this is one rise (the peak); two separate rises void the zoom's premise

Run = Callable[[list[Step], int], list]  # (steps, slots) -> plots: the verify deck run with that many slots


@dataclass(frozen=True)
class Read:
    """One cell's next reading, in indices of the transfer sweep's grid (from its start)."""

    first: int
    last: int
    stride: int = 1  # > 1: a coarse read of every stride-th point from first (the whole-range read)
    margin: float = 1.0  # LSB: the window's margin (the re-read rule)
    final: bool = False  # the fine part of a whole-range read: it stands

    @property
    def steps(self) -> int:
        return -(-(self.last - self.first) // self.stride)


def coarse_stride(step_v: float) -> int:
    """Grid steps between the coarse points of a whole-range read with grid step ``step_v`` (V)."""
    return max(1, min(COARSE_STRIDE, int(COARSE_MAX_V / step_v + 1e-9)))


def _single_run(match: np.ndarray) -> tuple[int, int] | None:
    """(first, last) index of the one run of matching points, or None when there are none or several."""
    idx = np.nonzero(match)[0]
    if not idx.size or idx[-1] - idx[0] + 1 != idx.size:
        return None
    return int(idx[0]), int(idx[-1])


def verify_chips(circuit, todo: dict[int, np.ndarray], x: np.ndarray, dv: np.ndarray, wv: Sequence[WriteVerify],
                 bounds: np.ndarray, run: Run, locate: bool, clamped: np.ndarray) -> int:
    """Read the cells ``todo[chip]`` (bool per cell) of every chip and store their bounds (V) in
    ``bounds[chip]`` (cells, 2), saturated readings flagged in ``clamped``; see
    :meth:`ClosedLoopAdcCircuit._verify`. Returns the number of decks run."""
    from memspice.netlist.qcell_verify import offset_alters, slot_alters

    spec, card = circuit.spec, circuit.card
    n, vdd = spec.n_cells, spec.cell.vdd_v
    start0, stop0, step = nq.sweep_range_v(spec)
    stride = coarse_stride(step)
    seen: dict[tuple[int, int], np.ndarray] = {}
    cks = [(c, int(k)) for c, cells in todo.items() for k in np.nonzero(cells)[0]]
    margin0 = max(spec.sweep_margin_lsb, 1.0)

    def window(ck, margin: float) -> Read:
        if margin >= MAX_SWEEP_MARGIN_LSB:  # the whole range: coarse first
            a, b = window_indices(spec, wv[ck[0]].tgt[ck[1]], MAX_SWEEP_MARGIN_LSB)
            return Read(a, b, stride=stride, margin=MAX_SWEEP_MARGIN_LSB) if stride > 1 else \
                Read(a, b, margin=MAX_SWEEP_MARGIN_LSB, final=True)
        tgt = wv[ck[0]].tgt[ck[1]]
        s = seen.get(ck)
        return Read(*window_indices(spec, tgt if s is None else np.concatenate([tgt, s]), margin), margin=margin)

    decks = 0
    reads: dict[tuple[int, int], Read] = {}
    if locate:
        steps: list[Step] = []
        for c in todo:
            steps += [*nq.sample_alters(spec, card, x[c, :, 0], x[c, :, 1], dv[c]), *offset_alters(np.zeros(n)),
                      Analyze(Dc("vin", start0, stop0, LOCATE_STRIDE * step), nq.dc_vectors(spec, encoder=False),
                              label=f"locate{c}")]
        for c, plot in zip(todo, run(steps, n), strict=True):
            out = np.stack([plot[f"v(out{k})"] for k in range(n)], axis=1)
            lower, upper = ex.cell_bounds(plot["v-sweep"], out, vdd)
            for k in np.nonzero(todo[c])[0]:
                ck, has = (c, int(k)), wv[c].has[k]
                seen[ck] = np.where(has, [lower[k], upper[k]], np.nan)
                m = out[:, k] < vdd / 2
                if not m.any():
                    reads[ck] = window(ck, MAX_SWEEP_MARGIN_LSB)
                    continue
                r = _single_run(m)
                inside = r is not None and (not has[0] or r[0] >= 1) and (not has[1] or r[1] <= len(m) - 2)
                if inside and has.any():  # the fine crossings lie between the coarse points around them
                    a = (r[0] - 1) * LOCATE_STRIDE if has[0] else r[1] * LOCATE_STRIDE
                    b = (r[1] + 1) * LOCATE_STRIDE if has[1] else r[0] * LOCATE_STRIDE
                    reads[ck] = Read(a, max(b, a + 1), margin=margin0)
                else:
                    reads[ck] = window(ck, margin0)
        decks += 1
    else:
        reads = {ck: window(ck, margin0) for ck in cks}
    quiet = spec.cell.v_ref_v  # a slot not read: its input from the source reference up, far below any window
    while reads:
        # the deck's cells are slots, each loaded with any chip's cell: a sweep reads up to n cells of one
        # grid step, and the deck holds only as many slots as its fullest sweep reads (groups of even size)
        groups = []
        for s in sorted({r.stride for r in reads.values()}):
            order = sorted((ck for ck, r in reads.items() if r.stride == s), key=lambda ck: (reads[ck].steps, ck))
            per = -(-len(order) // -(-len(order) // n))
            groups += [order[i:i + per] for i in range(0, len(order), per)]
        slots = max(len(g) for g in groups)
        steps = []
        offsets = []
        for group in groups:
            off = np.full(slots, quiet)
            for j, (c, k) in enumerate(group):
                off[j] = start0 + reads[c, k].first * step
                steps += slot_alters(card, j, x[c, k, 0], x[c, k, 1], dv[c, k])
            offsets.append(off)
            s = reads[group[0]].stride
            points = max(reads[ck].steps for ck in group)
            vectors = [f"v(out{j})" for j in range(len(group))]
            if s > 1:
                vectors += [f"v(ml{j})" for j in range(len(group))]
            steps += [*offset_alters(off), Analyze(Dc("vin", 0.0, points * s * step, s * step), tuple(vectors),
                                                   label="verify")]
        plots = run(steps, slots)
        decks += 1
        nxt: dict[tuple[int, int], Read] = {}
        for group, off, plot in zip(groups, offsets, plots, strict=True):
            v = plot["v-sweep"]
            for j, ck in enumerate(group):
                c, k = ck
                rd = reads[ck]
                out = plot[f"v(out{j})"][:, None]
                if rd.stride > 1:
                    nxt[ck] = _zoom(rd, out[:, 0], plot[f"v(ml{j})"], vdd)
                    continue
                lower, upper = ex.cell_bounds(v, out, vdd)
                has = wv[c].has[k:k + 1]
                if rd.final:
                    beyond = bool(beyond_sweep(has, lower, upper, out, vdd).any())
                else:
                    beyond, wider = reread_margin(has, lower, upper, out, vdd, rd.margin)
                    if wider is not None:
                        nxt[ck] = window(ck, wider)
                        continue
                lo_v, up_v = lower[0] + off[j], upper[0] + off[j]
                if beyond:  # at the widest read the bound still lies beyond the sweep (the cell matches at
                    # that edge): a saturated reading - the bound is at least that edge - so the controller
                    # moves it back instead of taking an open window for a closed one
                    first, last = edge_matches(out, vdd)
                    if has[0, 0] and not np.isfinite(lo_v) and first[0]:
                        lo_v, clamped[c, k, 0] = v[0] + off[j], True
                    if has[0, 1] and not np.isfinite(up_v) and last[0]:
                        up_v, clamped[c, k, 1] = v[-1] + off[j], True
                bounds[c, k] = (lo_v, up_v)
        reads = nxt
    return decks


def _zoom(rd: Read, out: np.ndarray, ml: np.ndarray, vdd: float) -> Read:
    """The fine part of a whole-range read after its coarse points ``out``/``ml`` (V): from the coarse
    point before the first match to the one after the last, or, matching nowhere, within one coarse step
    of the highest match line (see the module docstring); clipped to the whole range."""
    s = rd.stride
    keep = rd.first + s * np.arange(len(out)) <= rd.last  # the sweep's last step may pass the range's end
    out, ml = out[keep], ml[keep]
    hit = np.nonzero(out < vdd / 2)[0]
    if not hit.size:
        rise = np.nonzero(ml > ML_RISE_V)[0]
        if rise.size and rise[-1] - rise[0] + 1 != rise.size:
            # more than one rise of the match line: the premise of the zoom (one peak, measured on 4-bit
            # chips) does not hold for this design, so the whole range is read on the fine grid
            return Read(rd.first, rd.last, margin=MAX_SWEEP_MARGIN_LSB, final=True)
    lo, hi = (int(hit[0]), int(hit[-1])) if hit.size else (int(np.argmax(ml)),) * 2
    first = max(rd.first, rd.first + (lo - 1) * s)
    last = rd.last if hi == len(out) - 1 else min(rd.last, rd.first + (hi + 1) * s)
    return Read(first, max(last, first + 1), margin=MAX_SWEEP_MARGIN_LSB, final=True)
