"""Matplotlib set-up shared by every figure (imported lazily: Agg backend, no screen needed)."""

from __future__ import annotations

from pathlib import Path


def pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path, *, pdf: bool = False) -> list[Path]:
    """Save ``fig`` as PNG (and PDF when asked) atomically enough for readers: write then rename."""
    import os

    plt = pyplot()
    out = []
    suffixes = [".png", ".pdf"] if pdf else [path.suffix or ".png"]
    for suffix in suffixes:
        target = path.with_suffix(suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.stem}.tmp{suffix}")
        fig.savefig(tmp, dpi=150, bbox_inches="tight")
        os.replace(tmp, target)
        out.append(target)
    plt.close(fig)
    return out
