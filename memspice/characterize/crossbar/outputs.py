"""Output files of ``characterize crossbar``: CSV tables, JSON (summary, column model, spec) and figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from memspice.characterize.crossbar.flow import CrossbarResult, run_crossbar
from memspice.io import write_csv, write_json
from memspice.spec.crossbar import CrossbarStudy


def write_outputs(result: CrossbarResult, out_dir: str | Path, *, figures: bool = True) -> dict[str, Any]:
    """Write transfer.csv, ir_drop.csv (with a sweep), column_grid.json, transient.csv (with a transient
    read), mc.csv and mc_samples.csv (with a Monte Carlo), column_model.json, spec.json, summary.json and
    the figures into ``out_dir``; returns the summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dc, sweep, tr = result.dc, result.sweep, result.transient
    n_reads, cols = dc.ideal_a.shape
    write_csv(out_dir / "transfer.csv", {
        "sample": np.arange(n_reads * cols),
        "ideal_A": dc.ideal_a.ravel(),
        "spice_A": dc.spice_a.ravel(),
        "v_out_V": dc.v_out_v.ravel(),
    })
    if sweep:
        write_csv(out_dir / "ir_drop.csv", {
            "rows": [s["rows"] for s in sweep],
            "r_wire_ohm": [s["r_wire_ohm"] for s in sweep],
            "rel_error_fs_rms": [s["rel_error_fs_rms"] for s in sweep],
            "rel_error_fs_max": [s["rel_error_fs_max"] for s in sweep],
            "rel_error_rms": [s["rel_error_rms"] for s in sweep],
            "gain": [s["gain"] for s in sweep],
        })
    write_json(out_dir / "column_grid.json", [{"rows": p["rows"], "r_wire_ohm": p["r_wire_ohm"],
                                               "column_model": p["column_model"]} for p in sweep])
    if tr is not None:
        write_csv(out_dir / "transient.csv", {
            "time_s": tr["time_s"],
            **{(f"out_{tr['unit']}" if cols == 1 else f"out_{tr['unit']}_c{j}"): tr["signal"][j]
               for j in range(cols)},
        })
    if result.mc_table is not None:
        write_csv(out_dir / "mc.csv", result.mc_table)
        write_csv(out_dir / "mc_samples.csv", result.mc_samples)
    write_json(out_dir / "column_model.json", result.column_model.to_json())
    write_json(out_dir / "spec.json", result.study.to_dict())
    write_json(out_dir / "summary.json", result.summary)
    if figures:
        from memspice.report.crossbar_figures import crossbar_figures

        crossbar_figures(out_dir, result.study.crossbar, dc.ideal_a, dc.spice_a, sweep, tr, result.mc_table)
    return result.summary


def characterize_crossbar(study: CrossbarStudy, out_dir: Path, *, figures: bool = True,
                          show_progress: bool = True, mc_cache_root: Path | None = None) -> dict[str, Any]:
    """:func:`run_crossbar` then :func:`~memspice.characterize.crossbar.outputs.write_outputs` into
    ``out_dir`` (the Monte Carlo chunk cache in ``mc_cache_root``, default ``out_dir/mc_cache``);
    returns the summary."""
    result = run_crossbar(study, show_progress=show_progress,
                          mc_cache_root=mc_cache_root or Path(out_dir) / "mc_cache")
    return write_outputs(result, out_dir, figures=figures)
