"""The converter fits ``memspice evaluate`` still has to make, and how long they take: the part of
its printed estimate that is not inference. The first fit of each kind is made (and timed) when the
estimate is printed, since the rows need it anyway; the others are projected from it by
:func:`fit_cost`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Protocol

#: a variation-aware fit at b bits costs a fixed part (its 100 iterations over the samples) plus a
#: part in proportion to its 2^b cells; the ratio from that fit of the default network's 8 layers
#: measured at 4 bits (12 s) and 6 bits (25 s) on the 2-core machine (issue 16). The other fits
#: (clipped: a search over 49 candidate ends; Lloyd-Max) are taken as costing the same at any bits.
FIXED_CELLS = 28.5

FitKey = tuple[str, int, float]


class _Fitter(Protocol):
    def fits(self, kind: str, bits: int, sigma: float = 0.0) -> dict: ...

    def has(self, kind: str, bits: int, sigma: float = 0.0) -> bool: ...


def fit_cost(kind: str, bits: int) -> float:
    """Relative cost of one fit of ``kind`` at ``bits`` (see :data:`FIXED_CELLS`)."""
    return FIXED_CELLS + 2**bits if kind == "variation_aware" else 1.0


def needed_fits(bits: Sequence[int], table_adcs: Iterable[str], design_sigma: float, spice_bits: Iterable[int],
                sweep_bits: Sequence[int], sweep_adcs: Iterable[str], sigmas: Sequence[float]) -> list[FitKey]:
    """Every fit the accuracy table, the SPICE rows and the variation sweep use, in the order they
    are first needed (a variation-aware fit after the Lloyd-Max fit it starts from)."""
    keys: list[FitKey] = []

    def need(kind: str, b: int, sigma: float = 0.0) -> None:
        if kind == "variation_aware":
            need("lloyd_max", b)
        key = (kind, b, float(sigma) if kind == "variation_aware" else 0.0)
        if key not in keys:
            keys.append(key)

    table_adcs, sweep_adcs = list(table_adcs), list(sweep_adcs)
    for b in bits:
        for kind in table_adcs:
            need(kind, b, design_sigma)
    for b in spice_bits:
        need("lloyd_max", b)
    for b in sweep_bits:
        need("lloyd_max", b)
        for sigma in sigmas:
            if "variation_aware" in sweep_adcs:
                need("variation_aware", b, sigma)
        if "uniform_clipped" in sweep_adcs:
            need("uniform_clipped", b)
    return keys


def fit_estimate(fitter: _Fitter, keys: Iterable[FitKey]) -> tuple[float, int]:
    """``(seconds, fits)`` for the fits of ``keys`` not yet made: the first of each kind is made now
    and its time counted, the others are projected from it by :func:`fit_cost`."""
    todo = [k for k in keys if not fitter.has(*k)]
    measured: dict[str, tuple[float, int]] = {}
    total = 0.0
    for kind, bits, sigma in todo:
        if kind in measured:
            seconds, b0 = measured[kind]
            total += seconds * fit_cost(kind, bits) / fit_cost(kind, b0)
            continue
        t0 = time.monotonic()
        fitter.fits(kind, bits, sigma)
        measured[kind] = (time.monotonic() - t0, bits)
        total += measured[kind][0]
    return total, len(todo)
