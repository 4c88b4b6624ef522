"""``memspice reproduce hong2025``: the paper's figures from SPICE beside its source data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer, characterize_app: typer.Typer) -> None:
    @app.command("reproduce")
    def reproduce_cmd(
        paper: Annotated[str, typer.Argument(help="The paper to reproduce: hong2025.")],
        figures: Annotated[str | None, typer.Option("--figures", help="Comma-separated figures (2b,3,...; "
                                                    "default: all).")] = None,
        quick: Annotated[bool, typer.Option("--quick", help="Fewer devices, chips, images and trials: "
                                            "minutes instead of an hour.")] = False,
        out: Annotated[Path | None, typer.Option("--out", help="Run folder (default: runs/<paper>, "
                                                 "runs/<paper>_quick with --quick).")] = None,
        data: Annotated[Path | None, typer.Option("--data", help="CIFAR-10 python batches for Fig. 5 "
                                                  "(default: Fashion-MNIST, available offline).")] = None,
        explore: Annotated[Path | None, typer.Option("--explore", help="A `memspice explore adc` output "
                                                     "folder: Fig. 6 adds its best design (default: "
                                                     "runs/explore when it holds pareto.csv).")] = None,
        fig5_network: Annotated[str, typer.Option("--fig5-network", help="Fig. 5's network: qat8 (trained with "
                                                  "8-bit weights and activations as the paper's NeuroSim VGG8; "
                                                  "default) or float (float-trained: a different "
                                                  "experiment).")] = "qat8",
        seed: Annotated[int, typer.Option("--seed", help="Seed of every random draw.")] = 2025,
        workers: Annotated[int | None, typer.Option("--workers", help="Monte Carlo worker processes "
                                                    "(default: one per core).")] = None,
    ) -> None:
        """Reproduce a paper figure by figure: overlay plots, paper / memspice / delta tables and the
        measured reason for each difference, on one page (index.html, report.md) with CSV and LaTeX tables.
        Every figure is cached in the run folder, so an interrupted run resumes."""
        from memspice.errors import SpecError
        from memspice.papers.hong2025 import PAPERS
        from memspice.reproduce.accuracy import FIG5_NETWORKS
        from memspice.reproduce.cell import Context
        from memspice.reproduce.run import parse_figures, run_reproduce

        if paper not in PAPERS:
            raise SpecError("PAPER", paper, f"one of {', '.join(PAPERS)}")
        if seed < 0:
            raise SpecError("--seed", seed, "a seed >= 0")
        if fig5_network not in FIG5_NETWORKS:
            raise SpecError("--fig5-network", fig5_network, f"one of {', '.join(FIG5_NETWORKS)}")
        if workers is not None and workers < 1:
            raise SpecError("--workers", workers, "at least 1")
        if data is not None and not data.is_dir():
            raise SpecError("--data", str(data), "a folder holding the CIFAR-10 python batches")
        if explore is not None and not (explore / "pareto.csv").is_file():
            raise SpecError("--explore", str(explore), "a `memspice explore adc` output folder holding pareto.csv")
        chosen = parse_figures(figures)
        folder = out or Path("runs") / (f"{paper}_quick" if quick else paper)
        ctx = Context(quick=quick, workers=workers, seed=seed, data=data, explore=explore,
                      fig5_network=fig5_network)
        result = run_reproduce(folder, ctx, chosen)  # progress: the memspice.reproduce logger
        for o in result.outcomes:
            typer.echo(f"Fig. {o.figure}: {len(o.deltas)} compared quantities"
                       f"{' (cached)' if result.cached[o.figure] else ''}")
        typer.echo(f"page: {folder / 'index.html'}  report: {folder / 'report.md'}")
