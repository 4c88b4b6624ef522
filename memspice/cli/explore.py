"""``memspice explore adc SPEC --grid GRID --out DIR``: design-space exploration of the Q-cell ADC."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from memspice.cli.common import Backend, cli_log


def register(app: typer.Typer, characterize_app: typer.Typer) -> None:
    explore_app = typer.Typer(help="Design-space exploration from SPICE.", no_args_is_help=True,
                              rich_markup_mode=None)
    app.add_typer(explore_app, name="explore")

    @explore_app.command("adc")
    def adc(
        spec_file: Annotated[
            Path,
            typer.Argument(help="Base ADC spec (TOML with an [adc] table), e.g. "
                                         "circuits/qcell_adc_5bit.toml."),
        ] = ...,
        grid: Annotated[
            Path,
            typer.Option("--grid", help="Grid (TOML with a [grid] table; [grid.vary]: design "
                                  "variable = [values]), e.g. circuits/explore_qcell.toml."),
        ] = ...,
        out: Annotated[Path, typer.Option("--out", help="Output folder (points/ cache: a rerun "
                                 "resumes).")] = Path("runs/explore"),
        workers: Annotated[
            int,
            typer.Option("--workers", help="Worker processes (the numbers do not depend on it)."),
        ] = 2,
        backend: Annotated[Backend, typer.Option("--backend", help="ngspice backend.")] = Backend.subprocess,
        figures: Annotated[bool, typer.Option("--figures/--no-figures", help="Write PNG figures.")] = True,
    ) -> None:
        """Characterize every design point of GRID (programming in the point's own scheme and timing, energy
        total and switching, delay, area, mismatch linearity of closed-loop chips each write-verified
        through its own read - in the conversion timing for precharge points - or the named open loop with
        mc_programming = "open" in [grid], read-disturb margin); write points.csv, pareto.csv and figures."""
        from memspice.characterize import explore as ex
        from memspice.characterize import explore_outputs as xo
        from memspice.cli.adc import build_spec
        from memspice.cli.common import prepare_out_dir
        from memspice.errors import SpecError

        if workers < 1:
            raise SpecError("--workers", workers, "at least 1 worker process")
        base = build_spec(spec_file)
        g = ex.load_grid(grid)
        ex.point_specs(base, g)  # every point validated before anything is written
        out_dir = prepare_out_dir(out)
        result = ex.run_explore(base, g, out_dir / "points", workers=workers, backend=backend.value,
                                log=cli_log("explore"), show_progress=True)
        xo.write_outputs(result, out_dir, figures=figures)
        typer.echo(xo.front_text(result))
        typer.echo(f"  {len(result.points)} points in {result.wall_s:.0f} s wall, {result.cpu_s:.0f} s CPU (workers "
                   f"and ngspice included); results in {out_dir}")
