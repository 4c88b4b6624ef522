"""Classification of recorded ngspice console output (tests/data/logs, from scripts/regen_fixtures.py)."""

from pathlib import Path

import pytest

from memspice.errors import ConvergenceError, MissingVectorError, NetlistError
from memspice.ngspice.log import clean_lines, scan

pytestmark = pytest.mark.unit
DATA = Path(__file__).resolve().parent.parent / "data" / "logs"


@pytest.mark.parametrize(
    ("name", "error", "needle"),
    [
        ("unknown_subckt", NetlistError, "unknown subckt"),
        ("missing_vector", MissingVectorError, "nonexist"),
        ("bad_command", NetlistError, "no such command"),
        ("dc_nonconvergence", ConvergenceError, "singular matrix"),
        ("bad_value", NetlistError, "abc"),
        ("undefined_param", NetlistError, "Undefined parameter"),
        ("missing_value", NetlistError, "resistance to low"),
        ("clean", None, ""),
    ],
)
def test_recorded_logs(name, error, needle):
    verdict = scan(clean_lines((DATA / f"{name}.log").read_text()))
    assert verdict.error is error
    assert needle in verdict.reason


def test_convergence_lines_carry_context():
    verdict = scan(clean_lines((DATA / "dc_nonconvergence.log").read_text()))
    joined = "\n".join(verdict.lines)
    assert "simulation(s) aborted" in joined or "Timestep too small" in joined or "singular" in joined


def test_progress_chatter_is_removed():
    text = "Initial Transient Solution\r Reference value :  1.0e-09\r Reference value :  2.0e-09\rdone"
    assert clean_lines(text) == ["Initial Transient Solution", "done"]


@pytest.mark.parametrize(
    "line",
    [
        "Note: No compatibility mode selected!",
        'Note: No ".plot", ".print", or ".fourier" lines; no simulations run',
        "Note: Starting dynamic gmin stepping",
        "Trying gmin =   1.0000E-03 Note: One successful gmin step",
    ],
)
def test_benign_lines_pass(line):
    assert scan([line]).error is None


def test_the_whole_text_search_is_never_narrower_than_the_line_by_line_one():
    """scan's first search (_ANY, on the joined text) must match wherever one of the line patterns matches a
    line, or a failure would read clean: every recorded log line and one line per pattern alternative."""
    from memspice.ngspice import log

    lines = [ln for p in sorted(DATA.glob("*.log")) for ln in clean_lines(p.read_text())]
    for pattern in (log._CONVERGENCE, log._MISSING, log._ERROR):
        for alt in pattern.pattern.split("|"):  # an instance of each alternative
            text = (alt.replace("\\s*", " ").replace("\\b", "").replace("\\(s\\)", "(s)").replace("(\\S+)", "v(x)")
                    .replace("^", "").replace("to+", "too"))
            lines += [text, f"  {text.upper()} here", f"note\n{text}"]
    hits = 0
    for line in lines:
        per_line = any(p.search(ln) for p in (log._CONVERGENCE, log._MISSING, log._ERROR) for ln in line.split("\n"))
        hits += per_line
        assert not per_line or log._ANY.search(line), line
    assert hits > 40
    assert scan(["Circuit: t", "Doing analysis at TEMP = 27.000000"]).error is None
