"""Running a fit and writing its outputs: fit.json, fit.png and the fitted card."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from memspice import __version__
from memspice.fit.iv import FitResult, Sweep, fit_card, load_iv_data
from memspice.io import write_json, write_text_atomic
from memspice.report.plotting import pyplot, save
from memspice.spec.device import DeviceCard, card_to_toml


def run_fit(start: DeviceCard, data: Path, out_dir: Path, *, names: Sequence[str] | None, point_time_s: float,
            card_name: str, max_evaluations: int = 400, write_card: Path | None = None) -> FitResult:
    sweeps = load_iv_data(data)
    result = fit_card(start, sweeps, names=names, point_time_s=point_time_s, max_evaluations=max_evaluations)
    lo, hi = result.card.window_s()
    source = (f"fitted by memspice {__version__} to {Path(data).name} (Hong et al. 2025 Fig. 3b when that file) "
              f"assuming {point_time_s:g} s per sweep point; RMS relative current error {result.rms_relative:.3f}")
    card = result.card.replace(name=card_name, source=source)
    result.card = card
    command = "memspice " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else "memspice fit"
    comment = (f"{card_name}: {card.model} card fitted to measured I-V sweeps.\n"
               f"Produced by: {command}\n"
               f"Fitted: {', '.join(result.names)}; the rest kept from the start card {start.name}.\n"
               f"RMS relative current error {result.rms_relative:.3f} over {sum(len(s.v_V) for s in sweeps)} points "
               f"({len(sweeps)} sweeps); time per sweep point assumed {point_time_s:g} s.\n"
               f"Conductance window {lo * 1e6:.1f}..{hi * 1e6:.1f} uS at {card.read_v:g} V.")
    text = card_to_toml(card, comment)
    write_text_atomic(out_dir / "card.toml", text)
    if write_card is not None:
        write_text_atomic(write_card, text)
    write_json(out_dir / "fit.json", {
        "memspice_version": __version__,
        "data": str(data),
        "model": card.model,
        "start_card": start.name,
        "fitted": list(result.names),
        "params": dict(card.params),
        "point_time_s": point_time_s,
        "rms_relative": result.rms_relative,
        "rms_absolute_A": result.rms_absolute_A,
        "per_curve_rms_relative": result.per_curve_rms_relative,
        "evaluations": result.evaluations,
        "window_S": [lo, hi],
    })
    fit_figure(sweeps, result, out_dir / "fit.png")
    return result


def fit_figure(sweeps: Sequence[Sweep], result: FitResult, path: Path) -> list[Path]:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for k, (sweep, sim) in enumerate(zip(sweeps, result.simulated, strict=True)):
        ax = axes[0] if np.nanmax(sweep.v_V) > 0 else axes[1]
        color = f"C{k % 10}"
        ax.plot(np.abs(sweep.v_V), np.abs(sweep.i_A) * 1e6, ".", ms=2.5, color=color, alpha=0.6)
        ax.plot(np.abs(sweep.v_V), np.abs(sim) * 1e6, "-", lw=1, color=color, label=sweep.name)
    for ax, title in zip(axes, ("SET sweeps (compliance)", "RESET sweeps"), strict=True):
        ax.set_xlabel("|voltage| (V)")
        ax.set_ylabel("|current| (uA)")
        ax.set_title(title)
        ax.legend(fontsize=6, ncol=2)
    fig.suptitle(f"{result.card.name}: measured (dots) vs {result.card.model} fit (lines), "
                 f"RMS rel. error {result.rms_relative:.3f}", fontsize=9)
    fig.tight_layout()
    return save(fig, path)
