"""Global -v/-q: progress messages go through logging to stderr; -q leaves results, warnings and errors."""

import pytest

from tests.cli.conftest import assert_clean_error


@pytest.mark.ngspice
def test_quiet_silences_progress_but_not_results(cli):
    args = ["characterize", "adc", "--bits", "2", "--no-energy", "--no-figures"]
    loud = cli(*args, "--out", "loud")
    assert loud.returncode == 0, loud.stderr
    assert "programming map" in loud.stderr  # the flow's progress messages, through the memspice logger
    quiet = cli("-q", *args, "--out", "quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert quiet.stdout.splitlines()[0] == loud.stdout.splitlines()[0]  # the same result is still printed
    assert quiet.stdout.splitlines()[0].startswith("2-bit Q-cell ADC")


@pytest.mark.unit
def test_verbose_and_quiet_together_is_an_input_error(cli):
    proc = cli("-v", "-q", "characterize", "device", "--model", "vteam", "--out", "o")
    assert_clean_error(proc, 2, "--verbose/--quiet")
