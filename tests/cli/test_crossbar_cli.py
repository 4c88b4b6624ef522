"""`memspice characterize crossbar` as a user runs it."""

import csv
import json
import math

import pytest

from memspice.resources import circuits_dir
from tests.cli.conftest import assert_clean_error

SPEC = str(circuits_dir() / "crossbar_128.toml")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["rows=0"], ["crossbar.rows", "got 0", "from 1 to 4096"]),
        (["--rows", "5000"], ["crossbar.rows", "from 1 to 4096"]),
        (["g_max_s=1e-3"], ["crossbar.g_max_s", "window"]),
        (["drive.v_read_v=0.7"], ["crossbar.drive.v_read_v", "switching threshold"]),
        (["sense.r_f_ohm=1e6"], ["crossbar.sense.r_f_ohm", "swing"]),
        (["bogus=1"], ["crossbar.bogus", "known parameter"]),
        (["rows"], ["override", "NAME=VALUE"]),
        (["study.sweep_rows=[16,0]"], ["study.sweep_rows[1]"]),
    ],
)
def test_bad_overrides_are_one_clear_line(cli, tmp_path, args, needles):
    proc = cli("characterize", "crossbar", SPEC, *args, "--out", str(tmp_path / "out"))
    assert_clean_error(proc, 2, *needles)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("table", "needles"),
    [
        ("rows = 3\ncols = 1\nweights = [[0.5], [2.0], [0.0]]\n", ["crossbar.weights[1][0]", "2", "w_max"]),
        ("rows = 3\ncols = 2\nweights = [[0.5, 0.1], [0.2], [0.0, 0.0]]\n", ["crossbar.weights[1]", "per column"]),
        ("rows = 3\nweights = [[0.5], [0.1]]\n", ["crossbar.weights", "one list per row"]),
        ("rows = 3\ninputs_v = [0.1, 0.3, 0.0]\n", ["crossbar.inputs_v[1]", "0.3", "disturb the state"]),
        ("rows = 3\ninputs_v = [0.1, 0.1]\n", ["crossbar.inputs_v", "one voltage per row"]),
        ("rows = 3\ncard = \"missing.toml\"\n", ["crossbar.card", "missing.toml"]),
    ],
)
def test_bad_spec_files_are_one_clear_line(cli, tmp_path, table, needles):
    path = tmp_path / "bad.toml"
    path.write_text("[crossbar]\n" + table)
    proc = cli("characterize", "crossbar", str(path), "--out", str(tmp_path / "out"))
    assert_clean_error(proc, 2, str(path), *needles)


@pytest.mark.unit
def test_missing_spec_file(cli, tmp_path):
    proc = cli("characterize", "crossbar", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "out"))
    assert_clean_error(proc, 2, "nope.toml", "not found")


@pytest.mark.ngspice
def test_characterize_crossbar_outputs(cli, tmp_path):
    out = tmp_path / "xb"
    proc = cli("characterize", "crossbar", SPEC, "study.patterns=8", "study.sweep_rows=[8,32]",
               "study.sweep_r_wire_ohm=[0.5,2.5]", "study.sweep_patterns=3", "--rows", "32", "--mc", "6",
               "--seed", "3", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for name in ("transfer.csv", "summary.json", "column_model.json", "ir_drop.csv", "transient.csv", "mc.csv",
                 "mc_samples.csv", "spec.json", "transfer.png", "ir_drop.png", "transient.png", "mc.png"):
        assert (out / name).is_file(), name
    with (out / "transfer.csv").open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["sample", "ideal_A", "spice_A", "v_out_V"]
    assert len(rows) == 1 + 8
    model = json.loads((out / "column_model.json").read_text())
    # memspice.artifacts.ColumnModelArtifact: what memspice.nn loads
    assert set(model) == {"format_version", "rows", "coefficients", "noise_sigma", "sigma_g_rel", "source"}
    assert model["rows"] == 32 and len(model["coefficients"]) == 4
    # the random part is the cells' spread (not the fit residual): sigma_g / (g_max - g_min) x attenuation
    assert model["noise_sigma"] == 0 and 0 < model["sigma_g_rel"] < 0.1
    summary = json.loads((out / "summary.json").read_text())
    for key in ("rel_error_fs_max", "rel_error_fs_rms", "rel_error_max", "rel_error_rms", "settling_time_s",
                "energy_per_read_J", "energy_per_mac_J"):
        assert math.isfinite(summary[key]) and summary[key] >= 0, key
    assert summary["provenance"]["seed"] == 3 and summary["mc"]["samples"] == 6
    assert len(summary["ir_drop"]) == 4
    assert "settling to 1/2 LSB" in proc.stdout and "column model" in proc.stdout
