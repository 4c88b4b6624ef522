"""A vectorised ``repr()`` of float64 arrays (Ryu's shortest digits in numpy) against CPython's ``float.__repr__``:
exactness and speed on a Monte Carlo chunk's worth of table entries. Tried for issue 16 (the crossbar chunk
deck writes 6,400 table entries per 50-sample chunk, ``netlist.cards.TableSources``) and NOT adopted:
exact, but no faster than ``repr`` on this 2-core machine, so the deck writer keeps ``float.__repr__``.

The digits are Ryu's (Ulf Adams, "Ryu: fast float-to-string conversion", PLDI 2018; the reference
``d2s.c``): the shortest decimal in the value's rounding interval, the nearest of those, a tie to the even
digit -- what dtoa's mode 0 behind ``repr`` returns -- with its 64 x 128-bit products done exactly in 32-bit
limbs of uint64 arrays; the text is laid out as CPython's ``format_float_short`` does for ``'r'``. The
script checks it byte for byte against ``repr`` (random bit patterns, subnormals, powers of two and their
neighbours, integers, short decimals, signed zeros; exit 1 on any difference), then times both on
``--n`` uniform values in [0.1, 0.9] (thread CPU time, alternating, medians).

    python scripts/bench_float_repr.py [--n 6400] [--repeat 30] [--check 1000000]
"""

from __future__ import annotations

import functools

import numpy as np

#: Widest text a float64 repr takes ("-1.2345678901234567e-308" is 24 characters).
WIDTH = 24

_U = np.uint64
_M32 = _U(0xFFFFFFFF)
_POW5_BITS = 125  # Ryu's DOUBLE_POW5_BITCOUNT and DOUBLE_POW5_INV_BITCOUNT


def _pow5bits(e: np.ndarray | int):
    """ceil(log2(5^e)) for e >= 1, 1 for e = 0 (Ryu's pow5bits; exact for 0 <= e <= 3528)."""
    return ((e * 1217359) >> 19) + 1


@functools.cache
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ryu's DOUBLE_POW5_INV_SPLIT and DOUBLE_POW5_SPLIT as (entries, 4) uint64 arrays of 32-bit limbs
    (least significant first), and 5^q for q <= 26 (exact in uint64). Made once, with Python integers."""

    def limbs(v: int) -> list[int]:
        return [(v >> (32 * k)) & 0xFFFFFFFF for k in range(4)]

    inv, pos = [], []
    for q in range(342):
        p = 5 ** q
        inv.append(limbs((1 << (p.bit_length() - 1 + _POW5_BITS)) // p + 1))
    for i in range(326):
        p = 5 ** i
        shift = p.bit_length() - _POW5_BITS
        pos.append(limbs(p >> shift if shift >= 0 else p << -shift))
    pow5 = np.array([5 ** q for q in range(27)], dtype=_U)
    return np.array(inv, dtype=_U), np.array(pos, dtype=_U), pow5


def _mul_shift(m: np.ndarray, mul: tuple[np.ndarray, ...], bit: np.ndarray) -> np.ndarray:
    """floor(m * mul / 2^(96 + bit)) for m < 2^56 (uint64), mul < 2^128 as four 32-bit limbs (least significant
    first) and 0 <= bit < 32: exact (Ryu's mulShift64; Ryu's shifts are 118..125 for every double, tested),
    the product summed in 32-bit columns and carried."""
    a0, a1 = m & _M32, m >> _U(32)
    b0, b1, b2, b3 = mul
    p00, p01, p02, p03 = a0 * b0, a0 * b1, a0 * b2, a0 * b3  # each < 2^64
    p10, p11, p12, p13 = a1 * b0, a1 * b1, a1 * b2, a1 * b3
    s32 = _U(32)
    # column k holds bits 32k.. of the product; column 0 (p00's low half) carries nothing
    c1 = (p00 >> s32) + (p01 & _M32) + (p10 & _M32)
    c2 = (p01 >> s32) + (p10 >> s32) + (p02 & _M32) + (p11 & _M32) + (c1 >> s32)
    c3 = (p02 >> s32) + (p11 >> s32) + (p03 & _M32) + (p12 & _M32) + (c2 >> s32)
    c4 = (p03 >> s32) + (p12 >> s32) + (p13 & _M32) + (c3 >> s32)
    c5 = (p13 >> s32) + (c4 >> s32)
    return ((c3 & _M32) >> bit) | ((c4 & _M32) << (s32 - bit)) | (c5 << (_U(64) - bit))


def _mul_shift_all(mv: np.ndarray, mm_shift: np.ndarray, mul: np.ndarray, j: np.ndarray):
    """Ryu's mulShiftAll64: (vr, vp, vm) for 4 m2 = ``mv``, 4 m2 + 2 and 4 m2 - 1 - mm_shift."""
    if j.size and not ((j >= 96) & (j < 128)).all():  # pragma: no cover - Ryu's shifts are 118..125
        raise AssertionError("shift outside 96..127")
    limbs = tuple(np.ascontiguousarray(mul[:, b]) for b in range(4))
    bit = (j - 96).astype(_U)
    return (_mul_shift(mv, limbs, bit), _mul_shift(mv + _U(2), limbs, bit),
            _mul_shift(mv - _U(1) - mm_shift, limbs, bit))


def shortest_digits(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(digits, exponent, negative) with ``|x| = digits * 10**exponent`` the shortest round-trip decimal
    (Ryu's d2d). ``x``: finite float64 (zero gives digits 0)."""
    bits = np.ascontiguousarray(x, dtype=np.float64).view(_U)
    negative = (bits >> _U(63)).astype(bool)
    ieee_m = bits & _U((1 << 52) - 1)
    ieee_e = ((bits >> _U(52)) & _U(0x7FF)).astype(np.int64)
    if (ieee_e == 0x7FF).any():
        raise ValueError("shortest_digits takes finite numbers only")
    zero = (ieee_e == 0) & (ieee_m == 0)
    sub = ieee_e == 0
    e2 = np.where(sub, 1, ieee_e) - 1023 - 52 - 2
    m2 = np.where(sub, ieee_m, ieee_m | _U(1 << 52))
    m2 = np.where(zero, _U(1 << 52), m2)  # any valid number: zeros are overwritten below
    accept = (m2 & _U(1)) == 0  # even mantissa: the interval's bounds round to it
    mv = m2 << _U(2)
    mm_shift = ((ieee_m != 0) | (ieee_e <= 1)).astype(_U)
    inv, pos, pow5 = _tables()
    n = len(bits)
    vr, vp, vm = (np.empty(n, dtype=_U) for _ in range(3))
    e10 = np.empty(n, dtype=np.int64)
    vm_tz = np.zeros(n, dtype=bool)
    vr_tz = np.zeros(n, dtype=bool)
    up = e2 >= 0
    if up.any():
        ee = e2[up]
        q = ((ee * 78913) >> 18) - (ee > 3)  # log10Pow2(e2) - (e2 > 3)
        k = _POW5_BITS + _pow5bits(q) - 1
        j = -ee + q + k
        mvu, mmu, acc = mv[up], mm_shift[up], accept[up]
        vr[up], vp_u, vm[up] = _mul_shift_all(mvu, mmu, inv[q], j)
        small = q <= 21
        p5 = pow5[np.minimum(q, 26)]
        mod5 = mvu % _U(5) == 0
        vr_tz[up] = small & mod5 & (mvu % p5 == 0)
        vm_tz[up] = small & ~mod5 & acc & ((mvu - _U(1) - mmu) % p5 == 0)
        vp_u -= (small & ~mod5 & ~acc & ((mvu + _U(2)) % p5 == 0)).astype(_U)
        vp[up] = vp_u
        e10[up] = q
    down = ~up
    if down.any():
        ee = -e2[down]
        q = ((ee * 732923) >> 20) - (ee > 1)  # log10Pow5(-e2) - (-e2 > 1)
        i = ee - q
        k = _pow5bits(i) - _POW5_BITS
        j = q - k
        mvd, mmd, acc = mv[down], mm_shift[down], accept[down]
        vr[down], vp_d, vm[down] = _mul_shift_all(mvd, mmd, pos[i], j)
        tiny = q <= 1
        vr_tz_d = tiny.copy()
        vm_tz[down] = tiny & acc & (mmd == 1)
        vp_d -= (tiny & ~acc).astype(_U)
        mid = ~tiny & (q < 63)
        qm = np.where(mid, q, 0).astype(_U)
        vr_tz_d |= mid & ((mvd & ((_U(1) << qm) - _U(1))) == 0)
        vr_tz[down] = vr_tz_d
        vp[down] = vp_d
        e10[down] = q - ee
    removed = np.zeros(n, dtype=np.int64)
    last = np.zeros(n, dtype=_U)
    ten = _U(10)
    # remove digits while the interval still holds a shorter decimal (Ryu's step 4), on the rows still going
    idx = np.arange(n)
    while idx.size:
        vpd, vmd = vp[idx] // ten, vm[idx] // ten
        go = vpd > vmd
        idx, vpd, vmd = idx[go], vpd[go], vmd[go]
        if not idx.size:
            break
        vrd = vr[idx] // ten
        vm_tz[idx] &= vm[idx] - vmd * ten == 0
        vr_tz[idx] &= last[idx] == 0
        last[idx] = vr[idx] - vrd * ten
        vr[idx], vp[idx], vm[idx] = vrd, vpd, vmd
        removed[idx] += 1
    idx = np.flatnonzero(vm_tz)  # the lower bound is itself a shorter decimal: strip its zeros too
    while idx.size:
        vmd = vm[idx] // ten
        go = vm[idx] - vmd * ten == 0
        idx, vmd = idx[go], vmd[go]
        if not idx.size:
            break
        vrd = vr[idx] // ten
        vr_tz[idx] &= last[idx] == 0
        last[idx] = vr[idx] - vrd * ten
        vr[idx], vp[idx], vm[idx] = vrd, vp[idx] // ten, vmd
        removed[idx] += 1
    last = np.where(vr_tz & (last == _U(5)) & (vr % _U(2) == 0), _U(4), last)  # exactly ...50..0: to even
    bump = ((vr == vm) & (~accept | ~vm_tz)) | (last >= _U(5))
    digits = vr + bump.astype(_U)
    exponent = e10 + removed
    digits[zero] = 0
    exponent[zero] = 0
    return digits, exponent, negative


_POW10 = np.array([10 ** k for k in range(20)], dtype=_U)
# Columns of the per-number source row a layout picks from: 17 digits right-aligned, then the fixed characters
# and the exponent's sign and three digits; _NUL pads.
_DIG, _ZERO, _POINT, _MINUS, _E, _XSIGN, _X0, _NUL = 0, 17, 18, 19, 20, 21, 22, 25
_SRC = 26


def _layout(neg: int, olen: int, decpt: int | None, nexp: int) -> list[int]:
    """Source columns of ``repr``'s text for a number with ``olen`` digits and decimal point position
    ``decpt`` (None: the exponent form with ``nexp`` exponent digits): CPython's format_float_short, 'r'."""
    digit = [_DIG + 17 - olen + k for k in range(olen)]
    out = [_MINUS] if neg else []
    if decpt is None:
        out += [*digit[:1], *([_POINT, *digit[1:]] if olen > 1 else []), _E, _XSIGN, *range(_X0 + 3 - nexp, _X0 + 3)]
    elif decpt <= 0:
        out += [_ZERO, _POINT] + [_ZERO] * -decpt + digit
    elif decpt < olen:
        out += [*digit[:decpt], _POINT, *digit[decpt:]]
    else:
        out += digit + [_ZERO] * (decpt - olen) + [_POINT, _ZERO]
    return out


#: Layout keys: sign x digit count (0..17) x form (decpt -3..16 positional, then 2 or 3 exponent digits).
_FORMS = 22


@functools.cache
def _layouts() -> tuple[np.ndarray, np.ndarray]:
    """Every layout as (keys, WIDTH) source columns (_NUL padded) and its length."""
    table = np.full((2 * 18 * _FORMS, WIDTH), _NUL, dtype=np.intp)
    length = np.zeros(2 * 18 * _FORMS, dtype=np.int64)
    for neg in (0, 1):
        for olen in range(1, 18):
            for form in range(_FORMS):
                cols = _layout(neg, olen, form - 3 if form < 20 else None, form - 18)
                key = (neg * 18 + olen) * _FORMS + form
                table[key, :len(cols)] = cols
                length[key] = len(cols)
    return table, length


def repr_chars(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(chars, lengths): row k of ``chars`` (n, :data:`WIDTH`) uint8 holds ``repr(float(x[k]))`` in its
    first ``lengths[k]`` bytes (ASCII), NUL after. ``x``: finite float64 (flattened)."""
    x = np.ascontiguousarray(x, dtype=np.float64).ravel()
    digits, exponent, negative = shortest_digits(x)
    n = len(x)
    olen = np.maximum(np.searchsorted(_POW10, digits, side="right"), 1)  # zero: one digit "0"
    decpt = np.where(digits == 0, 1, exponent + olen)
    use_exp = (decpt <= -4) | (decpt > 16)
    xexp = decpt - 1
    ax = np.abs(xexp)
    form = np.where(use_exp, np.where(ax >= 100, 21, 20), np.clip(decpt, -3, 16) + 3)
    key = (negative * 18 + olen) * _FORMS + form
    src = np.empty((n, _SRC), dtype=np.uint8)
    v = digits.copy()
    ten = _U(10)
    for c in range(16, -1, -1):  # digits right-aligned, least significant last
        q = v // ten
        src[:, _DIG + c] = v - q * ten
        v = q
    src[:, :17] += ord("0")
    src[:, _ZERO], src[:, _POINT], src[:, _MINUS], src[:, _E] = ord("0"), ord("."), ord("-"), ord("e")
    src[:, _XSIGN] = np.where(xexp < 0, ord("-"), ord("+"))
    src[:, _X0] = ord("0") + ax // 100 % 10
    src[:, _X0 + 1] = ord("0") + ax // 10 % 10
    src[:, _X0 + 2] = ord("0") + ax % 10
    src[:, _NUL] = 0
    table, length = _layouts()
    present = np.flatnonzero(np.bincount(key, minlength=len(table)))
    if len(present) == 1:  # one layout (a chunk's table entries usually share one or a few)
        chars = src[:, table[present[0]]]
    elif len(present) <= 8:
        chars = np.empty((n, WIDTH), dtype=np.uint8)
        for k in present:
            rows = np.flatnonzero(key == k)
            chars[rows] = src[rows][:, table[k]]
    else:
        chars = src.ravel().take(table[key] + (np.arange(n) * _SRC)[:, None])
    return chars, length[key]


def repr_bytes(x: np.ndarray) -> list[bytes]:
    """``[repr(float(v)).encode() for v in x]`` computed at once (for tests and small uses)."""
    chars, length = repr_chars(x)
    return [bytes(row[:m]) for row, m in zip(chars, length.tolist(), strict=True)]


def _check(n_random: int) -> int:
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2**63, n_random, dtype=np.uint64) | (rng.integers(0, 2, n_random, dtype=np.uint64)
                                                                 << np.uint64(63))
    rand = bits.view(np.float64)
    p2 = np.ldexp(1.0, np.arange(-1074, 1024))
    cases = {
        "random bit patterns": rand[np.isfinite(rand)],
        "subnormals": rng.integers(0, 2**52, 100_000, dtype=np.uint64).view(np.float64),
        "powers of two and neighbours": np.concatenate([p2, -p2, np.nextafter(p2, 0), np.nextafter(p2, np.inf)[:-1]]),
        "integers": np.concatenate([np.arange(0, 100_000.0), rng.integers(0, 2**62, 100_000).astype(float)]),
        "short decimals": np.array([float(f"{m}e{e}") for m in rng.integers(1, 10**6, 2000)
                                    for e in range(-30, 30, 7)]),
        "special": np.array([0.0, -0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.1, 1e16, 1e15,
                             9999999999999998.0, 1e-4, 1e-5, 2.0**53, 1e22, 1e23]),
    }
    bad = 0
    for name, x in cases.items():
        got = repr_bytes(x)
        diff = [(float(v), g) for v, g in zip(x, got, strict=True) if g != repr(float(v)).encode()]
        bad += len(diff)
        print(f"{name}: {len(x)} values, {len(diff)} differ from repr{f' e.g. {diff[:3]}' if diff else ''}")
    return bad


def main() -> int:
    import argparse
    import os
    import sys
    import time

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=6400, help="values per timing (a 64-row, 50-sample chunk: 6400)")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--check", type=int, default=1_000_000, help="random bit patterns checked against repr")
    args = ap.parse_args()
    if _check(args.check):
        print("error: the vectorised text differs from repr", file=sys.stderr)
        return 1
    x = np.random.default_rng(2).uniform(0.1, 0.9, args.n)
    vec, ref = [], []
    for _ in range(args.repeat):  # alternating: both see the same spells of load
        t0 = time.thread_time()
        repr_chars(x)
        t1 = time.thread_time()
        list(map(float.__repr__, x.tolist()))
        vec.append(t1 - t0)
        ref.append(time.thread_time() - t1)
    v, r = 1e3 * float(np.median(vec)), 1e3 * float(np.median(ref))
    print(f"{args.n} values in [0.1, 0.9], thread CPU, median of {args.repeat}: vectorised {v:.3f} ms, "
          f"float.__repr__ {r:.3f} ms; repr_over_vectorised {r / v:.2f}; load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
