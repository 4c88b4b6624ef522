"""The network's deterministic column model (memspice.nn.column.NodalColumn) against ngspice.

The SPICE tile (memspice.netlist.crossbar, one logical column: a G+/G- pair) on the array card
``vteam_array`` (frozen-state read, linear I-V) with wire resistance, read on seeded random patterns:
the sensed differential current against ``sum_i T_i V_i`` with the model's transfer coefficients.
Ammeter sense: tolerance 1e-6 relative to the largest current (both are direct solves of the same
linear network; ngspice's operating point agrees with the sparse reference to ~1e-13, see
test_crossbar_nodal.py). TIA sense: the op-amp's finite gain (a0 = 1e4) lifts the virtual ground by
~v_out / a0, which the model leaves out (stated in its docstring); tolerance 1e-3 of full scale.
"""

import numpy as np
import pytest

from memspice.characterize.crossbar import draw_patterns, pattern_reads, run_dc
from memspice.nn.column import NodalColumn
from memspice.spec.crossbar import CrossbarSpec

pytestmark = pytest.mark.ngspice


def _model_currents(spec: CrossbarSpec, reads):
    g_min, g_max = spec.g_range_s
    col = NodalColumn(spec.rows, g_min, g_max, spec.wire.r_row_segment_ohm, spec.wire.r_col_segment_ohm,
                      spec.drive.r_driver_ohm)
    out = []
    for g, v in reads:
        w = (g[:, 0] - g[:, 1]) / (g_max - g_min) * spec.w_max  # the weights the pair encodes
        out.append(col.coefficients_s(w, spec.w_max) @ v)
    return np.array(out)


@pytest.mark.parametrize("sense,rtol", [("ammeter", 1e-6), ("tia", 1e-3)])
def test_nodal_column_matches_ngspice(sense, rtol):
    spec = CrossbarSpec(rows=48, cols=1, card="vteam_array", sense={"kind": sense}, drive={"r_driver_ohm": 20.0},
                        wire={"r_row_segment_ohm": 5.0, "r_col_segment_ohm": 2.5})
    reads = pattern_reads(spec, draw_patterns(spec, 6, [5, 0]))
    dc = run_dc(spec, reads)
    model = _model_currents(spec, reads)[:, None]
    atol = rtol * (np.abs(dc.spice_a).max() if sense == "ammeter" else spec.i_full_scale_a)
    np.testing.assert_allclose(dc.spice_a, model, rtol=0, atol=atol)
    # the IR drop the model carries is far above the tolerance (the check can fail)
    assert np.abs(dc.spice_a - dc.ideal_a).max() > 20 * atol
