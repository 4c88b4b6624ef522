"""Writing an ADC characterization (:func:`write_outputs`; figures from :mod:`memspice.report.adc_figures`) and
the golden decks of ``netlists/`` (:func:`golden_decks`)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from memspice import __version__
from memspice.characterize.adc.chips import REASONS, bound_name
from memspice.characterize.adc.flow import AdcResult, adc_artifact, summary
from memspice.characterize.adc.programming import map_grid_s
from memspice.io import write_csv, write_json
from memspice.netlist import qcell as nq
from memspice.netlist import qcell_tran as nqt
from memspice.spec.adc import AdcSpec
from memspice.spec.device import load_card


def write_outputs(result: AdcResult, out_dir: Path, *, figures: bool = True) -> dict:
    """Write boundaries.csv, transfer.csv, summary.json, adc.json, programming/MC tables, figures."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec, tr = result.spec, result.transfer
    n_b = spec.n_cells - 1
    sample: list = [""] * n_b
    index = list(range(n_b))
    target = list(tr.targets_v)
    measured = list(tr.measured_v)
    if result.mc is not None:
        for m, row in zip(result.mc.sample, result.mc.measured_v, strict=True):
            sample += [m] * n_b
            index += list(range(n_b))
            target += list(tr.targets_v)
            measured += list(row)
    write_csv(out_dir / "boundaries.csv", {"index": index, "target_V": target, "measured_V": measured,
                                           "sample": sample})
    write_csv(out_dir / "transfer.csv", {"input_V": tr.v_in, "code": tr.codes, "code_cell_logic": tr.codes_logic,
                                         "ideal_code": tr.ideal})
    write_csv(out_dir / "linearity.csv", {"code": np.arange(spec.n_cells), "inl_lsb": tr.inl_lsb,
                                          "dnl_lsb": tr.dnl_lsb})
    p = result.prog
    write_csv(out_dir / "programming.csv", {
        "cell": np.arange(spec.n_cells), "g_lower_S": p.g_lower_s, "g_upper_S": p.g_upper_s,
        "target_lower_V": p.plan.lower_v, "target_upper_V": p.plan.upper_v,
        "measured_lower_V": p.lower_v, "measured_upper_V": p.upper_v})
    write_csv(out_dir / "programming_map.csv", {"g_S": result.pmap.g_s, "lower_V": result.pmap.lower_v,
                                                "upper_V": result.pmap.upper_v})
    if result.energy is not None:
        en = result.energy
        names = list(en.by_supply_j)
        cols = {"supply": names, "energy_per_conversion_J": list(en.by_supply_j.values())}
        if en.split is not None:  # total = static + switching (switching: the paper's basis)
            cols["static_J"] = [en.split.static_j[k] for k in names]
            cols["switching_J"] = [en.split.switching_j[k] for k in names]
        write_csv(out_dir / "energy.csv", cols)
        write_csv(out_dir / "conversions.csv", {"input_V": en.inputs_v, "expected_code": en.expected_codes,
                                                "sampled_code": en.sampled_codes, "delay_s": en.delays_s})
    if result.mc_samples is not None:
        write_csv(out_dir / "mc_samples.csv", result.mc_samples.table())
        for run, stats in ((result.mc, result.mc_stats), (result.mc_open, result.mc_open_stats)):
            if run is None:
                continue
            cols = {"sample": run.sample, "inl_max_lsb": stats["inl_max_lsb"], "dnl_max_lsb": stats["dnl_max_lsb"],
                    "code_error_rate": run.code_error_rate, "code_mismatch_rate": run.code_mismatch}
            if run.converged is not None:
                cols |= {"converged": run.converged.astype(int), "verify_iterations": run.iterations,
                         "nonconverged_boundary": run.boundary,
                         "nonconverged_bound": [bound_name(run, k) for k in range(len(run.boundary))],
                         "nonconverged_reason": [REASONS[int(r)] for r in run.reason]}
            name = "mc_per_sample.csv" if run is result.mc else f"mc_per_sample_{run.programming}.csv"
            write_csv(out_dir / name, cols)
    summ = summary(result)
    write_json(out_dir / "summary.json", summ)
    write_json(out_dir / "adc.json", adc_artifact(result).to_json())
    write_json(out_dir / "spec.json", {"adc": spec.to_dict(), "card": result.card.to_dict(),
                                       "memspice_version": __version__, "python": sys.version.split()[0]})
    if figures:
        from memspice.report.adc_figures import write_figures

        write_figures(result, out_dir)
    return summ



def golden_decks(spec: AdcSpec, include_dir: str | None = "../models") -> dict[str, str]:
    """Deterministic golden deck texts for ``netlists/`` from a spec, without any simulation.

    Conductances are the straight-line first guesses of
    :func:`memspice.reference.qcell.first_guess_conductances` (write-verified values need ngspice).
    The transistor library is included as ``<include_dir>/<file>`` (default ``../models``: the decks
    run from ``netlists/`` in any clone; None: absolute paths); memristor models are inlined.
    """
    from memspice.reference.qcell import first_guess_conductances

    card = load_card(spec.card)
    g = first_guess_conductances(card.window_s(), spec.edges_v(), spec.input_lo_v, spec.input_hi_v, spec.lsb_v)
    decks = nqt.render_golden(spec, card, g, include_dir=include_dir)
    decks[f"qcell_adc_{spec.bits}bit_map.cir"] = nq.relocate_includes(nq.map_deck(spec, card, map_grid_s(card)),
                                                                      include_dir).render()
    return dict(sorted(decks.items()))
