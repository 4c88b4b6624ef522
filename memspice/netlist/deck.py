"""A deck: netlist cards plus the analysis steps to run on them. Pure text emission.

The circuit text (:meth:`Deck.netlist`) holds no analysis; the steps (:class:`Analyze`,
:class:`Alter`, :class:`Command`) become ngspice control commands. The subprocess backend embeds
them in a ``.control`` block that writes one raw file per analysis; the shared-library backend
sends the same commands one by one. :meth:`Deck.render` gives the self-contained deck that
``ngspice -b`` runs, which is also what ``netlists/`` keeps as golden files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from memspice import __version__
from memspice.errors import UnsafeTextError
from memspice.netlist.cards import Card, Comment, Options, Raw, Subckt, TableSource, TableSources, fmt, ident

# The writer generates every line break and control block of a deck itself; it refuses any other.
# Tabs are plain whitespace to ngspice; multi-line cards (verbatim model text, comments,
# subcircuits) may hold line breaks but never their own .control block.
_NOT_ONE_LINE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BLOCK = re.compile(r"^[ \t]*\.(control|endc)\b", re.IGNORECASE | re.MULTILINE)


def one_line(text: str, what: str) -> str:
    """``text`` if it holds no line break or control character; else :class:`UnsafeTextError`."""
    if _NOT_ONE_LINE.search(text):
        raise UnsafeTextError(what, text)
    return text


def check_card(card: Card, text: str) -> str:
    """The rendered ``text`` of ``card`` if it adds no line or control block the writer did not make."""
    what = f"deck card {type(card).__name__}"
    if type(card) is TableSource or type(card) is TableSources:
        # safe by construction: ident()-sanitised names, float reprs and fixed punctuation; a Monte Carlo
        # chunk deck holds hundreds of these, scanning them was a tenth of the chunk's Python time
        return text
    if type(card) is Rendered and text is card.text:
        return text  # scanned when it was made (Rendered.__post_init__); every chunk deck holds one
    if isinstance(card, (Raw, Comment, Subckt, Rendered)):
        _check_text(text, what)
        if isinstance(card, Subckt):
            for sub in card.body:
                check_card(sub, sub.render())
        return text
    return one_line(text, what)


def _check_text(text: str, what: str) -> None:
    """Multi-line netlist text: no control characters and no ``.control`` block of its own."""
    if _NOT_TEXT.search(text):
        raise UnsafeTextError(what, text, "text without control characters")
    if _CONTROL_BLOCK.search(text):
        raise UnsafeTextError(what, text, "netlist text without a .control block (memspice writes the "
                              "control commands)")


@dataclass(frozen=True)
class Rendered(Card):
    """Cards rendered and checked once, for a block many decks share (the fixed part of every Monte
    Carlo chunk deck): build it with :meth:`of`, which checks each card as :meth:`Deck.netlist` does. Its
    text is scanned once more as a whole when made (however it is made), so a deck holding it does not
    scan it again (a 64-row chunk deck's fixed block is 24 kB, scanned per chunk before)."""

    text: str

    def __post_init__(self) -> None:
        _check_text(self.text, "deck card Rendered")

    @classmethod
    def of(cls, cards: Sequence[Card]) -> Rendered:
        return cls("\n".join(t for t in (check_card(c, c.render()) for c in cards) if t != ""))

    def render(self) -> str:
        return self.text


class Analysis:
    def command(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Op(Analysis):
    """DC operating point."""

    def command(self) -> str:
        return "op"


@dataclass(frozen=True)
class Dc(Analysis):
    """DC sweep of an independent source from ``start`` to ``stop`` in steps of ``step`` (V or A)."""

    source: str
    start: float
    stop: float
    step: float

    def command(self) -> str:
        if self.step == 0 or (self.stop - self.start) / self.step < 0:
            raise ValueError(f"DC sweep step {self.step} does not lead from {self.start} to {self.stop}")
        return f"dc {ident(self.source)} {fmt(self.start)} {fmt(self.stop)} {fmt(self.step)}"


@dataclass(frozen=True)
class Tran(Analysis):
    """Transient analysis: print step, stop time and maximum internal step, all in seconds."""

    step_s: float
    stop_s: float
    max_step_s: float | None = None
    start_s: float = 0.0
    uic: bool = False

    def command(self) -> str:
        parts = ["tran", fmt(self.step_s), fmt(self.stop_s)]
        if self.max_step_s is not None or self.start_s:
            parts.append(fmt(self.start_s))
        if self.max_step_s is not None:
            parts.append(fmt(self.max_step_s))
        if self.uic:
            parts.append("uic")
        return " ".join(parts)


class Step:
    def commands(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Analyze(Step):
    """Run an analysis and keep ``vectors`` (canonical names: ``v(node)``, ``i(vsrc)``, ``@dev[p]``).

    An empty ``vectors`` keeps everything. ``label`` names the result.
    """

    analysis: Analysis
    vectors: tuple[str, ...] = ()
    label: str = ""

    def commands(self) -> list[str]:
        return [*save_commands(self.vectors), self.analysis.command()]


# ngspice truncates long command lines (the shared library at 1023 characters): vector lists are
# split over several cumulative `save` commands.
_MAX_COMMAND_CHARS = 400


def save_commands(vectors: tuple[str, ...]) -> list[str]:
    if not vectors:
        return ["save all"]
    out: list[str] = []
    line = "save"
    for vec in vectors:
        one_line(vec, "saved vector")
        if not vec or any(c.isspace() for c in vec):
            raise UnsafeTextError("saved vector", vec, "one vector name without spaces, e.g. v(out)")
        if len(line) + 1 + len(vec) > _MAX_COMMAND_CHARS and line != "save":
            out.append(line)
            line = "save"
        line += " " + vec
    out.append(line)
    return out


@dataclass(frozen=True)
class Alter(Step):
    """Change an instance parameter before the next analysis: ``alter @dev[param] = value``."""

    device: str
    param: str
    value: float

    def commands(self) -> list[str]:
        return [f"alter @{ident(self.device)}[{ident(self.param)}] = {fmt(self.value)}"]


@dataclass(frozen=True)
class Command(Step):
    """A verbatim control command (``reset``, ``option reltol=1e-5``...)."""

    text: str

    def commands(self) -> list[str]:
        return [one_line(self.text, "control command")]


@dataclass
class Deck:
    """A circuit (cards) and the steps to run on it."""

    title: str
    cards: Sequence[Card]
    steps: Sequence[Step] = ()
    options: Mapping[str, float | int | str | bool] = field(default_factory=dict)
    header: Mapping[str, str] = field(default_factory=dict)

    @property
    def analyses(self) -> list[Analyze]:
        return [s for s in self.steps if isinstance(s, Analyze)]

    def netlist(self) -> str:
        """The circuit without control commands, ending with ``.end``."""
        lines = [one_line(self.title, "deck title")]
        lines.append(f"* generated by memspice {__version__}; do not edit")
        for key in sorted(self.header):
            lines.append(one_line(f"* {key}: {self.header[key]}", f"deck header {key!r}"))
        opts = Options(self.options).render() if self.options else ""
        if opts:
            lines.append(one_line(opts, "deck options"))
        lines.extend(check_card(c, c.render()) for c in self.cards)
        lines.append(".end")
        return "\n".join(line for line in lines if line != "") + "\n"

    def control_commands(self, raw_name: str = "out.raw") -> list[str]:
        """Control commands that run every step and append each analysis to ``raw_name``."""
        cmds = ["set filetype=binary", "set appendwrite"]
        one_line(raw_name, "raw file name")
        for step in self.steps:
            cmds.extend(one_line(c, "control command") for c in step.commands())
            if isinstance(step, Analyze):
                # `save` already chose the vectors; write the whole (saved) plot
                cmds.append(f"write {raw_name}")
        return cmds

    def render(self, raw_name: str = "out.raw") -> str:
        """A self-contained deck for ``ngspice -b``: netlist plus a ``.control`` block."""
        body = self.netlist()
        assert body.endswith(".end\n")
        control = [".control", *self.control_commands(raw_name), "quit", ".endc"]
        return body[: -len(".end\n")] + "\n".join(control) + "\n.end\n"
