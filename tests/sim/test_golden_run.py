"""Every golden netlist in netlists/ runs with plain `ngspice -b` without an error in its log.

The decks include their model libraries as ../models/<file> (memristor models are inlined), so each
runs from a copy in <tmp>/netlists next to a link <tmp>/models, as inside a clone. The log is scanned
as memspice scans every run (deck errors, missing models, ngspice's 1 mOhm substitution, convergence
failures); every analysis must have written finite vectors to the raw file.
"""

import os
import shutil
import subprocess

import numpy as np
import pytest

from memspice.ngspice.locate import find_ngspice
from memspice.ngspice.log import clean_lines, scan
from memspice.raw import read_raw
from memspice.resources import models_dir, project_root

pytestmark = pytest.mark.ngspice

NETLISTS = project_root() / "netlists"


@pytest.mark.parametrize("name", sorted(p.name for p in NETLISTS.glob("*.cir")))
def test_golden_netlist_runs_in_ngspice(tmp_path, name):
    (tmp_path / "netlists").mkdir()
    shutil.copy(NETLISTS / name, tmp_path / "netlists" / name)
    (tmp_path / "models").symlink_to(models_dir())
    text = (NETLISTS / name).read_text()
    proc = subprocess.run([str(find_ngspice()), "-b", name], cwd=tmp_path / "netlists", capture_output=True,
                          text=True, timeout=300, env={**os.environ, "HOME": str(tmp_path)})
    lines = clean_lines(proc.stdout + "\n" + proc.stderr)
    verdict = scan(lines)
    assert verdict.error is None, (verdict.reason, verdict.lines)
    raw = tmp_path / "netlists" / "out.raw"
    assert raw.is_file(), lines[-10:]
    plots = read_raw(raw)
    analyses = sum(1 for line in text.splitlines() if line.split()[:1] and line.split()[0] in ("op", "dc", "tran"))
    assert analyses >= 1 and len(plots) == analyses
    for plot in plots:
        assert plot.vectors and all(np.all(np.isfinite(v)) for v in plot.vectors.values())
