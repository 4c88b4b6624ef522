"""Every command's --help renders its texts as written (no rich markup eating "[adc]")."""

import re

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
