"""The reproduction's page: ``report.md``, ``index.html`` and every table in CSV, LaTeX and Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from memspice import __version__
from memspice.io import write_json, write_text_atomic
from memspice.papers.hong2025 import DOI
from memspice.report.html import write_index
from memspice.reproduce.cell import Context
from memspice.reproduce.outcome import Outcome

TITLE = "Hong et al., Nature Communications 2025: reproduced by memspice"


def write_page(run_dir: Path, outcomes: Sequence[Outcome], ctx: Context) -> list[Path]:
    tables_dir = run_dir / "tables"
    written: list[Path] = []
    sections = []
    md = [f"# {TITLE}", "",
          f"Paper: doi {DOI['hong2025']}; source data: the authors' spreadsheets (MIKEHHQ/ReADC, Data/). "
          f"memspice {__version__}; {'quick' if ctx.quick else 'full'} run, seed {ctx.seed}. Each table gives "
          "paper, memspice, delta = memspice - paper and ratio = memspice / paper, with the basis both sides "
          "use; the sentences under it say why they differ, from what this run measured.", ""]
    for o in outcomes:
        tables = [o.delta_table(), *o.tables]
        for t in tables:
            written += t.write(tables_dir)
        stage = f"fig{o.figure}"
        sections.append((f"Fig. {o.figure}: {o.title}", [t.name for t in tables],
                         [(f"{stage}/{f}", cap) for f, cap in o.plots]))
        md += [f"## Fig. {o.figure}: {o.title}", ""]
        md += [o.delta_table().to_markdown().replace(f"\n\n{o.delta_table().notes}", "")]
        md += [f"- {s}" for s in o.sentences]
        md += [f"- Scope: {n}" for n in o.notes]
        md += [""] + [f"![{cap}]({stage}/{f})" for f, cap in o.plots] + [""]
        md += [f"Further tables: {', '.join(f'`tables/{t.name}.csv`' for t in o.tables)}", ""] if o.tables else []
    written.append(write_text_atomic(run_dir / "report.md", "\n".join(md)))
    provenance = {"memspice": __version__, "doi": DOI["hong2025"], **{k: str(v) for k, v in asdict(ctx).items()}}
    written.append(write_json(run_dir / "manifest.json", {"provenance": provenance,
                                                           "figures": [o.figure for o in outcomes]}))
    written.append(write_index(run_dir, TITLE, sections, provenance))
    return written
