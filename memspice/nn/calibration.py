"""Calibration of a mapped network: activation ranges and the partial sums the ADC fits see.

:func:`calibrate` is the column-free calibration (and the named ``hardware=False`` experiment);
:func:`calibrate_through_column` is the chip's own calibration through its analog column, layer by
layer, with the digital gain/offset correction (see docs/nn.md, "Hardware-in-the-loop calibration").
"""

from __future__ import annotations

import torch
from torch import nn

from memspice.nn.cim import CimLayer, cim_layers, exact_float32, set_column
from memspice.nn.column import ColumnModel, NodalColumn
from memspice.nn.streams import LineFit, PsumStats, StopForward


@torch.inference_mode()
def calibrate(model: nn.Module, images: torch.Tensor, *, batch_size: int, samples: int, seed: int,
              column: ColumnModel | NodalColumn | None = None, hardware: bool = True) -> dict[str, PsumStats]:
    """Calibrate activation ranges, then record every layer's partial sums on ``images``.

    Without a column model (or with ``hardware=False``, a named different experiment): two passes
    over the calibration images, the first sets each layer's activation range with ideal upstream
    conversions and no column, the second records the partial sums each layer's ADC will see (after
    the column model, if any, uncorrected), with ideal ADCs everywhere.

    With a column model and ``hardware=True`` (:func:`calibrate_through_column`): the chip's own
    calibration, layer by layer in execution order, through the column.
    """
    layers = cim_layers(model)
    if column is not None and hardware:
        return calibrate_through_column(model, images, batch_size=batch_size, samples=samples, seed=seed,
                                        column=column)
    for layer in layers:
        layer.adc, layer.recorder, layer.column, layer.correction = None, None, None, None
        layer.act_max.fill_(float("nan"))
        layer.act_signed = False
        layer.observe_inputs = True
    with exact_float32():
        for start in range(0, len(images), batch_size):
            model(images[start:start + batch_size])
        for layer in layers:
            layer.observe_inputs = False
        batches = -(-len(images) // batch_size)
        stats = {}
        for i, layer in enumerate(layers):
            gen = torch.Generator().manual_seed(seed * 1000 + i)
            stats[layer.name] = PsumStats(samples, max(1, -(-samples // batches)), gen)
            layer.recorder = stats[layer.name]
            set_column(layer, column, seed * 1000 + i)
        for start in range(0, len(images), batch_size):
            model(images[start:start + batch_size])
    for layer in layers:
        layer.recorder = None
    return stats


def _pass_until(model: nn.Module, layer: CimLayer, images: torch.Tensor, batch_size: int) -> None:
    """One pass over ``images`` that stops after ``layer`` (earlier layers fully active)."""
    layer.stop_after = True
    try:
        for start in range(0, len(images), batch_size):
            try:
                model(images[start:start + batch_size])
            except StopForward:
                pass
    finally:
        layer.stop_after = False


def calibrate_through_column(model: nn.Module, images: torch.Tensor, *, batch_size: int, samples: int, seed: int,
                             column: ColumnModel | NodalColumn) -> dict[str, PsumStats]:
    """Hardware-in-the-loop calibration, as a chip is calibrated through its own analog path.

    Layer by layer in execution order, with every earlier layer already calibrated (its column in
    place, its output corrected, ideal ADCs): (1) a pass up to the layer sets its activation range
    from the inputs it actually receives (kept); (2) the layer alone, on those inputs, through the
    column records the pairs (ideal partial sum
    of the known calibration inputs and programmed weights, column output) and fits the digital
    correction ``s = (s_out - offset) / gain`` by least squares, and records the column's outputs;
    the recorded partial sums are then mapped through that correction, so the ADC fits see the
    values the digital back end reconstructs (ideal units). The column noise of these passes uses
    the calibration seed stream ``seed * 1000 + i``.
    """
    layers = cim_layers(model)
    for layer in layers:
        layer.adc, layer.recorder, layer.correction, layer.line_fit = None, None, None, None
        set_column(layer, None, 0)
        layer.act_max.fill_(float("nan"))
        layer.act_signed = False
        layer.observe_inputs = False
    batches = -(-len(images) // batch_size)
    stats: dict[str, PsumStats] = {}
    with exact_float32():
        for i, layer in enumerate(layers):
            layer.observe_inputs, layer.captured = True, []
            _pass_until(model, layer, images, batch_size)  # the inputs the calibrated layers above deliver
            inputs, layer.observe_inputs, layer.captured = layer.captured, False, None
            gen = torch.Generator().manual_seed(seed * 1000 + i)
            st = PsumStats(samples, max(1, -(-samples // batches)), gen)
            layer.recorder, layer.line_fit = st, LineFit()
            set_column(layer, column, seed * 1000 + i)
            for x in inputs:
                layer(x)
            del inputs
            gain, offset = layer.line_fit.solve()
            if not gain > 0:
                gain, offset = 1.0, 0.0  # a column that inverts or loses the signal is left uncorrected
            layer.correction = (gain, offset)
            layer.recorder, layer.line_fit = None, None
            stats[layer.name] = _corrected(st, layer, gain, offset)
    return stats


def _corrected(st: PsumStats, layer: CimLayer, gain: float, offset: float) -> PsumStats:
    """``st`` (raw column outputs in partial-sum units) mapped through the digital correction."""
    x_max = float(layer.act_levels) if layer.spec.input_mode == "analog" else 1.0
    norm = layer.rows * layer.slice_max * x_max
    fix = lambda v: (v - offset * norm) / gain  # noqa: E731 (affine and increasing: min/max map to min/max)
    st.minimum, st.maximum = fix(st.minimum), fix(st.maximum)
    st.chunks = [fix(c) for c in st.chunks]
    return st
