"""Accuracy through the crossbar column versus rows and wire resistance (the evaluate stage's column grid).

Each point is the crossbar stage's column (card, conductance window, driver, cells' spread) at that
many rows and that wire resistance per row and column segment, as the deterministic nodal model
(:class:`memspice.nn.column.NodalColumn`): every sub-array column's IR drop follows its own weights
and rows exactly (effective weights), the cells' random spread on top. The network is mapped onto
sub-arrays of that many rows, calibrated through the column as a chip is (hardware calibration:
activation ranges, a digital gain/offset per layer, Lloyd-Max fitted on the corrected output, layer
by layer), and evaluated at the study's bits; the same rows without a column give the reference.
A point "works" when Lloyd-Max through the column is within 2 points of its no-column row (the
issue's criterion). Fewer test and calibration images than the main table
(``evaluate.column_grid_test_images``, ``..._calibration_images``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memspice.io import write_csv

#: A point works when Lloyd-Max through the column is at most this far (points) below its no-column row.
WORKS_WITHIN_POINTS = 2.0


def column_gain(column) -> float:
    """Signal kept by a column of all-+w_max weights driven on every row: sum T / sum (G+ - G-)."""
    t = column.coefficients_s(np.ones(column.rows), 1.0)
    return float(t.sum() / (column.rows * (column.g_max_s - column.g_min_s)))


def _check_linear(spec, what: str) -> None:
    card = spec.device_card
    linear = spec.device == "resistor" or (card.model == "vteam" and card.params.get("iv", "linear") == "linear")
    if spec.cell != "1R" or not linear:
        raise ValueError(f"{what} needs 1R cells with a linear I-V; the crossbar spec has "
                         f"cell {spec.cell!r}, card {spec.device_card.name!r}")


def nodal_column(spec, sigma_g_s: float):
    """The :class:`NodalColumn` of crossbar spec ``spec`` as it is (its rows, row and column segment
    resistances, driver, card window); the cells' spread ``sigma_g_s`` (S) as a fraction of the window,
    attenuated by the column's gain. A ValueError for a card without a linear I-V."""
    from memspice.nn.column import NodalColumn

    _check_linear(spec, "the nodal column model")
    n, w = int(spec.rows), spec.wire
    g_min, g_max = spec.g_range_s
    col = NodalColumn(n, g_min, g_max, w.r_row_segment_ohm, w.r_col_segment_ohm, spec.drive.r_driver_ohm)
    gain = column_gain(col)
    col.sigma_g_rel = sigma_g_s / (g_max - g_min) * min(gain, 1.0)
    same = w.r_row_segment_ohm == w.r_col_segment_ohm
    wires = (f"{w.r_row_segment_ohm:g} ohm per row and column segment" if same else
             f"{w.r_row_segment_ohm:g} ohm per row segment, {w.r_col_segment_ohm:g} ohm per column segment")
    col.source = (f"nodal column: card {spec.device_card.name}, {n} rows, {wires}, driver {spec.drive.r_driver_ohm:g} "
                  f"ohm, G {g_min:.4g}..{g_max:.4g} S; cells' spread {sigma_g_s:.3g} S x gain {gain:.4f}")
    return col


def grid_columns(spec, rows_list: Sequence[int], r_list: Sequence[float], sigma_g_s: float) -> list:
    """One :class:`NodalColumn` per (rows, wire resistance) of crossbar spec ``spec`` (its card's
    window, driver resistance); the cells' spread ``sigma_g_s`` (S) as a fraction of the window,
    attenuated by the column's gain."""
    from memspice.characterize.crossbar import sweep_spec

    _check_linear(spec, "the column grid's nodal model")
    return [nodal_column(sweep_spec(spec, int(n), float(r)), sigma_g_s) for n in rows_list for r in r_list]


def run_column_grid(study, trained, gspec, columns: Sequence, out: Path, device: str) -> int:
    """Evaluate every column of ``columns`` (and each row count without a column); writes
    ``column_grid.csv`` and ``column_grid.png`` into ``out``; returns the table's row count."""
    from memspice.nn.evaluate import evaluate
    from memspice.nn.figures import plot_column_grid

    cal = study.spec.evaluate.column_grid_calibration_images
    keys = ("rows", "r_wire_ohm", "bits", "column_gain", "sigma_g_rel", "ideal_no_column", "lloyd_max_no_column",
            "ideal_column", "lloyd_max_column", "delta_points", "works")
    rows_out: dict[str, list[Any]] = {k: [] for k in keys}
    refs: dict[int, Any] = {}
    for col in columns:
        n, r = col.rows, col.r_row_ohm
        cim = study._cim_spec().replace(rows=n, calibration_images=cal)
        if n not in refs:
            refs[n] = evaluate(trained, cim, gspec, out_dir=out / f"rows{n}_no_column", data_root=study._data_root(),
                               device=device, show_progress=False)
        res = evaluate(trained, cim, gspec, out_dir=out / f"rows{n}_r{r:g}", data_root=study._data_root(),
                       device=device, column=col, show_progress=False)
        study.log(f"    column grid {n} rows, {r:g} ohm: ideal {100 * res.accuracy('ideal')[0]:.2f} %")
        gain = column_gain(col)
        for b in gspec.bits:
            ref, got = refs[n].accuracy("lloyd_max", b)[0], res.accuracy("lloyd_max", b)[0]
            delta = 100 * (got - ref)
            for k, v in (("rows", n), ("r_wire_ohm", r), ("bits", b), ("column_gain", gain),
                         ("sigma_g_rel", col.sigma_g_rel), ("ideal_no_column", 100 * refs[n].accuracy("ideal")[0]),
                         ("lloyd_max_no_column", 100 * ref), ("ideal_column", 100 * res.accuracy("ideal")[0]),
                         ("lloyd_max_column", 100 * got), ("delta_points", delta),
                         ("works", "yes" if round(delta, 9) >= -WORKS_WITHIN_POINTS or math.isnan(delta) else "no")):
                rows_out[k].append(v)
    write_csv(out / "column_grid.csv", rows_out)
    plot_column_grid([dict(zip(keys, vals, strict=True)) for vals in zip(*rows_out.values(), strict=True)],
                     out / "column_grid.png")
    return len(rows_out["rows"])
