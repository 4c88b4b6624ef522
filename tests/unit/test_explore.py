"""The explorer's pure parts: grid points, seeds, Pareto front."""

import pytest

from memspice.characterize import explore as ex
from memspice.characterize import explore_outputs as xo
from memspice.spec.adc import AdcSpec

pytestmark = pytest.mark.unit


def test_points_are_the_product_and_seeds_are_recorded_children():
    grid = ex.Grid(variables={"cell.v_read_v": (0.7, 0.8), "timing.scheme": ("static", "precharge")}, seed=7)
    points = grid.points()
    assert len(points) == 4 and points[1] == {"cell.v_read_v": 0.7, "timing.scheme": "precharge"}
    seeds = [ex.point_seed(grid, i) for i in range(4)]
    assert len(set(seeds)) == 4 and seeds == [ex.point_seed(grid, i) for i in range(4)]
    # a named point's seed follows its name, not its position: adding a point before it changes nothing
    one = ex.Grid(variables=grid.variables, seed=7, named=(("b", {"cell.vdd_v": 0.9}),))
    two = ex.Grid(variables=grid.variables, seed=7, named=(("a", {"cell.vdd_v": 0.8}), ("b", {"cell.vdd_v": 0.9})))
    assert ex.point_seed(one, 4) == ex.point_seed(two, 5) != ex.point_seed(two, 4)
    assert ex.point_seed(two, 0) == seeds[0] and ex.point_seed(two, 4) not in seeds
    specs = ex.point_specs(AdcSpec(), grid)
    assert specs[3].cell.v_read_v == 0.8 and specs[3].timing.scheme == "precharge"


def test_named_points_follow_the_product_and_keep_their_names(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text('[grid]\nmc_samples = 0\n[grid.vary]\n"cell.v_read_v" = [0.7, 0.8]\n'
                    '[[grid.points]]\nname = "low VDD"\n"cell.vdd_v" = 0.9\n"cell.v_pu_v" = 0.1\n')
    grid = ex.load_grid(path)
    assert grid.points() == [{"cell.v_read_v": 0.7}, {"cell.v_read_v": 0.8}, {"cell.vdd_v": 0.9, "cell.v_pu_v": 0.1}]
    assert grid.names() == ["0", "1", "low VDD"] and grid.mc_samples == 0
    spec = ex.point_specs(AdcSpec(), grid)[2]
    assert (spec.cell.vdd_v, spec.cell.v_pu_v, spec.cell.v_read_v) == (0.9, 0.1, AdcSpec().cell.v_read_v)
    path.write_text('[[grid.points]]\nname = "only"\n"timing.scheme" = "precharge"\n')
    assert ex.load_grid(path).points() == [{"timing.scheme": "precharge"}]  # no [grid.vary]: named points only
    assert ex.load_grid(path).mc_programming == "closed"  # programmed chips unless the open loop is named
    path.write_text('[grid]\nmc_programming = "open"\n[[grid.points]]\nname = "only"\n"cell.vdd_v" = 0.9\n')
    assert ex.load_grid(path).mc_programming == "open"


def test_pareto_front_by_hand():
    def row(a, b, c, d, status="ok"):
        return dict(zip(ex.OBJECTIVES, (a, b, c, d), strict=True), status=status)

    rows = [row(1, 1, 1, 1), row(2, 2, 2, 2), row(0.5, 3, 1, 1), row(0.1, 0.1, 0.1, 0.1, status="codes wrong"),
            row(1, 1, 1, 1)]
    # row 1 is dominated by row 0; row 3 is not ok; rows 0 and 4 tie (neither dominates)
    assert ex.pareto_front(rows) == [0, 2, 4]


def test_read_disturb_margin_of_the_default_cell():
    """vteam_paper switches at -0.478 / +0.525 V; the default read puts up to 0.8 - 0.05 V across a memristor."""
    assert ex.read_disturb_margin_v(AdcSpec()) == pytest.approx(0.4775 - 0.75, abs=1e-3)


@pytest.mark.parametrize("scheme, programming, label", [("static", "closed", ex.MC_CLOSED),
                                                         ("precharge", "closed", ex.MC_CLOSED_TIMED),
                                                         ("precharge", "open", ex.MC_OPEN)])
def test_point_runs_the_chip_monte_carlo_it_is_asked_for(monkeypatch, scheme, programming, label):
    """Wiring only (fake simulators): a point's linearity comes from the closed-loop chip Monte Carlo by
    default in both schemes (chip_monte_carlo, programming "closed", the spec's mc.programming "closed";
    a precharge chip is verified in its timing there); the open loop only when asked for by name, and the
    row names the experiment. The circuit numbers are the flows' own tests."""
    from types import SimpleNamespace

    import numpy as np

    from memspice.characterize import adc as flow
    from memspice.characterize.adc import timed

    spec = AdcSpec().with_overrides({"bits": 3, "timing.scheme": scheme})
    targets = spec.targets_v()
    prog = SimpleNamespace(plan=SimpleNamespace(targets_v=targets), iterations=3, pmap=None)
    en = SimpleNamespace(energy_per_conversion_j=1e-12, switching_j=2e-14, static_j=9.8e-13, delay_s=1e-10,
                         read_s=6e-10, codes_ok=True, by_cause=lambda: {"switching_J": {"encoder": 1e-15}})
    calls = []

    def fake_mc(mspec, card, prog_, opts, programming):
        calls.append((programming, mspec.mc.programming, mspec.mc.samples))
        return SimpleNamespace(failed=[], converged=None), None

    monkeypatch.setattr(flow, "program_converter", lambda s, c, o: (None, prog, SimpleNamespace(measured_v=targets)))
    monkeypatch.setattr(timed, "program_in_timing", lambda s, c, p, pr, o: SimpleNamespace(
        prog=prog, dominant_v=targets, rounds=1, history_lsb=[0.01]))
    monkeypatch.setattr(flow, "conversion_energy_settled", lambda s, c, p, o: en)
    monkeypatch.setattr(flow, "chip_monte_carlo", fake_mc)
    monkeypatch.setattr(flow, "mc_statistics", lambda s, mc, t: {
        "inl_max_lsb_rms": 0.2, "dnl_max_lsb_rms": 0.3, "boundary_sigma_rms_V": 1e-3, "nonconverged_samples": None})
    row = ex.characterize_point(spec, 3, 11, programming=programming)
    assert calls == [(programming, programming, 3)]
    assert row["status"] == "ok" and row["mc_experiment"] == label
    assert (row["inl_rms_lsb"], row["dnl_rms_lsb"]) == (0.2, 0.3) and np.isfinite(row["inl_nominal_lsb"])


def test_explore_json_names_the_experiments_the_points_ran(tmp_path):
    """explore.json's linearity note is read from the rows: a precharge point's chips verified in its
    timing are called that (it said "open loop" for every precharge point before), an open-loop point is
    named as such, and a grid with no Monte Carlo says so."""
    import json

    rows = [{"scheme": "static", "mc_experiment": ex.MC_CLOSED, "status": "ok"},
            {"scheme": "precharge", "mc_experiment": ex.MC_CLOSED_TIMED, "status": "ok"},
            {"scheme": "precharge", "mc_experiment": ex.MC_CLOSED_TIMED, "status": "ok"}]
    result = ex.ExploreResult(points=rows, pareto=[], variables=["timing.scheme"], wall_s=1.0)
    xo.write_outputs(result, tmp_path, figures=False)
    note = json.loads((tmp_path / "explore.json").read_text())["linearity"]
    assert f"precharge points {ex.MC_CLOSED_TIMED}" in note and f"static points {ex.MC_CLOSED}" in note
    assert ex.MC_OPEN not in note
    open_rows = [dict(rows[1], mc_experiment=ex.MC_OPEN)]
    assert f"precharge points {ex.MC_OPEN}" in xo.linearity_note(open_rows)
    assert xo.linearity_note([{"scheme": "static", "status": "ok"}]).endswith("no point ran a Monte Carlo")


def _dc_decks(spec):
    """The text of every DC deck the nominal programming runs (map, cell array, converter), header aside."""
    import numpy as np

    from memspice.characterize.adc.programming import map_grid_s
    from memspice.netlist import qcell as nq
    from memspice.spec.device import load_card

    card = load_card(spec.card)
    gl, gu = np.full(spec.n_cells, 2.0e-4), np.full(spec.n_cells, 2.5e-4)
    decks = [nq.map_deck(spec, card, map_grid_s(card)), nq.adc_dc_deck(spec, card, gl, gu, encoder=False),
             nq.adc_dc_deck(spec, card, gl, gu, encoder=True)]
    return [[line for line in d.render().splitlines() if not line.startswith("*")] for d in decks]


def test_points_that_differ_only_in_timing_share_the_nominal_programming(monkeypatch):
    """Static and precharge points of one cell have one dc_key and the same DC decks (so sharing their
    nominal programming changes no number); another input size has its own key. A point whose key a
    worker has seen reuses that programming instead of running it again."""
    from types import SimpleNamespace

    from memspice.characterize import adc as flow
    from memspice.characterize.adc import timed

    base = AdcSpec().with_overrides({"bits": 3})
    pre = base.with_overrides({"timing.scheme": "precharge", "timing.read_s": 1.2e-9, "timing.period_s": 2e-9})
    small = base.with_overrides({"cell.input": {"w_m": 0.15e-6, "l_m": 0.1e-6}})
    assert ex.dc_key(base) == ex.dc_key(pre) != ex.dc_key(small)
    assert _dc_decks(base) == _dc_decks(pre) and _dc_decks(base) != _dc_decks(small)

    targets = base.targets_v()
    prog = SimpleNamespace(plan=SimpleNamespace(targets_v=targets), iterations=3, pmap=None)
    calls = []

    def program_converter(s, c, o):
        calls.append(s.timing.scheme)
        return None, prog, SimpleNamespace(measured_v=targets)

    monkeypatch.setattr(flow, "program_converter", program_converter)
    def stop(*args):  # the point ends here (its row says why): only the programming is under test
        raise ex.SpecError("x", 0, "y")

    monkeypatch.setattr(flow, "conversion_energy_settled", stop)
    monkeypatch.setattr(timed, "program_in_timing", stop)
    nominal: dict = {}
    rows = [ex.characterize_point(s, 0, 1, nominal=nominal) for s in (base, pre)]
    assert calls == ["static"] and [r["nominal_programming"] for r in rows] == ["computed", "shared"]


def test_points_are_grouped_by_their_nominal_programming_and_every_worker_kept_busy():
    assert ex.group_points(["a", "b", "a", "b"], 2) == [[0, 2], [1, 3]]
    assert ex.group_points(["a"] * 4, 2) == [[0, 1], [2, 3]]
    assert ex.group_points(["a"] * 4, 1) == [[0, 1, 2, 3]]
    assert ex.group_points([], 2) == []


def test_named_points_are_run_and_tabled_under_their_names(monkeypatch, tmp_path):
    """Wiring only (a fake point): every point of a grid with named points is run once and its row
    carries its name and the values it set; the front table names the point."""
    seen = []

    def fake_point(spec, mc_samples, seed, backend="subprocess", nominal=None, programming="closed"):
        seen.append(spec.cell.vdd_v)
        e = 1e-15 * spec.cell.vdd_v
        return {"status": "ok", "energy_switching_J": e, "energy_total_J": 1e3 * e, "area_normalised_um2": 1.0,
                "inl_rms_lsb": 0.1, "dnl_rms_lsb": 0.1, "delay_s": 1e-9, "read_disturb_margin_V": 0.0,
                "wall_s": 0.0, "cpu_s": 0.0}

    monkeypatch.setattr(ex, "characterize_point", fake_point)
    grid = ex.Grid(variables={}, mc_samples=0, named=(("a", {"cell.vdd_v": 0.9}), ("b", {"cell.vdd_v": 0.8})))
    res = ex.run_explore(AdcSpec().with_overrides({"bits": 3}), grid, tmp_path / "points")
    assert sorted(seen) == [0.8, 0.9] and [(r["name"], r["cell.vdd_v"]) for r in res.points] == [("a", 0.9), ("b", 0.8)]
    assert res.pareto == [1] and "| b | 0.8 |" in xo.front_text(res)


def _shipped_grids() -> list[str]:
    from memspice.resources import project_root

    return sorted(p.name for p in (project_root() / "circuits").glob("explore_*.toml"))


def test_the_shipped_grids_are_found():
    assert {"explore_qcell.toml", "explore_qcell_22nm.toml"} <= set(_shipped_grids())


@pytest.mark.parametrize("grid_file", _shipped_grids())
def test_the_shipped_grids_load_and_every_point_is_a_valid_spec(grid_file):
    """Each grid in circuits/ with the base spec its header's command names (`memspice explore adc
    circuits/BASE.toml --grid circuits/GRID.toml`): every point a spec that validates (sizes above the
    card's minimum, timing consistent), one per point, no two the same."""
    import re

    from memspice.resources import project_root
    from memspice.spec.adc import load_adc_spec

    root = project_root() / "circuits"
    header = (root / grid_file).read_text().split("\n\n")[0]
    found = re.search(rf"memspice explore adc circuits/(\S+\.toml) --grid circuits/{re.escape(grid_file)}", header)
    assert found, f"{grid_file}: its header names no `memspice explore adc BASE --grid` command"
    grid = ex.load_grid(root / grid_file)
    specs = ex.point_specs(load_adc_spec(root / found.group(1)), grid)
    assert len(specs) == len(grid.names()) >= 2
    assert len({s.spec_hash() for s in specs}) == len(specs)
