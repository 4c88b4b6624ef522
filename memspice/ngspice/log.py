"""Reading ngspice's console output for failures. Pure code.

ngspice reports many failures only as text (on stderr, sometimes stdout) while its exit status
says nothing useful: with ``quit`` in the control block it exits 0 even after errors, without it
it exits 1 even after success. So memspice decides from the text, and from whether the expected
output exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memspice.errors import ConvergenceError, MissingVectorError, NetlistError, SimulationError

# Progress chatter of long transients, written with carriage returns.
_PROGRESS = re.compile(r"\s*Reference value\s*:\s*\S+")

_CONVERGENCE = re.compile(
    r"timestep too small|singular matrix|iteration limit reached|simulation\(s\) aborted|"
    r"dc solution failed|transient op failed|too many iterations without convergence",
    re.IGNORECASE,
)
_MISSING = re.compile(r"vector (\S+) is not available|no such vector", re.IGNORECASE)
_ERROR = re.compile(
    r"^\s*error\b|\berror:|no such command|unknown subckt|unknown model|could not find|"
    r"unable to find definition|undefined parameter|syntax error|cannot open|fatal|"
    r"bad syntax|unknown parameter|expression err|cannot compute substitute|can't find model|"
    r"resistance to+ low",
    re.IGNORECASE,
)
# Lines that look alarming but are not failures.
_BENIGN = re.compile(
    r"^note: no compatibility mode|no \"\.plot\", \"\.print\", or \"\.fourier\" lines|"
    r"^warning: .*has no value, dc 0 assumed|can't find init file|using sparse|"
    r"^note: one successful|^trying gmin|^supplies reduced|^note: starting|"
    r"^note: transient op started|^note: transient op finished successfully",
    re.IGNORECASE,
)


def clean_lines(text: str) -> list[str]:
    """Console text split into lines, progress chatter removed, blank lines dropped."""
    text = _PROGRESS.sub("", text).replace("\r", "\n")
    return [line.rstrip() for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class LogVerdict:
    """What the log says: an error class and the lines that show it (None when clean)."""

    error: type[SimulationError] | None
    reason: str
    lines: tuple[str, ...]


# Any line that could be a failure, searched in the whole text at once: a clean log (every successful run)
# is then one search instead of three per line. Each pattern matches at least wherever the line-by-line
# ones below do (``^`` at every line start; ``\s*`` may also span lines: a wider net, never a narrower one).
_ANY = re.compile("|".join(f"(?:{p.pattern})" for p in (_CONVERGENCE, _MISSING, _ERROR)),
                  re.IGNORECASE | re.MULTILINE)


def scan(lines: list[str]) -> LogVerdict:
    """Classify console lines: convergence failure, missing vector, deck error, or clean."""
    joined = "\n".join(lines)
    if not _ANY.search(joined):
        return LogVerdict(None, "", ())
    conv = [ln for ln in lines if _CONVERGENCE.search(ln)]
    if conv or _CONVERGENCE.search(joined):
        return LogVerdict(ConvergenceError, conv[0].strip() if conv else "convergence failure",
                          tuple(_context(lines, conv)))
    missing = [ln for ln in lines if _MISSING.search(ln)]
    if missing:
        return LogVerdict(MissingVectorError, missing[0].strip(), tuple(missing))
    errors = [ln for ln in lines if _ERROR.search(ln) and not _BENIGN.search(ln.strip())]
    if errors:
        return LogVerdict(NetlistError, errors[0].strip(), tuple(_context(lines, errors)))
    return LogVerdict(None, "", ())


def _context(lines: list[str], hits: list[str], before: int = 2) -> list[str]:
    """The hit lines with a little preceding context, without duplicates, in order."""
    keep: list[int] = []
    hit_set = set(hits)
    for i, line in enumerate(lines):
        if line in hit_set:
            keep.extend(range(max(0, i - before), i + 1))
    seen: set[int] = set()
    out = []
    for i in keep:
        if i not in seen and not _BENIGN.search(lines[i].strip()):
            seen.add(i)
            out.append(lines[i])
    return out or hits
