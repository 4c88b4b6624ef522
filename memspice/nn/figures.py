"""Figures of an accuracy study (matplotlib, Agg backend, imported when called)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from memspice.report.plotting import pyplot as _pyplot
from memspice.report.plotting import save


def _save(fig, path: Path) -> Path:
    return save(fig, path, dpi=120)[0]


def plot_accuracy_vs_bits(rows: list[dict[str, Any]], path: Path) -> Path:
    """Accuracy (%) versus ADC bits per ADC model; float and ideal as horizontal lines."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in rows:
        if r["bits"] == 0:
            ax.axhline(100 * r["accuracy"], ls="--" if r["adc"] == "float" else ":", color="grey", lw=1)
            ax.annotate(f"{r['adc']} {100 * r['accuracy']:.1f} %", (0.01 if r["adc"] == "float" else 0.6,
                        100 * r["accuracy"]), xycoords=("axes fraction", "data"), fontsize=8, va="bottom", color="grey")
    nominal = [r for r in rows if r["bits"] > 0 and r["sigma"] == 0]
    for adc in dict.fromkeys(r["adc"] for r in nominal):
        sub = [r for r in nominal if r["adc"] == adc]
        bits = sorted({r["bits"] for r in sub})
        acc = [100 * np.mean([r["accuracy"] for r in sub if r["bits"] == b]) for b in bits]
        ax.plot(bits, acc, "o-", label=adc if adc != "spice" else "spice (mean over trials)")
    ax.set_xlabel("ADC bits")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("test accuracy (%)")
    if rows:
        ax.set_title(f"{rows[0]['network']} on {rows[0]['dataset']}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    out = _save(fig, path)
    return out


def plot_variation_sweep(rows: list[dict[str, Any]], path: Path) -> Path:
    """Mean accuracy (min-max band) versus boundary sigma, one panel per bits."""
    plt = _pyplot()
    sweep = [r for r in rows if r["sigma"] > 0]
    bits = sorted({r["bits"] for r in sweep}) or [0]
    fig, axes = plt.subplots(1, len(bits), figsize=(4 * len(bits), 3.6), squeeze=False)
    for ax, b in zip(axes[0], bits, strict=True):
        for adc in dict.fromkeys(r["adc"] for r in sweep):
            sub = [r for r in sweep if r["adc"] == adc and r["bits"] == b]
            if not sub:
                continue
            sig = sorted({r["sigma"] for r in sub})
            acc = [np.array([r["accuracy"] for r in sub if r["sigma"] == s]) * 100 for s in sig]
            x = 100 * np.array(sig)
            ax.plot(x, [a.mean() for a in acc], "o-", label=adc)
            ax.fill_between(x, [a.min() for a in acc], [a.max() for a in acc], alpha=0.2)
        ax.set_xlabel("boundary sigma (% of range)")
        ax.set_title(f"{b}-bit")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy (%)")
    if sweep:
        axes[0][0].legend(fontsize=8)
    else:
        axes[0][0].text(0.5, 0.5, "no variation sweep", ha="center", transform=axes[0][0].transAxes)
    out = _save(fig, path)
    return out


def plot_column_grid(rows: list[dict[str, Any]], path: Path) -> Path:
    """Lloyd-Max accuracy through the column versus wire resistance, one line per row count (its
    no-column row dashed in the same colour), one panel per bits."""
    plt = _pyplot()
    bits = sorted({int(r["bits"]) for r in rows}) or [0]
    fig, axes = plt.subplots(1, len(bits), figsize=(5 * len(bits), 3.8), squeeze=False)
    for ax, b in zip(axes[0], bits, strict=True):
        sub = [r for r in rows if int(r["bits"]) == b]
        for k, n in enumerate(sorted({int(r["rows"]) for r in sub})):
            pts = sorted((float(r["r_wire_ohm"]), float(r["lloyd_max_column"])) for r in sub if int(r["rows"]) == n)
            ref = next(float(r["lloyd_max_no_column"]) for r in sub if int(r["rows"]) == n)
            color = f"C{k}"
            ax.plot(*zip(*pts, strict=True), "o-", color=color, label=f"{n} rows")
            ax.axhline(ref, ls="--", lw=1, color=color)
        ax.set_xscale("log")
        ax.set_xlabel("wire resistance per segment (ohm)")
        ax.set_title(f"Lloyd-Max {b}-bit through the column (dashed: no column)", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy (%)")
    axes[0][0].legend(fontsize=8)
    return _save(fig, path)
