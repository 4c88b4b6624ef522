"""``memspice reproduce hong2025``: each figure of the paper a cached stage, then one page.

Each figure runs as a stage of :class:`memspice.study.stages.StageRunner` in ``<out>/<figure>/``
(key: the figure's configuration and the memspice version), writes its plots and ``outcome.json``
there, and is skipped on a rerun whose key is unchanged; an interrupted figure leaves no half
outputs. The page (``report.md``, ``index.html``, ``tables/`` in CSV, LaTeX and Markdown) is rebuilt
from the outcomes every time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from memspice.errors import SpecError
from memspice.reproduce.accuracy import run_fig5
from memspice.reproduce.adc import run_fig4, run_fig6
from memspice.reproduce.cell import Context, run_fig2b
from memspice.reproduce.device import run_fig3
from memspice.reproduce.outcome import Outcome

log = logging.getLogger("memspice.reproduce")

FIGURES: dict[str, Callable[[Context, Path], Outcome]] = {
    "2b": run_fig2b,
    "3": run_fig3,
    "4": run_fig4,
    "5": run_fig5,
    "6": run_fig6,
}


def parse_figures(text: str | None) -> tuple[str, ...]:
    """``"2b,3"`` -> ("2b", "3"); None or "all": every figure, in the paper's order."""
    if text is None or text.strip() in ("", "all"):
        return tuple(FIGURES)
    out = []
    for item in text.split(","):
        name = item.strip().lower().removeprefix("fig")
        if name not in FIGURES:
            raise SpecError("--figures", item, f"a comma-separated list of {', '.join(FIGURES)} (or all)")
        if name not in out:
            out.append(name)
    return tuple(sorted(out, key=list(FIGURES).index))


@dataclass
class ReproduceResult:
    run_dir: Path
    outcomes: list[Outcome]
    cached: dict[str, bool]


def run_reproduce(out: Path, ctx: Context, figures: Sequence[str] | None = None) -> ReproduceResult:
    """Run (or reuse) each figure's stage in ``out`` and write the page; returns the outcomes. Each
    figure's start, end and time are logged at INFO to ``memspice.reproduce``."""
    from memspice.reproduce.page import write_page
    from memspice.study.stages import StageRunner

    figures = tuple(figures or FIGURES)
    out.mkdir(parents=True, exist_ok=True)
    runner = StageRunner(out, log)
    outcomes, cached = [], {}
    for name in figures:
        def work(folder: Path, name: str = name) -> dict:
            outcome = FIGURES[name](ctx, folder)
            outcome.write(folder)
            return {"figure": outcome.figure, "deltas": len(outcome.deltas)}

        stage = runner.run(f"fig{name}", {"figure": name, **_config(ctx, name)}, work)
        outcomes.append(Outcome.read(stage.dir))
        cached[name] = stage.cached
    # the page shows every finished figure of the folder, so a partial rerun does not drop the others
    shown = []
    for name in FIGURES:
        if name in figures:
            shown.append(outcomes[figures.index(name)])
        elif (out / f"fig{name}" / "outcome.json").exists():
            shown.append(Outcome.read(out / f"fig{name}"))
    write_page(out, shown, ctx)
    return ReproduceResult(out, outcomes, cached)


def _config(ctx: Context, figure: str) -> dict:
    """What a figure's results depend on (its stage key): not the backend or worker count, which give
    identical numbers; the data folder and the network's training only for the accuracy figure, the
    explorer's front (its content) only for the cost figure."""
    config = {"quick": ctx.quick, "seed": ctx.seed}
    if figure == "5":
        config["data"] = str(ctx.data) if ctx.data else None
        config["network"] = ctx.fig5_network
    if figure == "6":
        from memspice.reproduce.adc import explorer_fingerprint

        config["explore"] = explorer_fingerprint(ctx.explore)
    return config
