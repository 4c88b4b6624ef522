"""Every command on a table of hostile inputs, run as a user would (a new process).

Each case asserts: a non-zero exit code, one line on stderr naming the field or file, no
traceback, nothing written outside the case's folder, no output folder left behind, and no shell
command run (the injection payload would create PWNED).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
MC = ROOT / "tests" / "data" / "mc"
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
def test_injection_is_refused_before_anything_runs(cli, tmp_path, argv, field):
    args = argv(tmp_path)
    before = _files(tmp_path)
    proc = cli(*args)
    _assert_refused(proc, 2, field, before, tmp_path)
    assert not any(p.name == "PWNED" for p in tmp_path.parent.rglob("PWNED"))
