"""Every command's --help renders its texts as written (no rich markup eating "[adc]")."""

import os
import re
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from memspice.cli.main import app

pytestmark = pytest.mark.unit


def _commands(group, path: tuple[str, ...] = ()):
    if hasattr(group, "commands"):  # a group (typer vendors its own click: no isinstance check)
        for name, sub in group.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield path, group


COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_shows_every_bracketed_word(path, command):
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "400", "MEMSPICE_PROGRESS": "off"},
                                terminal_width=400)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for param in command.params:
        for token in re.findall(r"\[[^\]\s]+\]", getattr(param, "help", None) or ""):
            assert token in text, (path, param.name, token)
    assert (command.help or "").split("\n")[0].split()[0] in text


def test_some_help_texts_hold_brackets():
    # the test above would pass vacuously if no help text held a [table] name
    assert any("[adc]" in (getattr(p, "help", None) or "") for _, c in COMMANDS for p in c.params)


def test_backend_choices_are_the_engines():
    from memspice.cli.common import Backend
    from memspice.ngspice.engine import BACKENDS, DEFAULT_BACKEND

    assert tuple(b.value for b in Backend) == BACKENDS
    assert DEFAULT_BACKEND in BACKENDS


BACKEND_COMMANDS = [p for p, c in COMMANDS if any(getattr(q, "name", "") == "backend" for q in c.params)]


@pytest.mark.parametrize("path", BACKEND_COMMANDS, ids=[" ".join(p) for p in BACKEND_COMMANDS])
def test_a_wrong_backend_is_one_line_naming_option_and_choices(path, tmp_path):

    args = [*path, "--backend", "spice3", "--out", str(tmp_path / "out")]
    if path == ("characterize", "device"):
        args += ["--model", "vteam"]
    proc = subprocess.run([sys.executable, "-m", "memspice", *args], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "MEMSPICE_PROGRESS": "off"}, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memspice: error:"), proc.stderr
    for needle in ("--backend", "spice3", "subprocess", "shared"):
        assert needle in lines[0], (needle, lines[0])
    assert not (tmp_path / "out").exists()


def test_a_missing_option_is_one_line(tmp_path):

    proc = subprocess.run([sys.executable, "-m", "memspice", "characterize", "device", "--model", "vteam"],
                          capture_output=True, text=True, cwd=tmp_path, env={**os.environ}, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "memspice: error: Missing option '--out'."


@pytest.mark.parametrize(("enum_name", "spec_name", "field"), [
    ("Network", "TrainSpec", "network"), ("Dataset", "TrainSpec", "dataset"),
    ("InputMode", "CimSpec", "input_mode"), ("ConvMapping", "CimSpec", "conv_mapping"),
    ("Conversion", "CimSpec", "conversion"), ("LloydPreprocess", "EvalSpec", "lloyd_preprocess"),
    ("Calibration", "EvalSpec", "calibration"),
])
def test_nn_choices_are_the_specs(enum_name, spec_name, field):
    import typing

    from memspice.cli import nn as cli_nn
    from memspice.nn import spec as nn_spec

    hints = typing.get_type_hints(getattr(nn_spec, spec_name))
    assert tuple(e.value for e in getattr(cli_nn, enum_name)) == typing.get_args(hints[field])


def test_a_wrong_network_names_the_option_and_choices(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "memspice", "evaluate", "--network", "vgg16", "--out",
                           str(tmp_path / "o")], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ}, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("memspice: error:") and len(proc.stderr.strip().splitlines()) == 1
    for needle in ("--network", "vgg16", "vgg8", "resnet18"):
        assert needle in proc.stderr
