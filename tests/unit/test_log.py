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
