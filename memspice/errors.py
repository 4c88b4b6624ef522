"""Errors that memspice reports to users.

Every error a user can cause or meet carries a message that stands on its own: what is wrong,
the value seen and what was expected, or for a simulator failure the deck, the kept run
directory and the log lines that matter. The CLI prints the message and exits non-zero
without a traceback: exit code 2 for bad input, 1 for a failed computation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class MemspiceError(Exception):
    """Base of every error memspice raises on purpose."""

    exit_code = 1


class InputError(MemspiceError):
    """Bad input: a value, a file or a name the user gave. The CLI exits with code 2."""

    exit_code = 2


class SpecError(InputError, ValueError):
    """A field of a description has a bad value.

    ``field`` is the dotted path of the field (``crossbar.rows``), ``value`` what was given and
    ``expected`` a phrase saying what would be accepted.
    """

    def __init__(self, field: str, value: object, expected: str, *, source: str | None = None):
        self.field = field
        self.value = value
        self.expected = expected
        self.source = source
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{_printable(self.source)}: " if self.source else ""
        return f"{where}{_printable(self.field)}: got {_show(self.value)}; expected {self.expected}"

    def within(self, prefix: str | None = None, source: str | None = None) -> SpecError:
        """The same error with the field path prefixed (``prefix.field``) and/or a source file named."""
        field = f"{prefix}.{self.field}" if prefix else self.field
        return SpecError(field, self.value, self.expected, source=source or self.source)


class DataError(InputError):
    """A data set or artifact is missing or malformed; the message says where it was looked for."""


class UnsafeTextError(InputError):
    """Text bound for a netlist holds a line break or control character the deck writer did not put there."""

    def __init__(self, what: str, value: object,
                 expected: str = "one line without control characters (text that reaches a deck may not add "
                 "lines to it)"):
        self.what = what
        self.value = value
        super().__init__(f"{what}: got {_show(value)}; expected {expected}")


class NgspiceNotFoundError(InputError):
    """No ngspice executable or shared library could be found."""


class SimulationError(MemspiceError):
    """ngspice failed. Names the deck, the kept run directory and the relevant log lines."""

    reason_kind = "failed"

    def __init__(
        self,
        reason: str,
        *,
        deck: Path | None = None,
        run_dir: Path | None = None,
        log_lines: Sequence[str] = (),
    ):
        self.reason = reason
        self.deck = deck
        self.run_dir = run_dir
        self.log_lines = list(log_lines)
        parts = [f"ngspice {self.reason_kind}: {reason}"]
        if deck is not None:
            parts.append(f"  deck: {deck}")
        if run_dir is not None:
            parts.append(f"  run directory (kept): {run_dir}")
        if self.log_lines:
            parts.append("  log:")
            parts.extend(f"    {line}" for line in self.log_lines[:20])
            if len(self.log_lines) > 20:
                parts.append(f"    ... ({len(self.log_lines) - 20} more lines in the run directory)")
        super().__init__("\n".join(parts))


class MonteCarloFailed(MemspiceError):
    """Too many samples of a Monte Carlo batch failed; names the first failing sample's deck and log."""


class ProgrammingFailed(MemspiceError):
    """Write-verify programming did not converge (for any boundary or cell it had to program)."""


class NetlistError(SimulationError):
    """ngspice rejected the deck (syntax, unknown model or node, control-language error)."""

    reason_kind = "rejected the deck"


class ConvergenceError(SimulationError):
    """ngspice did not converge (timestep too small, singular matrix, gmin/source stepping failed)."""

    reason_kind = "did not converge"


class SimulationTimeout(SimulationError):
    """ngspice ran past its time limit and was killed."""

    reason_kind = "timed out"


class MissingVectorError(SimulationError):
    """A vector that the analysis asked for is absent from ngspice's output."""

    reason_kind = "did not produce a requested vector"


def _printable(text: str) -> str:
    """``text`` with control characters escaped, so that an error stays on one line."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in str(text))


def _show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
