"""What ``memspice explore adc`` writes: points.csv, pareto.csv, explore.json (provenance, the energy basis and the
linearity experiments the points ran), figures, and the front as a Markdown table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from memspice import __version__
from memspice.characterize.explore import OBJECTIVES, ExploreResult


def linearity_note(points: Sequence[Mapping[str, Any]]) -> str:
    """What explore.json says the linearity columns are: the experiments these points ran, by scheme (read
    from the points' own mc_experiment column, so it cannot say another experiment than the rows ran)."""
    runs: dict[str, list[str]] = {}
    for row in points:
        if row.get("mc_experiment"):
            seen = runs.setdefault(str(row.get("scheme", "?")), [])
            if row["mc_experiment"] not in seen:
                seen.append(row["mc_experiment"])
    said = "; ".join(f"{scheme} points {' / '.join(exps)}" for scheme, exps in sorted(runs.items()))
    return ("inl_rms_lsb / dnl_rms_lsb: RMS over Monte Carlo samples of max |INL| / |DNL|; the experiment of each "
            "point is its mc_experiment column: " + (said or "no point ran a Monte Carlo"))


def write_outputs(result: ExploreResult, out_dir: Path, *, figures: bool = True) -> list[Path]:
    """``points.csv`` (every point), ``pareto.csv`` (the front), ``explore.json`` (provenance), figures."""
    from memspice.io import write_csv, write_json

    out_dir.mkdir(parents=True, exist_ok=True)
    cols: list[str] = []
    for row in result.points:
        cols += [k for k in row if k not in cols]

    def table(rows):
        return {c: [r.get(c, "") for r in rows] for c in cols}

    paths = [out_dir / "points.csv", out_dir / "pareto.csv", out_dir / "explore.json"]
    write_csv(paths[0], table(result.points))
    write_csv(paths[1], table([result.points[i] for i in result.pareto]))
    write_json(paths[2], {"variables": result.variables, "objectives": list(OBJECTIVES),
                          "pareto_points": result.pareto, "wall_s": result.wall_s,
                          "cpu_s": result.cpu_s, "memspice_version": __version__,
                          "energy_basis": "energy_total_J counts DC current; energy_switching_J is C V^2 only (the "
                                          "basis of the paper's 12.58 fJ)",
                          "linearity": linearity_note(result.points)})
    if figures:
        from memspice.report.explore_figures import explore_figures

        paths += explore_figures(result.points, result.pareto, out_dir)
    return paths


def front_text(result: ExploreResult) -> str:
    """The Pareto front as a Markdown table (switching and total energy in fJ, area at 28 nm, INL)."""
    head = ["point", *result.variables, "fJ switching", "fJ total", "um^2 (28 nm)", "RMS max|INL| LSB",
            "RMS max|DNL| LSB", "MC", "delay ps", "read-disturb margin mV"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i in result.pareto:
        r = result.points[i]
        cells = [str(r.get("name", i)), *[str(r.get(v, "")) for v in result.variables],
                 f"{r['energy_switching_J'] * 1e15:.1f}",
                 f"{r['energy_total_J'] * 1e15:.0f}", f"{r['area_normalised_um2']:.1f}", f"{r['inl_rms_lsb']:.3f}",
                 f"{r['dnl_rms_lsb']:.3f}", str(r.get("mc_experiment", "")).split(":")[0],
                 f"{r['delay_s'] * 1e12:.0f}", f"{r['read_disturb_margin_V'] * 1e3:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    failed = [r for r in result.points if r.get("status") != "ok"]
    if failed:
        lines.append(f"{len(failed)} point(s) not ok: " + "; ".join(f"{r['point']}: {r['status']}" for r in failed))
    return "\n".join(lines)
