"""`memspice explore adc` bad input: one line naming the field, exit 2, nothing written."""

from pathlib import Path

import pytest

from tests.cli.conftest import assert_clean_error

ROOT = Path(__file__).resolve().parent.parent.parent
SPEC = ROOT / "circuits" / "qcell_adc_5bit.toml"


def _grid(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "grid.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, needle", [
    ('[grid.vary]\n"cell.v_bogus_v" = [0.1]\n', "grid.vary.cell.v_bogus_v"),
    ('[grid.vary]\n"cell.v_read_v" = []\n', "grid.vary.cell.v_read_v"),
    ('[grid]\nmc_samples = -1\n[grid.vary]\n"cell.v_read_v" = [0.8]\n', "grid.mc_samples"),
    ('[grid.vary]\n"timing.scheme" = ["precharge"]\n"timing.sense_s" = [0.1e-9]\n', "sense_s"),
    ('[grid.vary]\n"cell.input" = [{ w_m = 0.15e-6, l_m = 0.02e-6 }]\n', "input.l_m"),
    ('[grid.vary]\n"encoder.rom_p" = [{ w_m = 0.2e-6, l_m = 0.02e-6 }]\n', "encoder.rom_p.l_m"),
    ('[grid.vary]\n"timing.scheme" = ["precharge"]\n"timing.read_s" = [0.3e-9]\n', "read_s"),
    ('[grid.vary]\n"cell.vdd_v" = [0.0]\n', "vdd_v"),
    # named points ([[grid.points]]): each a unique name and known variables, validated before anything runs
    ('[[grid.points]]\nname = "a"\n"cell.v_bogus_v" = 0.1\n', "grid.points[0].cell.v_bogus_v"),
    ('[[grid.points]]\n"cell.vdd_v" = 0.9\n', "grid.points[0].name"),
    ('[[grid.points]]\nname = "a"\n"cell.vdd_v" = 0.9\n[[grid.points]]\nname = "a"\n"cell.vdd_v" = 0.8\n',
     "grid.points[1].name"),
    ('[[grid.points]]\nname = "a"\n', "grid.points[0]"),
    ('[grid]\npoints = 3\n', "grid.points"),
    ('[grid]\nmc_programming = "dc"\n[grid.vary]\n"cell.v_read_v" = [0.8]\n', "grid.mc_programming"),
    ('[[grid.points]]\nname = "fast"\n"timing.scheme" = "precharge"\n"timing.read_s" = 0.3e-9\n',
     'grid point "fast": timing.read_s'),
])
def test_bad_grid_is_one_line_and_writes_nothing(cli, tmp_path, text, needle):
    out = tmp_path / "out"
    proc = cli("explore", "adc", str(SPEC), "--grid", str(_grid(tmp_path, text)), "--out", str(out))
    assert_clean_error(proc, 2, needle)
    assert not out.exists()


def test_help_renders(cli):
    proc = cli("explore", "adc", "--help")
    assert proc.returncode == 0 and "--grid" in proc.stdout
