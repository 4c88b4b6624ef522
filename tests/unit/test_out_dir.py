"""Output folders belong to one run; files get the user's umask; failed commands leave no empty folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from memspice.cli import common
from memspice.errors import InputError
from memspice.io import write_json

pytestmark = pytest.mark.unit


def test_same_run_is_accepted_other_run_refused_overwrite_empties(tmp_path):
    out = tmp_path / "o"
    common.prepare_out_dir(out, "mc", "aaa")
    (out / "devices.csv").write_text("stale")
    assert common.prepare_out_dir(out, "mc", "aaa") == out  # the same run again: a resume
    assert (out / "devices.csv").exists()
    with pytest.raises(InputError, match=r"--out .*holds a run of `memspice mc` with other inputs.*--overwrite"):
        common.prepare_out_dir(out, "mc", "bbb")
    with pytest.raises(InputError, match="other inputs"):
        common.prepare_out_dir(out, "characterize device", "aaa")
    common.prepare_out_dir(out, "mc", "bbb", overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [common.MARKER]  # the stale table is gone


def test_foreign_files_are_never_removed(tmp_path):
    (tmp_path / "thesis.tex").write_text("years of work")
    for overwrite in (False, True):
        with pytest.raises(InputError, match="files memspice did not write"):
            common.prepare_out_dir(tmp_path, "mc", "x", overwrite=overwrite)
    assert (tmp_path / "thesis.tex").read_text() == "years of work"


def test_unwritable_out_fails_before_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot write there"):
        common.prepare_out_dir(blocker / "sub", "mc", "x")
    if os.geteuid() != 0:  # root writes anywhere: the mode check only means something for a user
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(InputError, match="permission denied"):
            common.prepare_out_dir(ro / "sub", "mc", "x")


def test_failed_command_removes_only_what_it_left_empty(tmp_path):
    created = common.prepare_out_dir(tmp_path / "new" , "mc", "x")
    kept = tmp_path / "kept"
    kept.mkdir()
    common.prepare_out_dir(kept, "mc", "y")
    used = common.prepare_out_dir(tmp_path / "used", "mc", "z")
    (used / "results.csv").write_text("partial but real")
    common.remove_unused_out_dirs()
    assert not created.exists()
    assert kept.is_dir() and not any(kept.iterdir())  # existed before: emptied of the marker, not removed
    assert (used / "results.csv").exists() and (used / common.MARKER).exists()


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_are_written_with_the_users_umask(tmp_path, monkeypatch, umask, mode):
    from memspice import io

    old = os.umask(umask)
    try:
        monkeypatch.setattr(io, "_UMASK", None)
        path = write_json(tmp_path / "s.json", {"a": 1})
        reference = tmp_path / "plain"
        reference.write_text("x")  # what open() gives under this umask: the independent reference
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode == stat.S_IMODE(reference.stat().st_mode)


def test_adc_convergence_report():
    """cli.adc.convergence: |measured - target| / LSB against program_tol_lsb, NaN never converged."""
    from memspice.cli.adc import convergence

    spec = SimpleNamespace(lsb_v=0.01, program_tol_lsb=0.1)
    tr = SimpleNamespace(targets_v=np.array([0.1, 0.2, 0.3]), measured_v=np.array([0.1005, 0.2015, np.nan]))
    rep = convergence(SimpleNamespace(spec=spec, transfer=tr))
    assert rep["write_verify_converged"] is False
    assert rep["boundaries_not_converged"] == [1, 2]
    assert rep["boundary_error_lsb"][0] == pytest.approx(0.05) and rep["boundary_error_lsb"][2] is None
    ok = convergence(SimpleNamespace(spec=spec, transfer=SimpleNamespace(targets_v=tr.targets_v,
                                                                         measured_v=tr.targets_v + 0.0009)))
    assert ok["write_verify_converged"] is True and ok["boundaries_not_converged"] == []


def test_spec_numbers_must_be_finite_and_counts_limited():
    from memspice.errors import SpecError
    from memspice.montecarlo.plan import Plan, Variation

    with pytest.raises(SpecError, match=r"sigma: got inf; expected a finite number"):
        Variation(group="g", sigma=float("inf"))
    with pytest.raises(SpecError, match=r"samples: got 1000000000; expected an integer from 1 to 100,000"):
        Plan(name="p", circuit="netlist", spec={}, samples=10**9)
    with pytest.raises(SpecError, match=r"spec.x\[1\]: got -inf; expected a finite number"):
        Plan(name="p", circuit="netlist", spec={"x": [1.0, float("-inf")]}, samples=1)
    assert Path(Plan(name="p", circuit="netlist", spec={}, samples=100_000).name) == Path("p")
