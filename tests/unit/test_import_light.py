"""`import memspice` (and the CLI entry module) must not pull in heavy dependencies."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit
HEAVY = ("torch", "matplotlib", "dask", "distributed", "PySpice", "scipy", "pandas")


@pytest.mark.parametrize("module", ["memspice", "memspice.cli.main"])
def test_import_stays_light(module):
    code = (
        f"import sys, {module}\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
