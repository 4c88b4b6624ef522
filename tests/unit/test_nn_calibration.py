"""Whole-layer conversion, hardware-in-the-loop calibration through a column, per-layer SPICE chips."""

from __future__ import annotations

import numpy as np
import pytest

from memspice.nn.spec import CimSpec

pytestmark = [pytest.mark.unit, pytest.mark.torch]


def test_layer_conversion_converts_the_whole_output_once():
    import torch
    import torch.nn.functional as F
    from torch import nn

    from memspice.nn.cim import CimLayer

    torch.manual_seed(0)
    conv = nn.Conv2d(40, 8, 3, padding=1, bias=False)  # 360 rows: 3 sub-arrays of 128
    layer = CimLayer(conv, CimSpec(conversion="layer"), "l")
    layer.act_max = torch.tensor(4.0)
    x = torch.rand(2, 40, 5, 5) * 4
    seen = []
    layer.adc = lambda p: (seen.append(p.clone()), p)[1]
    layer(x)
    # reference: the integer layer output, computed independently from the quantized weights and inputs
    w_int = torch.round(layer.weight_float() / layer.w_scale)
    ref = F.conv2d(layer.quantize_input(x), w_int, None, 1, 1)
    assert seen[0].shape == (2, 1, 8, 5, 5)  # one conversion per output, not one per sub-array
    torch.testing.assert_close(seen[0][:, 0], ref, rtol=0, atol=1e-2)
    sub = CimLayer(conv, CimSpec(), "l")
    sub.act_max = torch.tensor(4.0)
    seen.clear()
    sub.adc = lambda p: (seen.append(p.clone()), p)[1]
    sub(x)
    assert seen[0].shape[1] == 3


def _net():
    import torch
    from torch import nn

    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(128, 16, bias=False), nn.ReLU(), nn.Linear(16, 4, bias=False))


def test_hardware_calibration_recovers_a_known_column_gain_and_offset():
    import torch

    from memspice.nn.calibration import calibrate
    from memspice.nn.cim import ColumnModel, cim_layers, map_to_cim

    net = _net()
    images = torch.rand(64, 128)
    ideal = map_to_cim(net, CimSpec())
    st_ideal = calibrate(ideal, images, batch_size=16, samples=1000, seed=0)
    ref_out = ideal(images)
    gain, offset = 0.4, 0.02  # a linear column: s_out = 0.02 + 0.4 s_in (normalized units), no noise
    column = ColumnModel(128, (offset, gain), 0.0)
    hw = map_to_cim(net, CimSpec())
    st_hw = calibrate(hw, images, batch_size=16, samples=1000, seed=0, column=column, hardware=True)
    for layer, lid in zip(cim_layers(hw), cim_layers(ideal), strict=True):
        # least squares on a noiseless linear column is exact
        assert layer.correction == pytest.approx((gain, offset), rel=1e-6)
        # each layer saw the same inputs as without the column (upstream outputs were corrected)
        assert float(layer.act_max) == pytest.approx(float(lid.act_max), rel=1e-5)
        # the recorded partial sums are in ideal units: the ADC fits see what the back end reconstructs
        a, b = st_hw[layer.name], st_ideal[lid.name]
        assert (a.minimum, a.maximum) == pytest.approx((b.minimum, b.maximum), rel=1e-4, abs=1e-2)
    with torch.inference_mode():
        torch.testing.assert_close(hw(images), ref_out, rtol=1e-4, atol=1e-4)
    # the named other experiment: fitted without the column, nothing corrected -> outputs scaled
    off = map_to_cim(net, CimSpec())
    st_off = calibrate(off, images, batch_size=16, samples=1000, seed=0, column=column, hardware=False)
    first = cim_layers(off)[0]
    assert first.correction is None
    norm = 128 * 127 * float(first.act_levels)
    expected_max = st_ideal[first.name].maximum * gain + offset * norm
    assert st_off[first.name].maximum == pytest.approx(expected_max, rel=1e-4)


def test_hardware_calibration_leaves_noise_random_and_corrects_the_mean():
    import torch

    from memspice.nn.calibration import calibrate
    from memspice.nn.cim import ColumnModel, cim_layers, map_to_cim

    net = _net()
    images = torch.rand(256, 128)
    column = ColumnModel(128, (-0.01, 0.5), 0.002)  # read noise 0.2 % of full scale per conversion
    hw = map_to_cim(net, CimSpec())
    calibrate(hw, images, batch_size=64, samples=1000, seed=3, column=column)
    g, o = cim_layers(hw)[0].correction
    # the noise is independent of s_in: the fitted line is unbiased; the error of the slope scales as
    # sigma / (std(s_in) sqrt(n)) with n = 256 images x 16 columns, std(s_in) ~ 0.02 here -> ~1e-3
    assert g == pytest.approx(0.5, abs=5e-3)
    assert o == pytest.approx(-0.01, abs=5e-4)


def test_spice_chips_are_drawn_independently_per_layer_and_trial():
    from memspice.nn.evaluate import spice_chip_draws

    a = spice_chip_draws(0, 4, 0, 8, 16)
    assert a.shape == (8,) and a.min() >= 0 and a.max() < 16
    assert np.array_equal(a, spice_chip_draws(0, 4, 0, 8, 16))  # seeded
    assert len(set(a.tolist())) > 1  # layers are not one chip
    draws = np.stack([spice_chip_draws(0, 4, t, 8, 16) for t in range(200)])
    assert not np.array_equal(draws[0], draws[1])
    # every chip is used, about equally (1600 draws of 16 chips: 100 each, binomial sd ~10)
    counts = np.bincount(draws.ravel(), minlength=16)
    assert counts.min() > 60 and counts.max() < 140
    assert np.array_equal(spice_chip_draws(0, 4, 0, 8, 1), np.zeros(8))  # a nominal-only artifact


@pytest.mark.parametrize("mapping", ["channel_group", "kernel_position"])
def test_input_energy_is_the_sum_of_squared_inputs_per_subarray(mapping):
    import torch
    from torch import nn

    from memspice.nn.cim import CimLayer

    torch.manual_seed(2)
    conv = nn.Conv2d(40, 8, 3, padding=1, bias=False)
    layer = CimLayer(conv, CimSpec(conv_mapping=mapping), "l")
    ones = nn.Conv2d(40, 1, 3, padding=1, bias=False)
    ones.weight.data.fill_(1.0)  # integer weights all 127: partial sums of x^2 are 127 x the energy
    ref_layer = CimLayer(ones, CimSpec(conv_mapping=mapping), "r")
    plane = torch.randint(0, 256, (2, 40, 5, 5)).float()
    got = layer.input_energy(plane)
    ref = ref_layer.partial_sums(plane * plane, 0) / 127
    assert got.shape == (2, 3, 1, 5, 5)
    torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-2)


def test_column_cell_spread_noise_follows_each_reads_inputs():
    import torch
    from torch import nn

    from memspice.nn.cim import CimLayer, ColumnModel

    fc = nn.Linear(256, 64, bias=False)
    layer = CimLayer(fc, CimSpec(), "l")
    layer.act_max = torch.tensor(1.0)
    x = torch.zeros(400, 256)
    x[:, :16] = 1.0  # sub-array 0: 16 rows at full scale; sub-array 1: no input at all
    layer.column = ColumnModel(128, (0.0, 1.0), 0.0, sigma_g_rel=0.01)
    seen = []
    layer.adc = lambda p: (seen.append(p.clone()), p)[1]
    layer(x)
    ideal = layer.partial_sums(layer.quantize_input(x), 0)
    err = (seen[0] - ideal) / (128 * 127 * 255)  # normalized units
    # sigma = sigma_g_rel sqrt(2 sum u^2) / rows = 0.01 sqrt(32) / 128 = 4.42e-4; 25600 draws: 1 % accuracy
    assert float(err[:, 0].std()) == pytest.approx(0.01 * np.sqrt(32) / 128, rel=0.03)
    assert float(err[:, 1].abs().max()) == 0.0  # no input, no cell current, no spread
