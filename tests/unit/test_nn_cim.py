"""CIM mapping: partial sums, sub-arrays, bit-serial and sliced modes, artifacts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from memspice.errors import DataError, InputError
from memspice.nn.spec import CimSpec

pytestmark = [pytest.mark.unit, pytest.mark.torch]


def _layer(module, spec=None, act_max=4.0):
    import torch

    from memspice.nn.cim import CimLayer

    layer = CimLayer(module, spec or CimSpec(), "l")
    layer.act_max = torch.tensor(act_max)
    return layer


def _reference(layer, x):
    """Float layer on the quantized weights and inputs: what an ideal converter must give."""
    import torch.nn.functional as F

    xq = layer.quantize_input(x) * layer.act_scale()
    w = layer.weight_float()
    if layer.is_conv:
        return F.conv2d(xq, w, None, layer.stride, layer.padding, layer.dilation)
    return F.linear(xq.flatten(1), w)


@pytest.mark.parametrize("mapping", ["channel_group", "kernel_position"])
def test_conv_partial_sums_add_up_to_the_quantized_layer(mapping):
    import torch
    from torch import nn

    torch.manual_seed(0)
    conv = nn.Conv2d(40, 8, 3, padding=1, bias=False)
    layer = _layer(conv, CimSpec(conv_mapping=mapping))
    x = torch.rand(3, 40, 6, 6) * 4
    seen = []
    layer.adc = lambda p: (seen.append(p.clone()), p)[1]
    out = layer(x)
    ref = _reference(layer, x)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-4)
    psum = seen[0]
    # 360 rows: 3 sub-arrays of 128 (kernel position first) or 3 groups of 14 channels x 9 positions
    assert psum.shape[1] == 3
    assert torch.equal(psum, psum.round())  # integer partial sums, exact in float32
    assert float(psum.abs().max()) <= 128 * 255 * 127
    # without a converter the plain path gives the same numbers
    layer.adc = None
    torch.testing.assert_close(layer(x), ref, rtol=1e-5, atol=1e-4)


def test_channel_group_and_kernel_position_hold_different_rows():
    import torch
    from torch import nn

    torch.manual_seed(1)
    conv = nn.Conv2d(32, 4, 3, padding=1, bias=False)
    x = torch.rand(2, 32, 5, 5)
    sums = {}
    for mapping in ("channel_group", "kernel_position"):
        layer = _layer(conv, CimSpec(conv_mapping=mapping), act_max=1.0)
        layer.adc = lambda p, m=mapping: (sums.__setitem__(m, p.clone()), p)[1]
        layer(x)
    # kernel_position: 288 rows -> 128, 128, 32; channel_group: 3 groups of 11 channels x 9 positions
    assert sums["kernel_position"].shape[1] == 3 and sums["channel_group"].shape[1] == 3
    assert not torch.equal(sums["kernel_position"], sums["channel_group"])
    torch.testing.assert_close(sums["kernel_position"].sum(1), sums["channel_group"].sum(1))


def test_linear_partial_sums_over_chunks_of_rows():
    import torch
    from torch import nn

    torch.manual_seed(2)
    fc = nn.Linear(300, 5, bias=False)
    layer = _layer(fc, CimSpec(rows=100), act_max=2.0)
    x = torch.rand(4, 300) * 2
    seen = []
    layer.adc = lambda p: (seen.append(p), p)[1]
    torch.testing.assert_close(layer(x), _reference(layer, x), rtol=1e-5, atol=1e-4)
    assert seen[0].shape == (4, 3, 5)
    # sub-array 0 is the dot product over the first 100 inputs
    xi = layer.quantize_input(x)
    torch.testing.assert_close(seen[0][:, 0], xi[:, :100] @ layer.w_int[:, :100].T)


@pytest.mark.parametrize(("input_mode", "cell_bits"), [("bit_serial", 0), ("analog", 2), ("bit_serial", 3)])
def test_bit_serial_inputs_and_weight_slices_recombine_exactly(input_mode, cell_bits):
    import torch
    from torch import nn

    torch.manual_seed(3)
    conv = nn.Conv2d(5, 3, 3, padding=1, bias=False)
    x = torch.rand(2, 5, 4, 4)
    layer = _layer(conv, CimSpec(input_mode=input_mode, cell_bits=cell_bits), act_max=1.0)
    calls = []
    layer.adc = lambda p: (calls.append(p), p)[1]
    torch.testing.assert_close(layer(x), _reference(layer, x), rtol=1e-5, atol=1e-5)
    spec = layer.spec
    # every read (input bit x weight slice) meets the converter, all in one call: bit planes along the
    # batch, slices beside the output channels
    assert len(calls) == 1
    assert calls[0].shape[0] == spec.input_cycles * 2 and calls[0].numel() == 2 * 3 * 16 * spec.input_cycles \
        * spec.slices  # one sub-array (45 rows), 3 outputs, 4 x 4 pixels
    if input_mode == "bit_serial":  # binary inputs: a partial sum is bounded by rows x largest digit
        assert float(calls[0].abs().max()) <= 45 * layer.slice_max


def test_weight_quantization_and_conductance_window():
    from torch import nn

    spec = CimSpec(g_min_s=100e-6, g_max_s=400e-6)
    assert spec.weight_levels == 127
    assert spec.siemens_per_step == pytest.approx(300e-6 / 127)
    assert CimSpec(cell_bits=2).slices == 4 and CimSpec(cell_bits=2).siemens_per_step == pytest.approx(100e-6)
    layer = _layer(nn.Linear(10, 2, bias=False))
    assert float(layer.w_int.abs().max()) == 127
    with pytest.raises(InputError, match="g_max_s"):
        CimSpec(g_min_s=400e-6, g_max_s=100e-6)


def test_column_model_identity_and_gain():
    import torch
    from torch import nn

    from memspice.nn.cim import ColumnModel

    torch.manual_seed(4)
    fc = nn.Linear(128, 3, bias=False)
    x = torch.rand(2, 128)
    layer = _layer(fc, act_max=1.0)
    ref = layer(x)
    layer.column = ColumnModel(128, (0.0, 1.0), 0.0)
    torch.testing.assert_close(layer(x), ref, rtol=1e-5, atol=1e-5)
    layer.column = ColumnModel(128, (0.0, 0.5), 0.0)
    torch.testing.assert_close(layer(x), 0.5 * ref, rtol=1e-5, atol=1e-5)
    # s_in = psum / (rows * w_max * x_max): a cubic term acts on the normalized partial sum
    seen = []
    layer.column = ColumnModel(128, (0.0, 1.0, 0.0, 0.2), 0.0)
    layer.adc = lambda p: (seen.append(p), p)[1]
    layer(x)
    psum = layer.partial_sums(layer.quantize_input(x), 0)
    norm = 128 * 127 * 255
    torch.testing.assert_close(seen[0], (psum / norm + 0.2 * (psum / norm) ** 3) * norm, rtol=1e-5, atol=1e-3)


def _adc_json(path, bits=2, mc=True, **extra):
    n = 2**bits - 1
    targets = np.linspace(0.8, 1.1, n)
    data = {"bits": bits, "input_range_V": [0.7, 1.2], "targets_V": targets.tolist(),
            "measured_V": (targets + 0.005).tolist(),
            "mc_measured_V": [(targets + 0.01 * (k + 1)).tolist() for k in range(3)] if mc else [],
            "source": "synthetic test artifact"}
    data.update(extra)
    path.write_text(json.dumps(data))
    return path


def test_spice_adc_artifact_moves_lloyd_boundaries_by_relative_errors(tmp_path):
    from memspice.nn import quantizers as q
    from memspice.nn.artifacts import load_spice_adc

    art = load_spice_adc(_adc_json(tmp_path / "adc.json"))
    np.testing.assert_allclose(art.nominal_errors, [0.01, 0.01, 0.01])  # 5 mV of a 0.5 V range
    assert art.trial_errors().shape == (3, 3)
    fit = q.uniform_centered(-10.0, 10.0, 2)  # boundaries -5, 0, 5; range 20
    moved = art.apply(fit, art.trial_errors()[1])  # +20 mV = +0.04 of the range = +0.8
    np.testing.assert_allclose(moved.boundaries, [-4.2, 0.8, 5.8])
    nominal_only = load_spice_adc(_adc_json(tmp_path / "adc0.json", mc=False))
    assert nominal_only.trial_errors().shape == (1, 3)
    with pytest.raises(InputError, match="artifact 2, converter 3"):
        art.apply(q.uniform_centered(0.0, 1.0, 3), art.nominal_errors)


def test_spice_adc_artifact_errors_name_the_file(tmp_path):
    from memspice.nn.artifacts import load_column_model, load_spice_adc

    with pytest.raises(DataError, match="not found"):
        load_spice_adc(tmp_path / "nope.json")
    with pytest.raises(DataError, match="targets_V must hold 3 values"):
        load_spice_adc(_adc_json(tmp_path / "a.json", targets_V=[0.8, 0.9]))
    with pytest.raises(DataError, match="unknown keys"):
        load_spice_adc(_adc_json(tmp_path / "b.json", colour="red"))
    (tmp_path / "c.json").write_text(json.dumps({"rows": 128, "coefficients": [0, 1], "noise_sigma": -1}))
    with pytest.raises(DataError, match="noise_sigma"):
        load_column_model(tmp_path / "c.json")
    (tmp_path / "d.json").write_text(json.dumps({"rows": 64, "coefficients": [0, 1, 0, 0.1], "noise_sigma": 0.01}))
    model = load_column_model(tmp_path / "d.json")
    assert model.rows == 64 and model.coefficients == (0.0, 1.0, 0.0, 0.1)
