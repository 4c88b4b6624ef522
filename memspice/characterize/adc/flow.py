"""The whole ADC characterization: :func:`run_adc` (compute, no files), :func:`summary`, :func:`adc_artifact`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from memspice import __version__
from memspice.artifacts import AdcArtifact
from memspice.characterize.adc.chips import check_band, chip_monte_carlo, nonconverged, stopped_at
from memspice.characterize.adc.disturb import read_disturb
from memspice.characterize.adc.energy import BASIS_NOTE
from memspice.characterize.adc.measure import (
    ENERGY_GROUPS,
    EnergyResult,
    Transfer,
    area_um2,
    conversion_energy_settled,
    program_converter,
    pullup_sensitivity_lsb,
    transfer,
)
from memspice.characterize.adc.montecarlo import AdcMcResult, McSamples, mc_sigmas, mc_statistics
from memspice.characterize.adc.options import PAPER, RunOptions
from memspice.characterize.adc.programming import Programming
from memspice.characterize.adc.timed import TimedProgramming, program_in_timing
from memspice.errors import SimulationError
from memspice.extract import adc as ex
from memspice.spec.adc import AdcSpec
from memspice.spec.device import DeviceCard, load_card

# -- 7. the whole characterization -------------------------------------------------------------------


@dataclass
class AdcResult:
    spec: AdcSpec
    card: DeviceCard
    pmap: ex.ProgrammingMap
    prog: Programming
    transfer: Transfer
    energy: EnergyResult | None
    area: dict[str, float]
    mc: AdcMcResult | None = None
    mc_samples: McSamples | None = None
    mc_stats: dict | None = None
    pullup_sensitivity: dict | None = None
    mc_open: AdcMcResult | None = None  # closed loop with mc.open_reference: the same samples programmed open loop
    mc_open_stats: dict | None = None
    read_disturb: dict | None = None  # reads with free memristor states (disturb.read_disturb)
    timed: TimedProgramming | None = None  # write-verify in the precharge scheme's timing


def run_adc(spec: AdcSpec, opts: RunOptions = RunOptions(), *, energy: bool = True,
            log: Callable[[str], None] | None = None) -> AdcResult:
    """Map, reachability check, write-verify, transfer, energy and (if ``mc.samples``) Monte Carlo.

    The Monte Carlo (:func:`~memspice.characterize.adc.chips.chip_monte_carlo`) programs each sample
    as ``mc.programming`` says (closed loop by default; with ``mc.open_reference`` the same samples
    open loop too), through the engine with ``opts.workers`` processes, cached under
    ``opts.mc_cache_root``.
    """
    card = load_card(spec.card)
    targets = spec.targets_v()
    say = log or (lambda s: None)
    pmap, prog, tr = program_converter(spec, card, opts, log=say)
    timed = None
    if spec.timing.scheme == "precharge":
        # programming is verified in the timing the converter is read in (DC read states differ)
        timed = program_in_timing(spec, card, pmap, prog, opts, log=say)
        prog = timed.prog
        tr = transfer(spec, card, prog, opts)
    en = None
    if energy:
        say(f"transient: {spec.timing.conversions} conversions")
        en = conversion_energy_settled(spec, card, prog, opts, log=say)
    result = AdcResult(spec=spec, card=card, pmap=pmap, prog=prog, transfer=tr, energy=en, area=area_um2(spec),
                       pullup_sensitivity=pullup_sensitivity_lsb(spec, card, prog, opts=opts), timed=timed)
    if energy and en is not None:
        say("read disturb: the conversions again with the memristor states free")
        timed_spec = spec.with_overrides({"timing.read_s": en.read_s, "timing.period_s": en.period_s})
        result.read_disturb = read_disturb(timed_spec, card, prog, opts)
    if spec.mc.samples:
        mode = spec.mc.programming
        if mode == "closed":
            check_band(spec, card, pmap)
        modes = [mode] + (["open"] if mode == "closed" and spec.mc.open_reference else [])
        for m in modes:
            say(f"Monte Carlo: {spec.mc.samples} samples, {m}-loop programming")
            mc, samples = chip_monte_carlo(spec, card, prog, opts, m)
            if mc.failed:
                say(f"Monte Carlo: {len(mc.failed)} sample(s) failed in ngspice and are left out: "
                    f"{', '.join(map(str, mc.failed[:10]))}{' ...' if len(mc.failed) > 10 else ''}")
            if not len(mc.measured_v):
                raise SimulationError(f"Monte Carlo: all {spec.mc.samples} samples failed in ngspice")
            for row in nonconverged(mc):
                say(f"Monte Carlo: sample {row['sample']} did not converge at {stopped_at(row)}: "
                    f"{row['reason']} ({row['verify_iterations']} verify sweeps)")
            if m == mode:
                result.mc, result.mc_samples = mc, samples
                result.mc_stats = mc_statistics(spec, mc, targets)
            else:
                result.mc_open, result.mc_open_stats = mc, mc_statistics(spec, mc, targets)
    return result


def summary(result: AdcResult) -> dict:
    spec, tr, en = result.spec, result.transfer, result.energy
    energy = en.energy_per_conversion_j if en else None
    fom = ex.walden_fom_J(energy, tr.enob) if en else None
    groups: dict[str, float] = {}
    if en:
        for name, e in en.by_supply_j.items():
            groups[ENERGY_GROUPS[name]] = groups.get(ENERGY_GROUPS[name], 0.0) + e
    stats = result.mc_stats or {}
    lo_g, hi_g = result.card.window_s()
    return {
        "bits": spec.bits,
        "energy_per_conversion_J": energy,
        "delay_s": en.delay_s if en else None,
        "read_window_s": en.read_s if en else None,
        "conversion_period_s": en.period_s if en else None,
        "inl_max_lsb": tr.inl_max_lsb,
        "dnl_max_lsb": tr.dnl_max_lsb,
        "area_um2": result.area["total_um2"],
        "boundary_sigma_V": list(stats["boundary_sigma_V"]) if stats else None,
        "boundary_sigma_rms_V": stats.get("boundary_sigma_rms_V"),
        "input_range_V": [spec.input_lo_v, spec.input_hi_v],
        "lsb_V": spec.lsb_v,
        "max_boundary_error_lsb": float(np.max(np.abs(tr.error_lsb))),
        "monotonic": tr.monotonic,
        "encoder_disagreements_off_transitions": tr.encoder_disagreements(),
        "enob": tr.enob,
        "walden_fom_J_per_step": fom,
        "energy_by_supply_J": en.by_supply_j if en else None,
        "energy_by_group_J": groups or None,
        "ref_absorbed_J": en.ref_absorbed_j if en else None,
        "transient_codes_ok": en.codes_ok if en else None,
        "area": result.area,
        "write_verify_iterations": result.prog.iterations,
        "write_verify_history_lsb": result.prog.history_lsb,
        "card": {"name": result.card.name, "model": result.card.model, "window_S": [lo_g, hi_g]},
        "reachable_V": {side: list(result.pmap.reachable_v(side)) for side in ("lower", "upper")},
        "energy_switching_J": en.switching_j if en else None,
        "energy_static_J": en.static_j if en else None,
        "energy_by_cause_J": en.by_cause() if en else None,
        "energy_basis": BASIS_NOTE,
        "area_normalised_um2": result.area["total_normalised_um2"],
        "area_normalised_node_nm": spec.layout.normalise_node_nm,
        "evaluation_scheme": spec.timing.scheme,
        "timed_programming": ({"rounds": result.timed.rounds, "worst_error_lsb_per_round": result.timed.history_lsb,
                               "boundaries_V": result.timed.dominant_v.tolist(),
                               "max_boundary_error_lsb": float(np.max(np.abs(result.timed.error_lsb)))}
                              if result.timed else None),
        "ml_scheme": ("ratioed pull-up during the read (static), gated off between reads"
                      if spec.timing.scheme == "static" else
                      "precharged match line (pull-up gate at 0 V), pull-up as keeper at v_pu_v, sense-enabled "
                      "encoder; dividers on until the code is captured"),
        "ml_pullup_sensitivity": result.pullup_sensitivity,
        "monte_carlo": ({k: v for k, v in stats.items() if k not in ("boundary_sigma_V", "inl_max_lsb", "dnl_max_lsb")}
                        | {"seed": spec.mc.seed, **mc_sigmas(spec, result.card),
                           "seeding": f"Monte Carlo engine: numpy SeedSequence(seed).spawn(chunks), one child per "
                                      f"chunk of mc.chunk = {spec.mc.chunk} samples (independent of workers)"})
                       if stats else None,
        "monte_carlo_open": _mc_block(result.mc_open_stats),
        "read_disturb": result.read_disturb,
        "nonconverged": nonconverged(result.mc) if result.mc is not None else [],
        "closed_over_open_time_ratio": (result.mc.seconds / result.mc_open.seconds
                                        if result.mc_open is not None and result.mc is not None
                                        and result.mc_open.seconds > 0 else None),
        "mc_knobs": ({"programming": spec.mc.programming, "band_V": spec.mc.band_v, "max_iter": spec.mc.max_iter,
                      "v_pu_shift_V": spec.mc.v_pu_shift_v, "drift_S": spec.mc.drift_s,
                      "drift_sigma_S": spec.mc.drift_sigma_s, "write_band_frac": spec.mc.write_band_frac}
                     if stats else None),
        "paper": {k: v for k, v in PAPER.items() if k != "linearity_lsb"},
        "spec_hash": spec.spec_hash(),
        "memspice_version": __version__,
    }


def _mc_block(stats: dict | None) -> dict | None:
    if not stats:
        return None
    return {k: v for k, v in stats.items() if k not in ("boundary_sigma_V", "inl_max_lsb", "dnl_max_lsb")}


def _artifact_rows(spec: AdcSpec, mc: AdcMcResult, targets_v: np.ndarray) -> dict:
    err = mc.measured_v - targets_v[None, :]
    return {"programming": mc.programming, "sample": [int(k) for k in mc.sample],
            "measured_V": mc.measured_v.tolist(), "errors_V": err.tolist(), "errors_lsb": (err / spec.lsb_v).tolist(),
            "converged": None if mc.converged is None else [bool(c) for c in mc.converged],
            "nonconverged": nonconverged(mc)}


def adc_artifact(result: AdcResult) -> AdcArtifact:
    """``adc.json`` (:class:`memspice.artifacts.AdcArtifact`): what the neural-network side loads.

    ``mc_measured_V`` holds the rows of the default programming mode (``mc_programming``); ``mc`` holds,
    per mode run (``closed``, ``open``), each sample's measured boundaries and their errors against the
    targets in volts and in LSB (non-converged closed-loop samples included and named).
    """
    spec = result.spec
    n = 2**spec.bits - 1
    mc = result.mc.measured_v if result.mc is not None else np.zeros((0, n))
    targets = result.transfer.targets_v
    modes = {}
    for run in (result.mc, result.mc_open):
        if run is not None:
            modes[run.programming] = _artifact_rows(spec, run, targets)
    return AdcArtifact(
        mc_programming=result.mc.programming if result.mc is not None else None,
        mc=modes,
        bits=spec.bits,
        input_range_V=(spec.input_lo_v, spec.input_hi_v),
        targets_V=np.asarray(result.transfer.targets_v),
        measured_V=np.asarray(result.transfer.measured_v),
        mc_measured_V=mc,
        source=(f"memspice {__version__} characterize adc: {spec.bits}-bit Q-cell ADC in ngspice, "
                f"card {result.card.name}, transistors {spec.cell.transistors}, spec hash {spec.spec_hash()}"
                + (f", Monte Carlo seed {spec.mc.seed}" if len(mc) else "")),
    )
