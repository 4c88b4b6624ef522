"""Regenerate (or check) the golden netlists in netlists/ from the specs in circuits/.

Run from anywhere:
    python scripts/regen_netlists.py           # write netlists/<stem>[_<deck>].cir for every known spec
    python scripts/regen_netlists.py --check   # write nothing; exit 1 listing stale, missing or extra files

Known specs (memspice.characterize.golden): circuits/*.toml with a [crossbar] table (and [study])
give netlists/<stem>.cir (the tile at pattern 0 with one operating point); with only an [adc]
table, netlists/<stem>_dc.cir, _tran.cir and _map.cir (the Q-cell ADC's DC transfer, conversion
transient and programming map at first-guess conductances). Other files are skipped and named.
Model libraries are included as ../models/<file>, so `ngspice -b <file>` runs inside netlists/.
tests/unit/test_golden_netlists.py compares every file byte for byte with a fresh rendering and
runs each in ngspice; tests/sim/test_crossbar_golden.py checks what the crossbar deck computes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from memspice.characterize.golden import golden_set, stale_files

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file is stale")
    args = parser.parse_args(argv)
    circuits, netlists = ROOT / "circuits", ROOT / "netlists"
    golden = golden_set(circuits)
    for path, why in golden.skipped:
        print(f"skipped {path.relative_to(ROOT)}: {why}")
    stale = stale_files(golden, netlists)
    if args.check:
        for name, why in stale.items():
            print(f"stale netlists/{name}: {why}", file=sys.stderr)
        if stale:
            print("regenerate with: python scripts/regen_netlists.py", file=sys.stderr)
            return 1
        print(f"{len(golden.files)} golden netlists up to date")
        return 0
    netlists.mkdir(exist_ok=True)
    for name, text in golden.files.items():
        target = netlists / name
        if stale.get(name) in ("missing", "differs"):
            target.write_bytes(text.encode())
            print(f"wrote {target.relative_to(ROOT)} ({len(text.splitlines())} lines, "
                  f"from {golden.sources[name].relative_to(ROOT)})")
        else:
            print(f"unchanged {target.relative_to(ROOT)}")
    for name, why in stale.items():
        if name not in golden.files:
            print(f"note: netlists/{name} is {why}; remove it if it is obsolete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
