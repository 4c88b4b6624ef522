"""Quantization-aware training (memspice.nn.qat): the training forward pass is our quantized inference,
gradients pass straight through, NeuroSim's scales and loss, the spec hash and bad values."""

from __future__ import annotations

import pytest

from memspice.errors import SpecError
from memspice.nn.spec import TrainSpec

pytestmark = [pytest.mark.unit, pytest.mark.torch]


def _images(n: int, seed: int = 0):
    import torch

    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 1, 28, 28), generator=gen).float() / 255  # on the pixel grid


@pytest.mark.parametrize("bits", [8, 4])
def test_qat_forward_is_the_quantized_inference_of_the_same_weights(bits):
    import torch

    from memspice.nn import qat
    from memspice.nn.cim import cim_layers, map_to_cim
    from memspice.nn.networks import build_network
    from memspice.nn.spec import CimSpec

    torch.manual_seed(1)
    net = build_network("vgg8", in_channels=1, image_size=28, width=0.0625, act_bound=qat.bound(bits)).eval()
    qat.init_wage(net, bits)
    x = _images(6)
    with torch.no_grad():
        plain = net(x)
        with qat.quantized(net, bits):
            trained = net(x)
        cim = map_to_cim(net, CimSpec(weight_bits=bits, act_bits=bits))
        for i, layer in enumerate(cim_layers(cim)):  # the ranges the bounded network's calibration reaches
            layer.act_max.fill_(1.0 if i == 0 else qat.bound(bits))
        inferred = cim(x)
    assert torch.allclose(trained, inferred, rtol=1e-4, atol=1e-5)
    # the quantization is not a no-op: the float forward pass of the same weights differs
    assert (plain - trained).abs().max() > 1e-3
    # the context leaves the module as it was
    assert torch.equal(net(x), plain)


def test_gradients_pass_straight_through():
    import torch
    import torch.nn.functional as F
    from torch import nn

    from memspice.nn import qat

    torch.manual_seed(0)
    layer = nn.Linear(5, 3, bias=False)
    x = (torch.rand(4, 5) * 1.2).requires_grad_()  # some inputs beyond the top of the range
    with qat.quantized(nn.Sequential(layer), 4):
        y = layer(x)
        y.sum().backward()
    xq = qat.quantize_input(x.detach(), 4, 1.0)
    wq = qat.quantize_weight(layer.weight.detach(), 4)
    assert not torch.equal(xq, x.detach()) and not torch.equal(wq, layer.weight.detach())
    # d(sum y)/dW and d(sum y)/dx of y = xq @ wq^T, taken as if quantization were the identity
    assert torch.allclose(layer.weight.grad, torch.ones(4, 3).T @ xq)
    assert torch.allclose(x.grad, torch.ones(4, 3) @ wq)
    assert torch.allclose(y.detach(), F.linear(xq, wq))  # while the forward pass is the quantized one


def test_wage_scales_are_neurosims():
    from memspice.nn import qat

    # NeuroSim's models/VGG.py cfg_list['vgg8'] lists each layer's scale: 2, 16, 16, 16, 16, 32 for the
    # convolutions (fan-in 27, 1152, 1152, 2304, 2304, 4608); wage_init_ computes them from the fan-in
    assert [qat.wage_scale(f, 8) for f in (27, 1152, 1152, 2304, 2304, 4608)] == [2, 16, 16, 16, 16, 32]
    assert qat.bound(8) == 127 / 128


def test_init_and_clip_keep_weights_within_neurosims_bound():
    import torch

    from memspice.nn import qat
    from memspice.nn.networks import build_network

    torch.manual_seed(0)
    net = build_network("vgg8", in_channels=1, image_size=28, width=0.0625, act_bound=qat.bound(8))
    qat.init_wage(net, 8)
    for m in qat.crossbar_layers(net):
        limit = qat.bound(8) / qat.wage_scale(qat.fan_in(m), 8)
        assert float(m.weight.detach().abs().max()) <= limit
        assert float(m.weight.detach().abs().max()) > 0.9 * limit  # uniform over the whole range
        with torch.no_grad():
            m.weight.mul_(3)
    qat.clip_weights(net, 8)
    for m in qat.crossbar_layers(net):
        limit = qat.bound(8) / qat.wage_scale(qat.fan_in(m), 8)
        assert float(m.weight.detach().abs().max()) == pytest.approx(limit)


def test_bounded_network_clamps_and_keeps_the_state_dict():
    import torch
    from torch import nn

    from memspice.nn.networks import build_network

    plain = build_network("vgg8", in_channels=1, image_size=28, width=0.0625)
    bounded = build_network("vgg8", in_channels=1, image_size=28, width=0.0625, act_bound=0.5)
    assert list(plain.state_dict()) == list(bounded.state_dict())
    bounded.load_state_dict(plain.state_dict())
    with torch.no_grad():
        for m in bounded.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.mul_(20)  # drive every activation into the clamps
        out = bounded(torch.ones(2, 1, 28, 28))
    assert float(out.abs().max()) == pytest.approx(0.5)


def test_sse_is_neurosims():
    import torch

    from memspice.nn.qat import sse_loss

    logits = torch.tensor([[0.5, -0.25, 1.0], [0.0, 0.75, 0.0]])
    labels = torch.tensor([2, 0])
    # by hand: 0.5 * ((0.25 + 0.0625 + 0) + (1 + 0.5625 + 0))
    assert float(sse_loss(logits, labels)) == pytest.approx(0.5 * 1.875)


def test_hash_changes_only_with_qat():
    # the float-trained default keeps the cache name it had before the field existed
    assert TrainSpec().spec_hash() == "7f38818a8a03cc50"
    assert TrainSpec(qat_bits=0).spec_hash() == TrainSpec().spec_hash()
    hashes = {TrainSpec(qat_bits=8).spec_hash(), TrainSpec(qat_bits=4).spec_hash(), TrainSpec().spec_hash()}
    assert len(hashes) == 3
    assert TrainSpec(qat_bits=8, seed=1).spec_hash() != TrainSpec(qat_bits=8).spec_hash()


@pytest.mark.parametrize(("changes", "needle"), [
    ({"qat_bits": 1}, "qat_bits"), ({"qat_bits": 17}, "qat_bits"), ({"qat_bits": -8}, "qat_bits"),
    ({"qat_bits": 8, "network": "resnet18"}, "vgg8"),
])
def test_bad_qat_values_name_the_field(changes, needle):
    with pytest.raises(SpecError, match=needle) as err:
        TrainSpec(**changes)
    assert "qat_bits" in str(err.value)


def test_network_label_names_quantization_aware_training():
    from types import SimpleNamespace

    from memspice.nn.evaluate import network_label

    assert network_label(SimpleNamespace(spec=TrainSpec())) == "vgg8_w0.125"
    assert network_label(SimpleNamespace(spec=TrainSpec(qat_bits=8))) == "vgg8_w0.125_qat8"
    assert network_label(SimpleNamespace(spec=TrainSpec(width=1, qat_bits=4))) == "vgg8_qat4"
