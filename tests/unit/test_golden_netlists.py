"""netlists/ holds exactly what scripts/regen_netlists.py writes today from circuits/ (byte for byte).

tests/sim/test_golden_run.py runs every file in ngspice; tests/sim/test_crossbar_golden.py checks
what the crossbar deck computes.
"""

import subprocess
import sys

import pytest

from memspice.characterize.golden import golden_set, spec_kind, stale_files
from memspice.resources import circuits_dir, project_root

pytestmark = pytest.mark.unit

NETLISTS = project_root() / "netlists"


@pytest.fixture(scope="module")
def golden():
    return golden_set(circuits_dir())


def test_every_known_spec_has_its_golden_files(golden):
    specs = sorted(circuits_dir().glob("*.toml"))
    known = [p for p in specs if spec_kind(p)[0] is not None]
    assert {p.stem for p in known} >= {"crossbar_128", "crossbar_512", "qcell_adc_4bit", "qcell_adc_4bit_lloydmax"}
    for path in known:
        names = [n for n, src in golden.sources.items() if src == path]
        if spec_kind(path)[0] == "crossbar":
            assert names == [f"{path.stem}.cir"]
        else:
            assert sorted(names) == [f"{path.stem}_{d}.cir" for d in ("dc", "map", "tran")]
    assert {p for p, _ in golden.skipped} == set(specs) - set(known)


@pytest.mark.parametrize("name", sorted(p.name for p in NETLISTS.glob("*.cir")))
def test_checked_in_file_equals_a_fresh_rendering(golden, name):
    assert name in golden.files, f"netlists/{name} is not generated from any spec in circuits/"
    assert (NETLISTS / name).read_bytes() == golden.files[name].encode(), (
        f"netlists/{name} is stale: python scripts/regen_netlists.py")


def test_no_golden_file_is_missing(golden):
    assert stale_files(golden, NETLISTS) == {}


def test_golden_files_are_portable(golden):
    for name, text in golden.files.items():
        includes = [line for line in text.splitlines() if line.startswith(".include")]
        assert all(line.startswith('.include "../models/') for line in includes), (name, includes)
        assert str(project_root()) not in text, name


def test_check_mode_lists_stale_files(golden, tmp_path):
    for name, text in golden.files.items():
        (tmp_path / name).write_text(text)
    assert stale_files(golden, tmp_path) == {}
    first, second = sorted(golden.files)[:2]
    (tmp_path / first).write_text(golden.files[first].replace("\n", "\n* edited\n", 1))
    (tmp_path / second).unlink()
    (tmp_path / "old_circuit.cir").write_text("* gone\n.end\n")
    stale = stale_files(golden, tmp_path)
    assert stale == {first: "differs", second: "missing", "old_circuit.cir": "not generated from any spec in circuits/"}


def test_regen_script_check_mode_passes_on_the_repository():
    proc = subprocess.run([sys.executable, str(project_root() / "scripts" / "regen_netlists.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "golden netlists up to date" in proc.stdout
