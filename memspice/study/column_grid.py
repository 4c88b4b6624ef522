"""Accuracy through the crossbar column versus rows and wire resistance (the evaluate stage's column grid).

Every point of the crossbar stage's IR-drop sweep carries a column model (``column_grid.json``:
the cubic fit of that point's SPICE reads and the cells' random spread). For each point the network
is mapped onto sub-arrays of that many rows, calibrated through the column (hardware calibration:
activation ranges and Lloyd-Max fits on the column's corrected output, layer by layer) and evaluated
at the study's bits; the same rows without a column give the reference. Fewer test and calibration
images than the main table (``evaluate.column_grid_test_images``, ``..._calibration_images``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from memspice.io import write_csv


def run_column_grid(study, trained, gspec, grid_file: Path, out: Path, device: str) -> int:
    from memspice.artifacts import ColumnModelArtifact
    from memspice.nn.artifacts import column_model
    from memspice.nn.evaluate import evaluate

    points = json.loads(Path(grid_file).read_text())
    cal = study.spec.evaluate.column_grid_calibration_images
    rows_out: dict[str, list[Any]] = {k: [] for k in ("rows", "r_wire_ohm", "bits", "column_gain_c1",
                                                     "sigma_g_rel", "ideal_no_column", "lloyd_max_no_column",
                                                     "ideal_column", "lloyd_max_column", "delta_points")}
    refs: dict[int, Any] = {}
    for k, p in enumerate(points):
        art = ColumnModelArtifact.from_json(p["column_model"], f"{grid_file} point {k} column_model")
        n, r, m = int(p["rows"]), float(p["r_wire_ohm"]), art.to_json()
        cim = study._cim_spec().replace(rows=n, calibration_images=cal)
        if n not in refs:
            refs[n] = evaluate(trained, cim, gspec, out_dir=out / f"rows{n}_no_column", data_root=study._data_root(),
                               device=device, show_progress=False)
        column = column_model(art)
        res = evaluate(trained, cim, gspec, out_dir=out / f"rows{n}_r{r:g}", data_root=study._data_root(),
                       device=device, column=column, show_progress=False)
        study.log(f"    column grid {n} rows, {r:g} ohm: ideal {100 * res.accuracy('ideal')[0]:.2f} %")
        for b in gspec.bits:
            ref, got = refs[n].accuracy("lloyd_max", b)[0], res.accuracy("lloyd_max", b)[0]
            for k, v in (("rows", n), ("r_wire_ohm", r), ("bits", b), ("column_gain_c1", m["coefficients"][1]),
                         ("sigma_g_rel", m["sigma_g_rel"]), ("ideal_no_column", 100 * refs[n].accuracy("ideal")[0]),
                         ("lloyd_max_no_column", 100 * ref), ("ideal_column", 100 * res.accuracy("ideal")[0]),
                         ("lloyd_max_column", 100 * got), ("delta_points", 100 * (got - ref))):
                rows_out[k].append(v)
    write_csv(out / "column_grid.csv", rows_out)
    return len(rows_out["rows"])
