"""Small typed SPICE cards and their text (ngspice dialect). Pure text emission.

Numbers are written in plain exponent form by :func:`fmt` (``1e-09``, never SI letter suffixes:
``M`` is milli in SPICE). Names are sanitised by :func:`ident`; a card's text is deterministic.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

_IDENT_BAD = re.compile(r"[^a-z0-9_.]")


def fmt(value: float | int) -> str:
    """A number as ngspice reads it back exactly: shortest round-trip repr, no SI suffix."""
    if isinstance(value, bool):
        raise TypeError("booleans are not SPICE numbers")
    if isinstance(value, int):
        return str(value)
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"cannot write non-finite number {value!r} into a netlist")
    text = repr(x)
    return text[:-2] if text.endswith(".0") else text


def ident(name: str) -> str:
    """A node or element name made safe for ngspice: lower case, ``[a-z0-9_.]`` only."""
    text = _IDENT_BAD.sub("_", str(name).lower())
    if not text:
        raise ValueError("empty SPICE name")
    return text


def _params(params: Mapping[str, float | int | str]) -> str:
    parts = []
    for key in sorted(params):
        value = params[key]
        parts.append(f"{ident(key)}={value if isinstance(value, str) else fmt(value)}")
    return " ".join(parts)


class Card:
    """A line (or block) of a netlist."""

    def render(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Comment(Card):
    text: str

    def render(self) -> str:
        return "\n".join(f"* {line}".rstrip() for line in self.text.splitlines() or [""])


@dataclass(frozen=True)
class Resistor(Card):
    name: str
    a: str
    b: str
    r_ohm: float

    def render(self) -> str:
        if not self.r_ohm > 0:
            raise ValueError(f"resistor {self.name}: resistance must be > 0, got {self.r_ohm}")
        return f"R{ident(self.name)} {ident(self.a)} {ident(self.b)} {fmt(self.r_ohm)}"


@dataclass(frozen=True)
class Capacitor(Card):
    name: str
    a: str
    b: str
    c_f: float
    ic_v: float | None = None

    def render(self) -> str:
        ic = f" ic={fmt(self.ic_v)}" if self.ic_v is not None else ""
        return f"C{ident(self.name)} {ident(self.a)} {ident(self.b)} {fmt(self.c_f)}{ic}"


class Waveform:
    def render(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Pulse(Waveform):
    """SPICE PULSE(v1 v2 td tr tf pw per): levels in V (or A), times in s."""

    v1: float
    v2: float
    delay_s: float
    rise_s: float
    fall_s: float
    width_s: float
    period_s: float

    def render(self) -> str:
        vals = (self.v1, self.v2, self.delay_s, self.rise_s, self.fall_s, self.width_s, self.period_s)
        return "pulse(" + " ".join(fmt(v) for v in vals) + ")"


@dataclass(frozen=True)
class Sine(Waveform):
    """SPICE SIN(vo va freq td theta): offset and amplitude in V, frequency in Hz."""

    offset: float
    amplitude: float
    freq_hz: float
    delay_s: float = 0.0
    damping_per_s: float = 0.0

    def render(self) -> str:
        vals = (self.offset, self.amplitude, self.freq_hz, self.delay_s, self.damping_per_s)
        return "sin(" + " ".join(fmt(v) for v in vals) + ")"


@dataclass(frozen=True)
class Pwl(Waveform):
    """Piece-wise linear waveform from (time_s, value) pairs with increasing times."""

    points: tuple[tuple[float, float], ...]

    def render(self) -> str:
        times = [t for t, _ in self.points]
        if any(b <= a for a, b in itertools.pairwise(times)):
            raise ValueError("PWL times must increase strictly")
        body = " ".join(f"{fmt(t)} {fmt(v)}" for t, v in self.points)
        return f"pwl({body})"


@dataclass(frozen=True)
class VSource(Card):
    name: str
    p: str
    n: str
    dc_v: float = 0.0
    wave: Waveform | None = None

    def render(self) -> str:
        wave = f" {self.wave.render()}" if self.wave is not None else ""
        return f"V{ident(self.name)} {ident(self.p)} {ident(self.n)} dc {fmt(self.dc_v)}{wave}"


@dataclass(frozen=True)
class ISource(Card):
    name: str
    p: str
    n: str
    dc_a: float = 0.0
    wave: Waveform | None = None

    def render(self) -> str:
        wave = f" {self.wave.render()}" if self.wave is not None else ""
        return f"I{ident(self.name)} {ident(self.p)} {ident(self.n)} dc {fmt(self.dc_a)}{wave}"


@dataclass(frozen=True)
class Vcvs(Card):
    """Linear voltage-controlled voltage source E: v(p,n) = gain * v(cp,cn)."""

    name: str
    p: str
    n: str
    cp: str
    cn: str
    gain: float

    def render(self) -> str:
        nodes = " ".join(ident(x) for x in (self.p, self.n, self.cp, self.cn))
        return f"E{ident(self.name)} {nodes} {fmt(self.gain)}"


@dataclass(frozen=True)
class BSource(Card):
    """Behavioural source: ``kind`` 'v' or 'i' with an expression (already ngspice syntax)."""

    name: str
    p: str
    n: str
    kind: str
    expr: str

    def render(self) -> str:
        if self.kind not in ("v", "i"):
            raise ValueError("BSource kind must be 'v' or 'i'")
        return f"B{ident(self.name)} {ident(self.p)} {ident(self.n)} {self.kind}={self.expr}"


@dataclass(frozen=True)
class Mosfet(Card):
    """MOSFET instance; ``w_m``/``l_m`` in metres, extra instance parameters in ``params``."""

    name: str
    d: str
    g: str
    s: str
    b: str
    model: str
    w_m: float
    l_m: float
    params: Mapping[str, float] = field(default_factory=dict)

    def render(self) -> str:
        nodes = " ".join(ident(x) for x in (self.d, self.g, self.s, self.b))
        extra = f" {_params(self.params)}" if self.params else ""
        return f"M{ident(self.name)} {nodes} {ident(self.model)} w={fmt(self.w_m)} l={fmt(self.l_m)}{extra}"


@dataclass(frozen=True)
class Instance(Card):
    """Subcircuit instance ``X<name> nodes... subckt params``."""

    name: str
    subckt: str
    nodes: Sequence[str]
    params: Mapping[str, float | int | str] = field(default_factory=dict)

    def render(self) -> str:
        nodes = " ".join(ident(x) for x in self.nodes)
        extra = f" {_params(self.params)}" if self.params else ""
        return f"X{ident(self.name)} {nodes} {ident(self.subckt)}{extra}"


@dataclass(frozen=True)
class Include(Card):
    path: str

    def render(self) -> str:
        return f'.include "{self.path}"'


@dataclass(frozen=True)
class Param(Card):
    name: str
    value: float

    def render(self) -> str:
        return f".param {ident(self.name)}={fmt(self.value)}"


@dataclass(frozen=True)
class Options(Card):
    options: Mapping[str, float | int | str | bool]

    def render(self) -> str:
        parts = []
        for key in sorted(self.options):
            value = self.options[key]
            if value is True:
                parts.append(ident(key))
            elif value is False:
                continue
            elif isinstance(value, str):
                parts.append(f"{ident(key)}={value}")
            else:
                parts.append(f"{ident(key)}={fmt(value)}")
        return ".options " + " ".join(parts) if parts else ""


@dataclass(frozen=True)
class ModelCard(Card):
    """``.model name type (params)``."""

    name: str
    kind: str
    params: Mapping[str, float | int | str]

    def render(self) -> str:
        return f".model {ident(self.name)} {self.kind} ({_params(self.params)})"


@dataclass(frozen=True)
class Subckt(Card):
    name: str
    ports: Sequence[str]
    body: Sequence[Card]
    params: Mapping[str, float] = field(default_factory=dict)

    def render(self) -> str:
        head = f".subckt {ident(self.name)} {' '.join(ident(p) for p in self.ports)}"
        if self.params:
            head += f" params: {_params(self.params)}"
        lines = [head, *(c.render() for c in self.body), f".ends {ident(self.name)}"]
        return "\n".join(line for line in lines if line)


@dataclass(frozen=True)
class Raw(Card):
    """Verbatim text, for the hand-written blocks of ``models/`` only."""

    text: str

    def render(self) -> str:
        return self.text.rstrip("\n")


#: 2**53 as ngspice reads it exactly: its number reader (``INPevaluate``) accumulates the digits in a double,
#: exact below 2**53 (the last step here, 10 * 900719925474099 + '2' = 2**53 + 48, is above it but even, where
#: doubles are 2 apart, so it is exact too); a fraction is then scaled by ``pow(10, exponent)`` (not always
#: the correctly rounded double)
_TWO_53 = "9007199254740992"


#: the largest integer entry written: ngspice's reader computes ``10 * mantis + c - '0'`` with the character's
#: code ``c`` (up to 57) added first, so within 57 of 2**53 that sum could round
_INT_MAX = 2.0 ** 53 - 64

#: the largest even integer entry written (a source spanning two binades, one bit more): for an even entry
#: N < 2**54 - 48 the reader's last sum ``10 * mantis + c`` is N + 48, even and below 2**54, where doubles are
#: 2 apart, so it is exact, and so is its ``- '0'`` (the earlier sums are below 2**51)
_EVEN_MAX = 2.0 ** 54 - 64


def _power_of_two_text(k: int) -> str:
    """``/2**k`` (``*2**-k`` for ``k < 0``) as divisions by integers ngspice reads exactly (each <= 2**53);
    dividing a double by a power of two is exact."""
    op, k = ("/", k) if k >= 0 else ("*", -k)
    return (op + _TWO_53) * (k // 53) + (f"{op}{1 << (k % 53)}" if k % 53 else "")


@functools.lru_cache(maxsize=8)
def _integer_row_layout(n: int, digits: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """The text ``0, ################, 1, ################, ..., )`` of ``n`` integer entries of ``digits``
    digits as bytes, and the positions of its ``#`` (the digits, entry by entry): made once per table length."""
    text = ", ".join(f"{s}, {'#' * digits}" for s in range(n)) + ")"
    buf = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    return buf, np.flatnonzero(buf == ord("#"))


def _integer_texts(m: np.ndarray, digits: int) -> list[str]:
    """Each row of ``m`` (rows, entries; non-negative integers below 10**digits, as floats) as the pairs
    ``0, y0, 1, y1, ..., )`` with every entry written with ``digits`` digits (leading zeros: read as the same
    integer): one numpy pass."""
    rows, n = m.shape
    buf, pos = _integer_row_layout(n, digits)
    x = m.astype(np.int64)
    place_digits = np.empty((rows, n, digits), dtype=np.uint8)
    for place in range(digits - 1, -1, -1):  # a scalar divisor: numpy's fast integer division
        q = x // 10
        place_digits[:, :, place] = x - 10 * q
        x = q
    text = np.empty((rows, buf.size), dtype=np.uint8)
    text[:] = buf
    text[:, pos] = place_digits.reshape(rows, -1) + ord("0")
    block = text.tobytes().decode("ascii")
    width = buf.size
    return [block[i * width:(i + 1) * width] for i in range(rows)]


def _table_texts(arr: np.ndarray) -> list[str]:
    """Each source's pairs ``0, y0, 1, y1, ...`` of (sources, entries) tables ``arr`` (finite) and its closing text.

    A source whose entries are integer multiples of ``2**-k`` with 16 digits (``k`` chosen so that its largest
    entry uses all 53 bits: every entry within a factor ~4.5 of the largest and in its binade, or with trailing
    zero bits; none within 64 of 2**53) is written as those integers, closed by ``)/2**k``: exactly the same
    doubles as the entries' reprs, which ngspice reads exactly (integers below 2**53 - 64, divided by powers
    of two; a repr's digits are scaled by ``pow(10, exponent)``, not always to the nearest double), and the digits come
    from one numpy pass instead of a float-to-text call per entry (6,400 of those per Monte Carlo chunk deck
    were its largest Python cost, docs/DEVELOPING.md). A source whose entries span two binades (e.g. states
    around 0.5) is written the same way with one bit more, ``2**-(k+1)``, 17 digits: its entries of the upper
    binade are then even integers up to 2**54, read exactly too (:data:`_EVEN_MAX`); before, these sources
    (~15 of 128 in a chunk deck) were written as reprs and cost more than the other ~113 together. Any other
    source (entries spanning more binades, a zero, an odd entry near 2**53) is written with the entries'
    reprs, closed by ``)``."""
    amax = np.abs(arr).max(axis=1)
    _, e = np.frexp(amax)
    k = np.where(amax > 0, 53 - e, 0).astype(np.int64)
    m = np.ldexp(arr, k[:, None])
    whole = (m == np.rint(m)).all(axis=1) & (m >= 1e15).all(axis=1) & (m < _INT_MAX).all(axis=1)
    m2 = np.ldexp(arr, (k + 1)[:, None])
    half = 0.5 * m2  # exact; an integer where m2 is even (np.fmod took 1 ms for a chunk's tables)
    two = ~whole & (m2 == np.rint(m2)).all(axis=1) & (m2 >= 1e15).all(axis=1) & (
        (m2 < _INT_MAX) | ((half == np.rint(half)) & (m2 <= _EVEN_MAX))).all(axis=1)
    rows, n = arr.shape
    out = [""] * rows
    for sel, mm, kk, digits in ((whole, m, k, 16), (two, m2, k + 1, 17)):
        idx = np.flatnonzero(sel)
        if idx.size:
            for j, text in zip(idx.tolist(), _integer_texts(mm[idx], digits), strict=True):
                out[j] = text + _power_of_two_text(int(kk[j]))
    for j in np.flatnonzero(~whole & ~two).tolist():
        pair: list[float] = [0.0] * (2 * n)
        pair[0::2] = range(n)
        pair[1::2] = arr[j].tolist()
        out[j] = repr(pair)[1:-1] + ")"
    return out


@dataclass(frozen=True)
class TableSource(Card):
    """Voltage B-source ``B<name> <node> 0 v=pwl(v(<control>), 0, y0, 1, y1, ...)``: its entry ``s`` is
    exactly ``table[s]``, the value at ``v(control) = s`` (a sample index swept by ``.dc``); one line, the
    entries as integers and a power-of-two divisor where that is exact (:func:`_table_texts`), else reprs."""

    name: str
    node: str
    control: str
    table: Sequence[float]

    def render(self) -> str:
        table = self.table.tolist() if hasattr(self.table, "tolist") else self.table  # numpy: one conversion
        values = [float(y) for y in table]
        if len(values) < 2 or not all(map(math.isfinite, values)):
            raise ValueError(f"a table source needs at least 2 finite entries, not {values[:4]}...")
        return TableSources((self.name,), (self.node,), self.control, np.array([values])).render()


@functools.lru_cache(maxsize=4)
def _table_heads(names: tuple[str, ...], nodes: tuple[str, ...], control: str) -> tuple[str, ...]:
    """``B<name> <node> 0 v=pwl(v(<control>), `` of each source of a :class:`TableSources`, made once."""
    return tuple(f"B{ident(name)} {ident(node)} 0 v=pwl(v({ident(control)}), " for name, node in
                 zip(names, nodes, strict=True))


@dataclass(frozen=True)
class TableSources(Card):
    """Many :class:`TableSource` cards on one control node, rendered at once: ``tables`` (sources, entries)
    row ``j`` is source ``names[j]`` on node ``nodes[j]``. The same text as rendering each TableSource
    (tested), with one finiteness check and one number-to-text pass for the whole block: a Monte Carlo
    chunk deck holds rows x 2 cols of them."""

    names: Sequence[str]
    nodes: Sequence[str]
    control: str
    tables: np.ndarray

    def render(self) -> str:
        arr = np.asarray(self.tables, dtype=float)
        if arr.ndim != 2 or arr.shape[0] != len(self.names) or arr.shape[1] < 2 or not np.isfinite(arr).all():
            raise ValueError(f"table sources need a finite ({len(self.names)}, >= 2) table, not shape {arr.shape}")
        heads = _table_heads(tuple(self.names), tuple(self.nodes), self.control)
        return "\n".join(map(str.__add__, heads, _table_texts(arr)))
