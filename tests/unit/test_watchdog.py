"""The subprocess backend's deadlines (memspice.ngspice.watchdog): one thread kills what outlives its
deadline, and nothing that was cancelled; cancelled entries do not pile up run after run."""

import threading
import time

from memspice.ngspice.watchdog import Watchdog


def test_kills_at_the_deadline_only_what_is_still_watched():
    killed: list[str] = []
    done = threading.Event()

    def kill(proc):
        killed.append(proc)
        if proc == "late":
            done.set()

    dog = Watchdog(kill)
    now = time.monotonic()
    early = dog.watch(now + 0.05, "finished")  # a run that ended before its deadline
    dog.cancel(early)
    late = dog.watch(now + 0.1, "late")
    for k in range(200):  # many runs that end in time, all far from their deadline
        dog.cancel(dog.watch(now + 600 + k, f"run{k}"))
    assert done.wait(10.0)
    assert killed == ["late"] and late.expired and not early.expired
    dog.cancel(late)  # cancelling after the kill changes nothing
    assert len(dog._heap) <= 130  # the cancelled ones were dropped on the way, not kept for ten minutes


def test_a_kill_that_fails_does_not_stop_the_other_deadlines():
    """One run's kill raising (e.g. EPERM) must not end the thread that keeps every other run's deadline."""
    killed: list[str] = []
    done = threading.Event()

    def kill(proc):
        if proc == "stubborn":
            raise PermissionError("not allowed")
        killed.append(proc)
        done.set()

    dog = Watchdog(kill)
    now = time.monotonic()
    first = dog.watch(now + 0.05, "stubborn")
    second = dog.watch(now + 0.2, "next")
    assert done.wait(10.0)
    assert killed == ["next"] and first.expired and second.expired
