"""The lookup conversion of a layer's partial sums and their sum over sub-arrays in one pass.

A CIM layer's conversion is: clamp each shifted partial sum to the table, make it an integer index,
look the converted value up, add the sub-arrays. As separate torch operations on a CPU each is a
pass over a tensor S times the float layer's output (S sub-arrays), and the lookup alone costs
about 1.3 ns per element; ``torch.compile`` fuses the four into one loop over the output (0.3 ns
per partial sum on one tensor in session 4; ~2 ns averaged over the default network's layers in
session 6's profile, ``scripts/profile_inference.py``). The compiled kernel and the eager operations add the
sub-arrays in the same order (:func:`lookup_sum_eager` writes it out; the compiled ``sum`` gets it from
inductor's lowering of a reduction over a middle dimension, one loop from the first sub-array), so results are
bit-identical either way: verified for 1-16 sub-arrays and trailing sizes 7-16384 on torch 2.13.0
(tests/unit/test_nn_fused.py, the guard to rerun on a torch upgrade), not guaranteed by torch.

``torch.compile`` is used on CPU tensors only (a GPU runs the eager operations: they are already
bandwidth-cheap there) and only while ``MEMSPICE_COMPILE`` is not ``0``. The first call compiles
(seconds; inductor caches the kernel on disk for later processes); if compiling or running the
kernel fails for any reason (no C++ compiler, an unsupported platform), a warning is logged once and
the eager operations are used from then on.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable

import torch

__all__ = ["ENV_COMPILE", "compile_enabled", "lookup_sum", "lookup_sum_eager"]

log = logging.getLogger(__name__)

#: environment variable: ``0`` switches the compiled kernel off (e.g. for short test runs)
ENV_COMPILE = "MEMSPICE_COMPILE"

_kernel: Callable | None = None
_failed = False


def compile_enabled() -> bool:
    """Whether the compiled kernel may be used (``MEMSPICE_COMPILE`` is not ``0`` and it has not failed)."""
    return not _failed and os.environ.get(ENV_COMPILE, "1").strip() != "0"


def lookup_sum_eager(shifted: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """``table`` at ``shifted`` (partial sums plus the table's offset, ``(N, S, ...)``; clamped in
    place, so a tensor the caller no longer needs) summed over the sub-arrays in order,
    ``((v_0 + v_1) + v_2) + ...``, ``(N, ...)``. int32 indices and ``index_select``: half the memory
    traffic of int64 indices and ``take``. The order is written out (not ``sum``): it is the compiled
    kernel's, and ``sum``'s own on a CPU wherever the trailing size is a multiple of 32 (its
    vectorised path; its tail adds 5 or more sub-arrays in another order)."""
    idx = shifted.clamp_(0, table.numel() - 1).to(torch.int32)
    values = table.index_select(0, idx.reshape(-1)).view(idx.shape)
    if values.shape[1] == 1:
        return values[:, 0]  # one sub-array: no copy
    out = values[:, 0] + values[:, 1]
    for k in range(2, values.shape[1]):
        out.add_(values[:, k])
    return out


def _lookup_sum(shifted: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    # traced by torch.compile: functional (no in-place), (N, S, M) -> (N, M)
    idx = shifted.clamp(0, table.shape[0] - 1).to(torch.int32)
    return table[idx].sum(1)


def lookup_sum(shifted: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """:func:`lookup_sum_eager`'s result, from one compiled pass where that is available (CPU,
    ``MEMSPICE_COMPILE`` not ``0``)."""
    global _kernel, _failed
    n, s = shifted.shape[:2]
    if shifted.device.type != "cpu" or shifted.numel() == 0 or not compile_enabled():
        return lookup_sum_eager(shifted, table)
    try:
        # one rank for every layer: a single compiled graph serves convolutions and linear layers;
        # torch's compiler stack warns about its own deprecations as it loads (not ours to act on)
        # detached, no_grad: the integer index cuts any autograd graph anyway, and the kernel then
        # never traces a backward (nor inspects a non-leaf's .grad, which warns)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", DeprecationWarning)
            if _kernel is None:
                _kernel = torch.compile(_lookup_sum, dynamic=True)
            out = _kernel(shifted.detach().reshape(n, s, -1), table)
    except Exception as err:  # any failure of the compiler stack: fall back, once
        _failed = True
        log.warning("torch.compile of the lookup kernel failed (%s: %s); using eager operations",
                    type(err).__name__, str(err).splitlines()[0] if str(err) else "")
        return lookup_sum_eager(shifted, table)
    return out.view(n, *shifted.shape[2:])
