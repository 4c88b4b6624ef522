"""A Monte Carlo batch that fails is loud: non-zero exit with the first failing deck and log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memspice.characterize.registry import run_plan_by_kind as run_plan
from memspice.errors import MonteCarloFailed
from memspice.montecarlo.plan import load_plan

pytestmark = pytest.mark.ngspice

DATA = Path(__file__).resolve().parent.parent / "data" / "mc"


def _plan(tmp_path: Path, old: str, new: str, extra: str = ""):
    (tmp_path / "ladder.cir").write_text((DATA / "ladder.cir").read_text())
    text = (DATA / "ladder.toml").read_text()
    assert old in text
    (tmp_path / "p.toml").write_text(text.replace(old, new).replace("chunk_size = 8", "chunk_size = 8" + extra))
    return load_plan(tmp_path / "p.toml")


@pytest.mark.parametrize(("old", "new", "needle"), [
    ('vector = "v(out)"', 'vector = "v(nope)"', "lacks v(nope)"),          # a typo in a measure vector
    ('devices = ["r1", "r2", "r3"]', 'devices = ["r1", "r2", "rx"]', "rx"),  # a typo in a device name
    ('parameter = "resistance"', 'parameter = "resistence"', "resistence"),       # a typo in a parameter name
])
def test_a_batch_where_every_sample_fails_stops_after_one_chunk(tmp_path, old, new, needle):
    plan = _plan(tmp_path, old, new)
    with pytest.raises(MonteCarloFailed) as err:
        run_plan(plan, workers=1, cache_root=tmp_path / "c", show_progress=False)
    text = str(err.value)
    assert "every sample of the first finished chunk failed (8 of 8)" in text
    assert needle in text and "deck: " in text and "run directory (kept)" in text
    # the deck named in the message exists and is the failing one
    deck = Path(next(ln for ln in text.splitlines() if ln.startswith("  deck: ")).split("deck: ")[1])
    assert deck.is_file()
    # one chunk computed (of 5), and deterministic failures are not retried with relaxed options
    chunks = sorted((tmp_path / "c").glob("*/chunk_*.json"))
    assert len(chunks) == 1
    record = json.loads(chunks[0].read_text())
    assert record["status"] == ["failed"] * 8 and record["retried"] == [False] * 8
    # a rerun reads the cached chunk and fails the same way (not exit 0 from the cache)
    with pytest.raises(MonteCarloFailed, match="first failing sample 0"):
        run_plan(plan, workers=1, cache_root=tmp_path / "c", show_progress=False)


def test_the_failed_fraction_limit(tmp_path):
    """bistable.toml: samples with no operating point fail; the plan's limit decides the verdict."""
    (tmp_path / "bistable.cir").write_text((DATA / "bistable.cir").read_text())
    text = (DATA / "bistable.toml").read_text()
    (tmp_path / "p.toml").write_text(text.replace("timeout_s = 20", "timeout_s = 20\nmax_failed_fraction = 0.0"))
    plan = load_plan(tmp_path / "p.toml")
    with pytest.raises(MonteCarloFailed, match=r"samples failed, more than max_failed_fraction 0"):
        run_plan(plan, workers=1, cache_root=tmp_path / "c", show_progress=False)
    lenient = plan.replace(max_failed_fraction=0.9)
    result = run_plan(lenient, workers=1, cache_root=tmp_path / "c", show_progress=False)
    assert 0 < result.n_failed <= 0.9 * plan.samples


def _run(args: list[str], cwd: Path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "MEMSPICE_PROGRESS": "off"}
    return subprocess.run([sys.executable, "-m", "memspice", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)


def test_cli_exits_1_naming_the_failing_deck_and_leaves_no_output_folder(tmp_path):
    _plan(tmp_path, 'vector = "v(out)"', 'vector = "v(nope)"')
    proc = _run(["mc", "p.toml", "--workers", "1", "--cache", "c", "--out", "o"], tmp_path)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert "memspice: error: Monte Carlo ladder: every sample of the first finished chunk failed" in proc.stderr
    assert "lacks v(nope)" in proc.stderr and "  deck: " in proc.stderr
    assert not (tmp_path / "o").exists()


def test_rerun_into_another_runs_out_is_refused_then_overwritten(tmp_path):
    """The stale-file case: a second run with other inputs must not mix its tables with the first's."""
    _plan(tmp_path, "samples = 40", "samples = 8")  # one chunk: the folder logic, not the engine, is tested
    first = _run(["mc", "p.toml", "--workers", "1", "--cache", "c", "--out", "o"], tmp_path)
    assert first.returncode == 0, first.stderr
    table = (tmp_path / "o" / "samples.csv").read_bytes()
    again = _run(["mc", "p.toml", "--workers", "1", "--cache", "c", "--out", "o"], tmp_path)
    assert again.returncode == 0 and "0 computed now, 1 from cache" in again.stdout  # the same run: accepted
    (tmp_path / "p.toml").write_text((tmp_path / "p.toml").read_text().replace("seed = 7", "seed = 8"))
    other = _run(["mc", "p.toml", "--workers", "1", "--cache", "c", "--out", "o"], tmp_path)
    assert other.returncode == 2 and "holds a run of `memspice mc` with other inputs" in other.stderr
    assert (tmp_path / "o" / "samples.csv").read_bytes() == table  # untouched
    forced = _run(["mc", "p.toml", "--workers", "1", "--cache", "c", "--out", "o", "--overwrite"], tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "o" / "samples.csv").read_bytes() != table


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


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux) to find the workers")
def test_killing_mc_leaves_no_worker_behind(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "MEMSPICE_PROGRESS": "off"}
    proc = subprocess.Popen([sys.executable, "-m", "memspice", "mc", str(DATA / "rc_slow.toml"), "--workers", "2",
                             "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "o")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    workers: list[int] = []
    while time.monotonic() < deadline:
        workers = _children(proc.pid)
        if len(list((tmp_path / "c").glob("*/chunk_*.json"))) >= 2 and len(workers) >= 2:
            break
        time.sleep(0.1)
    assert len(workers) >= 2, "the workers never started"
    proc.send_signal(signal.SIGKILL)  # the parent only, as an OOM killer or `kill -9 PID` would
    proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.2)
    left = [p for p in workers if _alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, f"processes still running 30 s after their parent was killed: {left}"


def _slow_run_in_a_thread():
    """rc_slow's deck started on a thread (subprocess backend) once its ngspice is live: (deck, thread, got:
    the run's outcome, None or the error)."""
    import threading
    import time

    from memspice.characterize.registry import build_circuit
    from memspice.netlist.deck import Deck
    from memspice.ngspice import simulate
    from memspice.ngspice.engine import _LIVE

    circuit = build_circuit(load_plan(DATA / "rc_slow.toml"))
    base = circuit.deck()
    deck = Deck(base.title, base.cards, steps=list(circuit.analyses()), options=base.options)
    got: list[BaseException | None] = []

    def run() -> None:
        try:
            simulate(deck, backend="subprocess")
            got.append(None)
        except BaseException as err:
            got.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 60
    while not _LIVE and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _LIVE, "ngspice never started"
    return deck, thread, got


def test_stopping_runs_kills_running_ngspice_and_refuses_new_ones():
    """A Monte Carlo on threads (subprocess backend) that ends early kills its running ngspice processes
    and starts no more while its threads finish (memspice.ngspice.engine.stopping_runs)."""
    import time

    from memspice.errors import SimulationError
    from memspice.ngspice import simulate
    from memspice.ngspice.engine import _LIVE, stopping_runs

    deck, thread, got = _slow_run_in_a_thread()
    t0 = time.monotonic()
    with stopping_runs():
        thread.join(30)
        with pytest.raises(InterruptedError):
            simulate(deck, backend="subprocess")
    assert time.monotonic() - t0 < 10  # killed, not run to its end
    assert isinstance(got[0], SimulationError)
    assert not _LIVE


def test_ngspice_runs_in_its_own_process_group_in_this_session():
    """ngspice (subprocess backend) is killed as a process group and the terminal's Ctrl-C does not reach it
    directly, yet it stays in this process's session: a new session is a new scheduler autogroup on Linux
    kernels with autogroups on (Debian's default), where nice no longer ranks it below this process (the
    study's nice-19 early work would then slow training; docs/study.md)."""
    import os

    from memspice.errors import SimulationError
    from memspice.ngspice.engine import _LIVE, stopping_runs

    _, thread, got = _slow_run_in_a_thread()
    procs = list(_LIVE)
    seen = [(os.getpgid(p.pid), os.getsid(p.pid)) for p in procs]
    with stopping_runs():
        thread.join(30)
    assert seen == [(procs[0].pid, os.getsid(0))]
    assert isinstance(got[0], SimulationError) or got[0] is None
