"""Matplotlib set-up shared by every figure (imported lazily: Agg backend, no screen needed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

# set by :func:`also_pdf`: every figure saved through :func:`save` gets a vector PDF beside its PNG
_PDF: ContextVar[bool] = ContextVar("memspice_figures_pdf", default=False)


@contextmanager
def also_pdf() -> Iterator[None]:
    """Within this block every :func:`save` also writes a PDF (the study's paper figures)."""
    token = _PDF.set(True)
    try:
        yield
    finally:
        _PDF.reset(token)


def pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path, *, pdf: bool | None = None, dpi: int = 150) -> list[Path]:
    """Save ``fig`` as PNG (and PDF when asked, or inside :func:`also_pdf`): write then rename."""
    import os

    plt = pyplot()
    pdf = _PDF.get() if pdf is None else pdf
    out = []
    suffixes = [".png", ".pdf"] if pdf else [path.suffix or ".png"]
    for suffix in suffixes:
        target = path.with_suffix(suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.stem}.tmp{suffix}")
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
        os.replace(tmp, target)
        out.append(target)
    plt.close(fig)
    return out
