"""Executing Monte Carlo plans: chunks, workers, Dask, cache and resumption.

A chunk is the unit of work: its samples are drawn from the plan (child ``chunk`` of the plan's
SeedSequence), written into ONE deck as ``alter`` steps followed by the analyses, and run in one
ngspice invocation, so the circuit is parsed once per chunk rather than once per sample. A circuit
that batches (:class:`~memspice.montecarlo.circuit.BatchingCircuit`, e.g. the crossbar read: every
sample one point of a ``.dc`` sweep) runs the chunk without a control command per sample; if that
run fails the chunk goes the ``alter`` way. A
finished chunk is written atomically to the cache (``<cache>/<plan>-<hash>/chunk_NNNNN.json``);
rerunning a plan, even after SIGKILL, computes only missing chunks, and the assembled tables are
identical to an uninterrupted run's.

A circuit whose samples need several runs (the Q-cell converter programmed closed loop: one
verify sweep per write-verify iteration) defines ``run_values(values, backend=, timeout_s=)``; the
engine then hands it the chunk's drawn values (seeding, workers and cache unchanged) and records
the measurements it returns, one dict per sample.

If a chunk's run fails, its samples are run one by one to find the failing ones; a sample that
did not converge or timed out is retried once with relaxed solver options (a deck ngspice rejects
or a vector it lacks is not: looser tolerances cannot fix those) and, if it still fails, recorded
with its reason. The batch goes on, but failure is loud: a batch whose failed fraction exceeds the
plan's ``max_failed_fraction``, or whose first finished chunk failed entirely, raises
:class:`~memspice.errors.MonteCarloFailed` with the first failing sample's deck and log.

Local workers are threads of this process for the subprocess backend (each waits on its ngspice
process: no pool to start, no records to pickle) and spawned processes for the shared library (one
ngspice engine per process). A run that ends early kills the ngspice processes its threads started
and refuses new ones; if this process is killed outright (SIGKILL) they finish their deck and exit.
Worker processes die with their parent (a parent-death signal and a watchdog), and a worker told
to stop kills its ngspice process group first.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from memspice import __version__
from memspice.errors import (
    InputError,
    MissingVectorError,
    MonteCarloFailed,
    NetlistError,
    SimulationError,
    SpecError,
)
from memspice.montecarlo.cache import CACHE_FORMAT, ChunkCache, _safe, estimate_mb, plan_key  # noqa: F401
from memspice.montecarlo.circuit import MonteCarloCircuit
from memspice.montecarlo.plan import Plan
from memspice.montecarlo.sampling import check_plan_groups, draw_chunk
from memspice.netlist.deck import Deck, Step
from memspice.ngspice import simulate
from memspice.ngspice.engine import stopping_runs

# Solver options for the single retry of a failed sample: looser tolerances, more iterations,
# Gear integration, a larger gmin. Recorded in the sample's row when used.
RELAXED_OPTIONS = {"reltol": 1e-2, "abstol": 1e-10, "vntol": 1e-4, "itl1": 500, "itl4": 100, "gmin": 1e-10,
                   "method": "gear"}


# -- circuits -----------------------------------------------------------------------------------
# The engine runs the circuit object it is given and never names a concrete one: plans name their
# circuit by kind, resolved above this layer (memspice.characterize.registry).

def check_circuit(plan: Plan, circuit: MonteCarloCircuit) -> None:
    """Check the plan against its circuit (groups, measurements); nothing runs."""
    check_plan_groups(plan, circuit.param_groups())
    names = list(circuit.measure_names())
    for k, name in enumerate(plan.measure):
        if name not in names:
            raise SpecError(f"plan.measure[{k}]", name, f"a measurement of circuit {plan.circuit}: {', '.join(names)}")


# -- one chunk ----------------------------------------------------------------------------------

def _sample_steps(circuit: MonteCarloCircuit, values: Mapping[str, np.ndarray], s: int) -> list[Step]:
    return [*circuit.apply({g: v[s] for g, v in values.items()}), *circuit.analyses()]


def _deck(circuit: MonteCarloCircuit, steps: list[Step], options: Mapping | None = None) -> Deck:
    base = circuit.deck()
    return Deck(base.title, base.cards, steps=steps, options={**base.options, **(options or {})},
                header=base.header)


def run_chunk(plan: Plan, chunk: int, circuit: MonteCarloCircuit) -> dict[str, Any]:
    """Simulate one chunk; returns its JSON-able record (values, measurements, statuses).

    ``circuit`` travels with the task (it is picklable and its decks are self-contained), so a
    remote worker needs memspice and ngspice but not the plan's files.
    """
    groups = circuit.param_groups()
    values = draw_chunk(plan, groups, chunk)
    samples = list(plan.chunk_range(chunk))
    n_an = len(circuit.analyses())
    keep = list(plan.measure) or list(circuit.measure_names())
    measures: dict[str, list[float | None]] = {name: [] for name in keep}
    status, reason, retried = [], [], []
    t0 = time.monotonic()

    def record(meas: Mapping[str, float] | None, ok: str, why: str, again: bool) -> None:
        for name in keep:
            measures[name].append(None if meas is None else float(meas[name]))
        status.append(ok)
        reason.append(why)
        retried.append(again)

    first_failure: dict[str, Any] | None = None
    runner = getattr(circuit, "run_values", None)
    batched = None if runner is not None else _run_batched(plan, circuit, values, len(samples))
    if runner is not None:  # a circuit whose samples need several runs (closed-loop programming)
        first_failure = _run_by_circuit(plan, runner, values, samples, record)
    elif batched is not None:  # every sample ok: the columns at once
        for name in keep:
            measures[name] = [float(meas[name]) for meas in batched]
        status += ["ok"] * len(batched)
        reason += [""] * len(batched)
        retried += [False] * len(batched)
    else:
        steps: list[Step] = []
        for s in range(len(samples)):
            steps += _sample_steps(circuit, values, s)
        try:
            result = simulate(_deck(circuit, steps), backend=plan.backend, timeout_s=plan.timeout_s * len(samples))
            for s in range(len(samples)):
                record(circuit.measure(result.plots[s * n_an:(s + 1) * n_an]), "ok", "", False)
        except SimulationError:
            for s in range(len(samples)):
                detail = _run_isolated(plan, circuit, values, s, record)
                if detail and first_failure is None:
                    first_failure = {"sample": samples[s], "message": detail}
    return {
        "format": CACHE_FORMAT,
        "memspice": __version__,
        "chunk": chunk,
        "samples": samples,
        "values": dict(values),  # float64 arrays (samples, members): the cache writes their bytes
        "measures": measures,
        "status": status,
        "reason": reason,
        "retried": retried,
        "seconds": time.monotonic() - t0,
        "pid": os.getpid(),
        "batched": batched is not None,  # one-deck batch (True) or alter steps
        **({"first_failure": first_failure} if first_failure else {}),
    }


def _run_batched(plan: Plan, circuit: MonteCarloCircuit, values: Mapping[str, np.ndarray], n: int
                 ) -> list[Mapping[str, float]] | None:
    """The chunk's measurements from the circuit's one-deck batch; None (no batch, or it failed): alter path."""
    batch = getattr(circuit, "batch", None)
    made = batch(values) if batch is not None else None
    if made is None:
        return None
    try:
        result = simulate(made.deck, backend=plan.backend, timeout_s=plan.timeout_s * n)
        out = made.measure(result.plots)
    except SimulationError:
        return None
    return out if len(out) == n else None


# failures that looser solver options cannot fix: not retried
NOT_RETRIED = (NetlistError, MissingVectorError)


def _run_by_circuit(plan, runner, values, samples, record) -> dict[str, Any] | None:
    """``circuit.run_values(values, backend=, timeout_s=)`` runs the whole chunk (several decks, e.g. one per
    write-verify iteration); if it fails, each sample alone, and a sample that still fails is recorded.
    Returns the first failure (sample and full error text), or None."""
    n = len(samples)
    try:
        for meas in runner(values, backend=plan.backend, timeout_s=plan.timeout_s * n):
            record(meas, "ok", "", False)
        return None
    except SimulationError:
        pass
    first: dict[str, Any] | None = None
    for s in range(n):
        try:
            (meas,) = runner({g: v[s:s + 1] for g, v in values.items()}, backend=plan.backend,
                             timeout_s=plan.timeout_s)
            record(meas, "ok", "", False)
        except SimulationError as err:
            record(None, "failed", str(err).splitlines()[0], False)
            if first is None:
                first = {"sample": samples[s], "message": str(err)}
    return first


def _run_isolated(plan, circuit, values, s, record) -> str | None:
    """Run sample ``s`` alone (retrying once relaxed if that can help); the full error text if it failed."""
    steps = _sample_steps(circuit, values, s)
    try:
        plots = simulate(_deck(circuit, steps), backend=plan.backend, timeout_s=plan.timeout_s).plots
        record(circuit.measure(plots), "ok", "", False)
        return None
    except SimulationError as first:
        if isinstance(first, NOT_RETRIED):
            record(None, "failed", str(first).splitlines()[0], False)
            return str(first)
        first_line = str(first).splitlines()[0]
    try:
        plots = simulate(_deck(circuit, steps, RELAXED_OPTIONS), backend=plan.backend, timeout_s=plan.timeout_s).plots
        record(circuit.measure(plots), "ok", f"recovered with relaxed options after: {first_line}", True)
        return None
    except SimulationError as second:
        record(None, "failed", str(second).splitlines()[0], True)
        return str(second)


# -- executors ----------------------------------------------------------------------------------

Executor = Callable[[Plan, MonteCarloCircuit, list[int]], Iterable[dict[str, Any]]]


def _local_executor(workers: int, backend: str = "subprocess") -> Executor:
    """Chunks on ``workers`` local workers: threads for the subprocess backend, spawned processes for the
    shared library (one ngspice engine per process).

    With ``ngspice -b`` a worker only writes a deck, waits on its ngspice process and reads the raw
    file, so threads of this process do: no pool to start (two spawned processes importing numpy and
    memspice took 0.86 s on the idle 2-core machine, a fifth of a 1000-sample run) and no pickling of
    records. If the run stops early (an error, Ctrl-C, a closed generator) the running ngspice process
    groups are killed and no new ones start; the threads finish at once.
    """
    def execute(plan: Plan, circuit: MonteCarloCircuit, chunks: list[int]) -> Iterable[dict[str, Any]]:
        if workers <= 1:
            for k in chunks:
                yield run_chunk(plan, k, circuit)
            return
        threads = backend == "subprocess"
        if threads:
            pool: ThreadPoolExecutor | ProcessPoolExecutor = ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix="memspice-mc")
        else:
            import multiprocessing

            pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=worker_init, initargs=(os.getpid(),))
        finished = False
        try:
            pending = {pool.submit(run_chunk, plan, k, circuit) for k in chunks}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
            finished = True
        finally:
            if threads and not finished:
                with stopping_runs():  # kill what runs now and refuse new runs until the threads are done
                    pool.shutdown(wait=True, cancel_futures=True)
            else:
                pool.shutdown(wait=True, cancel_futures=True)

    return execute


def worker_init(parent_pid: int) -> None:
    """Make a worker process die with its parent, and kill its ngspice children when told to stop (the
    initializer of every process pool that runs ngspice: this engine's, ``memspice explore adc``'s).

    Linux delivers SIGTERM to the worker when the parent dies (``PR_SET_PDEATHSIG``); a watchdog
    thread covers other systems and the race before the signal was armed. SIGTERM raises
    SystemExit, so the engine's cleanup kills the running ngspice process group.
    """
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - prctl missing
            pass

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
                os._exit(143)
            time.sleep(1.0)

    threading.Thread(target=watch, name="memspice-parent-watch", daemon=True).start()


def _dask_executor(scheduler: str, workers: int) -> Executor:
    def execute(plan: Plan, circuit: MonteCarloCircuit, chunks: list[int]) -> Iterable[dict[str, Any]]:
        try:
            from distributed import Client, LocalCluster, as_completed
        except ImportError:
            raise InputError("--scheduler needs dask.distributed: pip install -e '.[dask]'") from None
        cluster = None
        if scheduler == "local":
            cluster = LocalCluster(n_workers=max(workers, 1), threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
            address = cluster.scheduler_address
        else:
            address = scheduler
        try:
            try:
                client = Client(address, timeout="10s")
            except (OSError, TimeoutError) as err:
                raise InputError(f"--scheduler {address}: no Dask scheduler answers there ({err})") from None
            with client:
                futures = [client.submit(run_chunk, plan, k, circuit, pure=False,
                                         key=f"mc-{_safe(plan.name)}-{k}-{time.time_ns()}") for k in chunks]
                try:
                    for fut in as_completed(futures):
                        yield fut.result()
                finally:
                    client.cancel(futures)
        finally:
            if cluster is not None:
                cluster.close()

    return execute


# -- the whole batch ----------------------------------------------------------------------------

@dataclass
class PlanResult:
    """Every chunk record of one plan run (:func:`run_plan`), in chunk order, and the circuit it ran on."""

    plan: Plan
    records: list[dict[str, Any]]
    computed_chunks: int
    seconds: float
    cache_dir: Path
    circuit: MonteCarloCircuit  # the circuit the plan ran on (its parameter groups name the sample table)

    @property
    def n_failed(self) -> int:
        return sum(s != "ok" for r in self.records for s in r["status"])

    def measure(self, name: str) -> np.ndarray:
        """A measurement over all samples (NaN for failed samples)."""
        return np.array([np.nan if v is None else v for r in self.records for v in r["measures"][name]])

    def values(self, group: str) -> np.ndarray:
        return np.concatenate([np.asarray(r["values"][group], dtype=float) for r in self.records])


def run_plan(plan: Plan, *, circuit: MonteCarloCircuit, workers: int | None = None, scheduler: str | None = None,
             cache_root: str | Path = "runs/cache/mc", show_progress: bool = True) -> PlanResult:
    """Run every missing chunk of ``plan`` on ``circuit`` and return all chunks' records, in chunk order.

    ``circuit``: built by the caller (``characterize crossbar --mc`` and the study pass theirs; a plan
    file's circuit kind is built by :func:`memspice.characterize.registry.build_circuit`).
    """
    from memspice.progress import progress

    check_plan_groups(plan, circuit.param_groups())
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise SpecError("--workers", workers, "at least 1")
    cache = ChunkCache(Path(cache_root), plan, circuit)
    done = cache.finished()  # chunks already in the cache, read once
    todo = [k for k in range(plan.n_chunks) if k not in done]
    workers = min(workers, max(len(todo), 1))  # no process without a chunk to run
    execute = _dask_executor(scheduler, workers) if scheduler else _local_executor(workers, plan.backend)
    t0 = time.monotonic()
    if todo:
        with progress(sum(len(plan.chunk_range(k)) for k in todo), f"Monte Carlo {plan.name}",
                      enabled=show_progress) as prog:
            ok = plan.samples - sum(len(plan.chunk_range(k)) for k in todo)
            for record in execute(plan, circuit, todo):
                done[record["chunk"]] = {**record, "measures": cache.store(record)}  # measures as load() reads them
                prog.advance(len(record["samples"]))
                ok += sum(s == "ok" for s in record["status"])
                if ok == 0 and record["status"]:  # the first finished chunk failed entirely: stop now
                    raise _failed(plan, [record], len(record["samples"]), cache.dir, stopped=True)
    seconds = time.monotonic() - t0
    records = [done.get(k) for k in range(plan.n_chunks)]
    if any(r is None for r in records):  # pragma: no cover - every chunk was just stored
        raise InputError(f"Monte Carlo cache {cache.dir}: chunks missing after the run")
    result = PlanResult(plan=plan, records=records, computed_chunks=len(todo), seconds=seconds, cache_dir=cache.dir,
                      circuit=circuit)
    if result.n_failed > plan.max_failed_fraction * plan.samples:
        raise _failed(plan, records, plan.samples, cache.dir)
    return result


def _failed(plan: Plan, records: list[dict[str, Any]], n: int, cache_dir: Path, stopped: bool = False
            ) -> MonteCarloFailed:
    """The error of a batch that failed: counts, the limit, and the first failing sample's deck and log."""
    failed = sum(s != "ok" for r in records for s in r["status"])
    first = next((r for r in records if "first_failure" in r or any(s != "ok" for s in r["status"])), None)
    detail = ""
    if first is not None:
        if "first_failure" in first:
            ff = first["first_failure"]
            detail = f"first failing sample {ff['sample']}: {ff['message']}"
        else:
            k = [s != "ok" for s in first["status"]].index(True)
            detail = f"first failing sample {first['samples'][k]}: {first['reason'][k]}"
    if stopped:
        head = (f"Monte Carlo {plan.name}: every sample of the first finished chunk failed ({failed} of {n}); "
                "stopped before running the rest")
    else:
        head = (f"Monte Carlo {plan.name}: {failed} of {n} samples failed, more than max_failed_fraction "
                f"{plan.max_failed_fraction:g}")
    return MonteCarloFailed(f"{head} (chunk records kept in {cache_dir})\n{detail}".rstrip())


def run_circuit(circuit: MonteCarloCircuit, *, name: str, samples: int, seed: int, vary: Iterable[Mapping[str, Any]],
                chunk_size: int = 50, backend: str = "subprocess", workers: int | None = None,
                scheduler: str | None = None, cache_root: str | Path = "runs/cache/mc",
                show_progress: bool = True) -> PlanResult:
    """Monte Carlo of a circuit object through the engine (chunks, workers, cache, resumption).

    The plan records the circuit by its hash (``spec.circuit_hash``); ``vary`` holds
    :class:`~memspice.montecarlo.plan.Variation` tables.
    """
    from memspice.montecarlo.plan import Variation

    plan = Plan(name=name, circuit=circuit.kind, spec={"circuit_hash": circuit.spec_hash()}, samples=samples,
                seed=seed, chunk_size=chunk_size, backend=backend,
                vary=tuple(Variation.from_dict(dict(v), where=f"vary[{k}]") for k, v in enumerate(vary)))
    return run_plan(plan, workers=workers, scheduler=scheduler, cache_root=cache_root,
                    show_progress=show_progress, circuit=circuit)
