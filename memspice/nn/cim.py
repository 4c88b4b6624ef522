"""Compute-in-memory mapping of a trained network, as NeuroSim does it.

Every convolution and fully connected layer becomes a :class:`CimLayer`:

1. **Weights** are quantized per layer to ``weight_bits`` (symmetric, ``w = s_w * w_int`` with
   ``|w_int| <= 2^(b-1) - 1``) and mapped to differential conductance pairs,
   ``G+ = G_min + g_step * max(w_int, 0)``, ``G- = G_min + g_step * max(-w_int, 0)`` with
   ``g_step = (G_max - G_min) / (2^(b-1) - 1)``. The column current is linear in the weights
   (``I = V_read_lsb * g_step * sum x_int * w_int``; G_min cancels in the pair), so the partial sum
   is computed in integer units ``sum x_int * w_int``: the ADC models are invariant to that scale.
2. **Activations** (the row voltages) are quantized per layer to ``act_bits`` unsigned levels on
   ``[0, a_max]``, ``a_max`` the largest input seen on the calibration images.
3. The unrolled weight matrix is split into **sub-arrays of at most R rows**. Convolutions use
   ``conv_mapping='channel_group'`` by default: a sub-array holds the complete k x k kernels of
   at most ``floor(R / k^2)`` input channels (126 of 128 rows for 3x3 kernels), using as few
   sub-arrays as that allows with the channels spread evenly over them (16 channels: 2 x 8), so
   one grouped convolution gives every partial sum of the layer at the float layer's MAC count. ``'kernel_position'`` is
   NeuroSim's layout (rows ordered kernel position first, then channel: a sub-array holds R
   channels of one kernel position when the channel count is a multiple of R), computed with
   im2col, about 2x slower. Fully connected layers split their inputs into consecutive chunks of
   R rows. Each sub-array's partial sum goes through the optional crossbar column model (and the
   digital gain/offset correction calibrated through it), then through the layer's **ADC**; the
   converted partial sums are added digitally (over sub-arrays, input bits and weight slices) and
   rescaled by ``s_w * s_x``. With ``conversion='layer'`` the sub-array sums are added first and
   the layer's whole output meets one conversion (the paper's Fig. 5 experiment, not hardware).
4. Options: ``input_mode='bit_serial'`` applies one input bit per read and ``cell_bits > 0``
   splits the weight magnitude over several pairs; each read of each slice is converted
   separately (NeuroSim's scheme) by the same per-layer converter, then shifted and added.

Digital operations between layers (ReLU, pooling, batch norm, residual additions) stay in float.
Partial sums of at most 128 rows of 8-bit by 8-bit products are integers below 2^24, so float32
holds them exactly; TF32 is switched off while CIM layers run on a GPU.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from memspice.nn.cim_wiring import exact_float32, register_effective_weights, set_column
from memspice.nn.column import ColumnModel, NodalColumn
from memspice.nn.fused import lookup_sum
from memspice.nn.quantizers import LookupConverter
from memspice.nn.spec import CimSpec
from memspice.nn.streams import LineFit, PsumStats, StopForward

__all__ = ["CimLayer", "ColumnModel", "NodalColumn", "cim_layers", "exact_float32", "map_to_cim",
           "register_effective_weights", "set_column"]

#: An ADC applied to a tensor of partial sums (integer units); returns converted values.
AdcFn = Callable[[torch.Tensor], torch.Tensor]


class CimLayer(nn.Module):
    """A convolution or linear layer computed on crossbar sub-arrays (see the module docstring)."""

    def __init__(self, module: nn.Conv2d | nn.Linear, spec: CimSpec, name: str):
        super().__init__()
        self.name = name
        self.spec = spec
        self.is_conv = isinstance(module, nn.Conv2d)
        w = module.weight.detach().float()
        if module.bias is not None:
            self.register_buffer("bias", module.bias.detach().float().clone())
        else:
            self.bias = None
        if self.is_conv:
            if module.groups != 1:
                raise NotImplementedError("grouped convolutions are not mapped")
            self.stride, self.padding, self.dilation = module.stride, module.padding, module.dilation
            self.kernel_size = module.kernel_size
            cout, cin, kh, kw = w.shape
            self.out_features = cout
            self.kk = kh * kw
            self.in_rows = cin * kh * kw
            rows_major = w.permute(0, 2, 3, 1).reshape(cout, -1)  # kernel position first, then channel
        else:
            self.out_features, self.in_rows = w.shape
            rows_major = w
        qmax = spec.weight_levels
        amax = float(rows_major.abs().max())
        self.w_scale = amax / qmax if amax > 0 else 1.0
        w_int = torch.clamp(torch.round(rows_major / self.w_scale), -qmax, qmax)
        self.register_buffer("w_int", w_int)  # (Cout, K) in kernel-position-major order
        self.rows = spec.rows
        self.subarrays = -(-self.in_rows // self.rows)
        # weight slices: (factor, weights (S, Cout, R)); one slice = the whole weight in one pair
        slices = []
        if spec.cell_bits == 0:
            slices.append((1.0, w_int))
        else:
            mag, sign = w_int.abs(), torch.sign(w_int)
            base = 2 ** spec.cell_bits
            for k in range(spec.slices):
                digit = torch.remainder(torch.div(mag, base**k, rounding_mode="floor"), base)
                slices.append((float(base**k), digit * sign))
        self.slice_factors = [f for f, _ in slices]
        self.mapping = "rows"
        if self.is_conv and spec.conv_mapping == "channel_group" and self.kk <= self.rows:
            # a sub-array holds whole kernels of `group` input channels: one grouped convolution
            # computes every partial sum of the layer with the float layer's MAC count
            self.mapping = "channel_group"
            # as few sub-arrays as whole kernels allow, channels spread evenly over them
            self.subarrays = -(-cin // (self.rows // self.kk))
            self.group = -(-cin // self.subarrays)
            pad_ch = self.subarrays * self.group - cin
            for i, (_, ws) in enumerate(slices):
                w4 = ws.reshape(cout, kh, kw, cin).permute(0, 3, 1, 2)  # back to (Cout, Cin, kh, kw)
                w4 = F.pad(w4, (0, 0, 0, 0, 0, pad_ch))
                wg = w4.reshape(cout, self.subarrays, self.group, kh, kw).transpose(0, 1)
                self.register_buffer(f"w_sub{i}", wg.reshape(self.subarrays * cout, self.group, kh, kw).contiguous())
        else:
            pad = self.subarrays * self.rows - self.in_rows
            for i, (_, ws) in enumerate(slices):
                wsub = F.pad(ws, (0, pad)).reshape(self.out_features, self.subarrays, self.rows).permute(1, 0, 2)
                self.register_buffer(f"w_sub{i}", wsub.contiguous())
        if len(slices) > 1:  # every slice in one weight tensor: (S, K, Cout) output order, one read per plane
            parts = [getattr(self, f"w_sub{i}") for i in range(len(slices))]
            if self.mapping == "channel_group":
                stacked = torch.stack([w.view(self.subarrays, cout, *w.shape[1:]) for w in parts], 1)
                self.register_buffer("w_all", stacked.reshape(-1, *parts[0].shape[1:]).contiguous())
            else:
                self.register_buffer("w_all", torch.cat(parts, 1).contiguous())
        self.slice_max = float(2 ** (spec.cell_bits or spec.magnitude_bits) - 1)
        #: bound on |partial sum| of any read (sub-array, whole layer, slice, bit plane)
        self.psum_bound = float(w_int.abs().sum(1).max()) * (2**spec.act_bits - 1)
        # activation quantization (calibrated)
        self.register_buffer("act_max", torch.tensor(float("nan")))
        self.act_signed = False
        self.observe_inputs = False
        # conversion: None = ideal (no partial-sum quantization)
        self.adc: AdcFn | None = None
        self.column: ColumnModel | NodalColumn | None = None
        #: the column whose effective weights ``w_eff<i>`` are registered (a NodalColumn), else None
        self.effective_for: NodalColumn | None = None
        self.column_generator: torch.Generator | None = None
        self.column_seed = 0
        #: digital correction of the column's output, (gain, offset) in normalized units: the
        #: back end computes (s_out - offset) / gain; None = uncorrected
        self.correction: tuple[float, float] | None = None
        self.line_fit: LineFit | None = None
        self.stop_after = False
        self.captured: list[torch.Tensor] | None = None
        self.recorder: PsumStats | None = None

    # -- quantization helpers -------------------------------------------------------------------
    @property
    def act_levels(self) -> int:
        return 2 ** self.spec.act_bits - 1 if not self.act_signed else 2 ** (self.spec.act_bits - 1) - 1

    def act_scale(self) -> float:
        amax = float(self.act_max)
        if not np.isfinite(amax) or amax <= 0:
            return 1.0
        return amax / self.act_levels

    def quantize_input(self, x: torch.Tensor, channels: int = 0, channels_last: bool = False) -> torch.Tensor:
        """Integer input levels (as float) of ``x``; ``channels`` > C: written into a tensor of that
        many channels whose extra ones are zero (the channel-group convolution's padding, without a
        copy); ``channels_last``: that tensor in NHWC memory order (same values)."""
        s = self.act_scale()
        low = -self.act_levels if self.act_signed else 0
        if channels > x.shape[1] or channels_last:
            fmt = torch.channels_last if channels_last else torch.contiguous_format
            out = torch.empty((x.shape[0], max(channels, x.shape[1]), *x.shape[2:]), dtype=x.dtype,
                              device=x.device, memory_format=fmt)
            out[:, x.shape[1]:].zero_()
            torch.div(x, s, out=out[:, :x.shape[1]])
            return out.round_().clamp_(low, self.act_levels)
        return torch.div(x, s).round_().clamp_(low, self.act_levels)  # one new tensor, not three

    def weight_float(self, scaled: bool = True) -> torch.Tensor:
        """The quantized weights in float units (integer units unless ``scaled``), in the module's own layout."""
        w = self.w_int * self.w_scale if scaled else self.w_int
        if self.is_conv:
            cout = self.out_features
            kh, kw = self.kernel_size
            return w.reshape(cout, kh, kw, -1).permute(0, 3, 1, 2).contiguous()
        return w

    # -- partial sums -------------------------------------------------------------------------
    def partial_sums(self, plane: torch.Tensor, index: int | None, offset: float = 0.0,
                     effective: bool = False) -> torch.Tensor:
        """Partial sums of every sub-array for one input plane and weight slice, ``(N, S, Cout, ...)``
        (contiguous), plus ``offset`` (added inside the convolution or matmul: exact for integer sums
        below 2^23). ``index=None``: every slice at once, ``(N, S, K, Cout, ...)`` (``w_all``).
        ``effective``: with the weights as the column delivers them (a :class:`NodalColumn`'s IR drop;
        one slice at a time)."""
        if effective:
            wsub = getattr(self, f"w_eff{index}")
        else:
            wsub = getattr(self, "w_all" if index is None else f"w_sub{index}")
        k = len(self.slice_factors) if index is None else 1
        cout = self.out_features * k
        n = plane.shape[0]
        head = (n, self.subarrays, self.out_features) if index is not None else \
            (n, self.subarrays, k, self.out_features)
        if self.mapping == "channel_group":
            pad_ch = self.subarrays * self.group - plane.shape[1]
            if pad_ch:
                plane = F.pad(plane, (0, 0, 0, 0, 0, pad_ch))
            bias = None if offset == 0 else torch.full((wsub.shape[0],), offset, dtype=plane.dtype, device=plane.device)
            out = F.conv2d(plane, wsub, bias, self.stride, self.padding, self.dilation, groups=self.subarrays)
            return out.view(*head, *out.shape[2:])
        if self.is_conv:  # NeuroSim's layout: rows ordered kernel position first, then channel
            c, h, w = plane.shape[1:]
            cols = F.unfold(plane, self.kernel_size, self.dilation, self.padding, self.stride)  # (N, C*kk, L)
            length = cols.shape[-1]
            if self.kk > 1:
                cols = cols.view(n, c, self.kk, length).transpose(1, 2).reshape(n, self.kk * c, length)
            ho = (h + 2 * self.padding[0] - self.dilation[0] * (self.kernel_size[0] - 1) - 1) // self.stride[0] + 1
            wo = (w + 2 * self.padding[1] - self.dilation[1] * (self.kernel_size[1] - 1) - 1) // self.stride[1] + 1
            spatial: tuple[int, ...] = (ho, wo)
        else:
            cols = plane.reshape(n, -1, 1)
            length, spatial = 1, ()
        pad = self.subarrays * self.rows - self.in_rows
        if pad:
            cols = F.pad(cols, (0, 0, 0, pad))
        # one grouped matmul over sub-arrays: (S, Cout, R) @ (S, R, N*L); a broadcast matmul would
        # copy the weights once per image
        x = cols.view(n, self.subarrays, self.rows, length).permute(1, 2, 0, 3).reshape(self.subarrays, self.rows, -1)
        if offset == 0:
            out = torch.bmm(wsub, x)
        else:
            out = torch.baddbmm(torch.full((), offset, dtype=x.dtype, device=x.device), wsub, x)
        out = out.view(self.subarrays, cout, n, length).permute(2, 0, 1, 3).contiguous()
        return out.view(*head, *spatial)

    def layer_sums(self, plane: torch.Tensor, offset: float = 0.0) -> torch.Tensor:
        """The layer's whole output for one input plane (one weight slice), ``(N, 1, Cout, ...)``, plus
        ``offset`` (see :meth:`partial_sums`)."""
        w = self.weight_float(scaled=False)
        bias = None if offset == 0 else torch.full((w.shape[0],), offset, dtype=plane.dtype, device=plane.device)
        if self.is_conv:
            out = F.conv2d(plane, w, bias, self.stride, self.padding, self.dilation)
        else:
            out = F.linear(plane.reshape(plane.shape[0], -1), w, bias)
        return out.unsqueeze(1)

    def input_energy(self, plane: torch.Tensor) -> torch.Tensor:
        """``sum_i x_i^2`` over each sub-array's rows for every read, shaped to broadcast against
        :meth:`partial_sums` (the output-channel axis of size 1)."""
        sq = plane * plane
        n = plane.shape[0]
        if self.mapping == "channel_group":
            pad_ch = self.subarrays * self.group - sq.shape[1]
            if pad_ch:
                sq = F.pad(sq, (0, 0, 0, 0, 0, pad_ch))
            ones = torch.ones(self.subarrays, self.group, *self.kernel_size, dtype=sq.dtype, device=sq.device)
            out = F.conv2d(sq, ones, None, self.stride, self.padding, self.dilation, groups=self.subarrays)
            return out.unsqueeze(2)
        if self.is_conv:
            cols = F.unfold(sq, self.kernel_size, self.dilation, self.padding, self.stride)  # (N, C*kk, L)
            c = sq.shape[1]
            if self.kk > 1:
                cols = cols.view(n, c, self.kk, -1).transpose(1, 2).reshape(n, self.kk * c, -1)
            pad = self.subarrays * self.rows - self.in_rows
            if pad:
                cols = F.pad(cols, (0, 0, 0, pad))
            ho_wo = [(sq.shape[2 + k] + 2 * self.padding[k] - self.dilation[k] * (self.kernel_size[k] - 1) - 1)
                     // self.stride[k] + 1 for k in (0, 1)]
            return cols.view(n, self.subarrays, self.rows, -1).sum(2).view(n, self.subarrays, 1, *ho_wo)
        flat = sq.reshape(n, -1)
        pad = self.subarrays * self.rows - self.in_rows
        if pad:
            flat = F.pad(flat, (0, pad))
        return flat.view(n, self.subarrays, self.rows).sum(2).unsqueeze(2)

    def _convert(self, psum: torch.Tensor, x_max: float, plane: torch.Tensor | None = None,
                 ideal: torch.Tensor | None = None) -> torch.Tensor:
        """``psum`` through the column (if any), its digital correction and the ADC; ``ideal``: the
        ideal partial sums when ``psum`` already holds the column's deterministic error (effective weights)."""
        if self.column is not None:
            norm = self.rows * self.slice_max * x_max
            s = psum / norm
            out = self.column.transfer(s)
            col = self.column
            if col.noise_sigma > 0 or col.sigma_g_rel > 0:
                gen = self.column_generator
                if gen is None or gen.device != s.device:
                    gen = self.column_generator = torch.Generator(device=s.device).manual_seed(self.column_seed)
                sigma = torch.full((), col.noise_sigma, dtype=s.dtype, device=s.device)
                if col.sigma_g_rel > 0:
                    energy = self.input_energy(plane) / (x_max * x_max)  # sum_i u_i^2 per sub-array read
                    sigma = torch.sqrt(sigma**2 + (col.sigma_g_rel / self.rows) ** 2 * 2 * energy)
                out = out + sigma * torch.randn(s.shape, generator=gen, device=s.device)
            if self.line_fit is not None:
                self.line_fit.add(s if ideal is None else ideal / norm, out)
            if self.correction is not None:
                gain, offset = self.correction
                out = (out - offset) / gain
            psum = out * norm
        if self.recorder is not None:
            self.recorder.add(psum)
        if self.adc is not None:
            psum = self.adc(psum)
        return psum

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.observe_inputs:
            self._observe(x)
            if self.captured is not None:
                self.captured.append(x.detach())
            if self.stop_after:
                raise StopForward
        scale = self.w_scale * self.act_scale()
        plain = self.adc is None and self.column is None and self.recorder is None
        one_read = not plain and self.spec.input_mode == "analog" and len(self.slice_factors) == 1
        channels, nhwc = self.one_read_layout(x) if one_read else (0, False)
        x_int = self.quantize_input(x, channels, channels_last=nhwc)
        if plain:  # ideal conversion: the sum over sub-arrays is exact, one float op suffices
            w = self.weight_float() / self.w_scale
            if self.is_conv:
                out = F.conv2d(x_int, w, None, self.stride, self.padding, self.dilation)
            else:
                out = F.linear(x_int.reshape(x.shape[0], -1), w)
        elif nhwc:
            out = self._one_read_nhwc(x_int)
        elif one_read:
            out = self._one_read(x_int)
        elif self.column is None and self.recorder is None and self.line_fit is None:
            out = self._batched_reads(x_int)
        else:  # a random column or a recorder: one read at a time, in the order their streams expect
            out = self._read_by_read(x_int)
        out.mul_(scale)  # in place: `out` is a new tensor of this call
        if self.bias is not None:
            out.add_(self.bias.view(1, -1, 1, 1) if self.is_conv else self.bias)
        if self.stop_after:
            raise StopForward
        return out

    def one_read_layout(self, x: torch.Tensor) -> tuple[int, bool]:
        """The one-read path's quantized input for ``x``: the channels it is padded to (a channel-group layer
        converting per sub-array pads to whole sub-arrays; 0: not padded) and whether it is channels-last
        (padded, 4-D, with the fused lookup: :meth:`_one_read_nhwc`)."""
        padded = self.mapping == "channel_group" and self.spec.conversion == "subarray"
        nhwc = padded and x.dim() == 4 and self._fused_lookup() is not None
        return (self.subarrays * self.group if padded else 0), nhwc

    def _fused_lookup(self) -> LookupConverter | None:
        """The converter when it is a lookup table applied straight to the partial sums (no column,
        no recorder): its index offset is then added inside the matmul or convolution."""
        adc = self.adc
        # half-integer sums are exact in float32 below 2^23 whatever order the matmul adds them in
        if isinstance(adc, LookupConverter) and self.column is None and self.recorder is None and \
                self.psum_bound + abs(adc.offset) < 2**23:
            return adc
        return None

    def _one_read(self, x_int: torch.Tensor) -> torch.Tensor:
        """Analog inputs, one weight slice: one grouped convolution or matmul gives every partial
        sum, one converter call converts them all, one sum adds the sub-arrays."""
        lut = self._fused_lookup()
        offset = lut.offset if lut is not None else 0.0
        psums, ideal = self._reads(x_int, 0, offset)
        if lut is not None:  # clamp, index, lookup and the sum over sub-arrays in one pass
            return lookup_sum(psums, lut.table)
        part = self._convert(psums, float(self.act_levels), x_int, ideal)
        if part.shape[1] > 1:
            return part.sum(1)
        # forward scales the result in place: a converter may hand back (a view of) its input
        return part.squeeze(1).clone()

    def _one_read_nhwc(self, x_int: torch.Tensor) -> torch.Tensor:
        """:meth:`_one_read` of a channel-group convolution with a lookup converter, in NHWC memory
        order: the grouped convolution runs at about the float convolution's speed there (oneDNN on a
        CPU; 1.3-3.5x slower in NCHW for group sizes of 8-13 channels), its output viewed as
        ``(pixels, S, Cout)`` is contiguous for the lookup and the sum over sub-arrays, and the result
        is a channels-last ``(N, Cout, H, W)`` tensor. Same integer partial sums, same lookup, same
        order of the sum: the same values as :meth:`_one_read`."""
        lut = self._fused_lookup()
        wsub = self.w_sub0
        bias = torch.full((wsub.shape[0],), lut.offset, dtype=x_int.dtype, device=x_int.device)
        out = F.conv2d(x_int, wsub, bias, self.stride, self.padding, self.dilation, groups=self.subarrays)
        n, _, h, w = out.shape
        cout = self.out_features
        if not out.is_contiguous(memory_format=torch.channels_last):  # a backend that kept NCHW
            return lookup_sum(out.reshape(n, self.subarrays, cout, h, w), lut.table)
        psums = out.permute(0, 2, 3, 1).reshape(n * h * w, self.subarrays, cout)  # a view: no copy
        return lookup_sum(psums, lut.table).view(n, h, w, cout).permute(0, 3, 1, 2)

    def _batched_reads(self, x_int: torch.Tensor) -> torch.Tensor:
        """Bit-serial inputs and/or weight slices without a random column or a recorder: every input
        bit plane stacked along the batch, every slice in one weight tensor, one converter call for all
        reads, then the shifts and the adds."""
        n = x_int.shape[0]
        planes, factors_in, x_max = self._stacked_planes(x_int)
        k = len(self.slice_factors)
        whole = self.spec.conversion == "layer"
        lut = self._fused_lookup() if not (whole and k > 1) else None
        offset = lut.offset if lut is not None else 0.0
        if whole and k == 1:
            psums = self.layer_sums(planes, offset)
        else:
            psums = self.partial_sums(planes, 0 if k == 1 else None, offset)
            if whole:
                psums = psums.sum(1, keepdim=True)
        # (Z*N, [K,] Cout, ...)
        part = lookup_sum(psums, lut.table) if lut is not None else self._convert(psums, x_max, planes).sum(1)
        factors = torch.tensor(factors_in, dtype=part.dtype, device=part.device)
        if k > 1:
            factors = factors[:, None] * torch.tensor(self.slice_factors, dtype=part.dtype, device=part.device)
        part = part.view(len(factors_in), n, *part.shape[1:])
        factors = factors.view(len(factors_in), 1, *([k] if k > 1 else []), *([1] * (part.dim() - 2 - (k > 1))))
        out = part * factors
        return out.sum(0).sum(1) if k > 1 else out.sum(0)

    def _read_by_read(self, x_int: torch.Tensor) -> torch.Tensor:
        """One read (input plane x weight slice) at a time: the column noise stream and the
        recorder's subsample see the reads in this order."""
        out = None
        for factor_in, plane, x_max in self._input_planes(x_int):
            for i, factor_w in enumerate(self.slice_factors):
                psums, ideal = self._reads(plane, i)
                part = self._convert(psums, x_max, plane, ideal).sum(1)
                if factor_in * factor_w != 1.0:
                    part = part * (factor_in * factor_w)
                out = part if out is None else out + part
        return out

    def _reads(self, plane: torch.Tensor, index: int, offset: float = 0.0) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One read's sums as the converter sees them and, when they carry a :class:`NodalColumn`'s
        deterministic error (effective weights) and a line fit is running, the ideal sums beside them."""
        whole = self.spec.conversion == "layer"
        ideal = None
        if self.effective_for is not None and self.column is self.effective_for:
            psums = self.partial_sums(plane, index, offset, effective=True)  # evaluate rejects conversion='layer'
            if self.line_fit is not None:
                ideal = self.partial_sums(plane, index, offset)
        elif whole and len(self.slice_factors) == 1:
            psums = self.layer_sums(plane, offset)
        else:
            psums = self.partial_sums(plane, index, offset)
        if whole and psums.shape[1] != 1:
            psums = psums.sum(1, keepdim=True)
            ideal = None if ideal is None else ideal.sum(1, keepdim=True)
        return psums, ideal

    def _stacked_planes(self, x_int: torch.Tensor) -> tuple[torch.Tensor, list[float], float]:
        """Every read's input plane stacked along the batch ``(Z*N, ...)``, the factors ``2^z`` and
        the plane maximum (see :meth:`_input_planes`)."""
        if self.spec.input_mode == "analog":
            return x_int, [1.0], float(self.act_levels)
        z = self.spec.act_bits
        shape = (z,) + (1,) * x_int.dim()
        powers = (2.0 ** torch.arange(z, dtype=x_int.dtype, device=x_int.device)).view(shape)
        bits = torch.remainder(torch.div(x_int.abs().unsqueeze(0), powers, rounding_mode="floor"), 2)
        bits = bits * torch.sign(x_int)
        return bits.reshape(z * x_int.shape[0], *x_int.shape[1:]), [float(2**i) for i in range(z)], 1.0

    def _observe(self, x: torch.Tensor) -> None:
        amax = x.detach().abs().max() if x.numel() else torch.tensor(0.0)
        if bool((x < 0).any()):
            self.act_signed = True
        self.act_max = torch.nan_to_num(torch.maximum(self.act_max, amax), nan=float(amax))

    def _input_planes(self, x_int: torch.Tensor) -> Iterator[tuple[float, torch.Tensor, float]]:
        """``(factor, plane, plane maximum)`` per read: one analog read, or one per input bit."""
        if self.spec.input_mode == "analog":
            yield 1.0, x_int, float(self.act_levels)
            return
        mag, sign = x_int.abs(), torch.sign(x_int)
        for z in range(self.spec.act_bits):
            bit = torch.remainder(torch.div(mag, 2**z, rounding_mode="floor"), 2)
            yield float(2**z), bit * sign, 1.0


def map_to_cim(model: nn.Module, spec: CimSpec) -> nn.Module:
    """A copy of ``model`` (eval mode) whose convolutions and linear layers are :class:`CimLayer`.

    A channel-group convolution with a lookup converter returns its output in channels-last memory order
    (the same shape and values; its grouped convolution runs at about the float one's speed there): a model
    that flattens activations with ``Tensor.view`` must use ``flatten`` or ``reshape`` instead."""
    cim = copy.deepcopy(model).eval()
    for name, module in list(cim.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, (nn.Conv2d, nn.Linear)):
                full = f"{name}.{child_name}" if name else child_name
                setattr(module, child_name, CimLayer(child, spec, full))
    return cim


def cim_layers(model: nn.Module) -> list[CimLayer]:
    """The CIM layers of a mapped model, in execution order of definition."""
    return [m for m in model.modules() if isinstance(m, CimLayer)]
