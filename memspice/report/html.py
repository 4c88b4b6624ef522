"""``index.html`` of a run folder: every table and figure on one page, with relative links only."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from memspice.io import write_text_atomic
from memspice.report.tables import Table

_STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; display: block; overflow-x: auto; max-width: 100%; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.4em; }
th, td { padding: 0.25em 0.7em; border-top: 1px solid #ddd; text-align: right; }
th { border-bottom: 2px solid #444; border-top: 2px solid #444; }
td:first-child, th:first-child { text-align: left; }
figure { display: inline-block; margin: 0.5em 1em 1em 0; vertical-align: top; }
figure img { max-width: 520px; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; max-width: 520px; }
.notes { font-size: 0.85em; color: #555; max-width: 900px; }
nav a { margin-right: 1em; }
"""


def write_index(run_dir: Path, title: str, sections: Sequence[tuple[str, Sequence[str], Sequence[tuple[str, str]]]],
                provenance: dict | None = None) -> Path:
    """Write ``run_dir/index.html``.

    ``sections`` is a list of (heading, table names in ``run_dir/tables``, (figure path relative
    to ``run_dir``, caption) pairs). Missing tables or figures are listed as missing, not hidden.
    """
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>",
             f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>"]
    parts.append("<nav>" + "".join(f"<a href='#s{k}'>{escape(h)}</a>" for k, (h, _, _) in enumerate(sections))
                 + "</nav>")
    for k, (heading, tables, figures) in enumerate(sections):
        parts.append(f"<h2 id='s{k}'>{escape(heading)}</h2>")
        for name in tables:
            try:
                parts.append(Table.read(run_dir / "tables", name).to_html())
            except Exception as err:  # a broken table must not hide the rest of the report
                parts.append(f"<p class='notes'>table {escape(name)} unavailable: {escape(str(err))}</p>")
        for rel, caption in figures:
            if (run_dir / rel).exists():
                parts.append(f"<figure><a href='{escape(rel)}'><img src='{escape(rel)}' alt='{escape(caption)}'>"
                             f"</a><figcaption>{escape(caption)}</figcaption></figure>")
            else:
                parts.append(f"<p class='notes'>figure {escape(rel)} missing</p>")
    if provenance:
        rows = "".join(f"<tr><td>{escape(str(k))}</td><td>{escape(str(v))}</td></tr>" for k, v in provenance.items())
        parts.append(f"<h2>Provenance</h2><table><tbody>{rows}</tbody></table>")
    parts.append("</body></html>")
    return write_text_atomic(run_dir / "index.html", "\n".join(parts))
