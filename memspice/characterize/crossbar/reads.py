"""Crossbar reads in ngspice: seeded patterns, the DC reads of a tile, the IR-drop sweep, the transient read.

Every number comes from ngspice; Python draws the patterns and reduces the results. Each function
computes and returns; none writes a file (:mod:`.outputs` does).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from memspice.artifacts import ColumnModelArtifact
from memspice.extract.crossbar import delivered_energy_J, error_stats, fit_column_model, settling_time
from memspice.netlist.crossbar import (
    column_current,
    dc_deck,
    input_source,
    out_node,
    physical_to_logical,
    pwl_value,
    read_analyses,
    slot_times,
    transient_deck,
    transient_stop_s,
    wordline_source,
)
from memspice.netlist.deck import Deck
from memspice.ngspice import simulate
from memspice.raw import Plot
from memspice.spec.crossbar import CrossbarSpec

# SeedSequence streams: every random quantity is drawn from SeedSequence([seed, stream, ...]).
STREAM_TRANSFER = 0
STREAM_SWEEP = 1


# -- patterns ----------------------------------------------------------------------------------

@dataclass
class Pattern:
    """Weights (rows, cols) and inputs (rows, slots) in user units (x in [0, x_max])."""

    weights: np.ndarray
    x: np.ndarray
    kind: str


def draw_patterns(spec: CrossbarSpec, n: int, seed: Sequence[int] | int) -> list[Pattern]:
    """``n`` patterns from ``numpy.random.SeedSequence(seed)`` (pure numpy).

    The first half (rounded up) are uniform: w ~ U(-w_max, w_max), inputs uniform over the DAC
    codes (analog) or fair bits (bit-serial); their partial sums cluster near zero as a network's
    do. The rest span the output range: pattern level m from -1 to 1, w = w_max clip(m + U(-0.3,
    0.3)), inputs drawn from the top (1 - |m|) of the codes (bits set with probability (1+|m|)/2).
    Explicit ``weights``/``inputs_v`` of the spec replace pattern 0's.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    rows, cols, d = spec.rows, spec.cols, spec.drive
    levels = 2**d.input_bits - 1
    n_uniform = (n + 1) // 2
    n_span = n - n_uniform
    out: list[Pattern] = []
    for p in range(n):
        if p < n_uniform:
            w = rng.uniform(-1.0, 1.0, (rows, cols))
            if d.mode == "analog":
                x = (rng.integers(0, levels + 1, rows) / levels)[:, None]
            else:
                x = rng.integers(0, 2, (rows, d.input_bits)).astype(float)
            kind = "uniform"
        else:
            m = -1.0 + 2.0 * (p - n_uniform) / max(n_span - 1, 1) if n_span > 1 else 1.0
            w = np.clip(m + rng.uniform(-0.3, 0.3, (rows, cols)), -1.0, 1.0)
            if d.mode == "analog":
                low = round(abs(m) * levels)
                x = (rng.integers(low, levels + 1, rows) / levels)[:, None]
            else:
                x = (rng.random((rows, d.input_bits)) < (1 + abs(m)) / 2).astype(float)
            kind = f"span {m:+.3f}"
        out.append(Pattern(weights=w * spec.w_max, x=x * spec.x_max, kind=kind))
    if out and spec.weights is not None:
        out[0].weights = np.asarray(spec.weights, dtype=float)
        out[0].kind = "explicit"
    if out and spec.inputs_v is not None:
        out[0].x = (np.asarray(spec.inputs_v, dtype=float) / spec.v_read_v * spec.x_max)[:, None]
        out[0].kind = "explicit"
    return out


def pattern_reads(spec: CrossbarSpec, patterns: Sequence[Pattern]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(conductances (rows, 2 cols) S, row voltages (rows,) V) of every read: one per pattern and slot."""
    reads = []
    for p in patterns:
        g = spec.conductances(p.weights)
        for s in range(p.x.shape[1]):
            reads.append((g, spec.voltages(p.x[:, s])))
    return reads


def ideal_output_a(g_s: np.ndarray, v_in_v: np.ndarray) -> np.ndarray:
    """Ideal logical column currents sum_i (G+_i - G-_i) v_i (A), shape (cols,)."""
    return physical_to_logical(np.asarray(v_in_v, dtype=float) @ np.asarray(g_s, dtype=float))


# -- DC reads ----------------------------------------------------------------------------------

@dataclass
class DcReads:
    """Per read (pattern x slot) and logical column: ideal and SPICE currents (A), TIA output (V)."""

    ideal_a: np.ndarray  # (reads, cols)
    spice_a: np.ndarray  # (reads, cols)
    v_out_v: np.ndarray  # (reads, cols); nan for an ammeter
    v_rows_v: np.ndarray  # (reads, rows)
    i_phys_a: np.ndarray  # (reads, 2 cols)


def logical_outputs(spec: CrossbarSpec, plot: Plot) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(physical currents, logical currents I+ - I-, logical TIA outputs v(o-) - v(o+)) of an Op plot."""
    i_phys = np.array([plot[column_current(k)][0] for k in range(spec.phys_cols)])
    if spec.sense.kind == "tia":
        v_phys = np.array([plot[f"v({out_node(k)})"][0] for k in range(spec.phys_cols)])
        v_log = -physical_to_logical(v_phys)  # the TIA inverts: v(o-) - v(o+) = R_f (I+ - I-)
    else:
        v_log = np.full(spec.cols, np.nan)
    return i_phys, physical_to_logical(i_phys), v_log


def run_dc(spec: CrossbarSpec, reads: Sequence[tuple[np.ndarray, np.ndarray]], *, backend: str = "subprocess",
           title: str = "crossbar tile DC reads") -> DcReads:
    """Simulate every read in one deck."""
    result = simulate(dc_deck(spec, reads, title=title), backend=backend)
    ideal, spice, vout, iphys = [], [], [], []
    for (g, v), plot in zip(reads, result.plots, strict=True):
        i_phys, i_log, v_log = logical_outputs(spec, plot)
        ideal.append(ideal_output_a(g, v))
        spice.append(i_log)
        vout.append(v_log)
        iphys.append(i_phys)
    return DcReads(np.array(ideal), np.array(spice), np.array(vout), np.array([v for _, v in reads]), np.array(iphys))


# -- IR-drop sweep -----------------------------------------------------------------------------

def sweep_spec(spec: CrossbarSpec, rows: int, r_wire_ohm: float) -> CrossbarSpec:
    """The tile at another row count and wire resistance (rows and columns alike); explicit
    patterns dropped and R_f back to its default, which scales with the row count."""
    return spec.replace(rows=rows, weights=None, inputs_v=None,
                        wire=spec.wire.replace(r_row_segment_ohm=r_wire_ohm, r_col_segment_ohm=r_wire_ohm),
                        sense=spec.sense.replace(r_f_ohm=None))


def run_ir_sweep(spec: CrossbarSpec, rows_list: Sequence[int], r_list: Sequence[float], patterns: int, seed: int,
                 *, backend: str = "subprocess", on_point=None, sigma_g_s: float = 0.0) -> list[dict[str, Any]]:
    """Error statistics and a column model per (rows, wire resistance); the patterns of a row count
    are the same for every resistance (seeded by [seed, STREAM_SWEEP, rows]), so the columns compare
    pairwise. The column model (``column_model``, the ``column_model.json`` form) is the cubic fit of
    the point's reads and the cells' spread ``sigma_g_s`` over the window, attenuated by the fitted c1."""
    out = []
    for n in rows_list:
        for r in r_list:
            s = sweep_spec(spec, n, r)
            pats = draw_patterns(s, patterns, [seed, STREAM_SWEEP, n])
            dc = run_dc(s, pattern_reads(s, pats), backend=backend, title=f"crossbar IR-drop sweep {n} rows {r} ohm")
            stats = error_stats(dc.ideal_a, dc.spice_a, s.i_full_scale_a)
            fit = fit_column_model((dc.ideal_a / s.i_full_scale_a).ravel(), (dc.spice_a / s.i_full_scale_a).ravel(), 3)
            g_lo, g_hi = s.g_range_s
            model = ColumnModelArtifact(
                rows=n, coefficients=tuple(fit["coefficients"]), noise_sigma=0.0,
                sigma_g_rel=sigma_g_s / (g_hi - g_lo) * min(abs(fit["coefficients"][1]), 1.0),
                source=f"IR-drop sweep point {n} rows, {r:g} ohm per segment, card {s.device_card.name}, "
                       f"{len(pats)} patterns (seed [{seed}, {STREAM_SWEEP}, {n}]); deterministic fit "
                       f"residual {fit['residual_rms']:.3g} of full scale not applied").to_json()
            out.append({"rows": n, "r_wire_ohm": r, "i_full_scale_A": s.i_full_scale_a, **stats,
                        "fit_residual_rms": fit["residual_rms"], "column_model": model})
            if on_point is not None:
                on_point()
    return out


# -- transient read ----------------------------------------------------------------------------

def sensed_signal(spec: CrossbarSpec, plot: Plot) -> tuple[np.ndarray, str]:
    """(logical output waveforms (cols, time), unit): the TIA's differential output
    v(o-) - v(o+), or for an ammeter the current difference I+ - I-."""
    if spec.sense.kind == "tia":
        v = np.array([plot[f"v({out_node(k)})"] for k in range(spec.phys_cols)])
        return -(v[0::2] - v[1::2]), "V"
    i = np.array([plot[column_current(k)] for k in range(spec.phys_cols)])
    return i[0::2] - i[1::2], "A"


def full_scale_pattern(spec: CrossbarSpec) -> Pattern:
    """Every weight +w_max and every input x_max: the largest output step (worst-case settling)."""
    return Pattern(weights=np.full((spec.rows, spec.cols), spec.w_max),
                   x=np.full((spec.rows, spec.drive.slots), spec.x_max), kind="full scale")


def run_transient(spec: CrossbarSpec, pattern: Pattern, adc_bits: int, *, full_range: float | None = None,
                  backend: str = "subprocess") -> dict:
    """Settling and energy of one read of ``pattern`` (all its bit slots in bit-serial mode).

    The settling band is half an LSB of an ``adc_bits`` converter over ``full_range`` (V for a TIA,
    A for an ammeter); by default the range is +- the settled output of this very read, which is
    the ADC range calibrated to the column as built when ``pattern`` is the full-scale one.
    """
    g = spec.conductances(pattern.weights)
    levels = np.stack([spec.voltages(pattern.x[:, s]) for s in range(pattern.x.shape[1])], axis=1)
    deck, waves = transient_deck(spec, g, levels)
    deck = Deck(deck.title, deck.cards, steps=[*deck.steps, *read_analyses(spec)], header=deck.header)
    result = simulate(deck, backend=backend)
    tran, op = result.plots
    t = tran["time"]
    y, unit = sensed_signal(spec, tran)
    _, i_log, v_log = logical_outputs(spec, op)
    dc_last = v_log if spec.sense.kind == "tia" else i_log
    if full_range is None:
        full_range = 2.0 * float(np.max(np.abs(dc_last)))
    lsb = full_range / 2**adc_bits
    tol = 0.5 * lsb
    slots = slot_times(spec)
    settle = np.full((len(slots), spec.cols), np.nan)
    finals = np.zeros((len(slots), spec.cols))
    for s, (_, edge, _, top_end, _) in enumerate(slots):
        for j in range(spec.cols):
            finals[s, j] = float(np.interp(top_end, t, y[j]))
            settle[s, j] = settling_time(t, y[j], edge, top_end, finals[s, j], tol)
    # energy
    e_drv = sum(delivered_energy_J(t, pwl_value(waves.inputs[r], t), tran[f"i({input_source(r)})"])
                for r in range(spec.rows))
    e_wl = 0.0
    if spec.cell == "1T1R":
        e_wl = sum(delivered_energy_J(t, pwl_value(waves.wordlines[r], t), tran[f"i({wordline_source(r)})"])
                   for r in range(spec.rows))
    t_stop = transient_stop_s(spec)
    d = spec.drive
    t_on = d.slots * (2 * d.t_rise_s + d.t_read_s)  # the op-amps are biased only while reading
    e_q_per_s = 0.0
    e_dyn = 0.0
    swing_excess = 0.0
    if spec.sense.kind == "tia":
        vs = spec.sense.v_supply_v
        e_sup = (delivered_energy_J(t, np.full_like(t, vs), tran["i(vdd)"])
                 + delivered_energy_J(t, np.full_like(t, -vs), tran["i(vss)"]))
        e_q_per_s = spec.sense.i_q_a * 2 * vs * spec.phys_cols
        e_dyn = e_sup - e_q_per_s * t_stop
        v_phys = np.array([tran[f"v({out_node(k)})"] for k in range(spec.phys_cols)])
        swing_excess = float(max(0.0, np.max(np.abs(v_phys)) - spec.sense.swing_v))
    e_q = e_q_per_s * t_on
    total = e_drv + e_wl + e_dyn + e_q
    macs = spec.rows * spec.cols
    return {
        "time_s": t,
        "signal": y,
        "unit": unit,
        "full_range": full_range,
        "lsb": lsb,
        "settle_band": tol,
        "settling_time_s": float(np.nanmax(settle)) if np.isfinite(settle).any() else math.nan,
        "settled_all": bool(np.isfinite(settle).all()),
        "settling_per_slot_s": settle.tolist(),
        "final_per_slot": finals.tolist(),
        "final_minus_dc_lsb": ((finals[-1] - dc_last) / lsb).tolist(),
        "energy": {
            "per_read_J": total,
            "per_column_read_J": total / spec.cols,
            "per_mac_J": total / macs,
            "drivers_J": e_drv,
            "wordlines_J": e_wl,
            "opamp_dynamic_J": e_dyn,
            "opamp_quiescent_J": e_q,
            "opamp_on_time_s": t_on,
            "reads_per_vector": d.slots,
            "macs_per_read": macs,
        },
        "swing_excess_V": swing_excess,
    }
