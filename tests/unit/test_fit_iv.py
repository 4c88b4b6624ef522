"""The I-V fit recovers known parameters from sweeps its own simulator made (synthetic data)."""


import numpy as np
import pytest

from memspice.errors import DataError
from memspice.fit.iv import Sweep, fit_card, load_iv_data, simulate_sweeps
from memspice.papers.hong2025 import paper_data_dir
from memspice.spec.device import load_card

pytestmark = pytest.mark.unit


def _sweeps(card, point_time):
    up = np.concatenate([np.linspace(0, 1.0, 41), np.linspace(1.0, 0.025, 40)])
    down = -up
    proto = [Sweep("set_100uA", up, np.sign(up) * 30e-6 * np.abs(up), 100e-6),
             Sweep("set_300uA", up, np.sign(up) * 30e-6 * np.abs(up), 300e-6),
             Sweep("reset", down, np.sign(down) * 300e-6 * np.abs(down), None)]
    # initial states come from the first low-field points: give them the right conductances
    sims = simulate_sweeps(card, proto, point_time)
    return [Sweep(p.name, p.v_V, s, p.compliance_A) for p, s in zip(proto, sims, strict=True)]


def test_fit_recovers_vteam_rates_and_thresholds():
    truth = load_card("vteam_paper")
    data = _sweeps(truth, 1e-3)
    start = truth.with_params(k_on_m_per_s=truth.params["k_on_m_per_s"] * 2.0,
                              v_off_v=truth.params["v_off_v"] * 1.1)
    result = fit_card(start, data, names=("k_on_m_per_s", "v_off_v"), point_time_s=1e-3, max_evaluations=80)
    assert result.rms_relative < 1e-3
    assert result.card.params["k_on_m_per_s"] == pytest.approx(truth.params["k_on_m_per_s"], rel=0.02)
    assert result.card.params["v_off_v"] == pytest.approx(truth.params["v_off_v"], rel=0.01)


def test_compliance_limits_the_current():
    card = load_card("vteam_paper")
    data = _sweeps(card, 1e-3)
    assert np.max(np.abs(data[0].i_A)) <= 100e-6 * (1 + 1e-9)
    assert np.max(np.abs(data[1].i_A)) <= 300e-6 * (1 + 1e-9)


def test_paper_layout_is_read(tmp_path):
    sweeps = load_iv_data(paper_data_dir("hong2025") / "fig3b.csv")
    assert len(sweeps) == 16
    set50 = next(s for s in sweeps if s.name == "set_50uA")
    assert set50.compliance_A == pytest.approx(50e-6)
    assert np.max(np.abs(set50.i_A)) == pytest.approx(50.0075e-6, rel=1e-4)  # uA converted to A
    reset = next(s for s in sweeps if s.name == "reset_50uA")
    assert reset.compliance_A is None and np.all(reset.i_A <= 0)


def test_bad_data_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_iv_data(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="expected columns"):
        load_iv_data(bad)
