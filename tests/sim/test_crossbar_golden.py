"""The golden netlist runs with plain `ngspice -b` and computes the nodal reference's currents.

(tests/unit/test_crossbar_netlist.py checks its text against a fresh rendering.) The deck is the
128-row VTEAM column of circuits/crossbar_128.toml at pattern 0; a frozen VTEAM cell is ohmic, so
the reference is the linear nodal solve with the pattern's conductances: tolerance 1e-6 as in
test_crossbar_nodal.py (measured ~1e-14).
"""

import shutil
import subprocess

import numpy as np
import pytest

from memspice.characterize.crossbar import STREAM_TRANSFER, draw_patterns
from memspice.ngspice.locate import find_ngspice
from memspice.raw import read_raw
from memspice.reference.nodal import solve_tile
from memspice.resources import circuits_dir, models_dir, project_root
from memspice.spec.crossbar import load_study

pytestmark = pytest.mark.ngspice


def test_golden_netlist_runs_and_matches_the_nodal_solve(tmp_path):
    golden = project_root() / "netlists" / "crossbar_128.cir"
    # the deck includes ../models/...: run it from a copy whose parent holds the models
    (tmp_path / "netlists").mkdir()
    shutil.copy(golden, tmp_path / "netlists" / golden.name)
    (tmp_path / "models").symlink_to(models_dir())
    proc = subprocess.run([str(find_ngspice()), "-b", golden.name], cwd=tmp_path / "netlists",
                          capture_output=True, text=True, timeout=120)
    assert "error" not in (proc.stdout + proc.stderr).lower(), proc.stderr
    (plot,) = read_raw(tmp_path / "netlists" / "out.raw")
    study = load_study(circuits_dir() / "crossbar_128.toml")
    spec = study.crossbar
    p = draw_patterns(spec, 1, [study.study.seed, STREAM_TRANSFER])[0]
    sol = solve_tile(spec.conductances(p.weights), spec.voltages(p.x[:, 0]), r_row_ohm=spec.wire.r_row_segment_ohm,
                     r_col_ohm=spec.wire.r_col_segment_ohm, sense="tia", a0=spec.sense.a0, r_f_ohm=spec.r_f_ohm,
                     r_out_ohm=spec.sense.r_out_ohm)
    got_i = np.array([plot["i(vcs0)"][0], plot["i(vcs1)"][0]])
    got_v = np.array([plot["v(o0)"][0], plot["v(o1)"][0]])
    np.testing.assert_allclose(got_i, sol.i_col_a, rtol=1e-6)
    np.testing.assert_allclose(got_v, sol.v_out_v, rtol=1e-6)
