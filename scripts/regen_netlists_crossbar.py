"""Regenerate the golden crossbar netlists in netlists/ from the study files in circuits/.

Run from the repository root:  python scripts/regen_netlists_crossbar.py
Each circuits/<name>.toml listed below becomes netlists/<name>.cir: the tile at pattern 0 of the
study's seed with one operating point (memspice.characterize.crossbar.golden_netlist). Model
includes are written relative to netlists/ (../models/...), so `ngspice -b netlists/<name>.cir`
runs from any folder. tests/unit/test_crossbar_golden.py compares the files with a fresh
rendering; tests/sim/test_crossbar_golden.py runs them and checks what they compute.
"""

from __future__ import annotations

from pathlib import Path

from memspice.characterize.crossbar import golden_netlist
from memspice.spec.crossbar import load_study

ROOT = Path(__file__).resolve().parent.parent
STUDIES = ("crossbar_128",)


def main() -> None:
    for name in STUDIES:
        text = golden_netlist(load_study(ROOT / "circuits" / f"{name}.toml"), include_dir="../models")
        target = ROOT / "netlists" / f"{name}.cir"
        target.parent.mkdir(exist_ok=True)
        target.write_text(text)
        print(f"wrote {target.relative_to(ROOT)} ({len(text.splitlines())} lines)")


if __name__ == "__main__":
    main()
