"""Progress display with an ETA for long work.

On a terminal it is a rich progress bar; otherwise (CI logs, pipes) it prints a line to stderr
at most every ``interval_s`` seconds, so logs stay short but a stalled job is visible.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Progress:
    """Counts finished units of work and reports rate and ETA."""

    def __init__(self, total: int, description: str, *, interval_s: float = 10.0, stream=None):
        self.total = max(int(total), 0)
        self.description = description
        self.done = 0
        self.interval_s = interval_s
        self.stream = stream if stream is not None else sys.stderr
        self.t0 = time.monotonic()
        self._last_print = self.t0
        self._bar = None
        self._task = None

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(self._task, advance=n)
            return
        now = time.monotonic()
        if now - self._last_print >= self.interval_s and self.done < self.total:
            self._last_print = now
            print(f"{self.description}: {self.status()}", file=self.stream, flush=True)

    def status(self) -> str:
        elapsed = time.monotonic() - self.t0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta_text = f"{eta:.0f} s" if eta != float("inf") else "?"
        return f"{self.done}/{self.total} ({rate:.2f}/s, ETA {eta_text})"


def _use_bar(stream) -> bool:
    forced = os.environ.get("MEMSPICE_PROGRESS")
    if forced is not None:
        return forced == "bar"
    return hasattr(stream, "isatty") and stream.isatty()


@contextmanager
def progress(total: int, description: str, *, enabled: bool = True, stream=None) -> Iterator[Progress]:
    """Context manager yielding a :class:`Progress`; ``enabled=False`` (or ``MEMSPICE_PROGRESS=none``,
    set by ``memspice -q``) makes it silent."""
    prog = Progress(total, description, stream=stream)
    if not enabled or os.environ.get("MEMSPICE_PROGRESS") == "none":
        prog.interval_s = float("inf")
        yield prog
        return
    if _use_bar(prog.stream):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        console = Console(file=prog.stream)
        with RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                          console=console, transient=False) as bar:
            prog._bar = bar
            prog._task = bar.add_task(description, total=prog.total)
            yield prog
    else:
        yield prog
