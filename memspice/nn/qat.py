"""Quantization-aware training (``TrainSpec.qat_bits``) as NeuroSim's WAGE training shapes a network.

NeuroSim's VGG8 (DNN_NeuroSim V1.3/V1.4, ``Inference_pytorch/train.py`` with ``--mode WAGE``,
``modules/quantization_cpu_np_infer.py`` ``QConv2d.forward``/``QLinear.forward`` in the
``inference == 0`` branch, ``utee/wage_quantizer.py``, ``utee/wage_initializer.py``) trains with
every layer's weights on a fixed-point grid and every layer's output clamped to (-1, 1) and rounded
(see docs/nn.md, "How NeuroSim trains its VGG8"). What this module applies, in the units of our
network (effective weights ``w / scale`` instead of NeuroSim's ``w`` and ``output / scale``: the
same forward pass):

- **Weights**: in the forward pass, the per-layer symmetric quantization of our inference path
  (:class:`~memspice.nn.cim.CimLayer`: ``s_w = max|w| / (2^(b-1) - 1)``, round), straight-through
  gradient (the scale held constant); after every optimizer step, NeuroSim's clip ``C``: each
  layer's weights clamped to ``+-(1 - 2^-(b-1)) / scale`` with ``scale`` the layer's power of two of
  ``wage_initializer.scale_limit``; initialised as ``wage_init_`` (uniform within that bound).
- **Activations**: every hidden layer's output is clamped to ``[0, 1 - 2^-(b-1)]`` (NeuroSim's
  ``WAGEQuantizer_f`` clamp ``C`` before the ReLU, here a bounded ReLU in the network itself, so the
  bound also holds at inference) and every layer's input is rounded, straight-through, to the
  ``2^b - 1`` unsigned levels of our inference path on ``[0, bound]`` (the image on ``[0, 1]``:
  pixel / 255 is already on that grid at 8 bits). The logits are clamped to ``+-(1 - 2^-(b-1))``.
- **Loss**: NeuroSim's ``wage_util.SSE`` (half the summed squared error against one-hot targets).

Left out (stated in docs/nn.md): error and gradient quantization (``QE``, ``QG`` with stochastic
rounding and ``grad_scale``), the rounding of the logits, NeuroSim's SGD schedule (our optimizer,
epochs and seed are kept), the [-1, 1] input normalization (ours stays [0, 1]).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from memspice.nn.networks import crossbar_layers


def bound(bits: int) -> float:
    """NeuroSim's clip bound ``1 - 2^-(bits-1)`` (``wage_quantizer.C``)."""
    return 1.0 - 2.0 ** -(bits - 1)


def fan_in(module: nn.Conv2d | nn.Linear) -> int:
    return module.weight[0].numel()


def wage_scale(fan: int, bits: int) -> float:
    """The power of two NeuroSim divides a layer's output by (``wage_initializer.scale_limit`` of
    ``wage_init_(..., factor=1.0)``): ``2^ceil(log2(limit_std / sqrt(3 / fan_in)))``."""
    limit_std = bound(bits) / math.sqrt(3) if bits > 2 else 0.75 / math.sqrt(3)
    return 2.0 ** math.ceil(math.log2(limit_std / math.sqrt(3.0 / fan)))


def quantize_weight(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Our inference path's weight quantization (CimLayer): per-layer symmetric, ``2^(b-1) - 1``
    steps to the largest magnitude, straight-through gradient."""
    qmax = 2 ** (bits - 1) - 1
    amax = w.detach().abs().max()
    scale = torch.where(amax > 0, amax / qmax, torch.ones_like(amax))
    q = torch.clamp(torch.round(w.detach() / scale), -qmax, qmax) * scale
    return w + (q - w).detach()


def quantize_input(x: torch.Tensor, bits: int, top: float) -> torch.Tensor:
    """Our inference path's activation quantization (CimLayer.quantize_input): ``2^b - 1`` unsigned
    levels on ``[0, top]``, straight-through gradient."""
    levels = 2**bits - 1
    s = top / levels
    q = torch.div(x.detach(), s).round_().clamp_(0, levels) * s
    return x + (q - x).detach()


def init_wage(model: nn.Module, bits: int) -> None:
    """NeuroSim's ``wage_init_``: weights uniform within ``+-bound / scale`` (effective units)."""
    with torch.no_grad():
        for m in crossbar_layers(model):
            limit = bound(bits) / wage_scale(fan_in(m), bits)
            m.weight.uniform_(-limit, limit)


def clip_weights(model: nn.Module, bits: int) -> None:
    """NeuroSim's ``C`` after every optimizer step: weights clamped to ``+-bound / scale``."""
    with torch.no_grad():
        for m in crossbar_layers(model):
            limit = bound(bits) / wage_scale(fan_in(m), bits)
            m.weight.clamp_(-limit, limit)


def sse_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """NeuroSim's ``wage_util.SSE``: ``0.5 * sum((logits - one_hot)^2)`` over the batch."""
    target = F.one_hot(labels, logits.shape[1]).to(logits.dtype)
    return 0.5 * ((logits - target) ** 2).sum()


def _quantized_forward(module: nn.Conv2d | nn.Linear, bits: int, top: float):
    def forward(x: torch.Tensor) -> torch.Tensor:
        xq = quantize_input(x, bits, top)
        wq = quantize_weight(module.weight, bits)
        if isinstance(module, nn.Conv2d):
            return F.conv2d(xq, wq, module.bias, module.stride, module.padding, module.dilation, module.groups)
        return F.linear(xq, wq, module.bias)
    return forward


@contextmanager
def quantized(model: nn.Module, bits: int) -> Iterator[nn.Module]:
    """``model`` with every crossbar layer computing on quantized inputs and weights (the QAT
    forward pass); restored on exit. The first layer's inputs (images) are quantized on ``[0, 1]``,
    the others on ``[0, bound(bits)]`` (the network's bounded ReLU keeps them there)."""
    layers = crossbar_layers(model)
    try:
        for i, m in enumerate(layers):
            m.forward = _quantized_forward(m, bits, 1.0 if i == 0 else bound(bits))
        yield model
    finally:
        for m in layers:
            m.__dict__.pop("forward", None)
