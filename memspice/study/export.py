"""The export stage: paper tables, figures, manifest and ``index.html`` of a study's run folder.

Tables are built from the stages' own CSV/JSON outputs into ``tables/`` (CSV + metadata, LaTeX,
Markdown: :class:`memspice.report.tables.Table`); figures are copied into ``figures/`` as PNG and
PDF; ``manifest.json`` records versions, seeds, stage keys and spec hashes. ``memspice export RUN
--format ...`` re-renders the tables from the run folder alone.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from memspice.io import write_json
from memspice.report.tables import FORMATS, Table, export_tables, parse_cell


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _num(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _cell(text: str, numeric: bool) -> Any:
    """A CSV cell as a table value: numeric columns parsed (integers stay integers), text kept."""
    return parse_cell(text) if numeric else text


def device_table(stage_dir: Path) -> Table:
    rows = []
    for summ in sorted(stage_dir.glob("*/summary.json")):
        s = json.loads(summ.read_text())
        e, p, mc = s["extracted"], s["programming"], s["mc"]
        rows.append([s["card"], s["model"], e["r_on_ohm"], e["r_off_ohm"], e["set_threshold_V"],
                     e["card_set_threshold_V"], e["reset_threshold_V"], e["card_reset_threshold_V"],
                     float(np.mean([t["pulses_mean"] for t in p["per_target"]])),
                     (mc["final_std_S_mean"] or math.nan) * 1e6])
    return Table("devices", "Memristor cards: extracted switching thresholds and R_on/R_off, write-verify cost and "
                 "programmed spread (paper: sigma 2.4-3.0 uS)",
                 ["card", "model", "R_on_ohm", "R_off_ohm", "V_set_V", "V_set_card_V", "V_reset_V", "V_reset_card_V",
                  "pulses_mean", "final_sigma_uS"], rows,
                 digits={"R_on_ohm": 4, "R_off_ohm": 4, "V_set_V": 3, "V_set_card_V": 3, "V_reset_V": 3,
                         "V_reset_card_V": 3, "pulses_mean": 3, "final_sigma_uS": 3})


def crossbar_tables(stage_dir: Path) -> list[Table]:
    s = json.loads((stage_dir / "summary.json").read_text())
    tile = s["tile"]
    mc = s.get("mc", {})
    summary = Table(
        "crossbar", f"Crossbar column ({tile['rows']} rows, {tile['cell']}, card {tile['card']}, wire "
        f"{tile['r_row_segment_ohm']:g} ohm per segment): SPICE versus the ideal dot product",
        ["rows", "rel_error_fs_rms_percent", "rel_error_fs_max_percent", "gain", "settling_ns", "energy_per_read_pJ",
         "energy_per_mac_fJ", "mc_samples", "mc_sigma_percent_fs"],
        [[tile["rows"], 100 * s["rel_error_fs_rms"], 100 * s["rel_error_fs_max"], s["transfer"]["gain"],
          (s.get("settling_time_s") or math.nan) * 1e9, (s.get("energy_per_read_J") or math.nan) * 1e12,
          (s.get("energy_per_mac_J") or math.nan) * 1e15, mc.get("samples", 0),
          100 * mc.get("i_out_std_fs", math.nan)]],
        digits={"rel_error_fs_rms_percent": 3, "rel_error_fs_max_percent": 3, "gain": 4, "settling_ns": 3,
                "energy_per_read_pJ": 4, "energy_per_mac_fJ": 4, "mc_sigma_percent_fs": 3})
    ir = Table("ir_drop", "IR-drop error of the column versus rows and wire resistance (RMS, % of full scale)",
               ["rows", "r_wire_ohm", "rel_error_fs_rms_percent", "gain"],
               [[r["rows"], r["r_wire_ohm"], 100 * r["rel_error_fs_rms"], r["gain"]] for r in s["ir_drop"]],
               digits={"rel_error_fs_rms_percent": 3, "gain": 4})
    return [summary, ir]


def adc_table(stage_dir: Path) -> Table:
    rows = []
    for summ in sorted(stage_dir.glob("*/summary.json")):
        s = json.loads(summ.read_text())
        mc = s.get("monte_carlo") or {}
        e = s.get("energy_per_conversion_J")
        rows.append([summ.parent.name, s["bits"], s["max_boundary_error_lsb"], s["inl_max_lsb"], s["dnl_max_lsb"],
                     (s.get("boundary_sigma_rms_V") or math.nan) * 1e3,
                     mc.get("inl_max_lsb_rms", math.nan), mc.get("dnl_max_lsb_rms", math.nan),
                     mc.get("code_error_rate", math.nan), e * 1e15 if e else math.nan,
                     (s.get("energy_switching_J") or math.nan) * 1e15, s["area_um2"]])
    return Table("adc_linearity", "Q-cell ADCs in SPICE: nominal boundary error and linearity, Monte Carlo spread "
                 "(RMS over samples of max |INL| and max |DNL|, as the paper's Fig. 4), energy (total, DC counted; and "
                 "switching only, the paper's basis) and area",
                 ["adc", "bits", "max_boundary_error_lsb", "inl_max_lsb", "dnl_max_lsb", "boundary_sigma_mV",
                  "mc_inl_max_lsb_rms", "mc_dnl_max_lsb_rms", "code_error_rate", "energy_fJ",
                  "energy_switching_fJ", "area_um2"], rows,
                 digits={"max_boundary_error_lsb": 3, "inl_max_lsb": 3, "dnl_max_lsb": 3, "boundary_sigma_mV": 3,
                         "mc_inl_max_lsb_rms": 3, "mc_dnl_max_lsb_rms": 3, "code_error_rate": 3, "energy_fJ": 4,
                         "energy_switching_fJ": 4, "area_um2": 4})


def accuracy_tables(stage_dir: Path) -> list[Table]:
    rows = _csv(stage_dir / "accuracy.csv")
    if not rows:
        return []
    net, data = rows[0]["network"], rows[0]["dataset"]
    base = {r["adc"]: _num(r["accuracy"]) for r in rows if r["bits"] == "0"}
    nominal = [r for r in rows if r["bits"] != "0" and _num(r["sigma"]) == 0 and not r["adc"].startswith("spice")]
    adcs = list(dict.fromkeys(r["adc"] for r in nominal))
    spice = [r for r in rows if r["adc"].startswith("spice")]  # spice: closed-loop chips; spice_open: open loop
    labels = sorted(dict.fromkeys(r["adc"] for r in spice), key=lambda a: (a != "spice", a))
    bits = sorted({int(r["bits"]) for r in nominal} | {int(r["bits"]) for r in spice})
    cols = ["bits", *[f"{a}_percent" for a in adcs]] + [f"{a}_{s}_percent" for a in labels for s in ("mean", "min")]
    table_rows = []
    for b in bits:
        row: list[Any] = [b]
        for a in adcs:
            acc = [_num(r["accuracy"]) for r in nominal if r["adc"] == a and int(r["bits"]) == b]
            row.append(100 * acc[0] if acc else None)
        for label in labels:
            acc = np.array([_num(r["accuracy"]) for r in spice if int(r["bits"]) == b and r["adc"] == label])
            row += [100 * acc.mean(), 100 * acc.min()] if acc.size else [None, None]
        table_rows.append(row)
    out = [Table("accuracy", f"Test accuracy (%) of {net} on {data} versus ADC bits and ADC model (float "
                 f"{100 * base.get('float', math.nan):.2f} %, ideal CIM {100 * base.get('ideal', math.nan):.2f} %); "
                 "spice: Lloyd-Max boundaries moved by the SPICE Q-cell ADC's Monte Carlo errors of closed-loop "
                 "programmed chips (mean, min); spice_open: the same chips programmed open loop",
                 cols, table_rows, digits={c: 4 for c in cols[1:]})]
    sweep = [r for r in rows if _num(r["sigma"]) > 0]
    if sweep:
        models = list(dict.fromkeys(r["adc"] for r in sweep))
        sbits = sorted({int(r["bits"]) for r in sweep})
        sigmas = sorted({_num(r["sigma"]) for r in sweep})
        cols = ["sigma_percent"] + [f"{m}_{b}b_{stat}" for m in models for b in sbits for stat in ("mean", "min")]
        srows = []
        for s in sigmas:
            row = [100 * s]
            for m in models:
                for b in sbits:
                    acc = np.array([_num(r["accuracy"]) for r in sweep
                                    if r["adc"] == m and int(r["bits"]) == b and _num(r["sigma"]) == s])
                    row += [100 * acc.mean(), 100 * acc.min()] if acc.size else [None, None]
            srows.append(row)
        trials = len({r["trial"] for r in sweep})
        out.append(Table("variation_sweep", f"Accuracy (%) under Gaussian boundary variation (sigma as % of the "
                         f"layer's boundary range, {trials} trials: mean and min), as the paper's Fig. 5",
                         cols, srows, digits={c: 4 for c in cols[1:]}))
    return out


def column_table(stage_dir: Path) -> list[Table]:
    """Accuracy with the crossbar column model between the arrays and the ADCs (evaluate/column)."""
    path = stage_dir / "column" / "accuracy.csv"
    if not path.exists():
        return []
    rows = _csv(path)
    model = json.loads((stage_dir / "column" / "provenance.json").read_text()).get("column_model") or {}
    trows = [[r["adc"], int(r["bits"]), 100 * _num(r["accuracy"])] for r in rows]
    src = model.get("source", "") if isinstance(model, dict) else str(model)
    return [Table("accuracy_column", "Test accuracy (%) through the crossbar stage's own column (its rows, wires, "
                  "driver and conductance window) as the deterministic nodal model (every column's IR drop from its "
                  "own weights, checked against ngspice) plus the cells' random spread, before each ADC; calibrated "
                  "through the column (hardware calibration, digital gain/offset correction); the model is "
                  "evaluate/column/column_model.json",
                  ["adc", "bits", "accuracy_percent"], trows, digits={"accuracy_percent": 4}, notes=src)]


def column_grid_table(stage_dir: Path) -> list[Table]:
    """Accuracy through the column versus rows and wire resistance (evaluate/column_grid)."""
    path = stage_dir / "column_grid" / "column_grid.csv"
    if not path.exists():
        return []
    rows = _csv(path)
    keep = ["rows", "r_wire_ohm", "bits", "column_gain", "ideal_no_column", "ideal_column",
            "lloyd_max_no_column", "lloyd_max_column", "delta_points", "works"]
    return [Table("accuracy_column_grid", "Test accuracy (%) through the crossbar column versus rows per sub-array "
                  "and wire resistance per row and column segment, beside the same rows without a column. Column: "
                  "the deterministic nodal model (every column's IR drop from its own weights and rows, checked "
                  "against ngspice) plus the cells' random spread; hardware calibration (ranges, a digital "
                  "gain/offset per layer and Lloyd-Max fitted on the column's corrected output); column_gain: "
                  "signal kept by a full-scale column (all rows on, all weights +w_max); works: Lloyd-Max within "
                  "2 points of its no-column row (docs/nn.md)", keep,
                  [[_cell(r[k], k != "works") for k in keep] for r in rows], digits={k: 4 for k in keep[3:-1]})]


def paper_table(stage_dir: Path) -> list[Table]:
    """The paper-setting preset beside the paper's numbers (evaluate/paper)."""
    path = stage_dir / "paper" / "accuracy.csv"
    if not path.exists():
        return []
    from memspice.nn.paper import PAPER_VGG8_CIFAR10

    got = {(r["adc"], int(r["bits"])): 100 * _num(r["accuracy"]) for r in _csv(path)}
    cols = ["bits", "uniform_minmax", "uniform_minmax_paper", "lloyd_max", "lloyd_max_paper"]
    trows = [[b, got.get(("uniform_minmax", b), float("nan")), PAPER_VGG8_CIFAR10["uniform_minmax"][b],
              got.get(("lloyd_max", b), float("nan")), PAPER_VGG8_CIFAR10["lloyd_max"][b]] for b in (3, 4, 5)]
    return [Table("accuracy_paper_setting", "The paper's setting (whole-layer conversion, the authors' uniform "
                  "min-max with cell centres and Lloyd-Max with their batch preprocessing), this study's network "
                  "beside the paper's VGG8 on CIFAR-10 (different network and data set: compare the trend; the "
                  "study's network is trained in float, the paper's with 8-bit weights and activations: "
                  "`memspice evaluate --preset paper` runs that kind)", cols,
                  trows, digits={c: 4 for c in cols[1:]})]


def system_tables(stage_dir: Path) -> list[Table]:
    rows = _csv(stage_dir / "system.csv")
    keep = ["workload", "array_energy", "adc", "bits", "energy_basis", "adc_energy_share_percent",
            "adc_area_share_percent", "energy_per_inference_uJ", "area_mm2", "energy_saving_vs_sar_percent",
            "area_saving_vs_sar_percent"]
    keep = [k for k in keep if k in (rows[0] if rows else keep)]  # system.csv of earlier runs has no basis
    num = set(keep[3:]) - {"energy_basis"}
    trows = [[_cell(r[k], k in num) for k in keep] for r in rows]
    head = [k for k in keep if k not in ("workload", "array_energy")]
    system = Table("system", "The paper's VGG8 workload with NeuroSim's 14 nm array and periphery: energy and area "
                   "per inference by ADC design, ADC share of the total and savings against the SAR baseline (paper: "
                   "ADC share 79.8 -> 22.5 % of energy, 47.6 -> 16.9 % of area; the paper's Q-cell energy is "
                   "switching only, so compare it with the switching rows)", head,
                   [[_cell(r[k], k in num) for k in head] for r in rows
                    if r["workload"] == "paper_vgg8" and r["array_energy"] == "neurosim_14nm"],
                   digits={k: 4 for k in head[2:] if k in num})
    every = Table("system_all", "Energy and area per inference for every workload, array energy source (NeuroSim "
                  "14 nm or the crossbar stage's SPICE read energy) and ADC design", keep, trows,
                  digits={k: 4 for k in keep[4:] if k in num})
    comp = _csv(stage_dir / "adc_comparison.csv")
    ckeep = ["adc", "bits", "energy_basis", "energy_per_conversion_fJ", "area_um2", "delay_ns", "enob",
             "walden_fJ_per_step", "source"]
    ckeep = [k for k in ckeep if k in (comp[0] if comp else ckeep)]
    cnum = set(ckeep[1:-1]) - {"energy_basis"}
    adcs = Table("adc_comparison", "ADCs by energy per conversion, area, delay and Walden figure of merit "
                 "(E / 2^ENOB)", ckeep, [[_cell(r[k], k in cnum) for k in ckeep] for r in comp],
                 digits={k: 4 for k in ckeep[2:-1] if k in cnum})
    return [system, adcs, every]


FIGURES = (  # (stage, glob, caption)
    ("device", "*/hysteresis.png", "Pinched hysteresis loop"),
    ("device", "*/programming.png", "Write-verify programming to the paper's levels"),
    ("crossbar", "transfer.png", "Crossbar column: SPICE versus the ideal dot product"),
    ("crossbar", "ir_drop.png", "IR-drop error versus rows and wire resistance"),
    ("crossbar", "mc.png", "Column output under programming error and read noise"),
    ("calibrate", "psum_*.png", "Pre-ADC partial sums with uniform and Lloyd-Max boundaries"),
    ("adc", "*/programming_map.png", "Q-cell programming map (boundary versus conductance)"),
    ("adc", "*/transfer.png", "Q-cell ADC transfer staircase"),
    ("adc", "*/inl_dnl.png", "Q-cell ADC INL and DNL"),
    ("adc", "*/boundary_distributions.png", "Monte Carlo boundary distributions"),
    ("evaluate", "accuracy_vs_bits.png", "Accuracy versus ADC bits"),
    ("evaluate", "variation_sweep.png", "Accuracy under boundary variation"),
    ("evaluate", "column_grid/column_grid.png", "Accuracy through the column versus rows and wire resistance"),
    ("system", "breakdown_*.png", "Energy and area breakdowns per inference"),
)
SECTIONS = (("Devices", ("devices",), ("device",)),
            ("Crossbar column", ("crossbar", "ir_drop"), ("crossbar",)),
            ("Q-cell ADC", ("adc_linearity",), ("calibrate", "adc")),
            ("Accuracy", ("accuracy", "variation_sweep", "accuracy_column", "accuracy_column_grid",
                          "accuracy_paper_setting"), ("evaluate",)),
            ("System energy and area", ("system", "adc_comparison", "system_all"), ("system",)))


def collect_figures(run_dir: Path, stages: set[str]) -> list[tuple[str, str, str]]:
    """Copy stage figures (PNG and PDF) into figures/; returns (stage, relative path, caption)."""
    fig_dir = run_dir / "figures"
    if fig_dir.exists():
        shutil.rmtree(fig_dir)
    fig_dir.mkdir()
    out = []
    for stage, pattern, caption in FIGURES:
        if stage not in stages:
            continue
        for png in sorted((run_dir / stage).glob(pattern)):
            rel = png.relative_to(run_dir / stage)
            name = f"{stage}_{'_'.join(rel.parts)}"
            shutil.copyfile(png, fig_dir / name)
            if png.with_suffix(".pdf").exists():
                shutil.copyfile(png.with_suffix(".pdf"), fig_dir / Path(name).with_suffix(".pdf"))
            label = f"{caption} ({'/'.join(rel.parts[:-1])})" if len(rel.parts) > 1 else caption
            out.append((stage, f"figures/{name}", label))
    return out


def build_tables(run_dir: Path, stages: set[str]) -> list[Table]:
    tables: list[Table] = []
    if "device" in stages:
        tables.append(device_table(run_dir / "device"))
    if "crossbar" in stages:
        tables += crossbar_tables(run_dir / "crossbar")
    if "adc" in stages:
        tables.append(adc_table(run_dir / "adc"))
    if "evaluate" in stages:
        tables += accuracy_tables(run_dir / "evaluate")
        tables += column_table(run_dir / "evaluate")
        tables += column_grid_table(run_dir / "evaluate")
        tables += paper_table(run_dir / "evaluate")
    if "system" in stages:
        tables += system_tables(run_dir / "system")
    return tables


def export_run(study) -> Path:
    from memspice.report.html import write_index
    from memspice.study.provenance import versions

    run_dir: Path = study.run_dir
    results = study.runner.results
    stages = set(results)
    tables = build_tables(run_dir, stages)
    tdir = run_dir / "tables"
    if tdir.exists():
        shutil.rmtree(tdir)
    for t in tables:
        t.write(tdir, FORMATS)
    figures = collect_figures(run_dir, stages)
    manifest = {
        "study": study.spec.study.name,
        "study_file": str(study.file),
        "study_spec_hash": study.spec.spec_hash(),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": versions(),
        "seeds": {"study": study.spec.study.seed, **study.seeds,
                  "derivation": "stage seed = SeedSequence([study seed, sha256(stage)[:8]]); train uses the "
                                "study seed"},
        "stages": {name: {"key": r.key, "cached": r.cached, "seconds": r.seconds, "summary": r.summary}
                   for name, r in results.items()},
        "tables": [t.name for t in tables],
        "figures": [f[1] for f in figures],
    }
    write_json(run_dir / "manifest.json", manifest)
    sections = []
    for heading, names, fig_stages in SECTIONS:
        have = [n for n in names if any(t.name == n for t in tables)]
        figs = [(rel, cap) for st, rel, cap in figures if st in fig_stages]
        if have or figs:
            sections.append((heading, have, figs))
    prov = {"study": study.spec.study.name, "memspice": manifest["versions"]["memspice"],
            "ngspice": manifest["versions"]["ngspice"], "torch": manifest["versions"]["torch"],
            "seed": study.spec.study.seed, "created (UTC)": manifest["created_utc"],
            **{f"stage {n}": f"{r.key} ({'cached' if r.cached else f'{r.seconds:.0f} s'})"
               for n, r in results.items()}}
    title = study.spec.study.title or f"memspice study {study.spec.study.name}"
    return write_index(run_dir, title, sections, provenance=prov)


def reexport(run_dir: Path, formats: tuple[str, ...]) -> list[Path]:
    """``memspice export RUN --format ...``: re-render the stored tables of a run folder."""
    from memspice.errors import InputError

    if not (run_dir / "tables").is_dir():
        raise InputError(f"{run_dir}: not a study run folder (no tables/); run `memspice study` first")
    return export_tables(run_dir / "tables", formats)
