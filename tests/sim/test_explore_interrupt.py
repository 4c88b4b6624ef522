"""A killed `memspice explore adc` leaves nothing running: when the parent alone is killed (`kill PID`, an
out-of-memory killer), its worker processes get SIGTERM from the kernel (parent-death signal) and stop, killing
the ngspice runs they started first. A SIGTERM sent to the workers directly (`pkill -f memspice`, a batch
system ending the job) takes the same handler. Real ngspice: the runs to find are the simulator's own processes.
Before session 12 the explorer's pool had no such handler: its workers ran on after the parent's death (this
test failed with both workers and two ngspice runs alive after 30 s), and a SIGTERM to a worker left its
running ngspice behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ngspice,
              pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")]

ROOT = Path(__file__).resolve().parent.parent.parent
SPEC = ROOT / "circuits" / "qcell_adc_4bit.toml"
# two points on two workers, nominal only: each programs and converts for tens of seconds
GRID = '[grid]\nmc_samples = 0\n[grid.vary]\n"cell.v_read_v" = [0.75, 0.8]\n'


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has exited (its parent may not have reaped it yet)


def _ngspice_under(root: Path) -> list[int]:
    """Live processes whose working folder is a run folder under ``root`` (each ngspice run has its own)."""
    out = []
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            where = Path(os.readlink(cwd))
        except OSError:
            continue
        if where.is_relative_to(root) and _alive(int(cwd.parent.name)):
            out.append(int(cwd.parent.name))
    return out


def test_killing_explore_leaves_no_worker_or_ngspice_behind(tmp_path):
    runs = tmp_path / "runs"
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    env = {**os.environ, "MEMSPICE_PROGRESS": "off", "MEMSPICE_RUN_ROOT": str(runs)}
    proc = subprocess.Popen([sys.executable, "-m", "memspice", "explore", "adc", str(SPEC), "--grid", str(grid),
                             "--out", str(tmp_path / "out"), "--workers", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while time.monotonic() < deadline:
            workers = _children(proc.pid)
            if len(workers) >= 2 and _ngspice_under(runs):
                break
            time.sleep(0.05)
        assert len(workers) >= 2 and _ngspice_under(runs), "the workers never ran ngspice"
        proc.send_signal(signal.SIGTERM)  # the parent only
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (any(_alive(p) for p in workers) or _ngspice_under(runs)):
            time.sleep(0.2)
        left = [p for p in workers if _alive(p)] + _ngspice_under(runs)
    finally:
        for p in [proc.pid, *_children(proc.pid), *_ngspice_under(runs)]:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert not left, f"processes still running 30 s after the parent was killed: {left}"
