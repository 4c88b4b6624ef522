"""`memspice characterize adc` as a user runs it (a new process)."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.cli.conftest import assert_clean_error

ROOT = Path(__file__).resolve().parent.parent.parent
# Until memspice/cli/commands.py lists memspice.cli.adc, register it here; once it is listed, this
# changes nothing (the command is found already registered).
RUNNER = (
    "import sys\n"
    "from memspice.cli import adc, main\n"
    "if not any(c.name == 'adc' for c in main.characterize_app.registered_commands):\n"
    "    adc.register(main.app, main.characterize_app)\n"
    "main.run(sys.argv[1:])\n"
)


@pytest.fixture
def adc_cli(tmp_path):
    def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        env = {**os.environ, "MEMSPICE_PROGRESS": "off"}
        return subprocess.run([sys.executable, "-c", RUNNER, "characterize", "adc", *args], capture_output=True,
                              text=True, cwd=tmp_path, env=env, timeout=timeout)

    return run


def _csv(path: Path, *rows: str) -> Path:
    path.write_text("\n".join(["boundary_V", *rows]) + "\n")
    return path


@pytest.mark.unit
@pytest.mark.parametrize(
    ("rows", "needles"),
    [
        (["0.9", "0.8", "1.0"], ["boundaries_v[1]", "0.8", "strictly ascending"]),
        (["0.8", "0.8", "1.0"], ["boundaries_v[1]", "without duplicates"]),
        (["0.8", "0.9", "1.0", "1.1"], ["boundaries_v", "3 internal boundaries for 2 bits"]),
        (["0.6", "0.9", "1.0"], ["boundaries_v[0]", "0.6", "(0.7, 1.2)"]),
        (["0.8", "x", "1.0"], ["boundaries[1]", "a number"]),
    ],
)
def test_bad_boundary_files_fail_before_anything_runs(adc_cli, tmp_path, rows, needles):
    bfile = _csv(tmp_path / "b.csv", *rows)
    out = tmp_path / "out"
    proc = adc_cli("--bits", "2", "--boundaries", str(bfile), "--out", str(out))
    assert_clean_error(proc, 2, str(bfile), *needles)
    assert not out.exists()  # nothing was run or written


@pytest.mark.unit
@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--bits", "7"], ["bits", "from 2 to 6"]),
        (["--param", "cell.v_read_v=abc"], ["cell.v_read_v", "a number"]),
        (["--param", "cell.nope=1"], ["cell.nope", "known parameter"]),
        (["--card", "no_such_card"], ["no such built-in card"]),
        (["--backend", "spice3"], ["--backend", "subprocess"]),
        (["--workers", "0"], ["--workers", "at least 1"]),
        (["missing.toml"], ["missing.toml", "not found"]),
    ],
)
def test_bad_options_are_one_clear_line(adc_cli, tmp_path, args, needles):
    proc = adc_cli(*args, "--out", str(tmp_path / "out"))
    assert_clean_error(proc, 2, *needles)


@pytest.mark.ngspice
def test_unreachable_boundary_exit_code_2(adc_cli, tmp_path):
    bfile = _csv(tmp_path / "b.csv", "0.55", "0.9", "1.0")
    proc = adc_cli("--bits", "2", "--param", "input_lo_v=0.5", "--boundaries", str(bfile),
                   "--out", str(tmp_path / "out"))
    assert_clean_error(proc, 2, "boundaries_v[0]", "reach", "..")
    assert not (tmp_path / "out" / "boundaries.csv").exists()


@pytest.mark.ngspice
def test_spec_file_with_overrides_end_to_end(adc_cli, tmp_path):
    """The 4-bit circuit file run as 2 bits with 2 Monte Carlo samples and 3 conversions (a small run)."""
    out = tmp_path / "out"
    proc = adc_cli(str(ROOT / "circuits" / "qcell_adc_4bit.toml"), "--bits", "2", "--mc", "2", "--seed", "3",
                   "--workers", "2", "--param", "timing.conversions=3", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Q-cell ADC" in proc.stdout and "fJ/conversion" in proc.stdout
    for name in ("boundaries.csv", "transfer.csv", "summary.json", "adc.json", "transfer.png", "inl_dnl.png",
                 "boundary_distributions.png", "programming_map.png", "mc_samples.csv", "spec.json"):
        assert (out / name).is_file(), name
    with (out / "boundaries.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert set(rows[0]) == {"index", "target_V", "measured_V", "sample"}
    assert len(rows) == 3 + 2 * 3 and rows[0]["sample"] == "" and rows[-1]["sample"] == "1"
    summary = json.loads((out / "summary.json").read_text())
    for key in ("bits", "energy_per_conversion_J", "delay_s", "inl_max_lsb", "dnl_max_lsb", "area_um2",
                "boundary_sigma_V"):
        assert key in summary, key
    assert summary["bits"] == 2 and len(summary["boundary_sigma_V"]) == 3
    assert summary["monte_carlo"]["seed"] == 3
    assert summary["monte_carlo"]["samples"] == 2 and summary["monte_carlo"]["failed_samples"] == []
    # the Monte Carlo ran through the engine, its chunk cache kept with the results (a rerun resumes)
    assert len(list((out / "mc_cache").glob("qcell_adc_closed-2bit-*/chunk_00000.json"))) == 1
    assert len(list((out / "mc_cache").glob("qcell_adc-2bit-*/chunk_00000.json"))) == 1
    with (out / "mc_samples.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 2 * 4 and {"sample", "cell", "g_lower_S", "g_upper_S", "delvto_mn3_V"} <= set(table[0])
    art = json.loads((out / "adc.json").read_text())
    assert set(art) == {"bits", "input_range_V", "targets_V", "measured_V", "mc_measured_V", "source", "mc",
                        "mc_programming", "format_version"} and art["format_version"] == 1
    # closed loop by default, with the same samples open loop beside it, errors in volts and LSB
    assert art["mc_programming"] == "closed" and set(art["mc"]) == {"closed", "open"}
    assert art["mc"]["closed"]["measured_V"] == art["mc_measured_V"]
    assert np.allclose(np.array(art["mc"]["open"]["errors_lsb"]) * 0.125, art["mc"]["open"]["errors_V"])
    assert (out / "mc_per_sample_open.csv").is_file()
    with (out / "mc_per_sample.csv").open() as fh:
        per = list(csv.DictReader(fh))
    assert [r["nonconverged_bound"] for r in per if r["converged"] == "1"] == [""] * sum(
        r["converged"] == "1" for r in per) and {"nonconverged_boundary", "nonconverged_bound",
                                               "nonconverged_reason"} <= set(per[0])
    assert "closed loop, band +-5 mV" in proc.stdout and "open loop" in proc.stdout
    assert art["input_range_V"] == [0.7, 1.2] and len(art["measured_V"]) == 3
    assert len(art["mc_measured_V"]) == 2 and all(len(r) == 3 for r in art["mc_measured_V"])
    assert max(abs(m - t) for m, t in zip(art["measured_V"], art["targets_V"], strict=True)) <= 0.1 * 0.125
