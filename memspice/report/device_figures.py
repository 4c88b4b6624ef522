"""Figures of ``characterize device``: hysteresis loop and programming trajectories."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from memspice.report.plotting import pyplot, save


def hysteresis_figure(loop, card, path: Path, *, pdf: bool | None = None) -> list[Path]:
    plt = pyplot()
    fig, (ax_iv, ax_x) = plt.subplots(1, 2, figsize=(9, 3.6))
    ax_iv.plot(loop.v, loop.i * 1e6, lw=1.2)
    ax_iv.set_xlabel("voltage (V)")
    ax_iv.set_ylabel("current (uA)")
    ax_iv.set_title(f"{card.name}: pinched hysteresis")
    ax_iv.axhline(0, color="0.7", lw=0.5)
    ax_iv.axvline(0, color="0.7", lw=0.5)
    from matplotlib.ticker import EngFormatter

    ax_x.plot(loop.t, loop.x, lw=1.2, color="C1")
    ax_x.xaxis.set_major_formatter(EngFormatter(unit="s"))
    ax_x.set_xlabel("time")
    ax_x.set_ylabel("state x")
    ax_x.set_title("state")
    fig.tight_layout()
    return save(fig, path, pdf=pdf)


def programming_figure(devices, program, path: Path, *, pdf: bool | None = None) -> list[Path]:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    targets = sorted(set(d.target_s for d in devices))
    colors = {t: f"C{k % 10}" for k, t in enumerate(targets)}
    for dev in devices:
        if not dev.trajectory:
            continue
        k = np.array([p[0] for p in dev.trajectory])
        g = np.array([p[-1] for p in dev.trajectory])
        ax.plot(k, g * 1e6, color=colors[dev.target_s], lw=0.8, alpha=0.9 if dev.sample == 0 else 0.35)
    for t in targets:
        ax.axhspan((t - program.tolerance_s) * 1e6, (t + program.tolerance_s) * 1e6, color=colors[t], alpha=0.12)
    ax.set_xlabel("pulse")
    ax.set_ylabel("verify-read conductance (uS)")
    ax.set_title("write-verify programming")
    fig.tight_layout()
    return save(fig, path, pdf=pdf)
