"""The frozen-read memristor subcircuits (models/memristor_read.lib) compute what the full models
compute with frozen=1, and the state alter path is the same for both.

Tolerance 1e-9 relative: both evaluate the same I-V expression at the same state (the full
model holds its state node through a 1e12 ohm resistor that carries no current at the operating
point, the variant directly by the source); measured agreement ~3e-15. 1e-9 still exposes any
difference in the equations (a parameter or branch mistake is a percent-level change).
"""

import numpy as np
import pytest

from memspice.characterize.crossbar import draw_patterns, pattern_reads, run_dc
from memspice.spec.crossbar import CrossbarSpec

pytestmark = pytest.mark.ngspice


@pytest.mark.parametrize("card", ["vteam_paper", "yakopcic_paper"])
@pytest.mark.parametrize("cell", ["1R", "1T1R"])
def test_read_variant_equals_frozen_full_model(card, cell):
    base = CrossbarSpec(rows=6, cols=1, card=card, cell=cell, wire={"r_row_segment_ohm": 3.0})
    reads = pattern_reads(base, draw_patterns(base, 3, [2, 0]))  # 3 patterns: two applied by alter
    read = run_dc(base, reads)
    full = run_dc(base.replace(read_model="full"), reads)
    np.testing.assert_allclose(read.i_phys_a, full.i_phys_a, rtol=1e-9, atol=0)
    np.testing.assert_allclose(read.v_out_v, full.v_out_v, rtol=1e-9, atol=1e-12)
