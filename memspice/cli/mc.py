"""``memspice mc PLAN.toml``: run any Monte Carlo plan."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from memspice.cli.common import Overwrite, check_writable, prepare_out_dir


def register(app: typer.Typer, characterize_app: typer.Typer) -> None:
    @app.command("mc")
    def mc_cmd(
        plan_file: Annotated[Path, typer.Argument(help="Plan file (TOML with a [plan] table).")] = ...,
        workers: Annotated[
            int | None, typer.Option("--workers", help="Worker processes (default: one per core)."),
        ] = None,
        scheduler: Annotated[
            str | None,
            typer.Option("--scheduler", help="Dask scheduler: tcp://HOST:PORT, or 'local' "
                                      "to start a local cluster."),
        ] = None,
        cache: Annotated[
            Path,
            typer.Option("--cache", help="Cache folder of finished chunks."),
        ] = Path("runs/cache/mc"),
        out: Annotated[Path | None, typer.Option("--out", help="Output folder (default runs/mc/<plan name>).")] = None,
        overwrite: Overwrite = False,
    ) -> None:
        """Run a Monte Carlo plan: chunks in parallel, cached, resumable; same numbers on any worker count."""
        from memspice.characterize.registry import check_plan
        from memspice.montecarlo.engine import estimate_mb, plan_key, run_plan
        from memspice.montecarlo.outputs import write_outputs
        from memspice.montecarlo.plan import load_plan

        plan = load_plan(plan_file)
        circuit = check_plan(plan)  # the circuit and the plan's groups and measures, before any folder is made
        out_dir = prepare_out_dir(out or Path("runs/mc") / plan.name, "mc", plan_key(plan, circuit),
                                  overwrite=overwrite)
        check_writable(cache, "--cache")
        typer.echo(f"plan {plan.name}: {plan.samples} samples in {plan.n_chunks} chunks of {plan.chunk_size}; "
                   f"about {estimate_mb(plan, circuit):.1f} MB of chunk records in {cache}", err=True)
        result = run_plan(plan, circuit=circuit, workers=workers, scheduler=scheduler, cache_root=cache)
        summary = write_outputs(result, out_dir)
        rate = summary["samples_per_second_now"]
        typer.echo(f"plan {plan.name}: {plan.samples} samples in {plan.n_chunks} chunks "
                   f"({result.computed_chunks} computed now, {plan.n_chunks - result.computed_chunks} from cache)")
        typer.echo(f"failures: {summary['failures']} (retried: {summary['retried']})"
                   + (f"; {rate:.1f} samples/s" if rate else ""))
        for name, st in summary["measures"].items():
            if st["mean"] is not None:
                std = f" std {st['std']:.4g}" if st["std"] is not None else ""
                typer.echo(f"  {name}: mean {st['mean']:.6g}{std} [{st['min']:.6g}, {st['max']:.6g}]")
        typer.echo(f"outputs in {out_dir}")
