"""1T1R columns: the access transistor adds a series resistance that only lowers the column current."""

import numpy as np
import pytest

from memspice.characterize.crossbar import draw_patterns, pattern_reads, run_dc
from memspice.spec.crossbar import CrossbarSpec

pytestmark = pytest.mark.ngspice


def test_access_transistor_costs_signal_and_a_wider_one_costs_less():
    base = CrossbarSpec(rows=16, cols=1, sense={"kind": "ammeter"}, wire={"r_row_segment_ohm": 0.5})
    reads = pattern_reads(base, draw_patterns(base, 3, [3, 0]))
    one_r = run_dc(base, reads).i_phys_a
    narrow = run_dc(base.replace(cell="1T1R", access=base.access.replace(w_m=0.3e-6)), reads).i_phys_a
    wide = run_dc(base.replace(cell="1T1R", access=base.access.replace(w_m=3e-6)), reads).i_phys_a
    assert np.all(narrow < wide) and np.all(wide < one_r)
    # a 3 um access device at 1 V gate drive is a few hundred ohm against >= 2 kohm cells
    assert np.all(wide > 0.8 * one_r)
    # off word lines cut the column off (leakage only)
    off = run_dc(base.replace(cell="1T1R", access=base.access.replace(v_wl_v=1e-3)), reads[:1]).i_phys_a
    assert np.all(np.abs(off) < 1e-3 * one_r[:1])
