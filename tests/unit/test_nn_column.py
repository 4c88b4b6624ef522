"""The deterministic column model (memspice.nn.column.NodalColumn) against independent references.

Reference: memspice.reference.nodal.solve_tile, a sparse nodal solve of the whole tile assembled by
hand (itself checked against ngspice in tests/sim/test_crossbar_nodal.py); T_i by superposition, one
solve per row with only that row driven at 1 V. Tolerance 1e-9 relative to the largest |T|: both are
double-precision direct solves of the same network (measured agreement 1e-14 to 1e-15); a topology
error (a segment missing or misplaced) shows at 1e-5 or above (one 1 ohm segment against 25 kohm cells).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from memspice.nn.column import ColumnModel, NodalColumn, transfer_coefficients
from memspice.nn.spec import CimSpec
from memspice.reference.nodal import solve_tile

pytestmark = pytest.mark.unit


def _superposition(gp, gm, r_row, r_col, r_drv):
    rows = gp.size
    out = np.empty(rows)
    for i in range(rows):
        v = np.zeros(rows)
        v[i] = 1.0
        sol = solve_tile(np.stack([gp, gm], 1), v, r_row_ohm=r_row, r_col_ohm=r_col, r_driver_ohm=r_drv)
        out[i] = sol.i_col_a[0] - sol.i_col_a[1]
    return out


@pytest.mark.parametrize("rows,r_row,r_col,r_drv", [(1, 1.0, 1.0, 0.0), (24, 2.5, 1.5, 0.0), (40, 1.0, 5.0, 100.0),
                                                   (64, 10.0, 10.0, 0.0)])
def test_transfer_coefficients_match_the_nodal_solve_by_superposition(rows, r_row, r_col, r_drv):
    rng = np.random.default_rng(rows)
    gp, gm = rng.uniform(1e-6, 40e-6, rows), rng.uniform(1e-6, 40e-6, rows)
    got = transfer_coefficients(gp, gm, r_row_ohm=r_row, r_col_ohm=r_col, r_driver_ohm=r_drv)
    ref = _superposition(gp, gm, r_row, r_col, r_drv)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9 * np.abs(ref).max())
    # batched columns give each column's own coefficients
    both = transfer_coefficients(np.stack([gp, gm]), np.stack([gm, gp]), r_row_ohm=r_row, r_col_ohm=r_col,
                                 r_driver_ohm=r_drv)
    np.testing.assert_allclose(both[0], got, rtol=1e-13, atol=0)
    # swapping the pair is not an exact sign flip: the G- cell sits one row segment further from the driver
    swapped = _superposition(gm, gp, r_row, r_col, r_drv)
    np.testing.assert_allclose(both[1], swapped, rtol=0, atol=1e-9 * np.abs(swapped).max())


def test_zero_wire_resistance_cases_by_hand():
    gp, gm = np.array([30e-6, 5e-6]), np.array([2e-6, 40e-6])
    # no wires at all: the ideal dot product
    np.testing.assert_allclose(transfer_coefficients(gp, gm, r_row_ohm=0, r_col_ohm=0), gp - gm, rtol=1e-15)
    # only the driver: each row is a divider r_drv against the two cells in parallel
    r = 1e3
    t = transfer_coefficients(gp, gm, r_row_ohm=0, r_col_ohm=0, r_driver_ohm=r)
    np.testing.assert_allclose(t, (gp - gm) / (1 + r * (gp + gm)), rtol=1e-14)


def test_far_rows_lose_most_and_loss_grows_with_wire_resistance():
    g = np.full(128, 40e-6)
    t1 = transfer_coefficients(g, np.full(128, 1e-6), r_row_ohm=1.0, r_col_ohm=1.0)
    t5 = transfer_coefficients(g, np.full(128, 1e-6), r_row_ohm=5.0, r_col_ohm=5.0)
    ideal = 39e-6
    assert np.all(np.diff(t1) > 0)  # row 0 is farthest from the sense
    assert np.all(t5 < t1) and np.all(t1 < ideal)


@pytest.mark.torch
def test_layer_partial_sums_use_the_effective_weights():
    import torch
    from torch import nn

    from memspice.nn.cim import CimLayer, set_column

    torch.manual_seed(0)
    col = NodalColumn(128, 1e-6, 40e-6, 2.5, 2.5)
    for module in (nn.Linear(200, 5, bias=False), nn.Conv2d(20, 4, 3, padding=1, bias=False)):
        layer = CimLayer(module, CimSpec(), "l")
        layer.act_max = torch.tensor(1.0)
        set_column(layer, col, 0)
        x = torch.rand(2, *((200,) if isinstance(module, nn.Linear) else (20, 4, 4)))
        x_int = layer.quantize_input(x)
        got = layer.partial_sums(x_int, 0, effective=True)
        # independent: T per sub-array column from the integer weights, applied by hand
        w = layer.w_sub0
        if layer.mapping == "channel_group":
            w = w.reshape(layer.subarrays, layer.out_features, -1)
            used = w.shape[-1]
            w = torch.nn.functional.pad(w, (0, 128 - used))
        wi = w.double().numpy()
        t = transfer_coefficients(1e-6 + 39e-6 * np.clip(wi, 0, None) / 127, 1e-6 + 39e-6 * np.clip(-wi, 0, None) / 127,
                                  r_row_ohm=2.5, r_col_ohm=2.5)
        weff = torch.from_numpy(t / 39e-6 * 127).float()
        if layer.mapping == "channel_group":
            weff = weff[..., :used].reshape(layer.w_sub0.shape)
        ideal = layer.partial_sums(x_int, 0)
        layer.register_buffer("w_sub0", weff)  # the plain path with the hand-made effective weights
        ref = layer.partial_sums(x_int, 0)
        torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-3)
        assert (got - ideal).abs().max() > 10  # the IR drop is there (psums of order 1e4 here)


@pytest.mark.torch
def test_hardware_calibration_recovers_the_gain_of_a_binary_weight_column():
    """Weights +-w_max only: every row's two cells sum to 2 g_min + span, so a column with only a
    driver resistance is an exact gain k = 1 / (1 + r (2 g_min + span)) on every partial sum."""
    import torch
    from torch import nn

    from memspice.nn.calibration import calibrate
    from memspice.nn.cim import cim_layers, map_to_cim

    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(128, 16, bias=False), nn.ReLU(), nn.Linear(16, 4, bias=False))
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.weight.copy_(torch.sign(torch.randn_like(m.weight)))
    g_min, g_max, r = 1e-6, 40e-6, 2000.0
    col = NodalColumn(128, g_min, g_max, 0.0, 0.0, r_driver_ohm=r)
    k = 1 / (1 + r * (2 * g_min + (g_max - g_min)))
    hw = map_to_cim(net, CimSpec())
    images = torch.rand(64, 128)
    calibrate(hw, images, batch_size=16, samples=1000, seed=0, column=col, hardware=True)
    for layer in cim_layers(hw):
        gain, offset = layer.correction
        assert gain == pytest.approx(k, rel=1e-6)
        assert offset == pytest.approx(0.0, abs=1e-9)
    # the same chip described by a pure gain k (the polynomial model) calibrates to the same network
    poly = map_to_cim(net, CimSpec())
    calibrate(poly, images, batch_size=16, samples=1000, seed=0, column=ColumnModel(128, (0.0, k), 0.0))
    with torch.inference_mode():
        torch.testing.assert_close(hw(images), poly(images), rtol=1e-4, atol=1e-4)


def test_bad_column_parameters_are_refused():
    with pytest.raises(ValueError, match="r_col_ohm"):
        NodalColumn(128, 1e-6, 40e-6, 1.0, -1.0)
    with pytest.raises(ValueError, match="g_max_s"):
        NodalColumn(128, 40e-6, 1e-6, 1.0, 1.0)


@pytest.mark.torch
def test_grid_degrades_monotonically_with_wire_resistance():
    """A synthetic network through the study grid's columns (vteam_array tile at 128 rows, no random
    spread) with hardware calibration: the network's output error after the digital gain/offset
    correction grows with the wire resistance, and its decisions drift from the ideal network's."""
    import torch
    from torch import nn

    from memspice.nn.calibration import calibrate
    from memspice.nn.cim import map_to_cim
    from memspice.spec.crossbar import CrossbarSpec
    from memspice.study.column_grid import column_gain, grid_columns

    torch.manual_seed(4)
    net = nn.Sequential(nn.Linear(128, 32, bias=False), nn.ReLU(), nn.Linear(32, 10, bias=False))
    images = torch.rand(160, 128)
    ideal = map_to_cim(net, CimSpec())
    calibrate(ideal, images[:80], batch_size=80, samples=1000, seed=0)
    with torch.inference_mode():
        ref = ideal(images[80:])
    columns = grid_columns(CrossbarSpec(card="vteam_array"), [128], [0.1, 1.0, 4.0, 16.0], 0.0)
    errors, agree, gains = [], [], []
    for col in columns:
        hw = map_to_cim(net, CimSpec())
        calibrate(hw, images[:80], batch_size=80, samples=1000, seed=0, column=col)
        with torch.inference_mode():
            out = hw(images[80:])
        errors.append(float(((out - ref) ** 2).mean().sqrt() / ref.std()))
        agree.append(float((out.argmax(1) == ref.argmax(1)).float().mean()))
        gains.append(column_gain(col))
    assert all(a < b for a, b in itertools.pairwise(errors)), errors
    assert all(a > b for a, b in itertools.pairwise(gains)), gains
    assert agree[0] >= agree[-1] and agree[-1] < 1.0, agree
    assert errors[0] < 0.05 and errors[-1] > 0.3  # a column that works and one that does not (measured 0.009, 0.55)


def test_nodal_column_artifact_round_trips_and_refuses_bad_files(tmp_path):
    """A nodal column written as its artifact loads back through --column-model's loader as the same
    NodalColumn (same transfer coefficients); bad files are one-line DataErrors naming the field."""
    import json

    from memspice.errors import DataError
    from memspice.io import write_json
    from memspice.nn.artifacts import load_column_model, nodal_artifact
    from memspice.nn.column import NodalColumn

    col = NodalColumn(16, 1e-6, 40e-6, 2.5, 1.5, 20.0, sigma_g_rel=0.01, source="hand")
    path = write_json(tmp_path / "c.json", nodal_artifact(col).to_json())
    back = load_column_model(path)
    assert isinstance(back, NodalColumn) and back == col
    w = np.random.default_rng(1).uniform(-1, 1, (3, 16))
    np.testing.assert_array_equal(back.coefficients_s(w, 1.0), col.coefficients_s(w, 1.0))
    good = json.loads(path.read_text())
    for edit, needle in (({"g_max_S": 1e-7}, "g_max_S must be above g_min_S"), ({"r_row_ohm": -1}, "r_row_ohm"),
                         ({"colour": 1}, "unknown keys"), ({"rows": 0}, "rows must be a positive integer"),
                         ({"format_version": 2}, "format_version")):
        (tmp_path / "bad.json").write_text(json.dumps({**good, **edit}))
        with pytest.raises(DataError, match=needle):
            load_column_model(tmp_path / "bad.json")
    (tmp_path / "kind.json").write_text(json.dumps({"kind": "spline", "rows": 4, "coefficients": [0, 1]}))
    with pytest.raises(DataError, match="kind must be 'polynomial' or 'nodal'"):
        load_column_model(tmp_path / "kind.json")


def test_study_column_is_the_crossbar_specs_own_column():
    """The accuracy_column table's column: the crossbar spec's rows, row/column wires and driver as a
    NodalColumn, whose transfer coefficients match a column built by hand from the same numbers."""
    from memspice.nn.column import NodalColumn
    from memspice.spec.crossbar import CrossbarSpec
    from memspice.study.column_grid import column_gain, nodal_column

    spec = CrossbarSpec(card="vteam_array", rows=32)
    spec = spec.replace(wire=spec.wire.replace(r_row_segment_ohm=2.0, r_col_segment_ohm=3.0))
    col = nodal_column(spec, 1e-6)
    g_min, g_max = spec.g_range_s
    hand = NodalColumn(32, g_min, g_max, 2.0, 3.0, spec.drive.r_driver_ohm)
    w = np.random.default_rng(2).uniform(-1, 1, (2, 32))
    np.testing.assert_array_equal(col.coefficients_s(w, 1.0), hand.coefficients_s(w, 1.0))
    assert col.sigma_g_rel == pytest.approx(1e-6 / (g_max - g_min) * column_gain(hand))
    assert "2 ohm per row segment, 3 ohm per column segment" in col.source
