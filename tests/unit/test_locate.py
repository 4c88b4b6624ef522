"""Every ngspice lookup goes through memspice.ngspice.locate: the provenance version line too."""

import pytest

from memspice.ngspice.locate import ngspice_version

pytestmark = pytest.mark.unit


def _fake_ngspice(tmp_path, line: str):
    exe = tmp_path / "fake-ngspice"
    exe.write_text(f"#!/bin/sh\necho '******'\necho '** {line}'\necho '******'\n")
    exe.chmod(0o755)
    return exe


def test_version_comes_from_the_located_executable(tmp_path, monkeypatch):
    # a parsing test: the fake prints what ngspice --version prints, with another number
    exe = _fake_ngspice(tmp_path, "ngspice-99 : Circuit level simulation program")
    monkeypatch.setenv("MEMSPICE_NGSPICE", str(exe))
    assert ngspice_version() == "ngspice-99 : Circuit level simulation program"
    monkeypatch.delenv("MEMSPICE_NGSPICE")
    assert ngspice_version(exe).startswith("ngspice-99")


def test_missing_ngspice_is_not_found_not_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv("MEMSPICE_NGSPICE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing to find
    assert ngspice_version() == "not found"
