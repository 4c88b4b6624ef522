"""Comparison arithmetic of ``memspice reproduce`` on inputs with known answers; the paper's data loaders."""

import math
from pathlib import Path

import numpy as np
import pytest

from memspice.papers import hong2025 as paper
from memspice.report.tables import Table
from memspice.reproduce.compare import Delta, relative_rms, rms_of_max_abs, shares, spread, swing, window_edges
from memspice.reproduce.outcome import Outcome

pytestmark = pytest.mark.unit


def test_delta_and_ratio():
    d = Delta("energy", "J", 12.58e-15, 25.16e-15, "switching only")
    assert d.delta == pytest.approx(12.58e-15)
    assert d.ratio == pytest.approx(2.0)
    assert d.row() == ["energy", "J", 12.58e-15, 25.16e-15, d.delta, d.ratio, "switching only"]
    assert math.isnan(Delta("x", "", 0.0, 1.0).ratio)


def test_window_edges_interpolates_the_half_swing_crossings():
    v = np.linspace(0.0, 1.0, 11)  # 0.1 V steps
    out = np.where((v > 0.25) & (v < 0.75), 0.0, 1.0)
    # the output falls between 0.2 (1) and 0.3 (0): half swing at 0.25; rises between 0.7 and 0.8: 0.75
    assert window_edges(v, out) == pytest.approx((0.25, 0.75))
    ramp = np.array([1.0, 1.0, 0.6, 0.0, 0.0, 0.2, 1.0])
    x = np.arange(7.0)
    # level 0.5: falling between x=2 (0.6) and 3 (0.0) at 2 + 0.1/0.6; rising between 5 (0.2) and 6 (1.0) at 5.375
    lo, hi = window_edges(x, ramp)
    assert lo == pytest.approx(2 + 0.1 / 0.6) and hi == pytest.approx(5.375)


def test_window_edges_refuses_anything_but_one_window():
    v = np.linspace(0, 1, 11)
    with pytest.raises(ValueError, match="one low window"):
        window_edges(v, np.ones(11) * np.r_[1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1])
    with pytest.raises(ValueError):
        window_edges(v, np.r_[0.0, np.ones(10)])  # low at the start: the window is not inside the sweep


def test_rms_of_max_abs_spread_swing_relative_rms_shares():
    assert rms_of_max_abs([[0.1, -0.3], [0.4, 0.0]]) == pytest.approx(math.sqrt((0.09 + 0.16) / 2))
    assert spread([1.0, 3.0]) == pytest.approx(math.sqrt(2.0))
    assert swing(np.array([0.3, -0.2, 0.9])) == (-0.2, 0.9)
    # |sim| 2, |meas| 1, floor 1: (2 - 1) / (1 + 1) = 0.5 at every point
    assert relative_rms(np.array([2.0, -2.0]), np.array([1.0, -1.0]), 1.0) == pytest.approx(0.5)
    assert shares({"a": 1.0, "b": 3.0}) == {"a": 0.25, "b": 0.75}
    with pytest.raises(ValueError):
        spread([1.0])
    with pytest.raises(ValueError):
        rms_of_max_abs([])


def test_outcome_round_trip_and_delta_table(tmp_path):
    o = Outcome("4", "linearity", [Delta("INL", "LSB", 0.159, 0.2, "closed loop")], ["because."],
                [("a.png", "cap")], [Table("t", "c", ["x_V"], [[1.0]])], ["not run: x"])
    o.write(tmp_path)
    back = Outcome.read(tmp_path)
    assert back.to_json() == o.to_json()
    t = back.delta_table()
    assert t.name == "fig4_delta" and t.rows[0][4] == pytest.approx(0.2 - 0.159) and t.notes == "because."


def test_paper_source_data_loads_with_the_published_values():
    assert paper.fig6().energy_J == pytest.approx(12.5829e-15)
    assert paper.fig6().area_m2 == pytest.approx(24.2944e-12)
    assert sum(paper.fig6().energy_split_J.values()) == pytest.approx(12.58e-15, rel=1e-3)
    base, table = paper.fig5c()
    assert base == 90.24 and table["Uniform"][4] == 52.33 and table["Adaptive"][3] == 68.11
    assert set(paper.fig3c()) == {100e-6, 150e-6, 200e-6, 250e-6, 300e-6, 350e-6, 400e-6}
    assert all(len(v) == 64 for v in paper.fig3c().values())
    # the published sigma sheet is the sample std of the published values
    for t, values in paper.fig3c().items():
        assert paper.fig3c_sigma()[t] == pytest.approx(np.std(values, ddof=1), rel=1e-6)
    inl, dnl = paper.fig4ab()
    assert inl.shape == (10, 16) and dnl.shape == (10, 16)
    inl_c, _ = paper.fig4cd()
    assert inl_c.rms_lsb[4][list(inl_c.variation_pct).index(1.0)] == pytest.approx(0.159, abs=5e-4)
    assert len(paper.fig3d()[100e-6]) == 1000
    assert paper.fig2b().input_v[0] == 0.75


def test_fig4_reads_the_paper_curve_at_our_variation_and_fig6_maps_every_paper_row():
    from memspice.characterize.adc.energy import SWITCHING_GROUPS
    from memspice.reproduce.adc import PAPER_SPLIT, _paper_at

    inl, _ = paper.fig4cd()
    # 1 % is a tabulated point (0.159 LSB at 4 bits); 1.1 % lies between the 1.0 and 1.25 % points
    assert _paper_at(inl, 4, 1.0) == pytest.approx(inl.rms_lsb[4][4])
    lo, hi = inl.rms_lsb[4][4], inl.rms_lsb[4][5]
    assert _paper_at(inl, 4, 1.1) == pytest.approx(lo + 0.4 * (hi - lo))
    assert set(PAPER_SPLIT) == set(paper.fig6().energy_split_J)
    assert set(PAPER_SPLIT.values()) == set(SWITCHING_GROUPS.values())


def test_fig4_full_run_covers_the_papers_two_to_six_bits():
    from memspice.reproduce.adc import fig4_plan

    inl, dnl = paper.fig4cd()
    full = fig4_plan(False)
    assert sorted(full) == sorted(inl.rms_lsb) == sorted(dnl.rms_lsb) == [2, 3, 4, 5, 6]
    assert all(n >= 4 for n in full.values()) and full[2] == full[3] == full[4] == 16
    quick = fig4_plan(True)
    assert set(quick) < set(full) and all(quick[b] <= full[b] for b in quick)


def test_fig4_points_split_into_at_least_four_chunks_of_at_most_four_chips():
    from memspice.reproduce.adc import fig4_chunk, fig4_plan

    for n in (*fig4_plan(False).values(), *fig4_plan(True).values(), 10):
        k = fig4_chunk(n)
        assert 1 <= k <= 4 and -(-n // k) >= min(4, n)
    assert [fig4_chunk(n) for n in (4, 8, 10, 16)] == [1, 2, 2, 4]


def test_best_design_is_the_lowest_switching_energy_among_ok_rows():
    from memspice.reproduce.compare import best_design

    rows = [{"point": "0", "status": "ok", "energy_switching_J": "5.0e-14"},
            {"point": "1", "status": "codes wrong", "energy_switching_J": "1.0e-15"},  # not ok: never chosen
            {"point": "2", "status": "ok", "energy_switching_J": "3.0e-14"},
            {"point": "3", "status": "ok", "energy_switching_J": ""},  # not measured
            {"point": "4", "status": "ok", "energy_switching_J": "nan"},
            {"point": "5", "status": "ok", "energy_switching_J": "3.0e-14"}]  # a tie: the first wins
    assert best_design(rows)["point"] == "2"
    assert best_design(rows, "missing") is None
    assert best_design([r for r in rows if r["point"] in ("1", "3")]) is None


def test_explorer_front_is_read_from_its_folder_and_keys_the_stage(tmp_path, monkeypatch):
    from memspice.io import write_csv, write_json
    from memspice.reproduce.adc import _explorer_best, explorer_fingerprint, explorer_front

    monkeypatch.chdir(tmp_path)
    assert explorer_front(None) is None and explorer_fingerprint(None) is None  # no runs/explore here
    folder = tmp_path / "runs" / "explore"
    write_csv(folder / "pareto.csv", {"point": [0, 3], "cell.input": ["0.15/0.1", "0.6/0.4"],
                                      "status": ["ok", "ok"], "energy_switching_J": [5.76e-14, 4.0e-14],
                                      "energy_total_J": [6.8e-12, 1.8e-12], "area_normalised_um2": [29.8, 44.8]})
    write_json(folder / "explore.json", {"variables": ["cell.input"]})
    assert explorer_front(None) == Path("runs/explore/pareto.csv")  # the explorer's documented output
    best, where, variables = _explorer_best(None)
    assert where == "runs/explore/pareto.csv"
    assert best["point"] == "3" and float(best["area_normalised_um2"]) == 44.8 and variables == ["cell.input"]
    key = explorer_fingerprint(folder)
    assert key == explorer_fingerprint(None)
    write_csv(folder / "pareto.csv", {"point": [0], "status": ["ok"], "energy_switching_J": [5.76e-14],
                                      "energy_total_J": [6.8e-12], "area_normalised_um2": [29.8]})
    assert explorer_fingerprint(folder) != key  # a new front reruns Fig. 6


def test_explorer_best_row_becomes_deltas_against_the_papers_converter():
    from memspice.reproduce.adc import explorer_design

    cost = paper.fig6()
    row = {"point": "3", "energy_switching_J": "2.5e-14", "energy_total_J": "1.8e-12",
           "area_normalised_um2": "48.58", "delay_s": ""}
    label, adc, deltas = explorer_design(row, cost, 5, 1.5e-9)
    assert label == "explorer best (point 3)"
    assert (adc.energy_J, adc.area_um2, adc.delay_s, adc.bits) == (2.5e-14, 48.58, 1.5e-9, 5)
    sw, total, area = deltas
    assert sw.paper == cost.energy_J == pytest.approx(12.58e-15)
    assert sw.ratio == pytest.approx(2.5e-14 / cost.energy_J) and total.memspice == 1.8e-12
    assert area.paper == cost.area_m2 and area.ratio == pytest.approx(48.58 / 24.29, rel=1e-3)
    assert "different bases" in total.basis and "switching" in sw.basis


def test_fig4_nonconvergence_reasons_are_counted_from_the_chips_rows():
    from memspice.reproduce.adc import _reasons_text

    rows = [{"reason": "window never opened"}, {"reason": "iteration cap"}, {"reason": "window never opened"}]
    assert _reasons_text(rows) == "2 window never opened, 1 iteration cap"
    assert _reasons_text([]) == "reasons not recorded"


def test_in_background_hands_over_results_and_errors_in_key_order():
    """Fig. 4's nominal programming of the widest converters runs ahead in one thread: each key's result,
    or its exception, reaches the caller of get(); keys run in the given order; no keys, no thread."""
    import threading

    from memspice.reproduce.adc import InBackground

    order = []
    gate = threading.Event()

    def fn(k):
        if k == 5:
            gate.wait(5)
        order.append(k)
        if k == 7:
            raise ValueError("seven")
        return k * k

    ahead = InBackground(fn, [5, 6, 7])
    assert 5 in ahead and 4 not in ahead
    gate.set()
    assert ahead.get(6) == 36 and ahead.get(5) == 25
    with pytest.raises(ValueError, match="seven"):
        ahead.get(7)
    assert order == [5, 6, 7]
    before = threading.active_count()
    assert 1 not in InBackground(fn, [])
    assert threading.active_count() == before


def test_fig4_worst_point_sentence_states_the_measured_cause():
    """Non-converged chips: the count and the controller's reasons; all converged with a programming
    error: that error through the map's slope, in mV (2.8 uS x 2.2 mV/uS = 6.2 mV) beside the band; all
    converged at 0 %: no programming error to print (it used to say 'moves a bound by 0.0 mV')."""
    from memspice.reproduce.adc import worst_point_cause

    row = [4, 1.0, 2.8e-6, "closed", 16, 0.14, 0.2, 0, 0.159, 0.21]
    text = worst_point_cause(row, [], 2.2e3)
    assert "moves a bound by 6.2 mV against the +-5 mV (+-0.16 LSB) band" in text
    zero = worst_point_cause([4, 0.0, 0.0, "closed", 16, 0.13, 0.2, 0, 0.054, 0.033], [], 2.2e3)
    assert "0.0 mV" not in zero and "at 0 % a rewrite lands exactly" in zero and "+-0.16 LSB" in zero
    failed = [{"reason": "iteration cap"}, {"reason": "conductance at the edge of the card's window"}]
    bad = worst_point_cause([6, 0.0, 0.0, "closed", 4, 1.2, 1.2, 2, 0.155, 0.141], failed, 2.2e3)
    assert bad.startswith("2 of 4 chips did not converge") and "1 iteration cap" in bad
    assert "does not compare with the paper's linearity" in bad
