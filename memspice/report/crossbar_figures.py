"""Figures of ``characterize crossbar``: transfer, IR drop, transient read, Monte Carlo spread."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from memspice.netlist.crossbar import slot_times
from memspice.spec.crossbar import CrossbarSpec


def crossbar_figures(out_dir: Path, spec: CrossbarSpec, ideal_a: np.ndarray, spice_a: np.ndarray, sweep, tr,
                     mc_out) -> None:
    """transfer.png (SPICE vs ideal column currents, A, shape (reads, cols)), ir_drop.png (with a sweep),
    transient.png (with a transient read) and mc.png (with a Monte Carlo of more than one sample)."""
    from memspice.report.plotting import pyplot, save

    plt = pyplot()
    i_fs = spec.i_full_scale_a
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(ideal_a.ravel() * 1e6, spice_a.ravel() * 1e6, ".", ms=4, label="SPICE")
    lim = np.array([ideal_a.min(), ideal_a.max()]) * 1e6
    a1.plot(lim, lim, "k--", lw=1, label="ideal")
    a1.set_xlabel("ideal sum (G+ - G-) V (uA)")
    a1.set_ylabel("SPICE column current I+ - I- (uA)")
    a1.set_title(f"{spec.rows} rows, {spec.cell}, {spec.wire.r_row_segment_ohm:g} ohm/segment")
    a1.legend()
    a2.plot(ideal_a.ravel() / i_fs, (spice_a - ideal_a).ravel() / i_fs * 100, ".", ms=4)
    a2.axhline(0, color="k", lw=0.5)
    a2.set_xlabel("normalised partial sum s_in = I_ideal / I_fs")
    a2.set_ylabel("error (% of full scale)")
    save(fig, out_dir / "transfer.png")
    if sweep:
        fig, (ax, ag) = plt.subplots(1, 2, figsize=(11, 4))
        for r in sorted({s["r_wire_ohm"] for s in sweep}):
            pts = sorted((s["rows"], s["rel_error_fs_rms"], s["gain"]) for s in sweep if s["r_wire_ohm"] == r)
            ax.plot([p[0] for p in pts], [p[1] * 100 for p in pts], "o-", label=f"{r:g} ohm/segment")
            ag.plot([p[0] for p in pts], [p[2] for p in pts], "o-", label=f"{r:g} ohm/segment")
        for a in (ax, ag):
            a.set_xscale("log", base=2)
            a.set_xlabel("rows")
        ax.set_ylabel("RMS error (% of full scale)")
        ax.set_title("IR-drop error vs rows and wire resistance")
        ag.set_ylabel("gain (least-squares slope SPICE vs ideal)")
        ag.set_ylim(0, 1.05)
        ag.set_title("column gain")
        ax.legend()
        save(fig, out_dir / "ir_drop.png")
    if tr is not None:
        fig, ax = plt.subplots(figsize=(7, 4))
        scale = 1.0 if tr["unit"] == "V" else 1e6
        for j, y in enumerate(tr["signal"]):
            ax.plot(tr["time_s"] * 1e9, y * scale, label=f"column {j}")
        for s, (_, _, _, top_end, _) in enumerate(slot_times(spec)):
            for j in range(spec.cols):
                f = tr["final_per_slot"][s][j]
                ax.fill_between([top_end * 1e9 - spec.drive.t_read_s * 1e9, top_end * 1e9],
                                (f - tr["settle_band"]) * scale, (f + tr["settle_band"]) * scale, alpha=0.2, color="g")
        ax.set_xlabel("time (ns)")
        ax.set_ylabel("sensed output (V)" if tr["unit"] == "V" else "column current (uA)")
        ax.set_title(f"transient read; band = half an LSB, settling {tr['settling_time_s'] * 1e9:.3g} ns")
        ax.legend()
        save(fig, out_dir / "transient.png")
    if mc_out is not None and len(next(iter(mc_out.values()))) > 1:
        fig, ax = plt.subplots(figsize=(6, 4))
        key = "i_out_A" if spec.cols == 1 else "i_out_A_c0"
        ax.hist(mc_out[key] * 1e6, bins=30)
        ax.axvline(mc_out["ideal_A" if spec.cols == 1 else "ideal_A_c0"][0] * 1e6, color="k", ls="--", label="ideal")
        ax.set_xlabel("column current (uA)")
        ax.set_ylabel("samples")
        ax.set_title("Monte Carlo: programming error and read noise")
        ax.legend()
        save(fig, out_dir / "mc.png")
