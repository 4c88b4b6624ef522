"""CrossbarCircuit as the Monte Carlo engine sees it (no simulation here)."""

import pickle

import numpy as np
import pytest

from memspice.characterize.crossbar import CrossbarCircuit, mc_variations
from memspice.montecarlo.circuit import ParamGroup
from memspice.netlist.deck import Alter, Analyze, Op
from memspice.raw import Plot
from memspice.resources import circuits_dir
from memspice.spec.crossbar import CrossbarSpec, CrossbarStudy, CrossbarStudySpec

pytestmark = pytest.mark.unit


def _circuit(cols=1, **kw):
    spec = CrossbarSpec(rows=4, cols=cols, **kw)
    return CrossbarCircuit.from_study(CrossbarStudy(crossbar=spec, study=CrossbarStudySpec(seed=3)))


def test_groups_nominal_and_bounds():
    c = _circuit(cols=2)
    assert c.kind == "crossbar"
    groups = c.param_groups()
    g = groups["g"]
    assert isinstance(g, ParamGroup) and g.unit == "S"
    assert g.nominal.shape == (16,) and len(g.labels) == 16 and g.labels[:2] == ("g_r0_c0p", "g_r0_c0n")
    np.testing.assert_array_equal(g.nominal, c.g_nominal.ravel())
    lo, hi = c.spec.device_card.window_s()
    assert (g.lower, g.upper) == (lo, hi)
    assert np.all(groups["dg_read"].nominal == 0)
    assert c.measure_names() == ["i_out_A_c0", "v_out_V_c0", "ideal_A_c0", "i_out_A_c1", "v_out_V_c1", "ideal_A_c1"]
    assert _circuit().measure_names() == ["i_out_A", "v_out_V", "ideal_A"]
    (an,) = c.analyses()
    assert isinstance(an, Analyze) and isinstance(an.analysis, Op)


def test_apply_clips_to_the_window_and_adds_read_noise():
    c = _circuit()
    lo, hi = c.window
    g = c.g_nominal.ravel().copy()
    g[0] = hi * 2
    g[1] = -1.0
    dg = np.zeros_like(g)
    dg[2] = 1e-6
    steps = c.apply({"g": g, "dg_read": dg})
    assert len(steps) == g.size and all(isinstance(s, Alter) for s in steps)
    card = c.spec.device_card
    assert steps[0].device == "v.xc0_0.vx0" and steps[0].value == pytest.approx(float(card.state_for(hi)))
    assert steps[1].value == pytest.approx(float(card.state_for(lo)))
    assert steps[2].value == pytest.approx(float(card.state_for(c.g_nominal.ravel()[2] + 1e-6)))


def test_measure_reads_the_plot():
    c = _circuit()
    plot = Plot(name="op", vectors={"i(vcs0)": np.array([3e-4]), "i(vcs1)": np.array([1e-4]),
                                    "v(o0)": np.array([-0.3]), "v(o1)": np.array([-0.1])})
    m = c.measure([plot])
    assert m["i_out_A"] == pytest.approx(2e-4) and m["v_out_V"] == pytest.approx(0.2)
    assert m["ideal_A"] == pytest.approx(float((c.v_in_v @ c.g_nominal)[0] - (c.v_in_v @ c.g_nominal)[1]))


@pytest.mark.parametrize("cols, sense", [(1, "tia"), (2, "tia"), (2, "ammeter")])
def test_measure_points_equals_measuring_each_point(cols, sense):
    """The batched chunk's measurements come from the whole sweep at once; every value equals what
    measure() gives that point's one-point plot, exactly (the same subtractions elementwise)."""
    c = _circuit(cols=cols, sense={"kind": sense})
    rng = np.random.default_rng(4)
    vecs = {f"i(vcs{k})": rng.normal(0, 1e-4, 5) for k in range(2 * cols)}
    if sense == "tia":
        vecs.update({f"v(o{k})": rng.normal(0, 0.1, 5) for k in range(2 * cols)})
    plot = Plot("dc1", "dc", "v-sweep", {"v-sweep": np.arange(5.0), **vecs})
    points = c.measure_points(plot)
    assert len(points) == 5
    for s, got in enumerate(points):
        one = Plot("dc1", "dc", "v-sweep", {k: v[s:s + 1] for k, v in plot.vectors.items()})
        want = c.measure([one])
        assert list(got) == list(want)
        assert all(got[k] == want[k] or (np.isnan(got[k]) and np.isnan(want[k])) for k in want)


def test_sampling_is_seeded_and_separate_from_execution():
    """The engine draws the crossbar's samples from the plan alone: same seed, same values; the
    programming error is clipped to the card window, the read offset is not."""
    from memspice.montecarlo.plan import Plan, Variation
    from memspice.montecarlo.sampling import draw_chunk

    c = _circuit()

    def draw(seed, read=2e-7):
        vary = tuple(Variation.from_dict(v) for v in mc_variations(2.8e-6, read))
        plan = Plan(name="x", circuit="crossbar", spec={}, samples=5, seed=seed, vary=vary)
        return draw_chunk(plan, c.param_groups(), 0)

    a, b = draw(3), draw(3)
    assert a.keys() == {"g", "dg_read"} and a["g"].shape == (5, 8)
    np.testing.assert_array_equal(a["g"], b["g"])
    lo, hi = c.window
    assert a["g"].min() >= lo and a["g"].max() <= hi
    assert not np.array_equal(a["g"], draw(4, read=0.0)["g"])


def test_from_spec_and_pickle(tmp_path):
    by_file = CrossbarCircuit.from_spec({"file": str(circuits_dir() / "crossbar_128.toml"),
                                         "overrides": {"rows": 8}}, ".")
    assert by_file.spec.rows == 8
    by_table = CrossbarCircuit.from_spec({"rows": 8, "seed": 1}, ".")
    np.testing.assert_array_equal(by_table.g_nominal, by_file.g_nominal)  # the file's seed is 1 too
    clone = pickle.loads(pickle.dumps(by_file))
    assert clone.spec_hash() == by_file.spec_hash()
    assert clone.deck().render() == by_file.deck().render()
