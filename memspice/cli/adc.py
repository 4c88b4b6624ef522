"""``memspice characterize adc``: program and characterize a Q-cell ADC in ngspice."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from memspice.cli.common import Backend, Overwrite, cli_log
from memspice.errors import SpecError


def build_spec(spec_file: Path | None, *, bits: int | None = None, boundaries: Path | None = None,
               mc: int | None = None, seed: int | None = None, card: str | None = None,
               params: list[str] | None = None, programming: str | None = None):
    """The AdcSpec of a command line: ``--param NAME=VALUE`` pairs parsed, then
    :func:`memspice.spec.adc.build_adc_spec` (every check that needs no simulation)."""
    from memspice.cli.common import parse_overrides
    from memspice.spec.adc import build_adc_spec

    return build_adc_spec(spec_file, bits=bits, boundaries=boundaries, mc=mc, seed=seed, card=card,
                          overrides=parse_overrides(params), programming=programming)


def convergence(result) -> dict:
    """Which nominal boundaries write-verify brought within ``program_tol_lsb`` (read through the encoder)."""
    import numpy as np

    spec, tr = result.spec, result.transfer
    err = np.abs(np.asarray(tr.measured_v, dtype=float) - np.asarray(tr.targets_v, dtype=float)) / spec.lsb_v
    ok = np.isfinite(err) & (err <= spec.program_tol_lsb)
    return {"write_verify_converged": bool(ok.all()), "write_verify_tolerance_lsb": spec.program_tol_lsb,
            "boundaries_not_converged": [int(i) for i in np.nonzero(~ok)[0]],
            "boundary_error_lsb": [float(e) if np.isfinite(e) else None for e in err]}


def register(app: typer.Typer, characterize_app: typer.Typer) -> None:
    @characterize_app.command("adc")
    def adc(
        spec_file: Annotated[
            Path | None,
            typer.Argument(help="ADC spec (TOML with an [adc] table), e.g. "
                                                "circuits/qcell_adc_4bit.toml; defaults when omitted."),
        ] = None,
        bits: Annotated[int | None, typer.Option("--bits", help="Resolution n (2 to 6): 2^n Q-cells.")] = None,
        boundaries: Annotated[
            Path | None,
            typer.Option("--boundaries", help="CSV with one column boundary_V: the 2^n - 1 internal boundaries in V, "
            "ascending. Default: uniform over the input range."),
        ] = None,
        mc: Annotated[
            int | None,
            typer.Option("--mc", help="Monte Carlo samples (programming error, read noise, "
                                      "threshold mismatch)."),
        ] = None,
        seed: Annotated[
            int | None,
            typer.Option("--seed", help="Monte Carlo seed (recorded with the results)."),
        ] = None,
        programming: Annotated[
            str | None,
            typer.Option("--programming", help="How each Monte Carlo sample is programmed: closed (write-verify of "
            "that chip, the default; also runs open loop for comparison unless mc.open_reference=false) or open."),
        ] = None,
        workers: Annotated[
            int | None,
            typer.Option("--workers", help="Monte Carlo worker processes (default: one per "
                                           "core; the numbers do not depend on it)."),
        ] = None,
        card: Annotated[str | None, typer.Option("--card", help="Memristor card: built-in name or TOML path.")] = None,
        param: Annotated[
            list[str] | None,
            typer.Option("--param", help="Override NAME=VALUE in SI units, dotted "
                                               "for sub-tables (cell.v_read_v=0.7, timing.read_s=5e-10)."),
        ] = None,
        out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("runs/adc"),
        backend: Annotated[Backend, typer.Option("--backend", help="ngspice backend.")] = Backend.subprocess,
        energy: Annotated[
            bool,
            typer.Option("--energy/--no-energy", help="Run the transient energy/delay study."),
        ] = True,
        figures: Annotated[bool, typer.Option("--figures/--no-figures", help="Write PNG figures.")] = True,
        overwrite: Overwrite = False,
    ) -> None:
        """Program a Q-cell ADC and characterize it: boundaries, transfer, INL/DNL, energy, area, Monte Carlo."""
        from memspice.characterize import adc as flow
        from memspice.cli.common import prepare_out_dir
        from memspice.errors import ProgrammingFailed
        from memspice.io import write_json

        if workers is not None and workers < 1:
            raise SpecError("--workers", workers, "at least 1 worker process")
        spec = build_spec(spec_file, bits=bits, boundaries=boundaries, mc=mc, seed=seed, card=card, params=param,
                          programming=programming)
        out_dir = prepare_out_dir(out, "characterize adc", spec.spec_hash(), overwrite=overwrite)
        # the Monte Carlo chunk cache lives with the results: rerunning into the same folder resumes
        opts = flow.RunOptions(backend=backend.value, show_progress=True, workers=workers,
                               mc_cache_root=out_dir / "mc_cache")
        result = flow.run_adc(spec, opts, energy=energy, log=cli_log("adc"))
        conv = convergence(result)
        summ = flow.write_outputs(result, out_dir, figures=figures)
        summ.update(conv)
        write_json(out_dir / "summary.json", summ)
        _print_summary(summ, out_dir)
        bad = conv["boundaries_not_converged"]
        if bad and len(bad) == len(conv["boundary_error_lsb"]):
            raise ProgrammingFailed(f"write-verify converged for no boundary (tolerance {spec.program_tol_lsb:g} LSB, "
                                    f"{result.prog.iterations} iterations); results kept in {out_dir} for inspection")
        if bad:
            typer.echo(f"memspice: warning: write-verify did not converge for boundaries {bad} (tolerance "
                       f"{spec.program_tol_lsb:g} LSB); see boundary_error_lsb in {out_dir / 'summary.json'}", err=True)


def _print_summary(s: dict, out_dir: Path) -> None:
    lines = [f"{s['bits']}-bit Q-cell ADC, input {s['input_range_V'][0]:g}-{s['input_range_V'][1]:g} V "
             f"(LSB {s['lsb_V'] * 1e3:.2f} mV)",
             f"  max |boundary error| {s['max_boundary_error_lsb']:.3f} LSB, max |INL| {s['inl_max_lsb']:.3f} LSB, "
             f"max |DNL| {s['dnl_max_lsb']:.3f} LSB, ENOB {s['enob']:.2f}, monotonic {s['monotonic']}"]
    if s["energy_per_conversion_J"] is not None:
        lines.append(f"  energy ({s['evaluation_scheme']} scheme) {s['energy_per_conversion_J'] * 1e15:.1f} "
                     f"fJ/conversion total (DC counted), {s['energy_switching_J'] * 1e15:.1f} fJ switching "
                     f"(C V^2; the paper's basis: 12.58 fJ at 5 bits), delay {s['delay_s'] * 1e12:.0f} ps, "
                     f"Walden FoM {s['walden_fom_J_per_step'] * 1e15:.2f} fJ/step (total basis)")
    lines.append(f"  area {s['area_um2']:.1f} um^2 at {s['area']['node_nm']:g} nm, {s['area_normalised_um2']:.1f} um^2 "
                 f"at {s['area_normalised_node_nm']:g} nm ({s['area']['transistors']} transistors, "
                 f"{s['area']['memristors']} memristors; paper: 24.29 um^2, 28 nm)")
    rd = s.get("read_disturb")
    if rd:
        lines.append(f"  read disturb (free memristor states): peak {rd['peak_memristor_V']:.3f} V across a memristor "
                     f"(threshold {rd['v_off_V']:.3f} V), drift {rd['dg_per_read_max_S']:.1e} S per read, boundary "
                     f"shift {rd['boundary_shift_after_reads_max_lsb']:.1e} LSB after {rd['reads_extrapolated']:.0e} "
                     "reads")
    for key in ("monte_carlo", "monte_carlo_open"):
        mc = s.get(key)
        if not mc:
            continue
        knobs = s.get("mc_knobs") or {}
        how = (f"closed loop, band +-{knobs.get('band_V', 0) * 1e3:g} mV" if mc.get("programming") == "closed"
               else "open loop")
        lines.append(f"  Monte Carlo {how} ({mc['samples']} samples, seed {s['monte_carlo']['seed']}): boundary "
                     f"sigma {mc['boundary_sigma_rms_V'] * 1e3:.2f} mV rms, RMS max|INL| {mc['inl_max_lsb_rms']:.3f} "
                     f"LSB, RMS max|DNL| {mc['dnl_max_lsb_rms']:.3f} LSB, code error rate {mc['code_error_rate']:.2e}, "
                     f"{mc['seconds']:.1f} s")
        if mc.get("nonconverged_samples") is not None:
            lines.append(f"    write-verify: {mc['nonconverged_samples']} of {mc['samples']} sample(s) did not "
                         f"converge, {mc['verify_iterations_mean']:.1f} verify sweeps per sample on average")
        if mc.get("failed_samples"):
            lines.append(f"    {len(mc['failed_samples'])} sample(s) failed in ngspice and are left out")
    if s.get("closed_over_open_time_ratio"):
        lines.append(f"  closed/open Monte Carlo time ratio {s['closed_over_open_time_ratio']:.1f}")
    lines.append(f"  results in {out_dir}")
    typer.echo("\n".join(lines))
