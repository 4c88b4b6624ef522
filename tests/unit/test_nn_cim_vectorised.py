"""The vectorised CIM forward pass against a slow reference: the per-read loop and the broadcast
matmul it replaced (kept here, not in the package).

Tolerances: one read per layer (analog inputs, one weight slice; the default) gives bit-identical
outputs: the same integer partial sums (exact in float32), the same lookup, the same sum over
sub-arrays. Bit-serial inputs and weight slices add the converted reads in another order
(one sum over stacked reads instead of a running sum), so those outputs agree to float32 rounding:
at most a few ulps of the largest term, checked with rtol 1e-6 and atol 1e-6 x max |output|.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from memspice.nn.spec import CimSpec

pytestmark = [pytest.mark.unit, pytest.mark.torch]


def _reference_lookup(lut, p):
    """The lookup converter as it was: shift, clamp, int64 indices, take."""
    import torch

    idx = p.sub_(lut.lo - 0.5).clamp_(0, lut.n - 1).long()
    return torch.take(lut.table, idx)


def _reference_partial_sums(layer, plane, index):
    """Per-sub-array partial sums as computed before: grouped convolution, or a broadcast matmul."""
    import torch
    import torch.nn.functional as F

    wsub = getattr(layer, f"w_sub{index}")
    n = plane.shape[0]
    if layer.mapping == "channel_group":
        pad_ch = layer.subarrays * layer.group - plane.shape[1]
        if pad_ch:
            plane = F.pad(plane, (0, 0, 0, 0, 0, pad_ch))
        out = F.conv2d(plane, wsub, None, layer.stride, layer.padding, layer.dilation, groups=layer.subarrays)
        return out.view(n, layer.subarrays, layer.out_features, *out.shape[2:])
    if layer.is_conv:
        c, h, w = plane.shape[1:]
        cols = F.unfold(plane, layer.kernel_size, layer.dilation, layer.padding, layer.stride)
        length = cols.shape[-1]
        if layer.kk > 1:
            cols = cols.view(n, c, layer.kk, length).transpose(1, 2).reshape(n, layer.kk * c, length)
        ho = (h + 2 * layer.padding[0] - layer.dilation[0] * (layer.kernel_size[0] - 1) - 1) // layer.stride[0] + 1
        wo = (w + 2 * layer.padding[1] - layer.dilation[1] * (layer.kernel_size[1] - 1) - 1) // layer.stride[1] + 1
    else:
        cols = plane.reshape(n, -1, 1)
        length, ho, wo = 1, None, None
    pad = layer.subarrays * layer.rows - layer.in_rows
    if pad:
        cols = F.pad(cols, (0, 0, 0, pad))
    out = torch.matmul(wsub, cols.view(n, layer.subarrays, layer.rows, length))
    if layer.is_conv:
        return out.view(n, layer.subarrays, layer.out_features, ho, wo)
    return out.view(n, layer.subarrays, layer.out_features)


def _reference_forward(layer, x):
    """The loop over input planes and weight slices, one converter call per read."""
    import torch
    import torch.nn.functional as F

    from memspice.nn.quantizers import LookupConverter

    x_int = torch.clamp(torch.round(x / layer.act_scale()), 0, layer.act_levels)
    adc = layer.adc
    convert = (lambda p: _reference_lookup(adc, p)) if isinstance(adc, LookupConverter) else adc
    if layer.spec.input_mode == "analog":
        planes = [(1.0, x_int)]
    else:
        planes = [(float(2**z), torch.remainder(torch.div(x_int, 2**z, rounding_mode="floor"), 2))
                  for z in range(layer.spec.act_bits)]
    whole = layer.spec.conversion == "layer"
    out = None
    for factor_in, plane in planes:
        for i, factor_w in enumerate(layer.slice_factors):
            if whole and len(layer.slice_factors) == 1:
                w = layer.weight_float(scaled=False)
                psums = (F.conv2d(plane, w, None, layer.stride, layer.padding, layer.dilation) if layer.is_conv
                         else F.linear(plane.reshape(plane.shape[0], -1), w)).unsqueeze(1)
            else:
                psums = _reference_partial_sums(layer, plane, i)
                if whole:
                    psums = psums.sum(1, keepdim=True)
            part = convert(psums).sum(1)
            if factor_in * factor_w != 1.0:
                part = part * (factor_in * factor_w)
            out = part if out is None else out + part
    return out * (layer.w_scale * layer.act_scale())


def _layer_with_adc(module, spec, x, *, lut: bool, bits: int = 4):
    """A CIM layer calibrated on ``x`` with a Lloyd-Max converter fitted to its partial sums."""
    import torch

    from memspice.nn import quantizers as q
    from memspice.nn.cim import CimLayer
    from memspice.nn.evaluate import adc_function

    layer = CimLayer(module, spec, "l")
    layer.act_max = torch.tensor(float(x.max()))
    seen = []
    layer.adc = lambda p: (seen.append(p.detach().clone()), p)[1]
    layer(x)
    sums = torch.cat([s.reshape(-1) for s in seen]).double().numpy()
    fit = q.fit_lloyd_max(sums, bits, rng=np.random.default_rng(0))
    rng = (float(sums.min()), float(sums.max())) if lut else None
    layer.adc = adc_function(fit, torch.device("cpu"), lut_range=rng)
    if lut:
        assert isinstance(layer.adc, q.LookupConverter)
    return layer


def _outlier(module):
    """``module`` with normal weights and one 10x outlier: small integer weights after the per-layer
    scale, so a wide layer's partial sums stay below 2^23 (the fused lookup's condition)."""
    import torch

    with torch.no_grad():
        module.weight.normal_()
        module.weight.view(-1)[0] = 10.0
    return module


def _modules():
    from torch import nn

    return {
        "conv_channel_group": (nn.Conv2d(40, 8, 3, padding=1, bias=False), (3, 40, 6, 6), {}),
        "conv_kernel_position": (nn.Conv2d(40, 8, 3, padding=1, bias=False), (3, 40, 6, 6),
                                 {"conv_mapping": "kernel_position"}),
        "conv_strided_bias": (nn.Conv2d(20, 6, 3, stride=2, padding=1, bias=True), (2, 20, 7, 7), {}),
        # 5 sub-arrays of 13 channels (one padded); 8 x 4 x 4 = 128 outputs per image: the reference's
        # sum adds the sub-arrays left to right there, as the forward pass does
        "conv_five_subarrays": (_outlier(nn.Conv2d(64, 8, 3, padding=1, bias=False)), (2, 64, 4, 4), {}),
        "linear_rows": (nn.Linear(300, 7, bias=False), (5, 300), {"rows": 100}),
        "linear_one_subarray": (nn.Linear(60, 4, bias=True), (5, 60), {}),
    }


@pytest.mark.parametrize("lut", [True, False], ids=["lookup", "bucketize"])
@pytest.mark.parametrize("conversion", ["subarray", "layer"])
@pytest.mark.parametrize("case", list(_modules()))
def test_one_read_per_layer_is_bit_identical_to_the_reference(case, conversion, lut):
    import torch

    torch.manual_seed(11)
    module, shape, opts = _modules()[case]
    x = torch.rand(*shape) * 3
    layer = _layer_with_adc(module, CimSpec(conversion=conversion, **opts), x, lut=lut)
    with torch.inference_mode():
        got = layer(x)
        bias = 0 if layer.bias is None else (layer.bias.view(1, -1, 1, 1) if layer.is_conv else layer.bias)
        ref = _reference_forward(layer, x) + bias
    assert torch.equal(got, ref)


@pytest.mark.parametrize("lut", [True], ids=["lookup"])  # the bucketize converter: the one-read test
@pytest.mark.parametrize(("input_mode", "cell_bits", "conversion"), [
    ("bit_serial", 0, "subarray"), ("analog", 2, "subarray"), ("bit_serial", 3, "subarray"),
    ("analog", 3, "layer"), ("bit_serial", 0, "layer")])
@pytest.mark.parametrize("case", ["conv_channel_group", "conv_kernel_position", "linear_rows"])
def test_batched_reads_match_the_reference_to_float32_rounding(case, input_mode, cell_bits, conversion, lut):
    import torch

    torch.manual_seed(12)
    module, shape, opts = _modules()[case]
    x = torch.rand(*shape) * 3
    spec = CimSpec(input_mode=input_mode, cell_bits=cell_bits, conversion=conversion, **opts)
    layer = _layer_with_adc(module, spec, x, lut=lut)
    with torch.inference_mode():
        got, ref = layer(x), _reference_forward(layer, x)
    scale = float(ref.abs().max())
    assert scale > 0
    torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize(("cin", "cout", "hw", "bias"), [(40, 8, 6, False), (64, 6, 5, True), (16, 16, 9, False),
                                                       (1, 4, 7, True)])
def test_channels_last_one_read_equals_the_nchw_one_read(cin, cout, hw, bias):
    """The channel-group layer with a lookup converter runs in NHWC memory order: the same values as
    the NCHW one-read path (``_one_read``) bit for bit, for odd output counts and 1-5 sub-arrays."""
    import torch
    from torch import nn

    torch.manual_seed(cin + cout)
    x = torch.rand(3, cin, hw, hw) * 3
    layer = _layer_with_adc(_outlier(nn.Conv2d(cin, cout, 3, padding=1, bias=bias)), CimSpec(), x, lut=True)
    assert layer._fused_lookup() is not None and layer.subarrays == -(-cin // 14)
    with torch.inference_mode():
        got = layer(x)
        x_int = layer.quantize_input(x, layer.subarrays * layer.group)
        ref = layer._one_read(x_int) * (layer.w_scale * layer.act_scale())
        if bias:
            ref = ref + layer.bias.view(1, -1, 1, 1)
    assert got.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(got, ref)
    with torch.inference_mode():  # a channels-last input (the previous layer's output) gives the same
        assert torch.equal(layer(x.contiguous(memory_format=torch.channels_last)), got)


def test_fused_lookup_offset_is_refused_where_half_integers_could_round():
    """The lookup's offset rides inside the matmul only while every sum stays below 2^23."""
    import torch
    from torch import nn

    from memspice.nn.cim import CimLayer
    from memspice.nn.quantizers import LookupConverter

    torch.manual_seed(13)
    small = CimLayer(nn.Linear(100, 3, bias=False), CimSpec(), "small")
    small.adc = LookupConverter(lambda p: p, -10, 10, "cpu")
    assert small._fused_lookup() is small.adc
    full = nn.Linear(512, 3, bias=False)
    with torch.no_grad():
        full.weight.fill_(1.0)  # every weight at full scale: 512 x 127 x 255 = 16.6 M > 2^23
    big = CimLayer(full, CimSpec(rows=512), "big")
    big.adc = LookupConverter(lambda p: p, -10, 10, "cpu")
    assert big.psum_bound == 512 * 127 * 255 and big._fused_lookup() is None
    assert math.isclose(small.adc.offset, 10.5)
