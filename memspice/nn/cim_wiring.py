"""Wiring of a mapped CIM layer: a column model between its sub-arrays and its ADC (with the
effective weights of a nodal column), and the float32 settings under which its integer partial sums
stay exact. Split from :mod:`memspice.nn.cim` (which re-exports these names); ``layer`` is a
:class:`memspice.nn.cim.CimLayer` (not imported here: dependencies flow from cim to this module)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F

from memspice.nn.column import ColumnModel, NodalColumn

__all__ = ["exact_float32", "register_effective_weights", "set_column"]


@contextmanager
def exact_float32() -> Iterator[None]:
    """Switch off TF32 (GPU) so integer partial sums stay exact; restores the previous settings."""
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def set_column(layer: torch.nn.Module, column: ColumnModel | NodalColumn | None, seed: int) -> None:
    """Put ``column`` between the layer's sub-arrays and its ADC (None: an ideal column); a
    :class:`NodalColumn` registers the layer's effective weights once (``w_eff<i>``)."""
    layer.column = column
    layer.column_seed = seed
    layer.column_generator = None
    if isinstance(column, NodalColumn) and layer.effective_for is not column:
        register_effective_weights(layer, column)


def register_effective_weights(layer: torch.nn.Module, column: NodalColumn) -> None:
    """``w_eff<i>`` buffers: every sub-array column of every weight slice as ``column`` delivers it.

    A sub-array's physical rows are its weight rows in order (row 0 farthest from the sense); rows
    the mapping leaves empty hold weight 0 (both cells at g_min, no input) and load the column as
    the real array's unused rows do.
    """
    if column.rows != layer.rows:
        raise ValueError(f"column model of {column.rows} rows for a layer mapped on {layer.rows}-row sub-arrays")
    for i in range(len(layer.slice_factors)):
        w = getattr(layer, f"w_sub{i}")
        if layer.mapping == "channel_group":
            cols = w.reshape(layer.subarrays, layer.out_features, -1)  # (S, Cout, group * kk)
            used = cols.shape[-1]
            eff = column.effective_weights(F.pad(cols, (0, layer.rows - used)), layer.slice_max)[..., :used]
            eff = eff.reshape(w.shape)
        else:  # (S, Cout, R)
            eff = column.effective_weights(w, layer.slice_max)
        layer.register_buffer(f"w_eff{i}", eff.contiguous())
    layer.effective_for = column
