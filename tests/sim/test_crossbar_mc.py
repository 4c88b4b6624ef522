"""Monte Carlo of a crossbar column: the circuit interface run by the local loop and by the engine."""

import math

import numpy as np
import pytest

from memspice.characterize.crossbar import (
    CrossbarCircuit,
    draw_patterns,
    pattern_reads,
    run_dc,
    run_mc,
)
from memspice.extract.crossbar import variability_sigma_a
from memspice.spec.crossbar import CrossbarSpec, CrossbarStudy, CrossbarStudySpec

pytestmark = pytest.mark.ngspice


def _circuit(**kw):
    return CrossbarCircuit.from_study(CrossbarStudy(crossbar=CrossbarSpec(**kw), study=CrossbarStudySpec(seed=5)))


def _run(c, n, sigma, tmp_path, read=0.0):
    res = run_mc(c, n, 5, program_sigma_s=sigma, read_sigma_s=read, cache_root=tmp_path, workers=1,
                 show_progress=False)
    assert res.n_failed == 0
    return {name: res.measure(name) for name in c.measure_names()}


def test_zero_spread_reproduces_the_nominal_read(tmp_path):
    """Applying the nominal values by alter gives the nominal read (1e-12: same circuit, same solve)."""
    c = _circuit(rows=8, cols=2)
    mc = _run(c, 3, 0.0, tmp_path)
    spec = c.spec
    nominal = run_dc(spec, pattern_reads(spec, draw_patterns(spec, 1, [5, 0]))[:1])
    for j in range(2):
        np.testing.assert_allclose(mc[f"i_out_A_c{j}"], nominal.spice_a[0, j], rtol=1e-12)
        np.testing.assert_allclose(mc[f"ideal_A_c{j}"], nominal.ideal_a[0, j], rtol=1e-12)


def test_spread_matches_the_first_order_estimate_with_ideal_wires(tmp_path):
    """With 1 mohm wires and a TIA of gain 1e4 the output is sum (G+ - G-) v to 1e-4, so its spread
    is sqrt(2 sum v^2) sigma_G. 300 samples estimate a std to 1/sqrt(2 * 299) = 4 %: tolerance 16 %
    (4 standard errors)."""
    c = _circuit(rows=16, wire={"r_row_segment_ohm": 1e-3, "r_col_segment_ohm": 1e-3})
    sigma = 2.8e-6
    mc = _run(c, 300, sigma, tmp_path)
    expected = float(variability_sigma_a(c.v_in_v[None, :], sigma)[0])
    assert np.std(mc["i_out_A"], ddof=1) == pytest.approx(expected, rel=0.16)
    assert np.mean(mc["i_out_A"]) == pytest.approx(mc["ideal_A"][0], abs=4 * expected / math.sqrt(300))
    np.testing.assert_allclose(mc["v_out_V"], mc["i_out_A"] * c.spec.r_f_ohm, rtol=2e-4)  # R_f (1 - 1/a0)


def test_engine_runs_the_crossbar_circuit(tmp_path):
    """The registry builds CrossbarCircuit from a plan (kind "crossbar") and the engine runs a chunk with it."""
    from memspice.characterize.registry import build_circuit
    from memspice.montecarlo.engine import run_chunk
    from memspice.montecarlo.plan import Plan, Variation

    plan = Plan(name="xb", circuit="crossbar", spec={"rows": 4, "seed": 5}, samples=3, seed=9,
                vary=(Variation(group="g", sigma=2.8e-6), Variation(group="dg_read", sigma=2e-7)))
    record = run_chunk(plan, 0, build_circuit(plan))
    assert record["status"] == ["ok"] * 3
    assert set(record["measures"]) == {"i_out_A", "v_out_V", "ideal_A"}
    assert len(set(record["measures"]["i_out_A"])) == 3
