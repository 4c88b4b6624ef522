"""Paper tables: one stored form (CSV + a small JSON of metadata), exported to LaTeX and Markdown.

A :class:`Table` has a name, a caption, columns whose names carry their units
(``energy_per_conversion_fJ``) and rows of plain values. Its CSV is the record; LaTeX (booktabs)
and Markdown are renderings of it, so ``memspice export RUN --format ...`` can redo them at any
time from the run folder alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memspice.errors import DataError
from memspice.io import write_csv, write_json, write_text_atomic

FORMATS = ("csv", "latex", "md")


@dataclass
class Table:
    name: str
    caption: str
    columns: list[str]
    rows: list[list[Any]]
    digits: dict[str, int] = field(default_factory=dict)  # significant digits per column in renderings
    notes: str = ""

    def __post_init__(self) -> None:
        for k, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"table {self.name}: row {k} has {len(row)} cells, expected {len(self.columns)}")

    # -- storage --------------------------------------------------------------------------------
    def write(self, folder: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        out = []
        cols = {c: [row[j] for row in self.rows] for j, c in enumerate(self.columns)}
        out.append(write_csv(folder / f"{self.name}.csv", cols))
        out.append(write_json(folder / f"{self.name}.json", {"name": self.name, "caption": self.caption,
                                                               "columns": self.columns, "digits": self.digits,
                                                               "notes": self.notes}))
        if "latex" in formats:
            out.append(write_text_atomic(folder / f"{self.name}.tex", self.to_latex()))
        if "md" in formats:
            out.append(write_text_atomic(folder / f"{self.name}.md", self.to_markdown()))
        return out

    @classmethod
    def read(cls, folder: Path, name: str) -> Table:
        import csv

        meta_path = folder / f"{name}.json"
        csv_path = folder / f"{name}.csv"
        if not meta_path.exists() or not csv_path.exists():
            raise DataError(f"table {name}: {csv_path} or {meta_path} missing")
        meta = json.loads(meta_path.read_text())
        with csv_path.open() as fh:
            reader = csv.reader(fh)
            header = next(reader)
            rows = [[parse_cell(v) for v in row] for row in reader]
        if header != meta["columns"]:
            raise DataError(f"table {name}: CSV header {header} differs from its metadata {meta['columns']}")
        return cls(name=name, caption=meta["caption"], columns=header, rows=rows,
                   digits={k: int(v) for k, v in meta.get("digits", {}).items()}, notes=meta.get("notes", ""))

    # -- renderings ---------------------------------------------------------------------------
    def cell(self, value: Any, column: str) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "--"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (int,)) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, float):
            d = self.digits.get(column, 4)
            return f"{value:.{d}g}" if (abs(value) >= 1e5 or (0 < abs(value) < 1e-3)) else _fixed(value, d)
        return str(value)

    def to_markdown(self) -> str:
        head = "| " + " | ".join(self.columns) + " |"
        sep = "|" + "|".join("---" for _ in self.columns) + "|"
        body = ["| " + " | ".join(self.cell(v, c) for v, c in zip(row, self.columns, strict=True)) + " |"
                for row in self.rows]
        parts = [f"**{self.caption}**", "", head, sep, *body]
        if self.notes:
            parts += ["", self.notes]
        return "\n".join(parts) + "\n"

    def to_latex(self) -> str:
        align = "".join("r" if all(isinstance(r[j], (int, float)) or r[j] is None for r in self.rows) else "l"
                        for j in range(len(self.columns)))
        lines = [
            "% requires \\usepackage{booktabs}",
            "\\begin{table}[t]",
            "\\centering",
            f"\\caption{{{_tex(self.caption)}}}",
            f"\\label{{tab:{self.name}}}",
            f"\\begin{{tabular}}{{{align}}}",
            "\\toprule",
            " & ".join(_tex(c) for c in self.columns) + " \\\\",
            "\\midrule",
        ]
        for row in self.rows:
            lines.append(" & ".join(_tex(self.cell(v, c)) for v, c in zip(row, self.columns, strict=True)) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        if self.notes:
            lines.append(f"\\par\\footnotesize {_tex(self.notes)}")
        lines.append("\\end{table}")
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        from html import escape

        head = "".join(f"<th>{escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{escape(self.cell(v, c))}</td>"
                                         for v, c in zip(row, self.columns, strict=True)) + "</tr>"
                       for row in self.rows)
        notes = f"<p class='notes'>{escape(self.notes)}</p>" if self.notes else ""
        return (f"<table id='{escape(self.name)}'><caption>{escape(self.caption)}</caption>"
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}")


def _fixed(value: float, digits: int) -> str:
    if value == 0:
        return "0"
    decimals = max(digits - 1 - math.floor(math.log10(abs(value))), 0)
    return f"{value:.{decimals}f}"


_TEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


def _tex(text: str) -> str:
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in str(text))


def parse_cell(text: str) -> Any:
    """A CSV cell back as a value: "" -> None, booleans, integers, floats, else the text."""
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    try:
        if text.lstrip("+-").isdigit():
            return int(text)
        return float(text)
    except ValueError:
        return text


def export_tables(folder: Path, formats: Sequence[str]) -> list[Path]:
    """Re-render every stored table of ``folder`` (``<name>.json`` + ``<name>.csv``)."""
    for fmt in formats:
        if fmt not in FORMATS:
            from memspice.errors import SpecError

            raise SpecError("--format", fmt, f"one of {', '.join(FORMATS)}")
    names = sorted(p.stem for p in folder.glob("*.json"))
    if not names:
        raise DataError(f"{folder}: no tables found (expected <name>.csv with <name>.json)")
    out = []
    for name in names:
        table = Table.read(folder, name)
        if "csv" in formats:
            out.append(folder / f"{name}.csv")
        if "latex" in formats:
            out.append(write_text_atomic(folder / f"{name}.tex", table.to_latex()))
        if "md" in formats:
            out.append(write_text_atomic(folder / f"{name}.md", table.to_markdown()))
    return out
