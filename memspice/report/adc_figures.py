"""Figures of ``characterize adc``: transfer staircase, INL/DNL, programming map, Monte Carlo boundaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from memspice.report.plotting import pyplot, save


def write_figures(result, out_dir: Path) -> list[Path]:
    """PNG figures of an :class:`~memspice.characterize.adc.AdcResult`: transfer staircase, INL/DNL,
    programming map, boundary distributions (Monte Carlo)."""
    plt = pyplot()
    out_dir = Path(out_dir)
    spec, tr = result.spec, result.transfer
    paths = []
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.step(tr.v_in, tr.codes, where="post", label="ngspice (transistor encoder)")
    ax.step(tr.v_in, tr.ideal, where="post", ls="--", lw=0.8, label="targets")
    ax.set_xlabel("input (V)")
    ax.set_ylabel("code")
    ax.set_title(f"{spec.bits}-bit Q-cell ADC transfer")
    ax.legend()
    paths.append(_save(fig, out_dir / "transfer.png"))
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(6, 5), sharex=True)
    codes = np.arange(spec.n_cells)
    a1.bar(codes, tr.inl_lsb)
    a1.set_ylabel("INL (LSB)")
    a2.bar(codes, tr.dnl_lsb)
    a2.set_ylabel("DNL (LSB)")
    a2.set_xlabel("code")
    paths.append(_save(fig, out_dir / "inl_dnl.png"))
    fig, ax = plt.subplots(figsize=(6, 4))
    pm = result.pmap
    ax.plot(pm.g_s * 1e6, pm.lower_v, "o-", label="lower bound (branch A)")
    ax.plot(pm.g_s * 1e6, pm.upper_v, "s-", label="upper bound (branch B)")
    ax.axhspan(spec.input_lo_v, spec.input_hi_v, color="0.9", label="input range")
    ax.set_xlabel(f"memristor read conductance at {result.card.read_v:g} V (uS)")
    ax.set_ylabel("boundary (V)")
    ax.legend()
    paths.append(_save(fig, out_dir / "programming_map.png"))
    if result.mc is not None and len(result.mc.measured_v):
        fig, ax = plt.subplots(figsize=(6, 4))
        dev = (result.mc.measured_v - tr.measured_v[None, :]) / spec.lsb_v
        ax.boxplot(dev, positions=np.arange(1, spec.n_cells))
        ax.set_xlabel("boundary index")
        ax.set_ylabel("deviation from nominal (LSB)")
        ax.set_title(f"Monte Carlo, {len(dev)} samples")
        paths.append(_save(fig, out_dir / "boundary_distributions.png"))
    return paths


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    return save(fig, path, dpi=120)[0]
