"""Time a Monte Carlo of a crossbar column DC read: memspice's engine against the simulator alone and
against re-parsing per sample.

The circuit: ``circuits/crossbar_128.toml`` at ``--rows`` rows (default 64; one signed column, a
G+/G- pair of 1R cells read by TIAs), pattern 0 of its DC transfer, with the card's programming
error (2.8 uS for vteam_paper) and read noise (0.2 uS) on every cell. Six ways, on the same
machine in one run, each with ``--workers`` processes (default: one per core) and timed from the
start of its pool to the last result (worker start-up included):

1. **memspice, alter path** (before issue 16's batching): ``characterize.crossbar.run_mc`` ->
   ``montecarlo.engine.run_circuit`` with ``CrossbarCircuit.batching = False``: one deck per chunk of
   ``--chunk-size`` samples, each sample 128 ``alter`` commands and an ``op``; a fresh cache folder.
2. **memspice, batched** (the default): the same engine, every chunk one deck whose cells' states are
   tables of a sample index swept by one ``.dc`` (``netlist.crossbar.batched_dc_deck``).
3. **simulator limit, alter decks**: exactly the chunk decks of (1) (same samples), written to disk
   before timing and run by ``ngspice -b`` alone (a pool of ``--workers`` threads each waiting on
   one ngspice process, started as the engine starts it: its environment, a new session):
   what the alter path could reach with no Python at all.
4. **simulator limit, batched decks**: the same for the chunk decks of (2); beside it (4b) the same
   samples' batched decks with the cells written as before issue 16's chunk-form work (an instance of
   the state-port subcircuit per cell, ``cells="subckt"``), alternating with (4): how far the inline
   cells moved the limit (``inline_over_subckt_simulator_limit``, wall, and its CPU-time twin).
5. **one ngspice -b process per sample**: a complete deck per sample with that sample's
   conductances written into the cell instances, run by ``memspice.ngspice.simulate(deck,
   backend="subprocess")`` (parse included), in a process pool of the same size.
6. **PySpice shared library, re-loading per sample**: the same per-sample deck through
   ``simulate(deck, backend="shared")`` (load, run, destroy per call; one engine per process).

(2) and (4) run ``--repeat`` times, alternating, and their figures are the medians: on a shared
machine the load changes between two timings. Beside wall time, the CPU time of (2) (this process,
whose threads run the chunks, plus its ngspice children) and of (4) (the ngspice processes) gives
``cpu_fraction_of_simulator_limit``, which other jobs on the machine move much less; the engine's CPU is
also printed by part (its Python, its ngspice children) beside ngspice alone.

The per-sample baselines run the first ``--baseline-samples`` of memspice's samples (the values the
engine drew, taken back from its result); rates are samples per second of what each ran. The
column current ``i_out_A`` of every baseline sample must agree with memspice's to 1e-6 relative and
the batched path with the alter path to 1e-9 of full scale (measured ~2e-14), or the script exits 1.
The last lines are ``fraction_of_simulator_limit: X`` (the default engine over the limit of its own
decks), ``cpu_fraction_of_simulator_limit: X``, ``fraction_of_alter_simulator_limit: X`` (alter
engine over alter decks),
``batched_over_alter_simulator_limit: X`` (how far batching moved the limit),
``inline_over_subckt_simulator_limit: X`` and ``cpu_inline_over_subckt_simulator_limit: X`` (how far
the inline cells moved it) and
``speedup_vs_process_per_sample: X`` (the default engine over (5)). ``--json PATH`` also writes
the figures as JSON (``scripts/bench_all.py`` reads it).

    python scripts/bench_montecarlo.py [--samples 1000] [--baseline-samples N] [--workers N]
                                       [--rows 64] [--chunk-size 50] [--seed 1] [--repeat 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from memspice.characterize.crossbar import CrossbarCircuit, run_mc, study_for
from memspice.netlist.crossbar import tile_cards
from memspice.netlist.deck import Deck
from memspice.ngspice import simulate
from memspice.ngspice.engine import OPENMP_ENV
from memspice.ngspice.locate import find_ngspice
from memspice.spec.crossbar import CrossbarStudy

SPEC = Path(__file__).resolve().parent.parent / "circuits" / "crossbar_128.toml"
TOLERANCE = 1e-6
BATCH_TOLERANCE_FS = 1e-9  # batched vs alter path, of full scale (tests/sim/test_crossbar_batch.py)

# -- the per-sample baselines (run in pool workers) -------------------------------------------

_CIRCUIT: CrossbarCircuit | None = None


def _init_worker(circuit: CrossbarCircuit) -> None:
    global _CIRCUIT
    _CIRCUIT = circuit


def sample_deck(circuit: CrossbarCircuit, values: Mapping[str, np.ndarray]) -> Deck:
    """The whole tile with one sample's conductances written as literal values, and its read."""
    cards = tile_cards(circuit.spec, circuit.conductances(values), circuit.v_in_v)
    return Deck(f"memspice crossbar tile {circuit.spec.rows}x{circuit.spec.cols} (one sample)", cards,
                steps=circuit.analyses())


def _run_samples(backend: str, batch: list[dict[str, np.ndarray]]) -> list[float]:
    """``i_out_A`` of each sample of ``batch``, one complete deck (and parse) per sample."""
    assert _CIRCUIT is not None
    key = "i_out_A" if _CIRCUIT.spec.cols == 1 else "i_out_A_c0"
    out = []
    for values in batch:
        result = simulate(sample_deck(_CIRCUIT, values), backend=backend)
        out.append(_CIRCUIT.measure(result.plots)[key])
    return out


def run_per_sample(circuit: CrossbarCircuit, values: Mapping[str, np.ndarray], n: int, backend: str,
                   workers: int) -> tuple[np.ndarray, float]:
    """Run samples 0..n-1 one deck each over ``workers`` spawned processes; (i_out_A, seconds).

    Samples travel in small batches (a few per task) so the pool's messaging stays negligible
    next to a simulation; each worker keeps one shared-library engine for all its samples."""
    samples = [{g: v[s] for g, v in values.items()} for s in range(n)]
    batch = max(1, min(10, n // (4 * workers)))
    batches = [samples[k:k + batch] for k in range(0, n, batch)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(circuit,)) as pool:
        results = list(pool.map(_run_samples, [backend] * len(batches), batches))
    seconds = time.perf_counter() - t0
    return np.array([x for r in results for x in r]), seconds


# -- the simulator alone ----------------------------------------------------------------------

def chunk_decks(circuit: CrossbarCircuit, records: list[dict], batched: bool, cells: str = "inline"
                ) -> list[tuple[Deck, int]]:
    """Each chunk's deck as the engine writes it (alter steps, or the batch with ``cells`` written
    "inline" as now or as "subckt" instances as before) and its sample count."""
    base = circuit.deck()
    out = []
    for rec in records:
        values = {g: np.asarray(v, dtype=float) for g, v in rec["values"].items()}
        n = len(rec["samples"])
        if batched:
            circuit.batch_cells = cells
            try:
                made = circuit.batch(values)
            finally:
                circuit.batch_cells = "inline"
            if made is None:
                raise SystemExit("error: the circuit did not batch a chunk")
            out.append((made.deck, n))
            continue
        steps = []
        for s in range(n):
            steps += [*circuit.apply({g: v[s] for g, v in values.items()}), *circuit.analyses()]
        out.append((Deck(base.title, base.cards, steps=steps, options=base.options, header=base.header), n))
    return out


def engine_env(run_dir: Path) -> dict[str, str]:
    """The environment the engine runs ``ngspice -b`` in (``memspice.ngspice.engine._run_subprocess``): HOME
    in the run folder and OpenMP's passive wait (ngspice 39 is built with OpenMP; its threads' default
    spin-wait burns CPU). Like the engine, the limit also starts each ngspice in a new session: with the
    kernel's scheduler autogroups (``/proc/sys/kernel/sched_autogroup_enabled``) a new session is its own
    group with its own share of a loaded machine's CPU, so a limit run inside this process's session got
    2-3x less wall-clock CPU than the engine's runs and the wall fraction came out above 1."""
    env = {**os.environ, "HOME": str(run_dir)}
    for key, value in OPENMP_ENV.items():
        env.setdefault(key, value)
    return env


def run_ngspice_alone(decks: list[tuple[Deck, int]], workers: int, root: Path) -> float:
    """Seconds for ``ngspice -b`` to run every deck (written before timing), ``workers`` at a time, in the
    engine's environment."""
    exe = str(find_ngspice())
    dirs = []
    for k, (deck, _) in enumerate(decks):
        d = root / f"chunk_{k:05d}"
        d.mkdir(parents=True)
        (d / "deck.cir").write_text(deck.render("out.raw"))
        dirs.append(d)

    def one(d: Path) -> int:
        with open(d / "stdout.txt", "wb") as out, open(d / "stderr.txt", "wb") as err:
            return subprocess.run([exe, "-b", "deck.cir"], cwd=d, stdout=out, stderr=err, check=False,
                                  env=engine_env(d), stdin=subprocess.DEVNULL, process_group=0).returncode

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        codes = list(pool.map(one, dirs))
    seconds = time.perf_counter() - t0
    if any(codes) or not all((d / "out.raw").exists() for d in dirs):
        raise SystemExit(f"error: ngspice -b failed on a chunk deck (exit codes {sorted(set(codes))}) in {root}")
    return seconds


def cpu_s() -> tuple[float, float]:
    """CPU seconds (user + system) of this process and of its waited-for children so far."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


# -- the benchmark ----------------------------------------------------------------------------

def _sigmas(study: CrossbarStudy) -> tuple[float, float]:
    """Programming and read-noise sigma (S): the study's if set, else the card's."""
    var = study.crossbar.device_card.variability
    st = study.study
    prog = st.program_sigma_s if st.program_sigma_s is not None else var.program_sigma_s
    read = st.read_sigma_s if st.read_sigma_s is not None else var.read_sigma_s
    return float(prog), float(read)


def max_rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1000, help="Monte Carlo samples run by memspice")
    ap.add_argument("--baseline-samples", type=int, default=None,
                    help="samples run by each baseline (the first N of memspice's; default: all)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for every method")
    ap.add_argument("--rows", type=int, default=64)
    ap.add_argument("--chunk-size", type=int, default=50, help="memspice: samples per alter deck")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="runs of the batched engine and its limit (medians)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    n_base = args.samples if args.baseline_samples is None else args.baseline_samples
    if args.samples < 1 or not 1 <= n_base <= args.samples or args.workers < 1 or args.repeat < 1:
        ap.error("need samples >= 1, 1 <= baseline-samples <= samples, workers >= 1, repeat >= 1")

    study = study_for(SPEC, {"crossbar.rows": args.rows})
    circuit = CrossbarCircuit.from_study(study)
    spec = circuit.spec
    prog_sigma, read_sigma = _sigmas(study)
    key = "i_out_A" if spec.cols == 1 else "i_out_A_c0"
    print(f"Monte Carlo of a DC column read: {SPEC.name} at {spec.rows} rows x {spec.cols} signed column "
          f"({spec.cell}, {spec.device_card.name}, {spec.read_model} model, sense {spec.sense.kind}), "
          f"pattern 0; programming sigma {prog_sigma * 1e6:g} uS, read sigma {read_sigma * 1e6:g} uS, seed {args.seed}")
    print(f"workers: {args.workers} per method (os.cpu_count() = {os.cpu_count()}); memspice chunk size "
          f"{args.chunk_size}; times from pool start to last result, worker start-up included", flush=True)

    def engine(batching: bool):
        circuit.batching = batching
        with tempfile.TemporaryDirectory(prefix="bench-mc-cache-") as cache:
            c0 = cpu_s()
            t0 = time.perf_counter()
            res = run_mc(circuit, args.samples, args.seed, program_sigma_s=prog_sigma, read_sigma_s=read_sigma,
                         cache_root=cache, workers=args.workers, chunk_size=args.chunk_size, show_progress=False)
            seconds = time.perf_counter() - t0
            c1 = cpu_s()
        cpu["engine batched" if batching else "engine alter"].append(c1[0] - c0[0] + c1[1] - c0[1])
        if batching:  # the two parts: this process (Python: the engine's threads) and its ngspice children
            cpu["engine python"].append(c1[0] - c0[0])
            cpu["engine ngspice"].append(c1[1] - c0[1])
        circuit.batching = True
        paths = {r["batched"] for r in res.records}
        if res.computed_chunks != res.plan.n_chunks or res.n_failed or paths != {batching}:
            raise SystemExit(f"error: memspice ({'batched' if batching else 'alter'}): {res.computed_chunks} of "
                             f"{res.plan.n_chunks} chunks computed, {res.n_failed} failed, batched {sorted(paths)}")
        print(f"memspice {'batched' if batching else 'alter'} path done: {args.samples} samples in {seconds:.2f} s",
              flush=True)
        return res, seconds

    cpu: dict[str, list[float]] = {"engine batched": [], "engine alter": [], "limit batched": [],
                                   "limit subckt": [], "engine python": [], "engine ngspice": []}
    mc_alter, t_alter = engine(False)
    with tempfile.TemporaryDirectory(prefix="bench-mc-limit-") as tmp:
        t_lim_alter = run_ngspice_alone(chunk_decks(circuit, mc_alter.records, False), args.workers, Path(tmp) / "a")
        print(f"ngspice -b alone, alter chunk decks done: {args.samples} samples in {t_lim_alter:.2f} s", flush=True)
        t_mcs, t_lims, t_subs = [], [], []
        for rep in range(args.repeat):  # alternating, so that all three see the same spells of load
            mc, t = engine(True)
            t_mcs.append(t)
            decks = chunk_decks(circuit, mc.records, True)
            old = chunk_decks(circuit, mc.records, True, cells="subckt")
            c0 = cpu_s()
            t_lims.append(run_ngspice_alone(decks, args.workers, Path(tmp) / f"b{rep}"))
            c1 = cpu_s()
            t_subs.append(run_ngspice_alone(old, args.workers, Path(tmp) / f"s{rep}"))
            cpu["limit batched"].append(c1[1] - c0[1])
            cpu["limit subckt"].append(cpu_s()[1] - c1[1])
            print(f"ngspice -b alone, batched chunk decks done: {args.samples} samples in {t_lims[-1]:.2f} s, "
                  f"the same with subckt cells (before) {t_subs[-1]:.2f} s (run {rep + 1} of {args.repeat})",
                  flush=True)
    t_mc, t_lim_batch, t_lim_sub = float(np.median(t_mcs)), float(np.median(t_lims)), float(np.median(t_subs))
    cpu_engine, cpu_limit = float(np.median(cpu["engine batched"])), float(np.median(cpu["limit batched"]))
    cpu_sub = float(np.median(cpu["limit subckt"]))
    cpu_py, cpu_ng = float(np.median(cpu["engine python"])), float(np.median(cpu["engine ngspice"]))
    i_mc = mc.measure(key)
    i_alter = mc_alter.measure(key)
    values = {g: mc.values(g) for g in circuit.param_groups()}
    i_proc, t_proc = run_per_sample(circuit, values, n_base, "subprocess", args.workers)
    print(f"ngspice -b per sample done: {n_base} samples in {t_proc:.2f} s", flush=True)
    i_shared, t_shared = run_per_sample(circuit, values, n_base, "shared", args.workers)
    print(f"PySpice reload per sample done: {n_base} samples in {t_shared:.2f} s", flush=True)

    rows = [("memspice, alter path (before)", args.samples, t_alter),
            ("memspice, batched (default)", args.samples, t_mc),
            ("ngspice -b alone, alter chunk decks", args.samples, t_lim_alter),
            ("ngspice -b alone, batched chunk decks", args.samples, t_lim_batch),
            ("ngspice -b alone, batched, subckt cells", args.samples, t_lim_sub),
            ("ngspice -b, one process per sample", n_base, t_proc),
            ("PySpice shared, reload per sample", n_base, t_shared)]
    rate = {name: n / t for name, n, t in rows}
    r_alter, r_mc, r_lim_alter, r_lim_batch, r_lim_sub, r_proc, r_shared = (rate[name] for name, _, _ in rows)
    print()
    print(f"{'method':<40} {'samples':>8} {'seconds':>9} {'samples/s':>10} {'ms/sample/worker':>17}")
    for name, n, t in rows:
        print(f"{name:<40} {n:>8d} {t:>9.2f} {rate[name]:>10.1f} {1e3 * t * args.workers / n:>17.2f}")
    if n_base < args.samples:
        print(f"(per-sample baselines ran the first {n_base} of the {args.samples} samples; rates over what they ran)")
    d_proc = max_rel_diff(i_proc, i_mc[:n_base])
    d_shared = max_rel_diff(i_shared, i_mc[:n_base])
    fs = spec.i_full_scale_a
    d_batch_fs = float(np.max(np.abs(i_mc - i_alter))) / fs
    print(f"agreement of {key} with memspice over {n_base} samples: max relative difference "
          f"ngspice -b {d_proc:.1e}, PySpice {d_shared:.1e} (limit {TOLERANCE:g})")
    print(f"agreement of batched with alter path over {args.samples} samples: max |difference| / full scale "
          f"{d_batch_fs:.1e} (limit {BATCH_TOLERANCE_FS:g}); max relative {max_rel_diff(i_mc, i_alter):.1e}")
    print(f"spread of {key}: mean {np.mean(i_mc) * 1e6:.3f} uA, std {np.std(i_mc, ddof=1) * 1e6:.3f} uA")
    print(f"ratio memspice batched / alter path: {r_mc / r_alter:.2f}")
    print(f"batched engine and its limit over {args.repeat} alternating runs: engine "
          f"{', '.join(f'{t:.2f}' for t in t_mcs)} s, limit {', '.join(f'{t:.2f}' for t in t_lims)} s (medians above)")
    print(f"CPU time (median): engine {cpu_engine:.2f} s (this process and its ngspice children), ngspice alone "
          f"{cpu_limit:.2f} s, ngspice alone on the subckt-cell decks {cpu_sub:.2f} s; load now "
          f"{os.getloadavg()[0]:.1f}")
    print(f"engine CPU by part (median): Python (this process) {cpu_py:.2f} s, its ngspice children {cpu_ng:.2f} s "
          f"(ngspice alone on the same decks {cpu_limit:.2f} s)")
    print(f"ratio memspice alter path / ngspice -b per sample (before): {r_alter / r_proc:.2f}")
    print(f"ratio memspice / PySpice reload per sample: {r_mc / r_shared:.2f}")
    print(f"ratio PySpice reload / ngspice -b per sample: {r_shared / r_proc:.2f}")
    if not (d_proc <= TOLERANCE and d_shared <= TOLERANCE and d_batch_fs <= BATCH_TOLERANCE_FS):
        print("error: the methods disagree beyond their limits", file=sys.stderr)
        return 1
    figures = {
        "samples": args.samples, "baseline_samples": n_base, "workers": args.workers, "rows": spec.rows,
        "chunk_size": args.chunk_size, "seconds": {name: t for name, _, t in rows},
        "samples_per_s": rate, "batched_vs_alter_max_diff_of_full_scale": d_batch_fs,
        "fraction_of_simulator_limit": r_mc / r_lim_batch,
        "cpu_fraction_of_simulator_limit": cpu_limit / cpu_engine,
        "cpu_s": {"engine batched": cpu_engine, "limit batched": cpu_limit, "limit subckt": cpu_sub,
                  "engine python": cpu_py, "engine ngspice": cpu_ng},
        "repeat": args.repeat,
        "seconds_runs": {"engine batched": t_mcs, "limit batched": t_lims, "limit subckt": t_subs},
        "inline_over_subckt_simulator_limit": r_lim_batch / r_lim_sub,
        "cpu_inline_over_subckt_simulator_limit": cpu_sub / cpu_limit,
        "fraction_of_alter_simulator_limit": r_alter / r_lim_alter,
        "batched_over_alter_simulator_limit": r_mc / r_lim_alter,
        "speedup_vs_process_per_sample": r_mc / r_proc,
        "alter_speedup_vs_process_per_sample": r_alter / r_proc,
    }
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"fraction_of_simulator_limit: {figures['fraction_of_simulator_limit']:.2f}")
    print(f"cpu_fraction_of_simulator_limit: {figures['cpu_fraction_of_simulator_limit']:.2f}")
    print(f"fraction_of_alter_simulator_limit: {figures['fraction_of_alter_simulator_limit']:.2f}")
    print(f"batched_over_alter_simulator_limit: {figures['batched_over_alter_simulator_limit']:.2f}")
    print(f"inline_over_subckt_simulator_limit: {figures['inline_over_subckt_simulator_limit']:.2f}")
    print(f"cpu_inline_over_subckt_simulator_limit: {figures['cpu_inline_over_subckt_simulator_limit']:.2f}")
    print(f"speedup_vs_process_per_sample: {figures['speedup_vs_process_per_sample']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
