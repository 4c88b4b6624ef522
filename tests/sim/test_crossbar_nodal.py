"""SPICE crossbar columns against the independent numpy nodal solve (memspice.reference.nodal).

Tolerance 1e-6 relative on every column current and TIA output. Both sides solve the same
network: for linear cells ngspice's operating point is one LU solve in double precision (its
Newton loop stops on the second, unchanged iterate), the reference is a sparse LU solve, so they
agree to ~1e-13 (measured); for the Yakopcic cells (sinh I-V) both run Newton to convergence
(the reference to 1e-13 V steps; ngspice's last step is below reltol 1e-3 of a step that was
already converging quadratically), measured ~1e-14. 1e-6 leaves orders of margin for the
conditioning of 1024-row networks and still catches any topology or sign error, which shows up
at the 1e-3 level or above (one wire segment of 1 ohm in a ~1e4 ohm path).
"""

import numpy as np
import pytest

from memspice.characterize.crossbar import draw_patterns, pattern_reads, run_dc
from memspice.reference import memristor as ref
from memspice.reference.nodal import solve_tile
from memspice.spec.crossbar import CrossbarSpec

pytestmark = pytest.mark.ngspice
RTOL = 1e-6


def _check(spec: CrossbarSpec, n_patterns: int = 3, seed: int = 11):
    reads = pattern_reads(spec, draw_patterns(spec, n_patterns, [seed, 0]))
    dc = run_dc(spec, reads)
    card = spec.device_card
    kw = {}
    if spec.sense.kind == "tia":
        kw = {"a0": spec.sense.a0, "r_f_ohm": spec.r_f_ohm, "r_out_ohm": spec.sense.r_out_ohm}
    for n, (g, v) in enumerate(reads):
        cell_current = None
        if spec.device == "memristor" and card.model == "yakopcic":
            x = card.state_for(g)
            cell_current = lambda vc, x=x: ref.current(card.model, card.params, vc, x)  # noqa: E731
        sol = solve_tile(g, v, r_row_ohm=spec.wire.r_row_segment_ohm, r_col_ohm=spec.wire.r_col_segment_ohm,
                         r_driver_ohm=spec.drive.r_driver_ohm, sense=spec.sense.kind,
                         cell_current=cell_current, **kw)
        np.testing.assert_allclose(dc.i_phys_a[n], sol.i_col_a, rtol=RTOL, atol=0)
        np.testing.assert_allclose(dc.spice_a[n], sol.i_col_a[0::2] - sol.i_col_a[1::2], rtol=RTOL,
                                   atol=RTOL * np.abs(sol.i_col_a).max())
        if spec.sense.kind == "tia":
            v_log = -(sol.v_out_v[0::2] - sol.v_out_v[1::2])
            np.testing.assert_allclose(dc.v_out_v[n], v_log, rtol=RTOL, atol=RTOL * np.abs(sol.v_out_v).max())
    return dc


@pytest.mark.parametrize(
    "spec",
    [
        CrossbarSpec(rows=48, cols=2, device="resistor", sense={"kind": "ammeter"},
                     wire={"r_row_segment_ohm": 2.5, "r_col_segment_ohm": 1.5}),
        CrossbarSpec(rows=48, cols=2, device="resistor", drive={"r_driver_ohm": 100.0},
                     wire={"r_row_segment_ohm": 2.5, "r_col_segment_ohm": 1.5}),
        CrossbarSpec(rows=1, cols=1, device="resistor", wire={"r_row_segment_ohm": 5.0}),
        CrossbarSpec(rows=1024, cols=1, device="resistor", wire={"r_row_segment_ohm": 0.5, "r_col_segment_ohm": 0.5}),
    ],
    ids=["resistors-ammeter", "resistors-tia-driver", "one-row", "1024-rows"],
)
def test_linear_resistor_tile_matches_nodal_solve(spec):
    dc = _check(spec, n_patterns=2 if spec.rows > 100 else 3)
    assert np.all(np.abs(dc.spice_a) <= np.abs(dc.ideal_a) + 1e-12)  # wires only lose signal here


@pytest.mark.parametrize("card", ["vteam_paper", "yakopcic_paper"])
def test_memristor_tile_matches_nodal_solve(card):
    """The memristor read subcircuits: VTEAM is ohmic once frozen; Yakopcic's sinh I-V is solved by
    Newton in the reference with the model's own equations (memspice.reference.memristor)."""
    _check(CrossbarSpec(rows=32, cols=2, card=card, wire={"r_row_segment_ohm": 2.0, "r_col_segment_ohm": 2.0}))


def test_ir_drop_grows_with_rows_and_wire_resistance():
    errs = {}
    for rows in (8, 32):
        for r in (0.5, 2.0):
            spec = CrossbarSpec(rows=rows, device="resistor", sense={"kind": "ammeter"},
                                wire={"r_row_segment_ohm": r, "r_col_segment_ohm": r})
            dc = run_dc(spec, pattern_reads(spec, draw_patterns(spec, 4, [1, 1, rows])))
            errs[rows, r] = np.sqrt(np.mean(((dc.spice_a - dc.ideal_a) / spec.i_full_scale_a) ** 2))
    assert errs[8, 0.5] < errs[8, 2.0] < errs[32, 2.0]
    assert errs[8, 0.5] < errs[32, 0.5] < errs[32, 2.0]
