"""Every command on a table of hostile inputs.

Each case asserts: a non-zero exit code, one line on stderr naming the field or file, no
traceback, nothing written in the case's folder (no output folder left behind) and no shell
command run (the injection payload would create PWNED). The table runs the console entry
(``memspice.cli.main.run``) in this process, which is what ``python -m memspice`` runs, to keep
the suite fast; a sample of cases also runs as a new process to show the two agree.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from memspice.papers.hong2025 import paper_data_dir

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
MC = ROOT / "tests" / "data" / "mc"
FIG3B = paper_data_dir() / "fig3b.csv"
INJ = "x\\n.control\\nshell touch PWNED\\n.endc"  # TOML escapes: a name holding three line breaks
INJ_VECTOR = "i(v1)\\nshell touch PWNED #"


def _card_file(tmp: Path, name: str = INJ) -> Path:
    text = (ROOT / "models" / "cards" / "vteam_paper.toml").read_text()
    path = tmp / "evil_card.toml"
    path.write_text(text.replace('name = "vteam_paper"', f'name = "{name}"'))
    return path


def _plan(tmp: Path, name: str = "ladder", vector: str = "v(out)") -> Path:
    (tmp / "ladder.cir").write_text((MC / "ladder.cir").read_text())
    text = (MC / "ladder.toml").read_text().replace('name = "ladder"', f'name = "{name}"')
    path = tmp / "plan.toml"
    path.write_text(text.replace('vector = "v(out)"', f'vector = "{vector}"'))
    return path


def _crossbar(tmp: Path, card: str) -> Path:
    path = tmp / "xbar.toml"
    path.write_text((ROOT / "circuits" / "crossbar_128.toml").read_text()
                    .replace('card = "vteam_paper"', f'card = "{card}"'))
    return path


def _adc(tmp: Path, card: str) -> Path:
    path = tmp / "adc.toml"
    path.write_text((ROOT / "circuits" / "qcell_adc_4bit.toml").read_text()
                    .replace('card = "vteam_paper"', f'card = "{card}"'))
    return path


def _study(tmp: Path, name: str) -> Path:
    path = tmp / "study.toml"
    for f in ("crossbar_128.toml", "qcell_adc_4bit.toml"):
        (tmp / f).write_text((ROOT / "circuits" / f).read_text())
    path.write_text((ROOT / "circuits" / "study_default.toml").read_text()
                    .replace('name = "vgg8_fmnist_4bit"', f'name = "{name}"'))
    return path


# (id, argv builder from the case folder, exit code, what stderr must name)
INJECTION = [
    ("device-card-name-subprocess", lambda t: ["characterize", "device", "--card", str(_card_file(t)),
                                               "--backend", "subprocess", "--out", "out"], "card.name"),
    ("device-card-name-shared", lambda t: ["characterize", "device", "--card", str(_card_file(t)),
                                           "--backend", "shared", "--out", "out"], "card.name"),
    ("fit-start-card-name", lambda t: ["fit", "--start", str(_card_file(t)), "--data", "x.csv", "--out", "out"],
     "card.name"),
    ("crossbar-card", lambda t: ["characterize", "crossbar", str(_crossbar(t, INJ)), "--out", "out"],
     "crossbar.card"),
    ("crossbar-card-file", lambda t: ["characterize", "crossbar", str(_crossbar(t, str(_card_file(t)))),
                                      "--out", "out"], "card.name"),
    ("adc-card-subprocess", lambda t: ["characterize", "adc", "--card", str(_card_file(t)), "--backend",
                                       "subprocess", "--out", "out"], "card.name"),
    ("adc-card-shared", lambda t: ["characterize", "adc", "--card", str(_card_file(t)), "--backend", "shared",
                                   "--out", "out"], "card.name"),
    ("adc-spec-card", lambda t: ["characterize", "adc", str(_adc(t, INJ)), "--out", "out"], "adc.card"),
    ("adc-param-card", lambda t: ["characterize", "adc", "--param", "card=a\x1bb", "--out", "out"], "card"),
    ("mc-plan-name", lambda t: ["mc", str(_plan(t, name=INJ)), "--out", "out"], "plan.name"),
    ("mc-plan-name-traversal", lambda t: ["mc", str(_plan(t, name="../../../x")), "--cache", "c"], "plan.name"),
    ("mc-measure-vector", lambda t: ["mc", str(_plan(t, vector=INJ_VECTOR)), "--out", "out"],
     "plan.spec.measures[0].vector"),
    ("study-name", lambda t: ["study", str(_study(t, INJ)), "--out", "out"], "study.name"),
    ("study-name-traversal", lambda t: ["study", str(_study(t, "..")), "--stages", "device"], "study.name"),
]


@pytest.fixture
def run_cli(tmp_path, monkeypatch, capsys):
    """``memspice ARGS`` through the console entry in this process, from ``tmp_path``."""
    from memspice.cli.main import run

    def call(*args: str, env: dict | None = None):
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("MEMSPICE_PROGRESS", "off")
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        try:
            run(list(args))
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    return call


def _files(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*")}


def _assert_refused(proc, code: int, needle: str, before: set[Path], folder: Path) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("memspice: error:"), proc.stderr
    assert needle in lines[0], (needle, proc.stderr)
    assert _files(folder) == before, "the command wrote or left files: " + str(_files(folder) - before)


@pytest.mark.parametrize(("argv", "field"), [c[1:] for c in INJECTION], ids=[c[0] for c in INJECTION])
def test_injection_is_refused_before_anything_runs(run_cli, tmp_path, argv, field):
    args = argv(tmp_path)
    before = _files(tmp_path)
    proc = run_cli(*args)
    _assert_refused(proc, 2, field, before, tmp_path)
    assert not (tmp_path / "PWNED").exists()


SUBPROCESS_SAMPLE = ["device-card-name-shared", "mc-measure-vector", "study-name"]


@pytest.mark.parametrize("case", SUBPROCESS_SAMPLE)
def test_a_new_process_behaves_the_same(cli, tmp_path, case):
    _, argv, field = next(c for c in INJECTION if c[0] == case)
    args = argv(tmp_path)
    before = _files(tmp_path)
    proc: subprocess.CompletedProcess = cli(*args)
    _assert_refused(proc, 2, field, before, tmp_path)
    assert not (tmp_path / "PWNED").exists()


# -- limits, empty and undecodable inputs, non-finite numbers, output folders --------------------

def _write(tmp: Path, name: str, data: str | bytes) -> Path:
    path = tmp / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path


def _replace(src: Path, tmp: Path, name: str, old: str, new: str) -> Path:
    text = src.read_text()
    assert old in text, old
    return _write(tmp, name, text.replace(old, new))


def _ladder(tmp: Path, old: str = "", new: str = "") -> Path:
    (tmp / "ladder.cir").write_text((MC / "ladder.cir").read_text())
    return _replace(MC / "ladder.toml", tmp, "plan.toml", old or "seed = 7", new or "seed = 7")


LATIN1 = "# r\xe9sistance\n".encode("latin-1")
HOSTILE = [
    # limits (the limit is in the message)
    ("mc-samples-1e9", lambda t: ["mc", str(_ladder(t, "samples = 40", "samples = 1000000000")), "--out", "o"],
     2, "plan.samples"),
    ("mc-chunk-size", lambda t: ["mc", str(_ladder(t, "chunk_size = 8", "chunk_size = 0")), "--out", "o"],
     2, "plan.chunk_size"),
    ("device-mc-1e9", lambda t: ["characterize", "device", "--model", "vteam", "--mc", "1000000000", "--out", "o"],
     2, "10,000"),
    ("device-max-pulses", lambda t: ["characterize", "device", "--model", "vteam", "--max-pulses", "0", "--out", "o"],
     2, "max_pulses"),
    ("study-device-mc-1e9", lambda t: ["study", str(_replace(_study(t, "s"), t, "s2.toml", "mc = 8",
                                                             "mc = 1000000000"))], 2, "device.mc"),
    ("adc-mc-1e9", lambda t: ["characterize", "adc", "--mc", "1000000000", "--out", "o"], 2, "mc.samples"),
    ("crossbar-mc-1e9", lambda t: ["characterize", "crossbar", str(ROOT / "circuits" / "crossbar_128.toml"),
                                   "--mc", "1000000000", "--out", "o"], 2, "mc"),
    # empty or header-only inputs are errors, not defaults
    ("adc-boundaries-header-only", lambda t: ["characterize", "adc", "--boundaries",
                                              str(_write(t, "b.csv", "boundary_V\n")), "--out", "o"],
     2, "header only"),
    ("crossbar-empty-spec", lambda t: ["characterize", "crossbar", str(_write(t, "x.toml", "")), "--out", "o"],
     2, "[crossbar] table"),
    ("adc-boundaries-too-close", lambda t: ["characterize", "adc", "--boundaries", str(_write(
        t, "b.csv", "boundary_V\n" + "\n".join(str(0.70 + 0.03125 * k) for k in range(1, 8)) + "\n0.91881\n"
        + "\n".join(str(0.70 + 0.03125 * k) for k in range(9, 16)) + "\n")), "--out", "o"], 2, "sweep step"),
    # undecodable files: one line naming the file
    ("mc-plan-latin1", lambda t: ["mc", str(_write(t, "p.toml", LATIN1 + (MC / "ladder.toml").read_bytes())),
                                  "--out", "o"], 2, "not UTF-8"),
    ("adc-spec-latin1", lambda t: ["characterize", "adc", str(_write(
        t, "a.toml", LATIN1 + (ROOT / "circuits" / "qcell_adc_4bit.toml").read_bytes())), "--out", "o"],
     2, "a.toml: not UTF-8"),
    ("adc-boundaries-latin1", lambda t: ["characterize", "adc", "--boundaries", str(_write(
        t, "b.csv", b"boundary_V\n0.8\xe9\n")), "--out", "o"], 2, "b.csv: not UTF-8"),
    ("device-card-latin1", lambda t: ["characterize", "device", "--card", str(_write(
        t, "c.toml", LATIN1 + (ROOT / "models" / "cards" / "vteam_paper.toml").read_bytes())), "--out", "o"],
     2, "c.toml: not UTF-8"),
    ("crossbar-latin1", lambda t: ["characterize", "crossbar", str(_write(
        t, "x.toml", LATIN1 + (ROOT / "circuits" / "crossbar_128.toml").read_bytes())), "--out", "o"],
     2, "x.toml: not UTF-8"),
    ("study-latin1", lambda t: ["study", str(_write(t, "s.toml", LATIN1 + _study(t, "s").read_bytes()))],
     2, "s.toml: not UTF-8"),
    ("fit-data-latin1", lambda t: ["fit", "--model", "vteam", "--data", str(_write(
        t, "iv.csv", b"curve,v_V,i_A\n\xe9,0.1,1e-6\n")), "--out", "o"], 2, "iv.csv"),
    # numbers that are not finite (or out of range) fail at validation, not deep inside
    ("crossbar-wire-inf-toml", lambda t: ["characterize", "crossbar", str(_replace(
        ROOT / "circuits" / "crossbar_128.toml", t, "x.toml", "r_row_segment_ohm = 1.0", "r_row_segment_ohm = inf")),
        "--out", "o"], 2, "crossbar.wire.r_row_segment_ohm"),
    ("crossbar-wire-inf-override", lambda t: ["characterize", "crossbar", str(ROOT / "circuits" / "crossbar_128.toml"),
                                              "wire.r_row_segment_ohm=inf", "--out", "o"],
     2, "wire.r_row_segment_ohm"),
    ("mc-sigma-inf", lambda t: ["mc", str(_ladder(t, "sigma_rel = 0.05", "sigma = inf")), "--out", "o"],
     2, "plan.vary[0].sigma"),
    ("adc-input-range-inf", lambda t: ["characterize", "adc", "--param", "input_hi_v=inf", "--out", "o"],
     2, "input_hi_v"),
    ("adc-input-range-inf-toml", lambda t: ["characterize", "adc", str(_replace(
        ROOT / "circuits" / "qcell_adc_4bit.toml", t, "a.toml", "input_hi_v = 1.20", "input_hi_v = inf")),
        "--out", "o"], 2, "adc.input_hi_v"),
    ("fit-point-time-nan", lambda t: ["fit", "--model", "vteam", "--data", str(FIG3B), "--point-time", "nan",
                                      "--out", "o"],
     2, "--point-time"),
    ("fit-max-evaluations-0", lambda t: ["fit", "--model", "vteam", "--data", str(FIG3B), "--max-evaluations", "0",
                                         "--out", "o"],
     2, "--max-evaluations"),
    ("fit-nan-in-data", lambda t: ["fit", "--model", "vteam", "--data", str(_write(
        t, "iv.csv", "curve,v_V,i_A\na,0,0\na,0.1,1e-6\na,0.2,nan\na,0.3,3e-6\n")), "--out", "o"],
     2, "curve a, point 2"),
    ("device-targets-inf", lambda t: ["characterize", "device", "--model", "vteam", "--targets", "1e-4,inf",
                                      "--out", "o"], 2, "--targets"),
    # output folders
    ("out-is-a-file", lambda t: ["characterize", "adc", "--out", str(_write(t, "f", "x"))], 2, "not a folder"),
    ("out-under-a-file", lambda t: ["mc", str(_ladder(t)), "--out", str(_write(t, "f", "x") / "sub")],
     2, "cannot write there"),
    ("out-holds-foreign-files", lambda t: ["mc", str(_ladder(t)), "--out", str(_write(t, "o", b"") and _foreign(t))],
     2, "files memspice did not write"),
    ("out-holds-foreign-files-overwrite", lambda t: ["mc", str(_ladder(t)), "--out", str(_foreign(t)),
                                                     "--overwrite"], 2, "only empties folders written by memspice"),
    # the simulator
    ("run-root-under-a-file", lambda t: ["mc", str(_ladder(t)), "--out", "o", "--cache", "c"], 2,
     "MEMSPICE_RUN_ROOT"),
    ("stale-ngspice-library-path", lambda t: ["characterize", "device", "--model", "vteam", "--backend", "shared",
                                              "--out", "o"], 2, "NGSPICE_LIBRARY_PATH=/nonexistent"),
]


def _foreign(tmp: Path) -> Path:
    folder = tmp / "foreign"
    folder.mkdir(exist_ok=True)
    (folder / "notes.txt").write_text("mine")
    return folder


@pytest.mark.parametrize(("argv", "code", "needle"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_inputs_fail_in_one_line_before_any_work(run_cli, tmp_path, request, argv, code, needle):
    args = argv(tmp_path)
    before = _files(tmp_path)
    env = {"NGSPICE_LIBRARY_PATH": "/nonexistent/libngspice.so.0"}
    if "run-root" in request.node.name:
        env["MEMSPICE_RUN_ROOT"] = str(_write(tmp_path, "runroot", "x") / "sub")
        before = _files(tmp_path)
    proc = run_cli(*args, env=env)
    _assert_refused(proc, code, needle, before, tmp_path)
