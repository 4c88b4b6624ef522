"""Closed-loop chip Monte Carlo: every sample is a fabricated converter, programmed after fabrication.

A real chip is programmed after it is made: write-verify reads the cell's actual bounds, so it sees
(and cancels) that chip's own transistor mismatch and device spread. Per sample, in this order:

1. **Fabrication** (drawn first, by the engine from the chunk's seed): Pelgrom threshold shifts of
   every transistor (``delvto_*``) and the first write of every memristor (``g_lower``/``g_upper``:
   the nominal conductance plus the card's programming error - exactly the open loop's sample).
2. **Write-verify** of that chip (:class:`~memspice.characterize.adc.programming.ChipWriteVerify`,
   a ``WriteVerify`` with ``rewrite_all=False``): verify-sweep the cell array, accept a dominant bound
   within ``mc.band_v`` of its target (recessive bounds within half the guard band of a target that
   follows their dominant neighbour's accepted error), rewrite only the bounds outside tolerance (both
   of a window read shifted); every rewrite is a device-level write-verify (:meth:`write_error_s`,
   band through the steeper of the map's slope and the cell's learnt sensitivity) of a fresh
   programming error (``write_lower``/``write_upper``: one draw per iteration and device, the card's
   ``program_sigma_s``). The controller knows each device's conductance after a write (a conductance
   read) and the bounds (a verify sweep at nominal bias, without read noise). At most ``mc.max_iter``
   verify sweeps. The cells of all chips of a chunk that are still being programmed are verified in
   ONE deck and ONE short DC sweep per iteration: each cell on its own input offset, read around its own
   targets on the transfer sweep's grid (cells do not interact in DC; the reading equals the chip's
   full-array sweep to 1e-5 V, tests/sim/test_qcell_closed_loop.py).
3. **Use**: read noise (``dg_read_*``, frozen for the sweep), the drift between programming and use
   (``drift_*``: ``mc.drift_s`` +- ``mc.drift_sigma_s``) and the pull-up bias shift
   ``mc.v_pu_shift_v`` - none of which programming can compensate - then the transfer sweep.

A sample whose programming did not converge is kept (it is the chip as programmed) and counted with
its reason (:data:`REASONS`) and the boundary that failed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memspice.characterize.adc.montecarlo import (
    AdcMcResult,
    McSamples,
    QcellAdcCircuit,
    mc_result,
    mc_sigmas,
    mc_variations,
    monte_carlo,
)
from memspice.characterize.adc.options import RunOptions
from memspice.characterize.adc.programming import ChipWriteVerify, Programming, WriteVerify
from memspice.errors import SpecError
from memspice.extract import adc as ex
from memspice.montecarlo.circuit import ParamGroup
from memspice.netlist import qcell as nq
from memspice.netlist.cards import Card
from memspice.netlist.deck import Alter, Deck, Step
from memspice.ngspice import simulate
from memspice.spec.adc import AdcSpec
from memspice.spec.device import DeviceCard

CONVERGED, ITERATION_CAP, WINDOW_EDGE, WINDOW_CLOSED, WINDOW_LOST = 0, 1, 2, 3, 4
REASONS = {CONVERGED: "converged", ITERATION_CAP: "iteration cap",
           WINDOW_EDGE: "conductance at the edge of the card's window", WINDOW_CLOSED: "window never opened",
           WINDOW_LOST: "iteration cap, window closed at the last verify (open before)"}
CLOSED_MEASURES = ("converged", "nonconverged_reason", "nonconverged_boundary", "nonconverged_bound",
                   "nonconverged_dominant", "verify_iterations", "programmed_error_max_V")
SIDES = ("lower", "upper")


class ClosedLoopAdcCircuit(QcellAdcCircuit):
    """:class:`QcellAdcCircuit` whose samples are programmed by write-verify (see the module docstring).

    ``g_lower_s``/``g_upper_s`` are the nominal write-verified conductances: each chip's first write
    requests them (the programming map's best guess for a nominal chip). Extra groups:
    ``write_lower``/``write_upper`` (S, ``max_iter`` x cells members, nominal 0) the error of each
    rewrite, ``drift_lower``/``drift_upper`` (S, per cell, nominal ``mc.drift_s``). Extra measurements:
    :data:`CLOSED_MEASURES`.
    """

    kind = "qcell_adc_closed"

    def __init__(self, spec: AdcSpec, g_lower_s, g_upper_s, card: DeviceCard, pmap: ex.ProgrammingMap):
        super().__init__(spec, g_lower_s, g_upper_s, card)
        self.pmap = pmap
        self._verify_cards: dict[int, Card] = {}  # the verify deck's cards by slot count, rendered once

    @classmethod
    def from_programming(cls, spec: AdcSpec, card: DeviceCard, prog: Programming) -> ClosedLoopAdcCircuit:
        if prog.pmap is None:
            raise SpecError("prog.pmap", None, "a programming that carries its programming map")
        return cls(spec, prog.g_lower_s, prog.g_upper_s, card, prog.pmap)

    def spec_hash(self) -> str:
        mc = self.spec.mc
        h = hashlib.sha256(super().spec_hash().encode())
        h.update(repr((self.kind, mc.band_v, mc.max_iter, mc.v_pu_shift_v, mc.write_band_frac)).encode())
        h.update(repr(CLOSED_MEASURES).encode())  # a chunk cached without a measure cannot be read back
        h.update(np.ascontiguousarray(self.pmap.g_s).tobytes())
        h.update(np.ascontiguousarray(self.pmap.lower_v).tobytes())
        h.update(np.ascontiguousarray(self.pmap.upper_v).tobytes())
        return h.hexdigest()[:16]

    def param_groups(self) -> dict[str, ParamGroup]:
        groups = super().param_groups()
        n, m = self.spec.n_cells, self.spec.mc.max_iter
        for side in ("lower", "upper"):
            groups[f"write_{side}"] = ParamGroup(
                f"write_{side}", "S", np.zeros(m * n),
                tuple(f"write_{side}_it{i}_c{k}" for i in range(m) for k in range(n)),
                doc=f"programming error of each rewrite of M{'A' if side == 'lower' else 'B'} (iteration, cell)")
            groups[f"drift_{side}"] = ParamGroup(
                f"drift_{side}", "S", np.full(n, self.spec.mc.drift_s), tuple(f"drift_{side}_c{k}" for k in range(n)),
                doc="conductance drift between programming and use (added to the programmed value)")
        return groups

    def measure_names(self) -> list[str]:
        return [*super().measure_names(), *CLOSED_MEASURES]

    # -- the work of one chunk ------------------------------------------------------------------
    def _run(self, steps: list[Step], backend: str, timeout_s: float):
        base = self.deck()
        return simulate(Deck(base.title, base.cards, steps=steps, options=base.options, header=base.header),
                        backend=backend, timeout_s=timeout_s).plots

    def _verify_run(self, steps: list[Step], backend: str, timeout_s: float, slots: int | None = None):
        """Run ``steps`` on the verify deck holding its first ``slots`` cells (default all): a slot that
        no analysis reads is not in the deck (a cell at a quiet input costs the simulator as much as a
        read one). The cards of each slot count are rendered once per circuit object (the same text)."""
        from memspice.netlist.deck import Rendered
        from memspice.netlist.qcell_verify import verify_cards

        slots = self.spec.n_cells if slots is None else min(slots, self.spec.n_cells)
        rendered = self._verify_cards
        if slots not in rendered:
            rendered[slots] = Rendered.of(verify_cards(self.spec, self.card, self.g_lower_s, self.g_upper_s,
                                                       cells=range(slots)))
        deck = Deck(f"qcell adc {self.spec.bits}-bit write-verify", [rendered[slots]],
                    steps=steps, header={**nq.header(self.spec, self.card, "write-verify"),
                                         "circuit hash": self.spec_hash()})
        return simulate(deck, backend=backend, timeout_s=timeout_s).plots

    def _verify(self, todo: dict[int, np.ndarray], x: np.ndarray, dv: np.ndarray, wv: Sequence[WriteVerify],
                bounds: np.ndarray, backend: str, timeout_s: float, locate: bool = False,
                clamped: np.ndarray | None = None) -> int:
        """Verify the cells ``todo[chip]`` (bool per cell) of every chip in one deck per reading and store their
        bounds (V) in ``bounds[chip]`` (cells, 2); the other cells were not rewritten, so their last reading
        stands.

        The deck (:mod:`memspice.netlist.qcell_verify`) is one cell array whose cells are slots: each sweep
        loads up to n cells to verify, of any chips (states, ``delvto``), each on its own input offset, read
        over its own window - its targets +- the spec's margin (at least 1 LSB) - on the transfer sweep's grid,
        so a sweep is a few LSB long whatever the input range and holds only cells being verified: the deck has
        as many slots as its fullest sweep reads (the cells to read split into sweeps of even size; a slot left
        over sits at a quiet input). ``locate`` (the first verify of a chip, whose bounds can be anywhere): a
        coarse sweep of the whole range first locates each bound. A cell with a controlled bound beyond its
        window (it matches at that edge) is read again with the margin doubled (up to MAX_SWEEP_MARGIN_LSB);
        one that matches nowhere in its window (closed, or moved wholly out of it by a rewrite) is read again
        over the whole range (+- MAX_SWEEP_MARGIN_LSB) before it is taken for closed. How these readings are
        computed with fewer points (coarse, then fine where the bounds are): :mod:`~memspice.characterize.adc.
        chip_verify`. Returns the number of decks run."""
        from memspice.characterize.adc.chip_verify import verify_chips

        clamped = np.zeros(bounds.shape, bool) if clamped is None else clamped
        for c, cells in todo.items():
            clamped[c, cells] = False
        return verify_chips(self, todo, x, dv, wv, bounds,
                            lambda steps, slots: self._verify_run(steps, backend, timeout_s, slots),
                            locate=locate, clamped=clamped)

    def fabricated(self, values: Mapping[str, np.ndarray]):
        """The chunk's chips as fabricated, from the engine's values ({group: (samples, members)}): per chip
        its groups (dicts), threshold shifts (m, n, 9 V), first write (m, n, 2 S, clipped to the card's
        window) and each rewrite's error draw (m, iterations, n, 2 S)."""
        n, mc = self.spec.n_cells, self.spec.mc
        g0, g1 = self.window
        m = len(next(iter(values.values())))
        one = [{g: np.asarray(v[s], dtype=float) for g, v in values.items()} for s in range(m)]
        dv = np.stack([self.delvto(o) for o in one])  # (m, n, 9)
        first = np.stack([np.stack([np.clip(o.get("g_lower", self.g_lower_s), g0, g1),
                                    np.clip(o.get("g_upper", self.g_upper_s), g0, g1)], axis=1) for o in one])
        noise = np.stack([np.stack([o.get("write_lower", np.zeros(mc.max_iter * n)).reshape(mc.max_iter, n),
                                    o.get("write_upper", np.zeros(mc.max_iter * n)).reshape(mc.max_iter, n)],
                                   axis=2) for o in one])  # (m, iterations, n, 2)
        return one, dv, first, noise

    def start_chips(self, values: Mapping[str, np.ndarray]):
        """The chunk's chips as fabricated (:meth:`fabricated`) with what programming them starts from: the
        card's sigmas and one write-verify controller per chip (band ``mc.band_v``, from its first write)."""
        spec, card = self.spec, self.card
        one, dv, first, noise = self.fabricated(values)
        ctl = [ChipWriteVerify(spec, card, self.pmap, self.targets_v, start_s=first[c], aim_v=spec.mc.band_v)
               for c in range(len(one))]
        return one, dv, first, noise, mc_sigmas(spec, card), ctl

    def run_values(self, values: Mapping[str, np.ndarray], *, backend: str = "subprocess",
                   timeout_s: float = 600.0) -> list[dict[str, float]]:
        """Program every sample of ``values`` ({group: (samples, members)}) by write-verify, then read it
        as used; one dict of measurements per sample (the engine's ``run_values`` hook)."""
        spec, card = self.spec, self.card
        n = spec.n_cells
        mc = spec.mc
        g0, g1 = self.window
        one, dv, first, noise, sig, ctl = self.start_chips(values)
        m = len(one)
        x = first.copy()
        bounds = np.full((m, n, 2), np.nan)
        clamped = np.zeros((m, n, 2), bool)  # bounds read as the widest sweep's edge (saturated readings)
        iters = np.zeros(m, int)
        done = np.zeros(m, bool)
        # cells to verify: every cell with a controlled bound at first (not cell 0: written once, section 3 of
        # docs/adc.md), then the rewritten ones
        todo = {c: ctl[c].has.any(axis=1) for c in range(m)}
        for it in range(1, mc.max_iter + 1):
            self._verify(todo, x, dv, ctl, bounds, backend, timeout_s, locate=it == 1, clamped=clamped)
            nxt = {}
            for c in todo:
                iters[c] = it
                if ctl[c].update(it, bounds[c, :, 0].copy(), bounds[c, :, 1].copy(), clamped=clamped[c]):
                    done[c] = True
                    continue
                if it == mc.max_iter:
                    continue  # the cap: the last verify read this state, nothing more is written
                rewritten = self.rewrite(ctl[c], x[c], noise[c, it - 1], sig)
                if rewritten.any():  # (nothing rewritten and not accepted: stuck, counted at the cap)
                    nxt[c] = rewritten.any(axis=1)
            todo = nxt
            if not todo:
                break
        # use: read noise, drift, bias shift; the transfer sweep of every chip in one deck
        steps: list[Step] = []
        v_pu = spec.cell.v_pu_v + mc.v_pu_shift_v
        for c in range(m):
            o = one[c]
            gl = np.clip(x[c, :, 0] + o.get("drift_lower", 0.0) + o.get("dg_read_lower", 0.0), g0, g1)
            gu = np.clip(x[c, :, 1] + o.get("drift_upper", 0.0) + o.get("dg_read_upper", 0.0), g0, g1)
            steps += [*nq.sample_alters(spec, card, gl, gu, dv[c]), Alter("vpu", "dc", v_pu), *self.analyses()]
        plots = self._run(steps, backend, timeout_s)
        results = []
        for c in range(m):
            meas = dict(self.measure([plots[c]]))
            meas.update(self.closed_measures(ctl[c], done[c], x[c], iters[c]))
            results.append(meas)
        return results

    def rewrite(self, ctl: WriteVerify, x: np.ndarray, z_s: np.ndarray, sig: Mapping[str, float]) -> np.ndarray:
        """Write the conductances ``ctl`` asks for into one chip's ``x`` (cells, 2; S; in place), each rewrite
        with its device-level write-verify error from the draw ``z_s``; the controller reads back what the
        write gave. Returns the rewritten (cells, 2)."""
        g0, g1 = self.window
        req = ctl.x
        rewritten = req != x
        err_s = self.write_error_s(req, z_s, sig, ctl.sensitivity_v_per_s(), rewritten)
        x[:] = np.clip(np.where(rewritten, req + err_s, x), g0, g1)
        ctl.x = x.copy()
        return rewritten

    def write_band_s(self, req_s: np.ndarray, learnt_v_per_s: np.ndarray | None = None) -> np.ndarray:
        """Device-level acceptance band (S) of each requested conductance (cells, 2): ``write_band_frac *
        band_v`` through the programming map's local slope there, or through the cell's learnt sensitivity
        (``learnt_v_per_s``, the write-verify controller's, :meth:`WriteVerify.sensitivity_v_per_s`) where
        that is steeper (inf: no device-level verify).

        Why the learnt one (issue 12/17, 6-bit chips of seed 1234): in 1-LSB cells that a chip's mismatch
        pushed to the edge of opening, a bound moves 9 mV per uS of G_upper and the other bound -6 mV
        (the map: ~3 mV/uS), so a write accepted within the map's band (0.8 uS) moved the window by more
        than the +-5 mV band and the cell oscillated between open and closed until the verify cap."""
        frac = self.spec.mc.write_band_frac
        if frac <= 0:
            return np.full(req_s.shape, np.inf)
        slope = np.stack([np.abs(self.pmap.slope_v_per_s(side, req_s[:, j]))
                          for j, side in enumerate(("lower", "upper"))], axis=1)
        if learnt_v_per_s is not None:
            slope = np.maximum(slope, np.nan_to_num(np.abs(learnt_v_per_s)))
        with np.errstate(divide="ignore"):
            return np.where(slope > 0, frac * self.spec.mc.band_v / slope, np.inf)

    def write_error_s(self, req_s: np.ndarray, z_s: np.ndarray, sig: Mapping[str, float],
                      learnt_v_per_s: np.ndarray | None, rewritten: np.ndarray) -> np.ndarray:
        """Conductance error (S) of each rewrite (cells, 2): a device-level write-verify into
        :meth:`write_band_s` (:func:`verified_write_error_s`) of the rewrite's seeded draw ``z_s``; only
        where ``rewritten`` (cells, 2) - elsewhere the draw is returned unused."""
        band = self.write_band_s(req_s, learnt_v_per_s)
        out = np.asarray(z_s, dtype=float).copy()
        todo = np.isfinite(band) & rewritten
        for idx in zip(*np.nonzero(todo), strict=True):
            out[idx] = verified_write_error_s(out[idx], band[idx], sig["program_sigma_s"], sig["read_sigma_s"])
        return out

    def closed_measures(self, wv: WriteVerify, done: bool, x: np.ndarray, iterations: int) -> dict[str, float]:
        """The :data:`CLOSED_MEASURES` of one chip after its write-verify."""
        reason, boundary, bound, worst = self._diagnose(wv, done, x)
        dominant = -1.0 if bound < 0 else float(wv.dom[bound // 2, bound % 2])
        return {"converged": float(done), "nonconverged_reason": float(reason),
                "nonconverged_boundary": float(boundary), "nonconverged_bound": float(bound),
                "nonconverged_dominant": dominant, "verify_iterations": float(iterations),
                "programmed_error_max_V": worst}

    def _diagnose(self, wv: WriteVerify, done: bool, x: np.ndarray) -> tuple[int, int, int, float]:
        """(reason, boundary index or -1, bound index 2 x cell + side (0 lower, 1 upper) or -1, worst dominant
        error in V at the last verify) of the worst unaccepted bound.

        The boundary of a bound: the lower bound of cell k sits at boundary k - 1 (0-based), the upper
        bound of cell k at boundary k (dominant, or the recessive guard next to it)."""
        err = wv.err
        dom_err = np.abs(err[wv.dom])
        worst = float(np.max(dom_err)) if dom_err.size else 0.0
        if done:
            return CONVERGED, -1, -1, worst
        tol = np.where(wv.dom, wv.aim_v, wv.rec_tol)
        bad = np.argwhere(~wv.accepted())
        if not len(bad):  # pragma: no cover - not done means some bound is not accepted
            return ITERATION_CAP, -1, -1, worst
        score = [abs(err[k, j]) / tol[k, j] if np.isfinite(err[k, j]) else np.inf for k, j in bad]
        cell, col = (int(v) for v in bad[int(np.argmax(score))])
        boundary, bound = (cell - 1 if col == 0 else cell), 2 * cell + col
        if not np.isfinite(err[cell, col]):
            # a window read open at some verify (the controller kept its conductances) can be programmed:
            # closed only at the cap is not a cell that never opened
            opened = bool(np.all(np.isfinite(wv.last_ok[cell])))
            return (WINDOW_LOST if opened else WINDOW_CLOSED), boundary, bound, worst
        g0, g1 = self.window
        at_edge = (x[cell, col] <= g0 * (1 + 1e-9)) or (x[cell, col] >= g1 * (1 - 1e-9))
        return (WINDOW_EDGE if at_edge else ITERATION_CAP), boundary, bound, worst


# the closed-loop chip circuit of each evaluation scheme: the verify reads the chip as it converts (static:
# DC sweeps = the read state; precharge: chips_timed registers its circuit, verified by the timed read)
CLOSED_LOOP_BY_SCHEME: dict[str, type[ClosedLoopAdcCircuit]] = {"static": ClosedLoopAdcCircuit}


def verified_write_error_s(z_s: float, band_s: float, sigma_s: float, read_sigma_s: float) -> float:
    """Conductance error (S) left by a device-level write-verify, from one N(0, ``sigma_s``) draw ``z_s``.

    The loop (as the paper's devices are programmed, DOMAIN.md 3): a pulse lands at the request plus
    N(0, ``sigma_s``); a conductance read (plus N(0, ``read_sigma_s``)) accepts it within +-``band_s`` of
    the request, otherwise the device is pulsed again. The accepted error e has the density
    phi(e / sigma) [Phi((b - e) / s_r) - Phi((-b - e) / s_r)] (normalised); ``z_s`` is mapped onto it
    quantile for quantile (u = Phi(z / sigma)), so the result is an exact, seeded sample of the loop's
    outcome (one draw per rewrite, as without the loop). Pulses per rewrite: 1 / P(accept)
    (:func:`write_accept_probability`)."""
    from scipy.special import ndtr

    if sigma_s <= 0 or not np.isfinite(band_s):
        return float(z_s)
    sr = max(read_sigma_s, 1e-6 * sigma_s)
    e = np.linspace(-min(band_s + 6 * sr, 8 * sigma_s), min(band_s + 6 * sr, 8 * sigma_s), 2001)
    dens = np.exp(-0.5 * (e / sigma_s) ** 2) * (ndtr((band_s - e) / sr) - ndtr((-band_s - e) / sr))
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(e))])
    cdf /= cdf[-1]
    return float(np.interp(float(ndtr(z_s / sigma_s)), cdf, e))


def write_accept_probability(band_s: float, sigma_s: float, read_sigma_s: float) -> float:
    """Chance that one pulse of :func:`verified_write_error_s`'s loop is accepted (pulses per rewrite:
    its inverse)."""
    from scipy.special import ndtr

    if sigma_s <= 0 or not np.isfinite(band_s):
        return 1.0
    e = np.linspace(-8 * sigma_s, 8 * sigma_s, 4001)
    sr = max(read_sigma_s, 1e-6 * sigma_s)
    dens = np.exp(-0.5 * (e / sigma_s) ** 2) / (sigma_s * np.sqrt(2 * np.pi))
    acc = ndtr((band_s - e) / sr) - ndtr((-band_s - e) / sr)
    return float(np.trapezoid(dens * acc, e))


def closed_variations(spec: AdcSpec, card: DeviceCard) -> list[dict[str, Any]]:
    """The open loop's variations (fabrication and first write: drawn first, in the same order, so a
    sample is the same chip in both modes) plus each rewrite's programming error and the drift."""

    out = mc_variations(spec, card)
    sig = mc_sigmas(spec, card)
    for side in ("lower", "upper"):
        out.append({"group": f"write_{side}", "sigma": sig["program_sigma_s"], "truncate_sigma": None,
                    "label": "rewrite"})
    if spec.mc.drift_sigma_s > 0:
        for side in ("lower", "upper"):
            out.append({"group": f"drift_{side}", "sigma": spec.mc.drift_sigma_s, "truncate_sigma": None,
                        "label": "drift"})
    return out


def read_noise_floor_v(spec: AdcSpec, card: DeviceCard, pmap: ex.ProgrammingMap) -> float:
    """The read-noise floor of a bound (V): the card's read sigma through the steepest map slope.

    The slope is taken where the map was measured (each branch's finite points), never extrapolated: beyond
    the last bound a branch reaches, the interpolant's cubic runs off (a 22 nm map read 20.5 mV there against
    2.3 mV at its steepest measured point), and no bound can be programmed there anyway."""

    sig = mc_sigmas(spec, card)["read_sigma_s"]
    slopes = [np.max(np.abs(pmap.slope_v_per_s(side, pmap.branch(side)[0]))) for side in ("lower", "upper")]
    return float(sig * max(slopes))


def check_band(spec: AdcSpec, card: DeviceCard, pmap: ex.ProgrammingMap) -> None:
    """An acceptance band below the read-noise floor cannot be verified: SpecError naming mc.band_v."""
    floor = read_noise_floor_v(spec, card, pmap)
    if spec.mc.band_v < floor:
        raise SpecError("mc.band_v", spec.mc.band_v,
                        f"an acceptance band >= the read-noise floor {floor:.3g} V (card {card.name}'s read sigma "
                        "through the steepest programming-map slope)")
    frac = spec.mc.write_band_frac
    if 0 < frac and frac * spec.mc.band_v < floor:
        raise SpecError("mc.write_band_frac", frac,
                        f"0, or a device-level band write_band_frac * band_v >= the read-noise floor {floor:.3g} V "
                        f"(at least {floor / spec.mc.band_v:.3g})")


def chip_monte_carlo(spec: AdcSpec, card: DeviceCard, prog: Programming, opts: RunOptions = RunOptions(),
                     programming: str | None = None) -> tuple[AdcMcResult, McSamples]:
    """``spec.mc.samples`` chips programmed ``programming`` (default ``spec.mc.programming``): closed loop
    (:class:`ClosedLoopAdcCircuit`; in the precharge scheme each chip verified and read in its timing,
    :class:`~memspice.characterize.adc.chips_timed.TimedClosedLoopAdcCircuit`) or open loop
    (:func:`monte_carlo`), through the engine with
    ``opts.workers`` and cached under ``opts.mc_cache_root`` (a temporary folder when None)."""
    import time

    programming = programming or spec.mc.programming
    t0 = time.monotonic()
    if programming == "open":
        mc, samples = monte_carlo(spec, card, prog, opts)
        mc.seconds = time.monotonic() - t0
        return mc, samples
    kind = CLOSED_LOOP_BY_SCHEME.get(spec.timing.scheme)
    if kind is None:  # pragma: no cover - every scheme registers its chips (the package imports chips_timed)
        raise SpecError("timing.scheme", spec.timing.scheme, f"a scheme with closed-loop chips: "
                        f"{', '.join(CLOSED_LOOP_BY_SCHEME)}")
    circuit = kind.from_programming(spec, card, prog)  # verified and read in the timing the chip converts in
    check_band(spec, card, circuit.pmap)
    m = spec.mc

    def go(root: Path):
        from memspice.montecarlo.engine import run_circuit

        res = run_circuit(circuit, name=f"qcell_adc_closed-{spec.bits}bit", samples=m.samples, seed=m.seed,
                          vary=closed_variations(spec, card), chunk_size=m.chunk, backend=opts.backend,
                          workers=opts.workers, cache_root=root, show_progress=opts.show_progress)
        out = mc_result(circuit, res)
        status = np.array([s for r in res.records for s in r["status"]])
        ok = status == "ok"
        out.programming = "closed"
        out.converged = res.measure("converged")[ok].astype(bool)
        out.reason = res.measure("nonconverged_reason")[ok].astype(int)
        out.boundary = res.measure("nonconverged_boundary")[ok].astype(int)
        out.bound = res.measure("nonconverged_bound")[ok].astype(int)
        out.bound_dominant = res.measure("nonconverged_dominant")[ok].astype(int)
        out.iterations = res.measure("verify_iterations")[ok].astype(int)
        base = ("g_lower", "g_upper", "dg_read_lower", "dg_read_upper", *(f"delvto_{d.name}" for d in nq.CELL_DEVICES))
        return out, circuit.applied_samples({g: res.values(g) for g in base}, m.seed)

    if opts.mc_cache_root is not None:
        mc, samples = go(Path(opts.mc_cache_root))
    else:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="memspice-adc-chips-") as tmp:
            mc, samples = go(Path(tmp))
        mc.cache_dir = None
    mc.seconds = time.monotonic() - t0
    return mc, samples


def nonconverged(mc: AdcMcResult) -> list[dict[str, Any]]:
    """One row per sample whose write-verify did not converge: sample, boundary, the bound that stopped it
    (its worst unaccepted bound: ``"cell 1 lower (dominant)"``), reason, iterations."""
    if mc.converged is None:
        return []
    return [{"sample": int(mc.sample[k]), "boundary": int(mc.boundary[k]), "bound": bound_name(mc, k),
             "reason": REASONS[int(mc.reason[k])], "verify_iterations": int(mc.iterations[k])}
            for k in np.nonzero(~mc.converged)[0]]


def stopped_at(row: Mapping[str, Any]) -> str:
    """Where a :func:`nonconverged` row stopped, in words: ``"boundary 0, cell 0 upper (recessive guard)"``."""
    return f"boundary {row['boundary']}" + (f", {row['bound']}" if row["bound"] else "")


def bound_name(mc: AdcMcResult, k: int) -> str:
    """The bound that stopped sample ``k``'s write-verify, in words ("" where not recorded)."""
    if mc.bound is None or mc.bound[k] < 0:
        return ""
    cell, side = divmod(int(mc.bound[k]), 2)
    role = "dominant" if mc.bound_dominant[k] == 1 else "recessive guard"
    return f"cell {cell} {SIDES[side]} ({role})"
