"""``memspice characterize device`` and ``memspice fit``."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Annotated

import typer

from memspice.cli.common import Backend, Overwrite, parse_overrides, prepare_out_dir
from memspice.errors import ProgrammingFailed, SpecError


def _resolve_card(model: str | None, card: str | None, overrides: list[str] | None):
    from memspice.spec.device import MODELS, default_card, get_model, load_card

    if model is None and card is None:
        raise SpecError("--model", None, f"a model name ({', '.join(MODELS)}) or --card FILE")
    if card is not None:
        dev = load_card(card)
        if model is not None and dev.model != model:
            raise SpecError("--model", model, f"the model of card {dev.name} ({dev.model}), or no --model")
    else:
        get_model(model)
        dev = default_card(model)
    values = parse_overrides(overrides)
    if values:
        for name in values:
            if name not in dev.decl.param_names and name != "read_v":
                raise SpecError(f"--param {name}", values[name],
                                f"a parameter of model {dev.model}: {', '.join(dev.decl.param_names)}, or read_v")
        read_v = values.pop("read_v", dev.read_v)
        dev = dev.replace(params={**dev.params, **values}, read_v=read_v)
    return dev


def _float_list(text: str | None, option: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = (math.nan,)
    if not values or not all(math.isfinite(v) for v in values):
        raise SpecError(option, text, "comma-separated finite numbers in SI units, e.g. 100e-6,200e-6")
    return values


def register(app: typer.Typer, characterize_app: typer.Typer) -> None:
    @characterize_app.command("device")
    def characterize_device_cmd(
        model: Annotated[
            str | None,
            typer.Option("--model", help="Memristor model: vteam or yakopcic (its paper-window card)."),
        ] = None,
        card: Annotated[str | None, typer.Option("--card", help="Device card: a built-in name or a TOML file.")] = None,
        param: Annotated[
            list[str] | None,
            typer.Option("--param", "-p", help="Override a card parameter: NAME=VALUE in SI."),
        ] = None,
        targets: Annotated[
            str | None,
            typer.Option("--targets", help="Target conductances in S, comma separated "
                                    "(default: the paper's 100e-6..400e-6 in 50e-6 steps)."),
        ] = None,
        tolerance: Annotated[float, typer.Option("--tolerance", help="Write-verify tolerance in S.")] = 5e-6,
        max_pulses: Annotated[int, typer.Option("--max-pulses", help="Pulses per device before giving up.")] = 300,
        mc: Annotated[int, typer.Option("--mc", help="Monte Carlo devices with device-to-device spread.")] = 0,
        seed: Annotated[int, typer.Option("--seed", help="Seed of Monte Carlo draws and read noise.")] = 0,
        backend: Annotated[Backend, typer.Option("--backend", help="ngspice backend.")] = Backend.subprocess,
        out: Annotated[Path, typer.Option("--out", help="Output folder.")] = ...,
        figures: Annotated[bool, typer.Option("--figures/--no-figures", help="Write PNG figures.")] = True,
        overwrite: Overwrite = False,
    ) -> None:
        """Hysteresis loop, extracted R_on/R_off and thresholds, write-verify programming (and --mc)."""
        from memspice.characterize.device import DeviceStudySpec, ProgramSpec, run_device
        from memspice.characterize.device_outputs import write_outputs

        dev = _resolve_card(model, card, param)
        program_kwargs = {"tolerance_s": tolerance, "max_pulses": max_pulses}
        levels = _float_list(targets, "--targets")
        if levels is not None:
            program_kwargs["targets_s"] = levels
        spec = DeviceStudySpec(program=ProgramSpec(**program_kwargs), mc=mc, seed=seed, backend=backend.value)
        # both backends give the same numbers: the backend is not part of the run's identity
        identity = f"{dev.spec_hash()}-{spec.replace(backend='subprocess').spec_hash()}"
        out_dir = prepare_out_dir(out, "characterize device", identity, overwrite=overwrite)
        summary = write_outputs(run_device(dev, spec), out_dir, figures=figures)
        ex = summary["extracted"]
        typer.echo(f"card {dev.name} ({dev.model}); window {summary['window_S'][0]*1e6:.1f}..."
                   f"{summary['window_S'][1]*1e6:.1f} uS at {dev.read_v:g} V")
        typer.echo(f"extracted: R_on {ex['r_on_ohm']:.4g} ohm, R_off {ex['r_off_ohm']:.4g} ohm, "
                   f"SET onset {ex['set_threshold_V']:.3f} V (card {ex['card_set_threshold_V']:.3f}), "
                   f"RESET onset {ex['reset_threshold_V']:.3f} V (card {ex['card_reset_threshold_V']:.3f})")
        prog = summary["programming"]
        typer.echo(f"write-verify: {prog['width_s']:.3g} s pulses, step {prog['step_V']:.3g} V, "
                   f"tolerance {prog['tolerance_S']*1e6:g} uS")
        for row in prog["per_target"]:
            std = f", std {row['final_std_S']*1e6:.2f} uS" if row["devices"] > 1 else ""
            typer.echo(f"  {row['target_S']*1e6:6.1f} uS: {row['converged']}/{row['devices']} converged, "
                       f"final {row['final_mean_S']*1e6:.2f} uS{std}, {row['pulses_mean']:.1f} pulses, "
                       f"{row['energy_mean_J']:.3g} J")
        typer.echo(f"outputs in {out_dir}")
        converged = sum(int(r["converged"]) for r in prog["per_target"])
        total = sum(int(r["devices"]) for r in prog["per_target"])
        if total and converged == 0:
            raise ProgrammingFailed(f"write-verify converged for no device and target (0/{total} within "
                                    f"{prog['tolerance_S'] * 1e6:g} uS in {max_pulses} pulses); results kept in "
                                    f"{out_dir} for inspection")
        if converged < total:
            typer.echo(f"memspice: warning: write-verify converged for {converged}/{total} devices and targets "
                       f"(see the per-target rows in {out_dir / 'summary.json'})", err=True)

    @app.command("fit")
    def fit_cmd(
        data: Annotated[
            Path,
            typer.Option("--data", help="Measured I-V sweeps (CSV: curve,v_V,i_A[,compliance_A] "
                                  "or the Hong et al. Fig. 3b layout)."),
        ] = ...,
        model: Annotated[str | None, typer.Option("--model", help="Model to fit: vteam or yakopcic.")] = None,
        start: Annotated[
            str | None,
            typer.Option("--start", help="Card to start from (default: the model's paper card)."),
        ] = None,
        fit: Annotated[
            list[str] | None,
            typer.Option("--fit", help="Parameter to fit (repeat); default: the model's set."),
        ] = None,
        point_time: Annotated[
            float,
            typer.Option("--point-time", help="Instrument time per sweep point in s "
                                         "(not in the data: an assumption that scales the rate constants)."),
        ] = 1e-3,
        name: Annotated[
            str | None,
            typer.Option("--name", help="Name of the fitted card (default: the start card's)."),
        ] = None,
        max_evaluations: Annotated[int, typer.Option("--max-evaluations", help="Model evaluations at most.")] = 400,
        out: Annotated[Path, typer.Option("--out", help="Output folder: fit.json, fit.png, card.toml.")] = ...,
        write_card: Annotated[
            Path | None,
            typer.Option("--write-card", help="Also write the fitted card to this path."),
        ] = None,
        overwrite: Overwrite = False,
    ) -> None:
        """Fit a memristor model's parameters to measured I-V sweeps; report the residual and a figure."""
        from memspice.fit.report import run_fit

        dev = _resolve_card(model, start, None)
        if not (math.isfinite(point_time) and point_time > 0):
            raise SpecError("--point-time", point_time, "a positive, finite time in s")
        if not 1 <= max_evaluations <= 100_000:
            raise SpecError("--max-evaluations", max_evaluations, "an integer from 1 to 100,000")
        identity = json.dumps([dev.spec_hash(), str(Path(data).resolve()), fit, point_time, name, max_evaluations])
        out_dir = prepare_out_dir(out, "fit", hashlib.sha256(identity.encode()).hexdigest()[:16], overwrite=overwrite)
        result = run_fit(dev, data, out_dir, names=fit or None, point_time_s=point_time,
                         card_name=name or dev.name, max_evaluations=max_evaluations, write_card=write_card)
        typer.echo(f"fitted {', '.join(result.names)} of {dev.model} to {data} "
                   f"({result.evaluations} evaluations, {point_time:g} s per point)")
        typer.echo(f"RMS relative current error {result.rms_relative:.3f}, "
                   f"RMS absolute {result.rms_absolute_A * 1e6:.2f} uA")
        for key in result.names:
            typer.echo(f"  {key} = {result.card.params[key]:.6g}")
        lo, hi = result.card.window_s()
        typer.echo(f"conductance window {lo*1e6:.1f}..{hi*1e6:.1f} uS at {result.card.read_v:g} V")
        typer.echo(f"outputs in {out_dir}" + (f"; card written to {write_card}" if write_card else ""))
