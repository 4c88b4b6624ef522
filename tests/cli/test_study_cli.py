"""A small study end to end with real ngspice, torch and Fashion-MNIST: stages, caching, exports, refusals."""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser

import pytest

from memspice.resources import circuits_dir
from tests.cli.conftest import assert_clean_error

pytestmark = [pytest.mark.ngspice, pytest.mark.torch]

CIRCUITS = circuits_dir()

SMALL = f"""
[study]
name = "small"
seed = 1
bits = [3]

[device]
cards = ["vteam_paper"]
mc = 0

[crossbar]
spec = "{CIRCUITS / 'crossbar_128.toml'}"
mc = 6
[crossbar.overrides]
"study.patterns" = 4
"study.sweep_rows" = [16, 128]
"study.sweep_r_wire_ohm" = [1.0]
"study.sweep_patterns" = 2

[adc]
spec = "{CIRCUITS / 'qcell_adc_4bit.toml'}"
mc = 3

[network]
epochs = 1
train_images = 1000
cache_dir = "train_cache"

[evaluate]
test_images = 200
bits = [3]
adcs = ["uniform_minmax", "lloyd_max"]
sigmas = [0.02]
sweep_adcs = ["lloyd_max"]
trials = 2
calibration_images = 64
column_grid_test_images = 100
column_grid_calibration_images = 32
"""


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs, self.tables = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.srcs.append(a["src"])
        if tag == "table" and "id" in a:
            self.tables.append(a["id"])


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """One run of the small study, then a rerun (everything cached) and an edited rerun."""
    import os
    import subprocess
    import sys

    work = tmp_path_factory.mktemp("study")
    (work / "small.toml").write_text(SMALL)
    env = {**os.environ, "MEMSPICE_PROGRESS": "off"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "memspice", *args], capture_output=True, text=True, cwd=work,
                              env=env, timeout=900)

    first = run("study", "small.toml")
    assert first.returncode == 0, first.stderr[-3000:]
    snapshot = {p.name: p.read_bytes() for p in (work / "runs" / "small" / "tables").iterdir()}
    second = run("study", "small.toml")
    assert second.returncode == 0, second.stderr[-3000:]
    (work / "small.toml").write_text(SMALL.replace("mc = 3", "mc = 4"))
    third = run("study", "small.toml")
    assert third.returncode == 0, third.stderr[-3000:]
    return {"dir": work, "run": work / "runs" / "small", "first": first, "second": second, "third": third,
            "snapshot": snapshot, "cli": run}


def _stage_lines(proc) -> dict[str, str]:
    """The stage lines the CLI prints (the memspice.study loggers, on stderr)."""
    out = {}
    for line in (s.strip() for s in proc.stderr.splitlines()):
        if line.startswith("[") and ": " in line:
            name, _, what = line.split("] ", 1)[1].partition(": ")
            out[name] = what
    return out


def test_every_stage_runs_then_caches(study):
    first, second = _stage_lines(study["first"]), _stage_lines(study["second"])
    stages = ["device", "crossbar", "train", "calibrate", "adc", "evaluate", "system"]
    assert all(first[s].startswith("done") for s in stages), first
    assert all(second[s].startswith("cached") for s in stages), second


def test_an_edit_recomputes_what_depends_on_it(study):
    third = _stage_lines(study["third"])
    assert [s for s, w in third.items() if w.startswith("done")] == ["adc", "evaluate", "system"], third
    assert all(third[s].startswith("cached") for s in ("device", "crossbar", "train", "calibrate"))


def test_a_cached_rerun_reproduces_the_tables_byte_for_byte(study):
    # the second run ran nothing again; its export rebuilt the tables from the stage outputs
    run = study["run"]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["stages"]["device"]["cached"]
    # device, crossbar and calibrate tables did not change with the ADC edit
    for name in ("devices.csv", "crossbar.csv", "ir_drop.csv"):
        assert (run / "tables" / name).read_bytes() == study["snapshot"][name]


def test_exports_tables_figures_manifest_and_index(study):
    run = study["run"]
    for name in ("devices", "crossbar", "ir_drop", "adc_linearity", "accuracy", "variation_sweep", "system",
                 "adc_comparison", "system_all", "accuracy_column"):
        for ext in ("csv", "tex", "md"):
            assert (run / "tables" / f"{name}.{ext}").exists(), (name, ext)
    tex = (run / "tables" / "accuracy.tex").read_text()
    assert "\\toprule" in tex and "\\bottomrule" in tex
    figs = list((run / "figures").glob("*.png"))
    assert len(figs) >= 10
    assert [p.name for p in figs if not p.with_suffix(".pdf").exists()] == []
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["seeds"]["study"] == 1 and manifest["versions"]["ngspice"].startswith("ngspice")
    assert set(manifest["stages"]) == {"device", "crossbar", "train", "calibrate", "adc", "evaluate", "system"}
    page = _Links()
    page.feed((run / "index.html").read_text())
    assert {"devices", "crossbar", "accuracy", "system", "adc_comparison"} <= set(page.tables)
    assert page.srcs and all((run / s).exists() for s in page.srcs)


def test_paper_shares_and_accuracy_rows(study):
    run = study["run"]
    with (run / "tables" / "system.csv").open() as f:
        rows = {r["adc"]: r for r in csv.DictReader(f)}
    # the paper's Q-cell (12.58 fJ, 24.29 um^2) on the paper's VGG8 counts: its published ADC shares
    assert float(rows["Q-cell (paper)"]["adc_energy_share_percent"]) == pytest.approx(22.5, abs=0.5)
    assert float(rows["Q-cell (paper)"]["adc_area_share_percent"]) == pytest.approx(16.9, abs=0.5)
    with (run / "evaluate" / "accuracy.csv").open() as f:
        acc = list(csv.DictReader(f))
    kinds = {r["adc"] for r in acc}
    assert {"float", "ideal", "uniform_minmax", "lloyd_max", "spice"} <= kinds
    assert sum(r["adc"] == "spice" for r in acc) == 4  # one trial per Monte Carlo sample of the edited run
    with (run / "tables" / "accuracy_column.csv").open() as f:
        col = {r["adc"] for r in csv.DictReader(f)}
    assert {"ideal", "uniform_minmax", "lloyd_max"} <= col
    # the column grid: one row per point of the crossbar stage's sweep (16 and 128 rows at 1 ohm)
    with (run / "tables" / "accuracy_column_grid.csv").open() as f:
        grid = list(csv.DictReader(f))
    assert [(int(r["rows"]), float(r["r_wire_ohm"])) for r in grid] == [(16, 1.0), (128, 1.0)]
    assert all(0 <= float(r["lloyd_max_column"]) <= 100 for r in grid)


@pytest.fixture(scope="module")
def serial(study):
    """The crossbar and the uniform ADC of the edited study (the third run, which started both early)
    again with ``study.overlap = false``, each computed in its turn, into another folder."""
    text = SMALL.replace("mc = 3", 'mc = 4\nboundary_sets = ["uniform"]').replace("bits = [3]\n", "bits = [3]\n"
                                                                                "overlap = false\n", 1)
    (study["dir"] / "serial.toml").write_text(text)
    proc = study["cli"]("study", "serial.toml", "--out", "runs/serial", "--stages", "crossbar,adc")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"proc": proc, "run": study["dir"] / "runs" / "serial"}


def test_overlap_changes_no_result(study, serial):
    # the first run started the crossbar and the uniform ADC early, the edited third run the ADC again
    first, third, alone = (_stage_lines(p) for p in (study["first"], study["third"], serial["proc"]))
    assert "ran beside earlier stages" in first["crossbar"] and "ran beside earlier stages" in first["adc"], first
    assert "ran beside earlier stages" in third["adc"], third
    assert not any("beside" in w for w in alone.values()), alone
    files = [f"crossbar/{p.name}" for p in sorted((serial["run"] / "crossbar").glob("*.csv"))]
    files += [f"adc/uniform_3b/{p.name}" for p in sorted((serial["run"] / "adc" / "uniform_3b").glob("*.csv"))]
    files.append("adc/uniform_3b/adc.json")
    assert len(files) >= 10, files
    differ = [f for f in files if (serial["run"] / f).read_bytes() != (study["run"] / f).read_bytes()]
    assert differ == [], differ


def test_export_rerenders_from_the_run_folder(study):
    run = study["run"]
    (run / "tables" / "accuracy.md").unlink()
    proc = study["cli"]("export", str(run), "--format", "md")
    assert proc.returncode == 0, proc.stderr
    assert (run / "tables" / "accuracy.md").exists()


def test_refuses_another_studys_run_folder(study):
    other = study["dir"] / "other.toml"
    other.write_text(SMALL.replace('name = "small"', 'name = "other"'))
    before = sorted(p.name for p in study["run"].iterdir())
    proc = study["cli"]("study", str(other), "--out", str(study["run"]))
    assert_clean_error(proc, 2, "holds a run of study 'small'")
    assert sorted(p.name for p in study["run"].iterdir()) == before


@pytest.mark.parametrize("edit, needles", [
    (("[device]", "[device]\ncolour = 1"), ("device.colour",)),
    (('bits = [3]\n\n[device]', 'bits = [3]\nstages = ["device", "simulate"]\n\n[device]'), ("study.stages[1]",
                                                                                         "simulate")),
    (("qcell_adc_4bit.toml", "nope.toml"), ("adc.spec", "nope.toml")),
    (('cards = ["vteam_paper"]', 'cards = ["no_such_card"]'), ("device.cards[0]", "no_such_card")),
])
def test_bad_study_files_are_clear_errors(cli, tmp_path, edit, needles):
    text = SMALL.replace(*edit)
    assert text != SMALL
    (tmp_path / "bad.toml").write_text(text)
    proc = cli("study", "bad.toml")
    assert_clean_error(proc, 2, *needles)
    assert not (tmp_path / "runs").exists()


def test_missing_study_file(cli):
    assert_clean_error(cli("study", "absent.toml"), 2, "absent.toml")


def test_export_of_a_folder_that_is_not_a_run(cli, tmp_path):
    assert_clean_error(cli("export", str(tmp_path)), 2, "not a study run folder")


def test_export_format_is_checked(study):
    proc = study["cli"]("export", str(study["run"]), "--format", "docx")
    assert_clean_error(proc, 2, "--format", "docx")
