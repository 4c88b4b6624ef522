"""The explorer's pure parts: grid points, seeds, Pareto front."""

import pytest

from memspice.characterize import explore as ex
from memspice.spec.adc import AdcSpec

pytestmark = pytest.mark.unit


def test_points_are_the_product_and_seeds_are_recorded_children():
    grid = ex.Grid(variables={"cell.v_read_v": (0.7, 0.8), "timing.scheme": ("static", "precharge")}, seed=7)
    points = grid.points()
    assert len(points) == 4 and points[1] == {"cell.v_read_v": 0.7, "timing.scheme": "precharge"}
    seeds = [ex.point_seed(grid, i) for i in range(4)]
    assert len(set(seeds)) == 4 and seeds == [ex.point_seed(grid, i) for i in range(4)]
    specs = ex.point_specs(AdcSpec(), grid)
    assert specs[3].cell.v_read_v == 0.8 and specs[3].timing.scheme == "precharge"


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
