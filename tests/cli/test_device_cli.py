"""`memspice characterize device` and `memspice fit` as a user runs them."""

import csv
import json

import pytest

from memspice.papers.hong2025 import paper_data_dir
from tests.cli.conftest import assert_clean_error

DATA = paper_data_dir("hong2025")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--model", "hp"], ["model", "'hp'", "vteam, yakopcic"]),
        (["--model", "vteam", "--param", "r_on_ohm=-5"], ["params.r_on_ohm", "-5", "positive"]),
        (["--model", "vteam", "--param", "r_off_ohm=100"], ["params.r_off_ohm", "above r_on_ohm"]),
        (["--model", "vteam", "--param", "bogus=1"], ["--param bogus", "a parameter of model vteam"]),
        (["--model", "vteam", "--param", "r_on_ohm"], ["--param", "NAME=VALUE"]),
        (["--model", "vteam", "--targets", "1e-3"], ["targets_s[0]", "window"]),
        (["--model", "vteam", "--tolerance", "-1"], ["tolerance_s", "positive"]),
        (["--card", "nonexistent_card"], ["no such built-in card"]),
        ([], ["--model"]),
    ],
)
def test_bad_input_is_one_clear_line(cli, tmp_path, args, needles):
    proc = cli("characterize", "device", *args, "--out", str(tmp_path / "out"))
    assert_clean_error(proc, 2, *needles)


@pytest.mark.unit
def test_missing_ngspice_is_input_error(cli, tmp_path):
    proc = cli("characterize", "device", "--model", "vteam", "--out", str(tmp_path / "o"),
               env={"PATH": str(tmp_path), "MEMSPICE_NGSPICE": ""})
    assert_clean_error(proc, 2, "ngspice", "apt-get install ngspice")


@pytest.mark.ngspice
@pytest.mark.parametrize("model", ["vteam", "yakopcic"])
def test_characterize_device_outputs(cli, tmp_path, model):
    out = tmp_path / model
    proc = cli("characterize", "device", "--model", model, "--targets", "150e-6,350e-6", "--mc", "2",
               "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    for name in ("iv.csv", "programming.csv", "trajectories.csv", "devices.csv", "summary.json",
                 "hysteresis.png", "programming.png"):
        assert (out / name).is_file(), name
    with (out / "iv.csv").open() as fh:
        assert next(csv.reader(fh)) == ["time_s", "v_V", "i_A", "state"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sweep"]["pinched"] is True
    assert summary["sweep"]["lobe_area_pos_VA"] > 0 and summary["sweep"]["lobe_area_neg_VA"] > 0
    ex = summary["extracted"]
    # onsets on slow ramps lie at or just above the card's thresholds (detection at 1e-4 of motion)
    assert ex["card_set_threshold_V"] <= ex["set_threshold_V"] <= 1.15 * ex["card_set_threshold_V"]
    assert ex["card_reset_threshold_V"] <= ex["reset_threshold_V"] <= 1.15 * ex["card_reset_threshold_V"]
    with (out / "programming.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 3  # two targets, nominal + 2 Monte Carlo devices
    for row in rows:
        assert row["converged"] == "True"
        assert abs(float(row["final_S"]) - float(row["target_S"])) <= 5e-6
        assert float(row["energy_J"]) > 0 and int(row["pulses"]) >= 1
    assert "converged" in proc.stdout


@pytest.mark.unit
def test_fit_writes_card_and_report(cli, tmp_path):
    # a short fit (few evaluations) exercises the command; the fit quality is tested elsewhere
    out = tmp_path / "fit"
    proc = cli("fit", "--model", "yakopcic", "--data", str(DATA / "fig3b.csv"), "--fit", "a_p_per_s",
               "--max-evaluations", "3", "--out", str(out), "--write-card", str(tmp_path / "mine.toml"))
    assert proc.returncode == 0, proc.stderr
    assert (out / "fit.png").is_file() and (out / "card.toml").is_file()
    report = json.loads((out / "fit.json").read_text())
    assert report["fitted"] == ["a_p_per_s"] and report["rms_relative"] > 0
    proc = cli("characterize", "device", "--card", str(tmp_path / "mine.toml"), "--help")
    assert proc.returncode == 0


@pytest.mark.unit
def test_fit_bad_data(cli, tmp_path):
    proc = cli("fit", "--model", "vteam", "--data", str(tmp_path / "none.csv"), "--out", str(tmp_path / "o"))
    assert_clean_error(proc, 2, "none.csv", "not found")
