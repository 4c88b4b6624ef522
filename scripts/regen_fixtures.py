"""Regenerate the recorded ngspice fixtures in tests/data/ (raw files and console logs).

Run from the repository root:  python scripts/regen_fixtures.py
Each fixture is made by `ngspice -b <deck>` in tests/data/<kind>/ with the deck kept beside
its output, so the exact input of every recording is in the repository.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "tests" / "data" / "raw"
LOGS = ROOT / "tests" / "data" / "logs"

RC_BODY = """rc divider fixture
V1 in 0 dc 1 sin(0 1 1000)
R1 in a 1000
R2 a 0 2000
C1 a 0 1e-07
"""

RAW_DECKS = {
    "rc_binary": RC_BODY + """.control
set filetype=binary
set appendwrite
op
write rc_binary.raw v(a) i(v1)
dc v1 0 1 0.25
write rc_binary.raw v(a) i(v1)
tran 1e-05 0.001
write rc_binary.raw v(a) i(v1)
quit
.endc
.end
""",
    "rc_ascii": RC_BODY + """.control
set filetype=ascii
set appendwrite
op
write rc_ascii.raw v(a) i(v1)
dc v1 0 1 0.25
write rc_ascii.raw v(a) i(v1)
tran 1e-05 0.001
write rc_ascii.raw v(a) i(v1)
quit
.endc
.end
""",
    "ac_complex": """ac fixture
V1 in 0 dc 0 ac 1
R1 in a 1000
C1 a 0 1e-09
.control
set filetype=binary
ac dec 5 1e3 1e7
write ac_complex.raw v(a)
quit
.endc
.end
""",
}

LOG_DECKS = {
    "unknown_subckt": """unknown subckt
V1 in 0 dc 1
X1 in 0 nosuchsub
.control
op
write out.raw v(in)
quit
.endc
.end
""",
    "missing_vector": """missing vector
V1 in 0 dc 1
R1 in 0 1000
.control
op
write out.raw v(in) v(nonexist)
quit
.endc
.end
""",
    "bad_command": """bad control command
V1 in 0 dc 1
R1 in 0 1000
.control
foo bar
op
write out.raw v(in)
quit
.endc
.end
""",
    "dc_nonconvergence": """op that cannot converge
I1 0 a dc 0.001
B1 a 0 i = (v(a) > 0.5 ? 2e-3 : 0)
.control
op
write out.raw v(a)
quit
.endc
.end
""",
    "bad_value": """a value ngspice cannot read
V1 in 0 dc 1
R1 in 0 abc
.control
op
write out.raw v(in)
quit
.endc
.end
""",
    "undefined_param": """a subcircuit parameter that is not defined
V1 in 0 dc 1
X1 in 0 sub x=1
.subckt sub p n params: y=2
R1 p n {x*y}
.ends
.control
op
write out.raw v(in)
quit
.endc
.end
""",
    "missing_value": """an element with a node and value missing: ngspice warns and uses 1 mOhm
V1 in 0 dc 1
R9 in 0 1000
R1 in
.control
op
write out.raw v(in)
quit
.endc
.end
""",
    "clean": """clean run
V1 in 0 dc 1
R1 in a 1000
R2 a 0 1000
.control
op
write out.raw v(a)
quit
.endc
.end
""",
}


def main() -> None:
    for folder, decks, keep_log in ((RAW, RAW_DECKS, False), (LOGS, LOG_DECKS, True)):
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in decks.items():
            deck = folder / f"{name}.cir"
            deck.write_text(text)
            proc = subprocess.run(["ngspice", "-b", deck.name], cwd=folder, capture_output=True, text=True)
            if keep_log:
                (folder / f"{name}.log").write_text(proc.stderr + proc.stdout)
                (folder / "out.raw").unlink(missing_ok=True)
            print(f"{deck.relative_to(ROOT)}: exit {proc.returncode}")


if __name__ == "__main__":
    main()
