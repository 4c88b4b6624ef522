"""Figures of ``explore adc``: energy against linearity and against area, coloured by evaluation scheme."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from memspice.report.plotting import pyplot, save

COLOURS = {"static": "tab:blue", "precharge": "tab:orange"}


def explore_figures(rows: Sequence[Mapping[str, Any]], pareto: Sequence[int], out_dir: Path) -> list[Path]:
    """``energy_vs_inl.png`` and ``energy_vs_area.png``: switching (filled) and total (hollow) energy per
    conversion of every ok point, the Pareto points ringed."""
    plt = pyplot()
    ok = [i for i, r in enumerate(rows) if r.get("status") == "ok"]
    paths: list[Path] = []
    for name, xcol, xlabel in (("energy_vs_inl", "inl_rms_lsb", "RMS max |INL| over mismatch samples (LSB)"),
                               ("energy_vs_area", "area_normalised_um2", "area at 28 nm (um^2)")):
        fig, ax = plt.subplots(figsize=(6, 4.2))
        for scheme, colour in COLOURS.items():
            idx = [i for i in ok if rows[i].get("scheme") == scheme]
            if not idx:
                continue
            x = [rows[i][xcol] for i in idx]
            ax.scatter(x, [rows[i]["energy_switching_J"] * 1e15 for i in idx], color=colour,
                       label=f"{scheme}: switching")
            ax.scatter(x, [rows[i]["energy_total_J"] * 1e15 for i in idx], facecolors="none", edgecolors=colour,
                       label=f"{scheme}: total (DC counted)")
        front = [i for i in pareto if i in ok]
        if front:
            ax.scatter([rows[i][xcol] for i in front], [rows[i]["energy_switching_J"] * 1e15 for i in front],
                       s=120, facecolors="none", edgecolors="k", label="Pareto front")
        ax.axhline(12.58, color="grey", ls=":", lw=1, label="paper 12.58 fJ (switching basis, 5 bit)")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("energy per conversion (fJ)")
        ax.legend(fontsize=7)
        paths += save(fig, out_dir / f"{name}.png")
        plt.close(fig)
    return paths
