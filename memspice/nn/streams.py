"""Streams a CIM layer feeds while the network runs: partial-sum statistics (min/max and a random
subsample, for fitting converters), an exact streaming line fit (the column's gain and offset for the
digital correction), and the exception that ends a calibration pass early."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


class StopForward(Exception):
    """Raised by a layer to end a calibration pass early (the layers after it are not needed)."""


@dataclass
class LineFit:
    """Exact streaming least squares ``y = gain * x + offset`` (float64 sums)."""

    n: float = 0.0
    sx: float = 0.0
    sy: float = 0.0
    sxx: float = 0.0
    sxy: float = 0.0

    def add(self, x: torch.Tensor, y: torch.Tensor) -> None:
        x, y = x.detach().double().reshape(-1), y.detach().double().reshape(-1)
        self.n += x.numel()
        self.sx += float(x.sum())
        self.sy += float(y.sum())
        self.sxx += float((x * x).sum())
        self.sxy += float((x * y).sum())

    def solve(self) -> tuple[float, float]:
        det = self.n * self.sxx - self.sx**2
        if self.n < 2 or det <= 0:
            return 1.0, 0.0
        gain = (self.n * self.sxy - self.sx * self.sy) / det
        return gain, (self.sy - gain * self.sx) / self.n


@dataclass
class PsumStats:
    """Streaming statistics of one layer's partial sums: exact min/max and a random subsample."""

    capacity: int
    per_batch: int
    generator: torch.Generator
    minimum: float = float("inf")
    maximum: float = float("-inf")
    count: int = 0
    zeros: int = 0
    chunks: list[np.ndarray] = field(default_factory=list)

    def add(self, psum: torch.Tensor) -> None:
        flat = psum.detach().reshape(-1)
        self.minimum = min(self.minimum, float(flat.min()))
        self.maximum = max(self.maximum, float(flat.max()))
        self.count += flat.numel()
        self.zeros += int((flat == 0).sum())
        k = min(self.per_batch, flat.numel())
        idx = torch.randint(0, flat.numel(), (k,), generator=self.generator).to(flat.device)
        self.chunks.append(flat[idx].double().cpu().numpy())

    def samples(self) -> np.ndarray:
        x = np.concatenate(self.chunks) if self.chunks else np.zeros(0)
        if x.size > self.capacity:
            x = np.random.default_rng(0).choice(x, self.capacity, replace=False)
        return x
