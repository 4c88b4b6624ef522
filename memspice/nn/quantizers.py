"""ADC models: how an n-bit converter turns a partial sum into one of 2^n output levels.

An :class:`AdcFit` is one layer's converter: ascending internal boundaries ``b_1 .. b_{L-1}``
(``L = 2^n``), the output level of every cell and the end boundaries ``b_0``, ``b_L`` whose
difference is the boundary range that variation is measured against. Cell ``k`` is
``[b_k, b_{k+1})``; inputs outside ``[b_0, b_L)`` fall into the end cells. The code of an input is
the number of internal boundaries at or below it (a flash converter's thermometer count), which
stays defined when variation makes two boundaries cross.

Fitting is numpy (on calibration samples); applying is torch (:func:`quantize`,
:func:`super_resolution`), vectorised and device-agnostic.

- ``uniform_minmax``: the paper's uniform baseline as the authors' code builds it (MIKEHHQ/ReADC,
  ``ReADC/adaptive_optimization.py``, ``linear_quantization_boundaries``, applied by
  ``ReADC/readc_quantizer.py``, ``adaptive_quantize``): a fixed per-layer ``[min, max]``,
  ``np.linspace(min, max, 2^n)`` gives ``2^n - 1`` equal cells of ``step = (max - min) / (2^n - 1)``
  whose outputs are the cell CENTRES, and the last code (inputs at or above ``max``) outputs ``max``.
  NeuroSim's ``LinearQuantizeOut`` (lower bin edge, range per call) is deliberately not offered: it is
  sound only inside NeuroSim's own offset-weight, dummy-column, bit-serial mapping (docs/nn.md);
- ``uniform_clipped``: a uniform grid on a clipped range chosen to minimise the mean squared error
  on the calibration samples (CrossSim-style calibration), outputs at bin centres;
- ``lloyd_max``: the authors' per-layer Lloyd-Max (DOMAIN.md section 4); preprocessing ``clip``
  (samples clipped to the 0.5-99.5 percentiles, iterated to convergence) or ``filter`` (the authors'
  batch code, ReADC ``optimize_quantization_boundaries``: samples outside the percentiles dropped, at
  most 8000 kept, then the raw minimum and maximum appended, and their ``lloyd_max_algorithm``
  iteration, :func:`lloyd_max_readc`);
- ``variation_aware``: boundaries and levels minimising the EXPECTED squared error when every
  internal boundary moves by ``e ~ N(0, (sigma * range)^2)`` truncated at 2 sigma.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np

from memspice.errors import InputError, SpecError

LLOYD_CLIP_PERCENTILES = (0.5, 99.5)
LLOYD_MAX_SAMPLES = 8000
LLOYD_REL_TOL = 1e-6
LLOYD_MAX_ITER = 20_000
TRUNCATION = 2.0


@dataclass(frozen=True)
class AdcFit:
    """One layer's n-bit converter (see the module docstring); values in partial-sum units."""

    kind: str
    bits: int
    boundaries: np.ndarray
    levels: np.ndarray
    lo: float
    hi: float
    iterations: int = 0

    def __post_init__(self) -> None:
        b = np.asarray(self.boundaries, dtype=np.float64)
        lv = np.asarray(self.levels, dtype=np.float64)
        n_levels = 2 ** self.bits
        if b.shape != (n_levels - 1,) or lv.shape != (n_levels,):
            raise SpecError("adc", (b.shape, lv.shape), f"{n_levels - 1} boundaries and {n_levels} levels")
        object.__setattr__(self, "boundaries", b)
        object.__setattr__(self, "levels", lv)

    @property
    def range(self) -> float:
        """The boundary range ``b_L - b_0`` that variation sigmas are fractions of."""
        return float(self.hi - self.lo)

    def with_boundaries(self, boundaries: np.ndarray) -> AdcFit:
        """The same converter with moved internal boundaries (levels and ends unchanged)."""
        return replace(self, boundaries=np.asarray(boundaries, dtype=np.float64))

    def quantize_np(self, x: np.ndarray) -> np.ndarray:
        """Reference quantizer in numpy (sorted search over the boundaries, the cell's level)."""
        codes = np.searchsorted(np.sort(self.boundaries), x, side="right")
        return self.levels[codes]


def _check_bits(bits: int) -> None:
    if not 1 <= int(bits) <= 12:
        raise SpecError("bits", bits, "1 to 12 ADC bits")


def _check_samples(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float64).ravel()
    if x.size < 2 or not np.all(np.isfinite(x)):
        raise InputError(f"ADC fit needs at least 2 finite samples; got {x.size} (finite: {np.isfinite(x).sum()})")
    return x


# -- uniform -----------------------------------------------------------------------------------


def uniform_minmax(lo: float, hi: float, bits: int) -> AdcFit:
    """The authors' uniform converter on ``[lo, hi]`` (ReADC ``linear_quantization_boundaries``):
    boundaries ``linspace(lo, hi, 2^n)[1:]``, outputs at the centres of the ``2^n - 1`` cells and
    ``hi`` for the last code (inputs at or above ``hi``)."""
    _check_bits(bits)
    n = 2 ** bits
    points = np.linspace(lo, hi, n)
    levels = np.concatenate([(points[:-1] + points[1:]) / 2, [hi]])
    return AdcFit("uniform_minmax", bits, points[1:], levels, float(lo), float(hi))


def fit_uniform_minmax(samples: np.ndarray, bits: int) -> AdcFit:
    x = _check_samples(samples)
    return uniform_minmax(float(x.min()), float(x.max()), bits)


def uniform_centered(lo: float, hi: float, bits: int, kind: str = "uniform_clipped") -> AdcFit:
    """A uniform grid on ``[lo, hi]`` with outputs at bin centres (values outside clamp to the end bins)."""
    _check_bits(bits)
    n = 2 ** bits
    edges = np.linspace(lo, hi, n + 1)
    return AdcFit(kind, bits, edges[1:-1], (edges[:-1] + edges[1:]) / 2, float(lo), float(hi))


def _uniform_mse(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, n: int) -> np.ndarray:
    """MSE of centred uniform quantizers ``[lo_i, hi_i]`` on samples ``x`` (vectorised over i)."""
    step = (hi - lo) / n
    out = np.empty(len(lo))
    for i in range(len(lo)):
        if step[i] <= 0:
            out[i] = np.inf
            continue
        k = np.clip(np.floor((x - lo[i]) / step[i]), 0, n - 1)
        out[i] = np.mean((x - (lo[i] + (k + 0.5) * step[i])) ** 2)
    return out


def fit_uniform_clipped(samples: np.ndarray, bits: int, *, max_samples: int = 50_000,
                        rng: np.random.Generator | None = None) -> AdcFit:
    """Uniform grid on the MSE-optimal clipped range of the calibration samples.

    Coordinate search over candidate ends at the samples' quantiles (tail fractions from 0 to 30 %
    on a log scale), three rounds alternating the lower and the upper end, starting from min/max.
    """
    _check_bits(bits)
    x = _check_samples(samples)
    rng = rng if rng is not None else np.random.default_rng(0)
    if x.size > max_samples:
        x = rng.choice(x, max_samples, replace=False)
    n = 2 ** bits
    tails = np.concatenate([[0.0], np.geomspace(1e-5, 0.3, 48)])
    lo_cand = np.quantile(x, tails)
    hi_cand = np.quantile(x, 1 - tails)
    lo, hi = lo_cand[0], hi_cand[0]
    for _ in range(3):
        mse = _uniform_mse(x, lo_cand, np.full_like(lo_cand, hi), n)
        lo = lo_cand[int(np.argmin(mse))]
        mse = _uniform_mse(x, np.full_like(hi_cand, lo), hi_cand, n)
        hi = hi_cand[int(np.argmin(mse))]
    if hi <= lo:
        hi = lo + max(abs(lo), 1.0) * 1e-9
    return uniform_centered(float(lo), float(hi), bits)


# -- Lloyd-Max -----------------------------------------------------------------------------------


LLOYD_PREPROCESS = ("clip", "filter")


def lloyd_max_prepare(samples: np.ndarray, rng: np.random.Generator,
                      max_samples: int = LLOYD_MAX_SAMPLES, preprocess: str = "clip",
                      extremes: tuple[float, float] | None = None) -> np.ndarray:
    """Samples for Lloyd-Max, sorted. ``clip``: clipped to the 0.5-99.5 percentiles, subsampled to at
    most 8000. ``filter`` (the authors' batch code, ReADC ``optimize_quantization_boundaries``): only
    samples inside the percentiles kept, subsampled to at most 8000, then the raw min and max appended
    (so the fit's ends are the layer's full range). ``extremes``: the data's exact (min, max) to
    append when ``samples`` is a subsample of it (the authors take them from the whole data file)."""
    x = _check_samples(samples)
    lo, hi = np.percentile(x, LLOYD_CLIP_PERCENTILES)
    if preprocess == "clip":
        x_in = np.clip(x, lo, hi)
    elif preprocess == "filter":
        x_in = x[(x >= lo) & (x <= hi)]
    else:
        raise SpecError("lloyd_preprocess", preprocess, "clip or filter")
    if x_in.size > max_samples:
        x_in = rng.choice(x_in, max_samples, replace=False)
    if preprocess == "filter":
        lo_x, hi_x = (x.min(), x.max()) if extremes is None else extremes
        x_in = np.concatenate([x_in, [lo_x, hi_x]])
    return np.sort(x_in)


def _lloyd_start(x_sorted: np.ndarray, bits: int):
    """What both Lloyd-Max iterations start from: the samples (float64), their min and max, prefix sums
    of x and x^2 (a cell's count, sum and MSE from two lookups) and uniform edges on [min, max]."""
    _check_bits(bits)
    x = np.asarray(x_sorted, dtype=np.float64)
    lo, hi = float(x[0]), float(x[-1])
    cs1 = np.concatenate([[0.0], np.cumsum(x)])
    cs2 = np.concatenate([[0.0], np.cumsum(x * x)])
    return x, lo, hi, cs1, cs2, np.linspace(lo, hi, 2 ** bits + 1)


def lloyd_max_iterate(x_sorted: np.ndarray, bits: int, *, rel_tol: float = LLOYD_REL_TOL,
                      max_iter: int = LLOYD_MAX_ITER) -> AdcFit:
    """Lloyd-Max on sorted samples: uniform boundaries on [min, max], then levels = cell means and
    boundaries = midpoints of neighbouring levels until the relative MSE change is below ``rel_tol``."""
    x, lo, hi, cs1, cs2, edges = _lloyd_start(x_sorted, bits)
    internal = edges[1:-1]
    levels = (edges[:-1] + edges[1:]) / 2
    mse_prev = np.inf
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (the count is reported)
        cut = np.searchsorted(x, internal, side="left")  # samples below b_k belong to cells < k
        bounds = np.concatenate([[0], cut, [x.size]])
        cnt = np.diff(bounds)
        s1 = cs1[bounds[1:]] - cs1[bounds[:-1]]
        s2 = cs2[bounds[1:]] - cs2[bounds[:-1]]
        full_edges = np.concatenate([[lo], internal, [hi]])
        mid = (full_edges[:-1] + full_edges[1:]) / 2
        levels = np.where(cnt > 0, s1 / np.maximum(cnt, 1), mid)  # an empty cell keeps its centre
        mse = float(np.sum(s2 - 2 * levels * s1 + cnt * levels**2) / x.size)
        internal = (levels[:-1] + levels[1:]) / 2
        if mse == 0 or (np.isfinite(mse_prev) and abs(mse_prev - mse) / mse_prev < rel_tol):
            break
        mse_prev = mse
    return AdcFit("lloyd_max", bits, internal, levels, lo, hi, iterations=it)


READC_MIN_ITER, READC_MAX_ITER = 100, 500


def lloyd_max_readc(x_sorted: np.ndarray, bits: int, *, min_iter: int = READC_MIN_ITER,
                    max_iter: int = READC_MAX_ITER, rel_tol: float = LLOYD_REL_TOL) -> AdcFit:
    """The authors' iteration, step for step (MIKEHHQ/ReADC, ``ReADC/adaptive_optimization.py``,
    ``lloyd_max_algorithm``): uniform boundaries on ``[min, max]``; per iteration every cell
    ``[b_i, b_{i+1})`` (so the sample equal to ``max`` is in no cell) takes the mean of its samples or,
    when empty, keeps its previous level; boundaries are the midpoints of neighbouring levels with the
    ends fixed at ``min``, ``max``; stop when the relative MSE change is below ``rel_tol`` but not before
    iteration ``min_iter`` (100), and after at most ``max_iter`` (500). On stopping the fit is the one
    the convergence test was made against (the authors return before updating). Their 60 s time limit
    is left out (it binds only on a slow machine; a wall-time limit would make the fit depend on load)."""
    x, lo, hi, cs1, cs2, edges = _lloyd_start(x_sorted, bits)
    levels = (edges[:-1] + edges[1:]) / 2
    mse = np.inf
    it = 0
    while it < max_iter:
        at = np.searchsorted(x, edges, side="left")  # samples below each edge
        cnt = np.maximum(at[1:] - at[:-1], 0)  # [b_i, b_{i+1}): an inverted cell is empty
        lo_i, hi_i = at[:-1], np.maximum(at[1:], at[:-1])
        s1, s2 = cs1[hi_i] - cs1[lo_i], cs2[hi_i] - cs2[lo_i]
        new_levels = np.where(cnt > 0, s1 / np.maximum(cnt, 1), levels)
        mse_new = float(np.sum(np.where(cnt > 0, s2 - 2 * new_levels * s1 + cnt * new_levels**2, 0.0)) / x.size)
        if it >= min_iter and abs(mse - mse_new) / (mse + 1e-10) < rel_tol:
            break
        edges = np.concatenate([[lo], (new_levels[:-1] + new_levels[1:]) / 2, [hi]])
        levels, mse = new_levels, mse_new
        it += 1
    return AdcFit("lloyd_max", bits, edges[1:-1], levels, lo, hi, iterations=it)


def fit_lloyd_max(samples: np.ndarray, bits: int, *, rng: np.random.Generator | None = None,
                  preprocess: str = "clip", extremes: tuple[float, float] | None = None,
                  schedule: str | None = None) -> AdcFit:
    """Per-layer Lloyd-Max as DOMAIN.md section 4 describes (see :func:`lloyd_max_prepare`).
    ``schedule``: ``converge`` (:func:`lloyd_max_iterate`) or ``readc`` (:func:`lloyd_max_readc`, the
    authors' iteration); by default ``readc`` with the authors' ``filter`` preprocessing (their batch
    code runs their iteration) and ``converge`` with ``clip``."""
    rng = rng if rng is not None else np.random.default_rng(0)
    schedule = schedule or ("readc" if preprocess == "filter" else "converge")
    if schedule not in ("converge", "readc"):
        raise SpecError("lloyd_schedule", schedule, "converge or readc")
    x = lloyd_max_prepare(samples, rng, preprocess=preprocess, extremes=extremes)
    return lloyd_max_readc(x, bits) if schedule == "readc" else lloyd_max_iterate(x, bits)


# -- variation ---------------------------------------------------------------------------------


def truncated_normal(rng: np.random.Generator, shape: tuple[int, ...] | int, limit: float = TRUNCATION) -> np.ndarray:
    """Standard normal samples truncated at +/- ``limit`` (rejection sampling)."""
    z = rng.standard_normal(shape)
    bad = np.abs(z) > limit
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > limit
    return z


def perturb(fit: AdcFit, sigma: float, z: np.ndarray) -> AdcFit:
    """The paper's variation model: ``b_i += z_i * sigma * range`` for internal boundaries, with
    ``z`` standard truncated-normal draws (:func:`truncated_normal`); end boundaries unchanged."""
    z = np.asarray(z, dtype=np.float64)
    if z.shape != fit.boundaries.shape:
        raise SpecError("z", z.shape, f"{fit.boundaries.shape[0]} draws (one per internal boundary)")
    return fit.with_boundaries(fit.boundaries + z * sigma * fit.range)


def _trunc_cdf(t, scale: float, limit: float = TRUNCATION):
    """CDF of N(0, scale^2) truncated at +/- limit*scale (torch)."""
    import torch

    lim = torch.tensor(limit, dtype=t.dtype)
    phi = torch.special.ndtr
    lo, hi = phi(-lim), phi(lim)
    return ((phi(t / scale) - lo) / (hi - lo)).clamp(0.0, 1.0)


def expected_mse(samples: np.ndarray, fit: AdcFit, sigma: float) -> float:
    """Expected squared error of ``fit`` on ``samples`` under the variation model (see
    :func:`code_probabilities`); with ``sigma = 0`` it is the plain quantization MSE."""
    import torch

    x = np.array(samples, dtype=np.float64).ravel()
    if sigma <= 0:
        return float(np.mean((fit.quantize_np(x) - x) ** 2))
    xt = torch.from_numpy(x)
    p = code_probabilities(xt, torch.as_tensor(np.sort(fit.boundaries)), sigma * fit.range)
    return float((p * (xt[:, None] - torch.as_tensor(fit.levels)[None, :]) ** 2).sum(1).mean())


def code_probabilities(x, b, scale: float):
    """``P(code = k | x)``, shape ``(n, L)``, when every boundary ``b_i`` (ascending) moves by an
    independent truncated-normal error (standard deviation ``scale`` before truncation at 2 of it).

    The code counts the moved boundaries at or below ``x``: boundaries further than 2 ``scale`` below
    ``x`` always count, those further above never do, and the few in between are independent
    Bernoulli variables with ``p_i = F(x - b_i)``, whose sum is Poisson-binomial (dynamic programming
    over that window). Exact for the variation model, boundary crossings included.
    """
    import torch

    n, m = x.shape[0], b.shape[0]
    lim = TRUNCATION * scale
    bd = b.detach()
    first = torch.searchsorted(bd, x.detach() - lim)  # boundaries before this one surely count
    last = torch.searchsorted(bd, x.detach() + lim)  # boundaries from this one on surely do not
    width = int((last - first).max()) if n else 0
    probs = torch.zeros(n, m + 1, dtype=x.dtype)
    if width == 0:
        return probs.scatter_(1, first[:, None], 1.0)
    offs = torch.arange(width)
    idx = (first[:, None] + offs).clamp_max(m - 1)
    valid = (first[:, None] + offs) < last[:, None]
    p = torch.where(valid, _trunc_cdf(x[:, None] - b[idx], scale), torch.zeros((), dtype=x.dtype))
    zero = torch.zeros(n, 1, dtype=x.dtype)
    window = torch.cat([torch.ones(n, 1, dtype=x.dtype), torch.zeros(n, width, dtype=x.dtype)], 1)
    for j in range(width):
        pj = p[:, j:j + 1]
        window = window * (1 - pj) + torch.cat([zero, window[:, :-1]], 1) * pj
    cols = (first[:, None] + torch.arange(width + 1)).clamp_max(m)  # states past the window hold zero mass
    return probs.scatter_add(1, cols, window)


def fit_variation_aware(samples: np.ndarray, bits: int, sigma: float, *, rng: np.random.Generator | None = None,
                        iterations: int = 100, start: AdcFit | None = None) -> AdcFit:
    """Boundaries and levels minimising the expected squared error under boundary variation ``sigma``
    (a fraction of the boundary range, which stays the Lloyd-Max one: the ends are not moved).

    Same preprocessing as Lloyd-Max (clip 0.5-99.5 %, <= 8000 samples), started from the Lloyd-Max
    fit; then alternately levels = probability-weighted means of the samples (closed form, optimal
    for the current boundaries) and an Adam step on the boundaries through the exact expected error
    (:func:`code_probabilities`); the best iterate is kept. ``sigma = 0`` returns Lloyd-Max.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    x_np = lloyd_max_prepare(samples, rng)
    base = start if start is not None else lloyd_max_iterate(x_np, bits)
    if sigma <= 0:
        return replace(base, kind="variation_aware")
    # one torch thread: with two, this fit's float32 reductions gave a different result in each of three
    # processes on a loaded machine (session 9: the default study's variation-aware column moved by 0.5
    # points between two fresh-clone runs of the same stage key); with one it is the same every time
    with torch_threads(1):
        return _fit_variation_aware(x_np, bits, sigma, base, iterations)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op thread count set to ``n`` inside the block, the caller's restored after it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _fit_variation_aware(x_np: np.ndarray, bits: int, sigma: float, base: AdcFit, iterations: int) -> AdcFit:
    """:func:`fit_variation_aware`'s descent on the prepared samples ``x_np`` from ``base``."""
    import torch

    # float32 on samples centred and scaled by the range: 3x faster than float64, ample precision
    centre, span = base.lo, base.range
    x = torch.as_tensor((x_np - centre) / span, dtype=torch.float32)
    scale = sigma
    b = torch.tensor((base.boundaries - centre) / span, dtype=torch.float32, requires_grad=True)
    levels = torch.as_tensor((base.levels - centre) / span, dtype=torch.float32).clone()
    opt = torch.optim.Adam([b], lr=0.03 * scale)
    best = (np.inf, base.boundaries, base.levels)
    for _ in range(iterations):
        p = code_probabilities(x, b, scale)  # one evaluation serves the levels and the loss (same b)
        with torch.no_grad():
            pd = p.detach()
            w = pd.sum(0)
            levels = torch.where(w > 1e-12, (pd * x[:, None]).sum(0) / w.clamp_min(1e-12), levels)
        loss = (p * (x[:, None] - levels[None, :]) ** 2).sum(1).mean()
        if float(loss.detach()) < best[0]:
            best = (float(loss.detach()), b.detach().double().numpy() * span + centre,
                    levels.double().numpy() * span + centre)
        if not loss.requires_grad:
            break  # no sample lies within the variation window of any boundary: nothing to move
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            b.copy_(torch.sort(b.clamp(0.0, 1.0)).values)
    return AdcFit("variation_aware", bits, best[1], best[2], base.lo, base.hi, iterations=iterations)


# -- applying (torch) ---------------------------------------------------------------------------


def quantize(x, boundaries, levels):
    """Sorted search over ``boundaries`` (ascending, on x's device) and the cell's level."""
    import torch

    return levels[torch.bucketize(x, boundaries, right=True)]


def super_resolution(x, boundaries_a, boundaries_b, nominal, levels):
    """Two converters with the same nominal boundaries but independent errors: where their codes
    agree the output is that cell's level, where they disagree it is the nominal boundary between
    the two cells (``nominal[min(code_a, code_b)]``, the boundary above the lower cell)."""
    import torch

    ca = torch.bucketize(x, boundaries_a, right=True)
    cb = torch.bucketize(x, boundaries_b, right=True)
    low = torch.minimum(ca, cb).clamp_max(nominal.numel() - 1)
    return torch.where(ca == cb, levels[ca], nominal[low])


def bin_occupancy(samples: np.ndarray, fit: AdcFit) -> np.ndarray:
    """Fraction of ``samples`` in each of the fit's cells."""
    codes = np.searchsorted(np.sort(fit.boundaries), np.asarray(samples).ravel(), side="right")
    return np.bincount(codes, minlength=2**fit.bits) / max(np.asarray(samples).size, 1)


LUT_MAX_ENTRIES = 2**22


class LookupConverter:
    """Exact and fast conversion of integer-valued partial sums: the converter ``fn`` is evaluated
    once on every integer of ``[lo, hi]`` (which must contain every boundary, so that inputs beyond it
    fall in the end cells either way), then each partial sum is rounded and looked up. Partial sums
    of integer weights and inputs are integers (float32 holds them exactly below 2^24); rounding
    absorbs the last-bit errors of GPU convolution algorithms."""

    def __init__(self, fn, lo: int, hi: int, device):
        import torch

        if hi < lo or hi - lo + 1 > LUT_MAX_ENTRIES:
            raise ValueError(f"lookup range [{lo}, {hi}] is empty or larger than {LUT_MAX_ENTRIES} entries")
        self.lo = int(lo)
        self.n = int(hi) - int(lo) + 1
        #: ``psum + offset`` truncated is the table index (rounding to the nearest integer)
        self.offset = 0.5 - self.lo
        self.table = fn(torch.arange(self.lo, self.lo + self.n, dtype=torch.float32, device=device)).contiguous()

    def __call__(self, p):
        # in place: the caller hands over a partial-sum tensor it no longer needs
        return self.lookup(p.add_(self.offset))

    def lookup(self, shifted):
        """The converted values of partial sums already shifted by :attr:`offset` (a tensor the
        caller no longer needs: it is clamped in place). int32 indices and ``index_select``: half
        the memory traffic of int64 indices and ``take``."""
        import torch

        idx = shifted.clamp_(0, self.n - 1).to(torch.int32)
        return self.table.index_select(0, idx.reshape(-1)).view(idx.shape)
