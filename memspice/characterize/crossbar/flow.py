"""The crossbar characterization flow: :func:`run_crossbar` computes a :class:`CrossbarResult`
(no files touched); :func:`memspice.characterize.crossbar.outputs.write_outputs` writes it."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from memspice import __version__
from memspice.artifacts import ColumnModelArtifact
from memspice.characterize.crossbar.montecarlo import CrossbarCircuit, run_mc
from memspice.characterize.crossbar.reads import (
    STREAM_SWEEP,
    STREAM_TRANSFER,
    DcReads,
    draw_patterns,
    full_scale_pattern,
    pattern_reads,
    run_dc,
    run_ir_sweep,
    run_transient,
)
from memspice.extract.crossbar import error_stats, fit_column_model, variability_sigma_a
from memspice.netlist.crossbar import golden_deck
from memspice.netlist.deck import Deck
from memspice.progress import progress
from memspice.spec.crossbar import CrossbarStudy, load_study


@dataclass
class CrossbarResult:
    """Everything ``characterize crossbar`` computed for one study (arrays and JSON-able dicts)."""

    study: CrossbarStudy
    summary: dict[str, Any]  # summary.json: headline, definitions, transfer, ir_drop, transient, mc, ...
    dc: DcReads  # the DC transfer reads
    sweep: list[dict[str, Any]]  # IR-drop sweep points, each with its column model
    column_model: ColumnModelArtifact  # column_model.json
    transient: dict[str, Any] | None = None  # the full-scale transient read (waveforms); None without one
    mc_table: dict[str, Any] | None = None  # mc.csv: sample, measurements, status
    mc_samples: dict[str, Any] | None = None  # mc_samples.csv: applied conductance of every cell per sample


def golden_netlist(study: CrossbarStudy, include_dir: str = "../models") -> str:
    """The deterministic deck of a study file (pattern 0, one Op): what ``netlists/`` keeps."""
    spec = study.crossbar
    p = draw_patterns(spec, 1, [study.study.seed, STREAM_TRANSFER])[0]
    deck = golden_deck(spec, spec.conductances(p.weights), spec.voltages(p.x[:, 0]), include_dir=include_dir)
    header = {**deck.header, "pattern": f"0 of seed {study.study.seed}"}
    return Deck(deck.title, deck.cards, steps=deck.steps, header=header).render()


def variability(study: CrossbarStudy) -> tuple[float, float]:
    var = study.crossbar.device_card.variability
    prog = study.study.program_sigma_s if study.study.program_sigma_s is not None else var.program_sigma_s
    read = study.study.read_sigma_s if study.study.read_sigma_s is not None else var.read_sigma_s
    return float(prog), float(read)


_DEFINITIONS = {
    "rel_error_fs": "(spice_A - ideal_A) / I_fs over every read; I_fs = rows (g_max - g_min) v_read",
    "rel_error": "(spice_A - ideal_A) / |ideal_A| over reads with |ideal_A| >= 5 % of I_fs",
    "settling_time_s": "from the input edge until the sensed output stays within half an LSB of its value at "
                       "the end of the read; LSB = full range / 2^adc_bits, full range = +- the settled SPICE "
                       "output of the full-scale read (the ADC range calibrated to the column as built); worst "
                       "of the full-scale and the typical read",
    "energy_per_read_J": "typical read (pattern 0) of all columns of the tile, all bit slots: row drivers "
                         "(delivered energy only) + word lines + op-amp output current from the rails + op-amp "
                         "quiescent power while reading",
    "energy_per_mac_J": "energy_per_read_J / (rows * cols)",
}


def run_crossbar(study: CrossbarStudy, *, show_progress: bool = True,
                 mc_cache_root: str | Path | None = None) -> CrossbarResult:
    """Run the study: DC transfer, IR-drop sweep, transient reads, Monte Carlo (``study.mc``) and the
    column model. Writes no output file; the Monte Carlo chunk cache lives in ``mc_cache_root``
    (a rerun resumes), or in a temporary folder removed afterwards when None."""
    if mc_cache_root is None and study.study.mc:
        with tempfile.TemporaryDirectory(prefix="memspice-crossbar-mc-") as tmp:
            return _run(study, show_progress, Path(tmp))
    return _run(study, show_progress, Path(mc_cache_root) if mc_cache_root is not None else None)


def _run(study: CrossbarStudy, show_progress: bool, mc_cache_root: Path | None) -> CrossbarResult:
    spec, st = study.crossbar, study.study
    mc_table = mc_samples = None
    n_sweep = len(st.sweep_rows) * len(st.sweep_r_wire_ohm)
    total = 1 + n_sweep + (1 if st.transient else 0) + (1 if st.mc else 0)
    summary: dict[str, Any] = {}
    with progress(total, "characterize crossbar", enabled=show_progress) as prog:
        # 1. DC transfer
        patterns = draw_patterns(spec, st.patterns, [st.seed, STREAM_TRANSFER])
        reads = pattern_reads(spec, patterns)
        dc = run_dc(spec, reads, backend=st.backend)
        prog.advance()
        i_fs = spec.i_full_scale_a
        cols = dc.ideal_a.shape[1]
        summary["transfer"] = {
            **error_stats(dc.ideal_a, dc.spice_a, i_fs),
            "patterns": st.patterns,
            "reads_per_pattern": spec.drive.slots,
            "i_full_scale_A": i_fs,
            "v_full_scale_V": spec.v_full_scale_v,
            "sample_order": "sample = read * cols + column; read = pattern * slots + slot",
        }
        # 2. IR-drop sweep
        prog_sigma, read_sigma = variability(study)
        sweep = run_ir_sweep(spec, st.sweep_rows, st.sweep_r_wire_ohm, st.sweep_patterns, st.seed,
                             backend=st.backend, on_point=prog.advance,
                             sigma_g_s=math.hypot(prog_sigma, read_sigma)) if n_sweep else []
        summary["ir_drop"] = [{k: v for k, v in p.items() if k != "column_model"} for p in sweep]
        # 3. transient reads: a full-scale step (worst-case settling) and pattern 0 (typical energy)
        tr = None
        if st.transient:
            tr_full = run_transient(spec, full_scale_pattern(spec), st.adc_bits, backend=st.backend)
            tr = run_transient(spec, patterns[0], st.adc_bits, full_range=tr_full["full_range"], backend=st.backend)
            prog.advance()
            summary["transient"] = {
                "adc_bits": st.adc_bits,
                "settling_time_s": float(np.nanmax([tr_full["settling_time_s"], tr["settling_time_s"]]))
                if tr_full["settled_all"] and tr["settled_all"] else math.nan,
                "full_scale": {k: v for k, v in tr_full.items() if k not in ("time_s", "signal")},
                "typical": {k: v for k, v in tr.items() if k not in ("time_s", "signal")},
                "typical_pattern": "pattern 0 of the DC transfer",
                "full_scale_pattern": "every weight +w_max, every input x_max (all bits set)",
            }
            tr = tr_full
        # 4. Monte Carlo
        mc_out = None
        if st.mc:
            circuit = CrossbarCircuit.from_study(study)
            mc = run_mc(circuit, st.mc, st.seed, program_sigma_s=prog_sigma, read_sigma_s=read_sigma,
                        cache_root=mc_cache_root, backend=st.backend,
                        workers=st.workers or None, chunk_size=st.mc_chunk, show_progress=False)
            prog.advance()
            mc_out = {name: mc.measure(name) for name in circuit.measure_names()}
            mc_table = {"sample": np.arange(st.mc), **mc_out, "status": [s for r in mc.records for s in r["status"]]}
            values = {g: mc.values(g) for g in circuit.param_groups()}
            applied = np.stack([circuit.conductances({k: v[s] for k, v in values.items()}).ravel()
                                for s in range(st.mc)])
            columns = {f"{lab}_S": applied[:, m] for m, lab in enumerate(circuit.labels())}
            mc_samples = {"sample": np.arange(st.mc), **columns}
            key = "i_out_A" if cols == 1 else "i_out_A_c0"
            analytic = float(variability_sigma_a(circuit.v_in_v[None, :], math.hypot(prog_sigma, read_sigma))[0])
            summary["mc"] = {
                "samples": st.mc,
                "seed": st.seed,
                "seeding": "engine plan seed: numpy SeedSequence(seed).spawn(chunks), one child per chunk",
                "failed": mc.n_failed,
                "cache": str(mc.cache_dir),
                "program_sigma_S": prog_sigma,
                "read_sigma_S": read_sigma,
                "i_out_mean_A": float(np.nanmean(mc_out[key])),
                "i_out_std_A": float(np.nanstd(mc_out[key], ddof=1)) if st.mc > 1 else math.nan,
                "i_out_std_fs": float(np.nanstd(mc_out[key], ddof=1) / i_fs) if st.mc > 1 else math.nan,
                "i_out_std_analytic_A": analytic,
                "ideal_A": float(mc_out["ideal_A" if cols == 1 else "ideal_A_c0"][0]),
                "column": 0,
                "pattern": "read 0 of pattern 0 (the DC transfer's first read)",
            }
            if spec.sense.kind == "tia":
                vkey = "v_out_V" if cols == 1 else "v_out_V_c0"
                summary["mc"]["v_out_std_V"] = float(np.nanstd(mc_out[vkey], ddof=1)) if st.mc > 1 else math.nan
    # 5. column model
    s_in = (dc.ideal_a / i_fs).ravel()
    s_out = (dc.spice_a / i_fs).ravel()
    fit = fit_column_model(s_in, s_out, 3)
    sigma_g = math.hypot(prog_sigma, read_sigma)
    var_sigma = variability_sigma_a(dc.v_rows_v, sigma_g) / i_fs  # per read, normalised, wires ignored
    var_first_order = float(np.sqrt(np.mean(var_sigma**2)))
    # the wires attenuate cell errors as they attenuate the signal: scale the first-order spread by
    # the Monte Carlo's measured ratio when there is one, else by the fitted small-signal gain
    if "mc" in summary and math.isfinite(summary["mc"]["i_out_std_A"]) and summary["mc"]["i_out_std_analytic_A"] > 0:
        attenuation = summary["mc"]["i_out_std_A"] / summary["mc"]["i_out_std_analytic_A"]
        how = "Monte Carlo std / first-order std"
    else:
        attenuation = min(abs(fit["coefficients"][1]), 1.0)
        how = "fitted linear coefficient c1"
    var_rms = var_first_order * attenuation
    # only the random part is noise: the cells' programming spread and read noise, as a fraction of
    # the weight window, which the network model drives with each read's own inputs (the DC patterns'
    # dense random inputs are not the network's). The fit residual is deterministic, pattern-dependent
    # error (IR drop depends on which rows carry current); turning it into independent noise on every
    # conversion would invent randomness SPICE did not show, so it is reported, not applied
    g_min, g_max = spec.g_range_s
    sigma_g_rel = sigma_g / (g_max - g_min) * attenuation
    noise = 0.0
    column_model = ColumnModelArtifact(
        rows=spec.rows,
        coefficients=tuple(fit["coefficients"]),
        noise_sigma=noise,
        sigma_g_rel=sigma_g_rel,
        source=(f"memspice {__version__} characterize crossbar: spec {spec.spec_hash()}, seed {st.seed}, "
                f"card {spec.device_card.name}, {spec.cell}, wire {spec.wire.r_row_segment_ohm:g}/"
                f"{spec.wire.r_col_segment_ohm:g} ohm per segment; s = I / I_fs, I_fs = "
                f"{i_fs:.6g} A = rows (g_max - g_min) v_read; random part: sigma_g_rel (cell spread / "
                f"window, driven by each read's inputs); deterministic fit residual {fit['residual_rms']:.3g} "
                "of full scale not included"),
    )
    summary["column_model"] = {
        **fit,
        "noise_sigma": noise,
        "sigma_g_rel": sigma_g_rel,
        "noise_excludes": "the fit residual (deterministic pattern-dependent error, reported as "
                          "deterministic_residual_rms, not applied by the network model)",
        "deterministic_residual_rms": fit["residual_rms"],
        "noise_variability_rms": var_rms,
        "noise_variability_first_order_rms": var_first_order,
        "noise_variability_attenuation": attenuation,
        "noise_variability_attenuation_from": how,
        "variability_sigma_S": sigma_g,
        "normalisation": "s_in = ideal_A / I_fs = psum / (rows w_max x_max); s_out = spice_A / I_fs; "
                         "I_fs = rows (g_max - g_min) v_read; differential pair output I+ - I-",
    }
    summary["tile"] = {
        "rows": spec.rows, "cols": spec.cols, "cell": spec.cell, "card": spec.device_card.name,
        "device": spec.device, "read_model": spec.read_model, "g_min_S": g_min, "g_max_S": g_max,
        "v_read_V": spec.v_read_v, "r_row_segment_ohm": spec.wire.r_row_segment_ohm,
        "r_col_segment_ohm": spec.wire.r_col_segment_ohm, "sense": spec.sense.kind,
        "r_f_ohm": spec.r_f_ohm if spec.sense.kind == "tia" else None,
        "c_f_F": spec.c_f_f if spec.sense.kind == "tia" else None, "drive": spec.drive.mode,
        "input_bits": spec.drive.input_bits,
    }
    summary["provenance"] = {
        "memspice": __version__, "study_hash": study.spec_hash(), "spec_hash": spec.spec_hash(),
        "card_hash": spec.device_card.spec_hash(), "seed": st.seed,
        "seed_streams": {"transfer": [st.seed, STREAM_TRANSFER], "sweep": [st.seed, STREAM_SWEEP, "rows"],
                         "mc": f"plan seed {st.seed} (SeedSequence child per chunk)"},
        "backend": st.backend,
    }
    headline = {
        "rel_error_fs_max": summary["transfer"]["rel_error_fs_max"],
        "rel_error_fs_rms": summary["transfer"]["rel_error_fs_rms"],
        "rel_error_max": summary["transfer"]["rel_error_max"],
        "rel_error_rms": summary["transfer"]["rel_error_rms"],
    }
    if "transient" in summary:
        typical = summary["transient"]["typical"]["energy"]
        headline.update({
            "settling_time_s": summary["transient"]["settling_time_s"],
            "energy_per_read_J": typical["per_read_J"],
            "energy_per_column_read_J": typical["per_column_read_J"],
            "energy_per_mac_J": typical["per_mac_J"],
            "energy_per_mac_full_scale_J": summary["transient"]["full_scale"]["energy"]["per_mac_J"],
        })
    summary = {**headline, "definitions": _DEFINITIONS, **summary}
    return CrossbarResult(study=study, summary=summary, dc=dc, sweep=sweep, column_model=column_model,
                          transient=tr, mc_table=mc_table, mc_samples=mc_samples)


def study_for(path: str | Path, overrides: Mapping[str, Any] | None = None, **study_changes: Any) -> CrossbarStudy:
    """Load a study file with overrides and changes to its [study] table (used by the CLI)."""
    study = load_study(path, dict(overrides or {}))
    if study_changes:
        study = study.replace(study=study.study.replace(**study_changes))
    return study

