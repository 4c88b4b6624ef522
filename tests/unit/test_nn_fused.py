"""The fused lookup conversion (memspice.nn.fused): the compiled kernel against the eager torch
operations, bit for bit (torch.equal), on random tables with partial sums beyond both table ends,
for 1-16 sub-arrays and trailing sizes that are and are not multiples of the vector width; the
eager sum's written-out order; the fallback when compiling fails; a CIM layer's
output with the kernel on and off. The kernel compiles once per process (dynamic shapes)."""

from __future__ import annotations

import shutil

import pytest

pytestmark = [pytest.mark.unit, pytest.mark.torch]

needs_compiler = pytest.mark.skipif(
    not any(shutil.which(c) for c in ("g++", "c++", "clang++")),
    reason="torch.compile on CPU needs a C++ compiler (the eager operations are used without one)")


@pytest.fixture
def compiled(monkeypatch):
    from memspice.nn import fused

    monkeypatch.setenv(fused.ENV_COMPILE, "1")
    monkeypatch.setattr(fused, "_failed", False)
    return fused


def _case(n, s, m, seed):
    import torch

    gen = torch.Generator().manual_seed(seed)
    table = torch.randn(501, generator=gen) * 1000  # arbitrary levels: any change of order shows
    shifted = torch.randint(-40, 540, (n, s, m), generator=gen).float() + 0.5
    return shifted, table


@needs_compiler
def test_compiled_lookup_sum_is_bit_identical_to_the_eager_operations(compiled):
    import torch

    cases = [(7, 2, 300), (3, 1, 50), (5, 3, 64), (4, 4, 33), (100, 4, 1024), (6, 3, 17), (6400, 2, 16),
             (50, 5, 64), (9, 8, 128), (7, 5, 33), (4, 16, 20), (300, 7, 16), (2, 13, 1000)]
    for i, (n, s, m) in enumerate(cases):
        shifted, table = _case(n, s, m, i)
        got = compiled.lookup_sum(shifted.clone(), table)
        ref = compiled.lookup_sum_eager(shifted.clone(), table)
        assert not compiled._failed and compiled._kernel is not None, "the compiled kernel did not run"
        assert got.shape == (n, m) and torch.equal(got, ref), (n, s, m)
    # partial sums that carry autograd history (a network with trainable layers between CIM layers)
    leaf = shifted.clone().requires_grad_()
    got = compiled.lookup_sum(leaf * 1, table)
    assert not compiled._failed and not got.requires_grad and torch.equal(got, ref)
    # a convolution's (N, S, Cout, H, W) partial sums keep their shape
    shifted, table = _case(3, 2, 4 * 5 * 6, 9)
    got = compiled.lookup_sum(shifted.view(3, 2, 4, 5, 6).clone(), table)
    assert torch.equal(got, compiled.lookup_sum_eager(shifted.view(3, 2, 4, 5, 6), table))


def test_a_failing_compiler_falls_back_to_the_eager_operations(compiled, monkeypatch):
    import torch

    def broken(*_):
        raise RuntimeError("no compiler")

    monkeypatch.setattr(compiled, "_kernel", broken)
    shifted, table = _case(4, 3, 20, 1)
    got = compiled.lookup_sum(shifted.clone(), table)
    assert compiled._failed and not compiled.compile_enabled()
    assert torch.equal(got, compiled.lookup_sum_eager(shifted, table))


def test_the_switch_keeps_the_eager_operations(compiled, monkeypatch):
    import torch

    def must_not_run(*_):
        raise AssertionError("the compiled kernel ran")

    monkeypatch.setattr(compiled, "_kernel", must_not_run)
    monkeypatch.setenv(compiled.ENV_COMPILE, "0")
    shifted, table = _case(2, 3, 30, 3)
    assert torch.equal(compiled.lookup_sum(shifted.clone(), table), compiled.lookup_sum_eager(shifted, table))
    assert not compiled._failed


def test_eager_sum_over_subarrays_is_the_written_out_order():
    """Left to right, ``((v0 + v1) + v2) + ...``: ``sum``'s own order on a CPU where the trailing size
    is a multiple of 32 (the shapes of the default network), bit for bit."""
    import torch

    from memspice.nn.fused import lookup_sum_eager

    for i, (n, s, m) in enumerate([(3, 1, 40), (4, 2, 7), (5, 6, 33), (2, 9, 17)]):
        shifted, table = _case(n, s, m, 40 + i)
        values = table[shifted.clamp(0, table.numel() - 1).long()]
        ref = values[:, 0]
        for k in range(1, s):
            ref = ref + values[:, k]
        assert torch.equal(lookup_sum_eager(shifted.clone(), table), ref), (n, s, m)
    for s in (5, 8, 16):  # trailing size 64: torch.sum agrees
        shifted, table = _case(6, s, 64, s)
        values = table[shifted.clamp(0, table.numel() - 1).long()]
        assert torch.equal(lookup_sum_eager(shifted.clone(), table), values.sum(1)), s


@needs_compiler
@pytest.mark.parametrize("case", ["conv_channel_group", "linear_rows", "conv_strided_bias", "conv_five_subarrays"])
def test_cim_layer_output_is_identical_with_the_kernel_on_and_off(case, compiled, monkeypatch):
    import torch

    from memspice.nn.spec import CimSpec
    from tests.unit.test_nn_cim_vectorised import _layer_with_adc, _modules

    torch.manual_seed(21)
    module, shape, opts = _modules()[case]
    x = torch.rand(*shape) * 3
    layer = _layer_with_adc(module, CimSpec(**opts), x, lut=True)
    with torch.inference_mode():
        on = layer(x)
        assert not compiled._failed
        monkeypatch.setenv(compiled.ENV_COMPILE, "0")
        off = layer(x)
    assert torch.equal(on, off)
