"""Golden netlists: the deterministic decks ``netlists/`` keeps for the specs in ``circuits/``.

Each spec file is recognised by its top-level tables:

- ``[crossbar]`` (with an optional ``[study]``): ``netlists/<stem>.cir``, the tile at pattern 0 of
  the study's seed with one operating point (:func:`memspice.characterize.crossbar.golden_netlist`);
- ``[adc]`` alone: ``netlists/<stem>_<deck>.cir`` for the decks of
  :func:`memspice.characterize.adc.golden_decks` (``dc`` transfer, ``tran`` conversions, programming
  ``map``), conductances at their straight-line first guesses (no simulation needed).

Any other file (e.g. a study with several sections) is skipped and reported. Model libraries are
included as ``../models/<file>``, so ``ngspice -b <file>`` runs inside ``netlists/`` of any clone;
memristor models are inlined. ``scripts/regen_netlists.py`` writes or checks the files;
``tests/unit/test_golden_netlists.py`` compares them byte for byte with a fresh rendering and runs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from memspice.errors import InputError
from memspice.spec.base import read_toml

INCLUDE_DIR = "../models"


@dataclass
class GoldenSet:
    """Rendered golden files by file name, where each came from, and the spec files skipped (with why)."""

    files: dict[str, str] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def add(self, name: str, text: str, source: Path) -> None:
        if name in self.files:
            raise InputError(f"golden netlist {name}: made by both {self.sources[name].name} and {source.name}; "
                             "rename one of the spec files")
        self.files[name] = text
        self.sources[name] = source


def spec_kind(path: Path) -> tuple[str | None, str]:
    """("crossbar" | "qcell_adc" | None, why) from the file's top-level tables."""
    tables = set(read_toml(path))
    if "crossbar" in tables and tables <= {"crossbar", "study"}:
        return "crossbar", ""
    if tables == {"adc"}:
        return "qcell_adc", ""
    return None, f"top-level tables {', '.join(sorted(tables)) or '(none)'}: no golden netlist for this kind of file"


def golden_for(path: Path, include_dir: str = INCLUDE_DIR) -> dict[str, str] | None:
    """The golden files of one spec file by name (None: a kind without golden netlists)."""
    kind, _ = spec_kind(path)
    if kind == "crossbar":
        from memspice.characterize.crossbar import golden_netlist
        from memspice.spec.crossbar import load_study

        return {f"{path.stem}.cir": golden_netlist(load_study(path), include_dir=include_dir)}
    if kind == "qcell_adc":
        from memspice.characterize.adc import golden_decks
        from memspice.spec.adc import load_adc_spec

        spec = load_adc_spec(path)
        prefix = f"qcell_adc_{spec.bits}bit_"
        out = {}
        for name, text in golden_decks(spec, include_dir=include_dir).items():
            deck = name.removeprefix(prefix).removesuffix(".cir")
            out[f"{path.stem}_{deck}.cir"] = text
        return out
    return None


def golden_set(circuits: Path, include_dir: str = INCLUDE_DIR) -> GoldenSet:
    """Every golden file of every ``*.toml`` in ``circuits`` (sorted by file name)."""
    out = GoldenSet()
    for path in sorted(Path(circuits).glob("*.toml")):
        files = golden_for(path, include_dir)
        if files is None:
            out.skipped.append((path, spec_kind(path)[1]))
            continue
        for name, text in files.items():
            out.add(name, text, path)
    return out


def stale_files(golden: GoldenSet, netlists: Path) -> dict[str, str]:
    """Files of ``netlists`` that differ from ``golden`` (name -> "missing", "differs" or "not generated")."""
    netlists = Path(netlists)
    out = {}
    for name, text in golden.files.items():
        path = netlists / name
        if not path.is_file():
            out[name] = "missing"
        elif path.read_bytes() != text.encode():
            out[name] = "differs"
    for path in sorted(netlists.glob("*.cir")):
        if path.name not in golden.files:
            out[path.name] = "not generated from any spec in circuits/"
    return out
