"""Deadlines of running ngspice processes, kept by one thread for all runs (:class:`Watchdog`)."""

from __future__ import annotations

import heapq
import logging
import subprocess
import threading
import time
from collections.abc import Callable

_log = logging.getLogger(__name__)


class Deadline:
    """One run's deadline in the :class:`Watchdog`'s heap (ordered by time, then by registration)."""

    __slots__ = ("at", "cancelled", "expired", "proc", "seq")

    def __init__(self, at: float, seq: int, proc: subprocess.Popen):
        self.at, self.seq, self.proc = at, seq, proc
        self.expired = False
        self.cancelled = False

    def __lt__(self, other: Deadline) -> bool:
        return (self.at, self.seq) < (other.at, other.seq)


class Watchdog:
    """Calls ``kill(proc)`` for every run still going at its deadline, from one daemon thread for all runs
    (started on first use): what a ``threading.Timer`` per run did, without starting a thread per run."""

    def __init__(self, kill: Callable[[subprocess.Popen], None]) -> None:
        self._kill = kill
        self._cond = threading.Condition()
        self._heap: list[Deadline] = []
        self._seq = 0
        self._cancelled = 0
        self._thread: threading.Thread | None = None

    def watch(self, at: float, proc: subprocess.Popen) -> Deadline:
        with self._cond:
            self._seq += 1
            entry = Deadline(at, self._seq, proc)
            heapq.heappush(self._heap, entry)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="memspice-ngspice-deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0] is entry:  # earlier than the deadline the thread sleeps towards
                self._cond.notify()
        return entry

    def cancel(self, entry: Deadline) -> None:
        with self._cond:
            if entry.cancelled or entry.expired:
                return
            entry.cancelled = True
            self._cancelled += 1
            if self._cancelled > 64 and 2 * self._cancelled > len(self._heap):  # drop them now and then
                self._heap = [e for e in self._heap if not e.cancelled]
                heapq.heapify(self._heap)
                self._cancelled = 0

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0].cancelled:
                    heapq.heappop(self._heap)
                    self._cancelled -= 1
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0].at - time.monotonic()
                if wait > 0:
                    self._cond.wait(min(wait, threading.TIMEOUT_MAX))
                    continue
                entry = heapq.heappop(self._heap)
                entry.expired = True
                self._cond.release()
                try:
                    self._kill(entry.proc)
                except Exception:  # one failed kill must not end the thread that keeps every deadline
                    _log.warning("could not stop an ngspice run at its deadline", exc_info=True)
                finally:
                    self._cond.acquire()
