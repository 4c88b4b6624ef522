"""What one reproduced figure produces: delta rows, the sentences that explain them, plots and tables.

An :class:`Outcome` is written by its stage as ``outcome.json`` in the stage folder (beside the plot
files it names), so a cached stage is reassembled into the page without recomputing anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memspice.errors import DataError
from memspice.io import write_json
from memspice.report.tables import Table
from memspice.reproduce.compare import DELTA_COLUMNS, Delta

OUTCOME_FORMAT = 1


@dataclass
class Outcome:
    """One figure of the paper reproduced.

    ``deltas``: paper / memspice / delta rows; ``sentences``: why they differ, each built from measured
    values (never a fixed text about a number); ``plots``: (file in the stage folder, caption);
    ``tables``: further tables (series, per-target values) for a supplement; ``notes``: what was not
    run and why (e.g. a data set that is not available offline)."""

    figure: str
    title: str
    deltas: list[Delta] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)
    plots: list[tuple[str, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return "fig" + self.figure.replace(".", "_")

    def delta_table(self) -> Table:
        return Table(name=f"{self.key}_delta", caption=f"Fig. {self.figure}: {self.title} (paper vs memspice)",
                     columns=list(DELTA_COLUMNS), rows=[d.row() for d in self.deltas],
                     digits={"paper": 4, "memspice": 4, "delta": 3, "ratio": 3},
                     notes=" ".join(self.sentences))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": OUTCOME_FORMAT, "figure": self.figure, "title": self.title,
            "deltas": [[d.quantity, d.unit, d.paper, d.memspice, d.basis] for d in self.deltas],
            "sentences": list(self.sentences), "plots": [list(p) for p in self.plots],
            "tables": [{"name": t.name, "caption": t.caption, "columns": t.columns, "rows": t.rows,
                        "digits": t.digits, "notes": t.notes} for t in self.tables],
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        if data.get("format") != OUTCOME_FORMAT:
            raise DataError(f"reproduction outcome: format {data.get('format')!r}, expected {OUTCOME_FORMAT}")
        deltas = [Delta(q, u, float(p), float(m), b) for q, u, p, m, b in data["deltas"]]
        tables = [Table(name=t["name"], caption=t["caption"], columns=t["columns"], rows=t["rows"],
                        digits=t.get("digits", {}), notes=t.get("notes", "")) for t in data["tables"]]
        return cls(data["figure"], data["title"], deltas, list(data["sentences"]),
                   [tuple(p) for p in data["plots"]], tables, list(data.get("notes", [])))

    def write(self, folder: Path) -> Path:
        return write_json(folder / "outcome.json", self.to_json())

    @classmethod
    def read(cls, folder: Path) -> Outcome:
        path = folder / "outcome.json"
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise DataError(f"reproduction outcome {path}: unreadable ({err})") from None
