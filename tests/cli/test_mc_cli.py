"""`memspice mc` as a user runs it."""

from pathlib import Path

import pytest

from tests.cli.conftest import assert_clean_error

DATA = Path(__file__).resolve().parent.parent / "data" / "mc"


@pytest.mark.ngspice
def test_mc_prints_a_summary_and_writes_tables(cli, tmp_path):
    proc = cli("mc", str(DATA / "ladder.toml"), "--workers", "2", "--cache", str(tmp_path / "c"),
               "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert "40 samples in 5 chunks" in proc.stdout and "failures: 0" in proc.stdout
    assert "samples/s" in proc.stdout and "v_out_V: mean" in proc.stdout
    for name in ("samples.csv", "results.csv", "summary.json"):
        assert (tmp_path / "o" / name).is_file()


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ('samples = 0', ["plan.samples", "from 1 to 100,000"]),
        ('samples = 5\nwhat = 1', ["plan.what", "known keys"]),
    ],
)
def test_bad_plans_are_one_line(cli, tmp_path, text, needles):
    plan = tmp_path / "p.toml"
    plan.write_text(f'[plan]\nname = "x"\ncircuit = "netlist"\nspec = {{}}\n{text}\n')
    assert_clean_error(cli("mc", str(plan), "--cache", str(tmp_path / "c")), 2, *needles)


@pytest.mark.unit
def test_bad_group_and_sigma(cli, tmp_path):
    text = (DATA / "ladder.toml").read_text().replace('group = "r"', 'group = "rr"')
    (tmp_path / "ladder.cir").write_text((DATA / "ladder.cir").read_text())
    (tmp_path / "p.toml").write_text(text)
    assert_clean_error(cli("mc", str(tmp_path / "p.toml"), "--cache", str(tmp_path / "c")), 2,
                       "plan.vary[0].group", "'rr'", "r")
    negative = (DATA / "ladder.toml").read_text().replace("sigma_rel = 0.05", "sigma_rel = -0.05")
    (tmp_path / "q.toml").write_text(negative)
    assert_clean_error(cli("mc", str(tmp_path / "q.toml"), "--cache", str(tmp_path / "c")), 2, "sigma_rel", "-0.05")


@pytest.mark.unit
def test_missing_plan_file(cli, tmp_path):
    assert_clean_error(cli("mc", str(tmp_path / "none.toml")), 2, "none.toml", "not found")
