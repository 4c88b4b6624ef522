"""``memspice study STUDY.toml`` and ``memspice export RUN --format latex|md|csv``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer, characterize_app: typer.Typer) -> None:
    @app.command("study")
    def study_cmd(
        study_file: Annotated[Path, typer.Argument(help="Study file, e.g. circuits/study_default.toml.")] = ...,
        out: Annotated[Path | None, typer.Option("--out", help="Run folder (default: runs/<study name>).")] = None,
        stages: Annotated[
            str | None,
            typer.Option("--stages", help="Comma-separated stages to run instead of the "
                                          "file's study.stages (device,crossbar,train,calibrate,adc,evaluate,"
                                          "system); export always runs."),
        ] = None,
    ) -> None:
        """Run a whole study: devices, crossbar, ADCs, Monte Carlo, training, accuracy, system cost, export.
        Every stage is cached in the run folder: a rerun recomputes only what changed."""
        from memspice.cli.common import check_writable, track_out_dir
        from memspice.study.run import run_study
        from memspice.study.spec import load_study_file

        chosen = tuple(s.strip() for s in stages.split(",") if s.strip()) if stages else None
        # the study caches every stage in its run folder (a rerun resumes): check it is writable now
        run_dir = out if out is not None else Path("runs") / load_study_file(study_file).study.name
        track_out_dir(run_dir, check_writable(run_dir))
        run_study(study_file, out, stages=chosen)  # progress: the memspice.study loggers (-q silences)

    @app.command("export")
    def export_cmd(
        run: Annotated[Path, typer.Argument(help="A study's run folder (runs/<study>).")] = ...,
        fmt: Annotated[
            list[str],
            typer.Option("--format", help="latex, md or csv (repeatable)."),
        ] = ("latex", "md", "csv"),
    ) -> None:
        """Re-export a run's tables as LaTeX (booktabs), Markdown or CSV from the run folder alone."""
        from memspice.study.export import reexport

        paths = reexport(run, tuple(fmt))
        for p in paths:
            typer.echo(str(p))
