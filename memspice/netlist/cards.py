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


@functools.lru_cache(maxsize=8)
def _index_prefixes(n: int) -> tuple[str, ...]:
    """``("0, ", "1, ", ...)``: the sample-index column of an ``n``-entry table source, made once."""
    return tuple(f"{s}, " for s in range(n))


@dataclass(frozen=True)
class TableSource(Card):
    """Voltage B-source ``B<name> <node> 0 v=pwl(v(<control>), 0, y0, 1, y1, ...)``: exactly ``table[s]``
    when ``v(control) = s`` (a sample index swept by ``.dc``); written over continuation lines."""

    name: str
    node: str
    control: str
    table: Sequence[float]

    def render(self) -> str:
        # repr: the shortest round-trip text, as fmt() writes it (a Monte Carlo chunk writes thousands)
        table = self.table.tolist() if hasattr(self.table, "tolist") else self.table  # numpy: one conversion
        values = [float(y) for y in table]
        if len(values) < 2 or not all(map(math.isfinite, values)):
            raise ValueError(f"a table source needs at least 2 finite entries, not {values[:4]}...")
        pts = list(map(str.__add__, _index_prefixes(len(values)), map(float.__repr__, values)))
        lines = [f"B{ident(self.name)} {ident(self.node)} 0 v=pwl(v({ident(self.control)}),"]
        for k in range(0, len(pts), 8):
            lines.append("+ " + ", ".join(pts[k:k + 8]) + ("," if k + 8 < len(pts) else ")"))
        return "\n".join(lines)


@functools.lru_cache(maxsize=4)
def _tables_template(names: tuple[str, ...], nodes: tuple[str, ...], control: str, n: int) -> tuple[str, ...]:
    """The text of :class:`TableSources` as the literal pieces between its table entries (one more piece
    than entries; names and layout made once). ``ident()`` names hold no ``%``, so splitting the text
    written with a ``%s`` per entry gives exactly the pieces."""
    pre = _index_prefixes(n)
    blocks = []
    for name, node in zip(names, nodes, strict=True):
        pts = [f"{pre[s]}%s" for s in range(n)]
        lines = [f"B{ident(name)} {ident(node)} 0 v=pwl(v({ident(control)}),"]
        for k in range(0, n, 8):
            lines.append("+ " + ", ".join(pts[k:k + 8]) + ("," if k + 8 < n else ")"))
        blocks.append("\n".join(lines))
    pieces = tuple("\n".join(blocks).split("%s"))
    assert len(pieces) == len(names) * n + 1
    return pieces


@dataclass(frozen=True)
class TableSources(Card):
    """Many :class:`TableSource` cards on one control node, rendered at once: ``tables`` (sources, entries)
    row ``j`` is source ``names[j]`` on node ``nodes[j]``. The same text as rendering each TableSource
    (tested), with one finiteness check and one float-to-text pass for the whole block: a Monte Carlo
    chunk deck holds rows x 2 cols of them."""

    names: Sequence[str]
    nodes: Sequence[str]
    control: str
    tables: np.ndarray

    def render(self) -> str:
        arr = np.asarray(self.tables, dtype=float)
        if arr.ndim != 2 or arr.shape[0] != len(self.names) or arr.shape[1] < 2 or not np.isfinite(arr).all():
            raise ValueError(f"table sources need a finite ({len(self.names)}, >= 2) table, not shape {arr.shape}")
        pieces = _tables_template(tuple(self.names), tuple(self.nodes), self.control, arr.shape[1])
        parts = [""] * (2 * len(pieces) - 1)
        parts[0::2] = pieces
        # repr: the shortest round-trip text, as fmt() writes it; most of a chunk deck's Python time (a
        # vectorised exact repr measured no faster: scripts/bench_float_repr.py)
        parts[1::2] = map(float.__repr__, arr.ravel().tolist())
        return "".join(parts)
