"""``memspice characterize crossbar SPEC.toml [NAME=VALUE ...] --out DIR``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from memspice.cli.common import Backend, Overwrite, parse_overrides, parse_value, prepare_out_dir
from memspice.errors import SpecError


def _overrides(items: list[str] | None) -> dict:
    """NAME=VALUE pairs; a value in brackets is a list: study.sweep_rows=[64,128,256]."""
    out: dict = {}
    plain = []
    for item in items or []:
        name, sep, value = item.partition("=")
        text = value.strip()
        if sep and text.startswith("[") and text.endswith("]"):
            if not name.strip():
                raise SpecError("override", item, "NAME=VALUE, e.g. rows=512")
            out[name.strip()] = [parse_value(v, name.strip()) for v in text[1:-1].split(",") if v.strip()]
        else:
            plain.append(item)
    return {**parse_overrides(plain, option="override"), **out}


def register(app: typer.Typer, characterize_app: typer.Typer) -> None:
    @characterize_app.command("crossbar")
    def characterize_crossbar_cmd(
        spec: Annotated[
            Path,
            typer.Argument(help="Crossbar study file ([crossbar] and [study] tables), "
                                    "e.g. circuits/crossbar_128.toml."),
        ] = ...,
        overrides: Annotated[
            list[str] | None,
            typer.Argument(help="Overrides NAME=VALUE in SI, dotted paths into the spec: "
                                              "rows=512, wire.r_row_segment_ohm=2.5, cell=1T1R, study.patterns=16."),
        ] = None,
        out: Annotated[Path, typer.Option("--out", help="Output folder.")] = ...,
        rows: Annotated[
            int | None, typer.Option("--rows", help="Rows of the column (same as the override rows=N)."),
        ] = None,
        mc: Annotated[
            int | None,
            typer.Option("--mc", help="Monte Carlo samples of programming error and read noise."),
        ] = None,
        workers: Annotated[
            int | None,
            typer.Option("--workers", help="Monte Carlo worker processes (default: one per core)."),
        ] = None,
        seed: Annotated[
            int | None,
            typer.Option("--seed", help="Seed of patterns, sweeps and Monte Carlo (recorded)."),
        ] = None,
        backend: Annotated[
            Backend,
            typer.Option("--backend", help="ngspice backend (default: the spec's, subprocess)."),
        ] = None,
        figures: Annotated[bool, typer.Option("--figures/--no-figures", help="Write PNG figures.")] = True,
        overwrite: Overwrite = False,
    ) -> None:
        """DC transfer vs the ideal dot product, IR drop vs rows and wire resistance, settling, read energy,
        Monte Carlo spread and the behavioural column model (column_model.json)."""
        from memspice.characterize.crossbar import run_crossbar, study_for, write_outputs

        values = _overrides(overrides)
        if rows is not None:
            values["crossbar.rows"] = rows
        changes = {k: v for k, v in (("mc", mc), ("seed", seed), ("backend", backend and backend.value),
                                                       ("workers", workers)) if v is not None}
        if changes:
            values.update({f"study.{k}": v for k, v in changes.items()})
        study = study_for(spec, values)
        # how the work is spread does not change the results: the worker count is not part of the run
        same = study.replace(study=study.study.replace(workers=0))
        out_dir = prepare_out_dir(out, "characterize crossbar", same.spec_hash(), overwrite=overwrite)
        summary = write_outputs(run_crossbar(study, mc_cache_root=out_dir / "mc_cache"), out_dir, figures=figures)
        tile, tr = summary["tile"], summary["transfer"]
        typer.echo(f"{tile['rows']} rows x {tile['cols']} column(s), {tile['cell']}, card {tile['card']}, "
                   f"G {tile['g_min_S'] * 1e6:.1f}..{tile['g_max_S'] * 1e6:.1f} uS, v_read {tile['v_read_V']:g} V, "
                   f"wire {tile['r_row_segment_ohm']:g}/{tile['r_col_segment_ohm']:g} ohm per segment")
        typer.echo(f"DC transfer ({tr['reads']} reads): error RMS {tr['rel_error_fs_rms'] * 100:.3f} % / max "
                   f"{tr['rel_error_fs_max'] * 100:.3f} % of full scale ({tr['i_full_scale_A'] * 1e6:.4g} uA); "
                   f"relative RMS {tr['rel_error_rms'] * 100:.3f} %, gain {tr['gain']:.5f}")
        for row in summary["ir_drop"]:
            if row["r_wire_ohm"] == tile["r_row_segment_ohm"] or len(summary["ir_drop"]) <= 8:
                typer.echo(f"  IR drop {row['rows']:5d} rows, {row['r_wire_ohm']:g} ohm: RMS "
                           f"{row['rel_error_fs_rms'] * 100:.3f} % FS, gain {row['gain']:.5f}")
        if "transient" in summary:
            settle = summary["settling_time_s"]
            settle_text = f"{settle * 1e9:.3g} ns" if math.isfinite(settle) else "not settled within the read"
            typer.echo(f"settling to 1/2 LSB at {summary['transient']['adc_bits']} bits: {settle_text}")
            for name in ("typical", "full_scale"):
                e = summary["transient"][name]["energy"]
                typer.echo(f"  {name.replace('_', '-')} read: {e['per_column_read_J'] * 1e12:.4g} pJ per column "
                           f"read, {e['per_mac_J'] * 1e15:.4g} fJ per MAC (drivers {e['drivers_J'] * 1e12:.3g} pJ, "
                           f"op-amp output {e['opamp_dynamic_J'] * 1e12:.3g} pJ, quiescent "
                           f"{e['opamp_quiescent_J'] * 1e12:.3g} pJ, word lines {e['wordlines_J'] * 1e12:.3g} pJ)")
        if "mc" in summary:
            m = summary["mc"]
            typer.echo(f"Monte Carlo ({m['samples']} samples): output std {m['i_out_std_A'] * 1e9:.4g} nA "
                       f"({m['i_out_std_fs'] * 100:.4f} % FS; first-order estimate "
                       f"{m['i_out_std_analytic_A'] * 1e9:.4g} nA)")
        cm = summary["column_model"]
        typer.echo(f"column model: coefficients {', '.join(f'{c:.5g}' for c in cm['coefficients'])}; "
                   f"random cell spread sigma_g_rel {cm['sigma_g_rel']:.3g} of the window; deterministic fit "
                   f"residual RMS {cm['residual_rms']:.3g} (not applied as noise)")
        typer.echo(f"outputs in {out_dir}")
