"""Where the Monte Carlo engine's own (Python) time goes per chunk, and how close the engine comes to the
simulator alone on the same decks; optionally against another commit's source tree, side by side.

The circuit and samples are those of ``scripts/bench_montecarlo.py``: ``circuits/crossbar_128.toml`` at
``--rows`` rows (one signed column, a G+/G- pair of 1R cells read by TIAs), pattern 0, the card's
programming error and read noise, chunks of ``--chunk-size`` samples run as the engine's batched decks.
Everything runs on one thread, so the CPU time of this thread is the engine's Python and the CPU time of
the waited-for children is ngspice's:

1. **Per item**: each step of a chunk (``montecarlo.engine.run_chunk`` and the cache write,
   ``ChunkCache.store``) timed alone on the same chunk, median of ``--items-repeat`` runs, ms of thread CPU
   per chunk. "rest" is the end-to-end Python CPU per chunk (2.) less the items: starting the ngspice
   process, its deadline timer, the record.
2. **End to end**: ``--chunks`` chunks through ``run_chunk`` + ``ChunkCache.store``: Python CPU, ngspice
   CPU and wall per chunk; then the same chunks' decks (written beforehand) run by ``ngspice -b`` alone
   in the engine's environment (its ``simulator limit``). ``cpu_fraction = limit CPU / (Python +
   its ngspice CPU)`` and ``wall_fraction = limit wall / engine wall``: the single-thread form of
   bench_montecarlo's ``cpu_fraction_of_simulator_limit`` and ``fraction_of_simulator_limit``.
3. **--profile**: cProfile (thread CPU clock) of the end-to-end chunks of 2., the top functions by own and
   by cumulative time (this tree only; the profiler's per-call cost inflates code made of many small calls).
4. **--against DIR**: DIR holds another commit's source tree (``git archive <commit> | tar -x -C DIR``).
   Steps 1-2 run in child processes, one importing this tree's memspice and one DIR's, alternating
   ``--repeat`` times (the same spells of load for both); medians are printed side by side. The chunks'
   ``i_out_A`` of both trees must be bit-identical (``np.array_equal``) and so must their deck text
   (sha256, the models' include paths aside), or the script exits 1; with ``--rel-tol X`` (a change of
   the deck's text, e.g. the state tables' number form) the deck text may differ and ``i_out_A`` must
   agree to X relative (the largest difference is printed).

    python scripts/bench_mc_overhead.py [--rows 64] [--chunks 10] [--chunk-size 50] [--repeat 3]
                                        [--against DIR] [--rel-tol X] [--profile] [--json PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "circuits" / "crossbar_128.toml"


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _median_ms(fn, repeat: int) -> float:
    fn()
    runs = []
    for _ in range(repeat):
        t0 = time.thread_time()
        fn()
        runs.append(time.thread_time() - t0)
    return 1e3 * float(np.median(runs))


def profile(rows: int, chunks: int, chunk_size: int, top: int = 25) -> None:
    """Step 3: cProfile of ``chunks`` chunks end to end (``run_chunk`` and the cache write) on this thread."""
    import cProfile
    import pstats

    from memspice.characterize.crossbar import CrossbarCircuit, mc_variations, study_for
    from memspice.montecarlo.cache import ChunkCache
    from memspice.montecarlo.engine import run_chunk
    from memspice.montecarlo.plan import Plan, Variation

    circuit = CrossbarCircuit.from_study(study_for(SPEC, {"crossbar.rows": rows}))
    var = circuit.spec.device_card.variability
    plan = Plan(name="profile", circuit="crossbar", spec={"circuit_hash": circuit.spec_hash()},
                samples=chunks * chunk_size, seed=1, chunk_size=chunk_size,
                vary=tuple(Variation.from_dict(v) for v in mc_variations(var.program_sigma_s, var.read_sigma_s)))
    with tempfile.TemporaryDirectory(prefix="bench-overhead-profile-") as tmp:
        cache = ChunkCache(Path(tmp), plan, circuit)
        run_chunk(plan, 0, circuit)  # warm
        prof = cProfile.Profile(time.thread_time)
        c0 = time.thread_time()
        prof.enable()
        for k in range(chunks):
            cache.store(run_chunk(plan, k, circuit))
        prof.disable()
        print(f"profiled: {1e3 * (time.thread_time() - c0) / chunks:.2f} ms of thread CPU per chunk with the "
              f"profiler on; load {os.getloadavg()[0]:.1f}")
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def measure(rows: int, chunks: int, chunk_size: int, items_repeat: int) -> dict:
    """Steps 1 and 2 with the memspice this process imports."""
    import memspice
    from memspice.characterize.crossbar import CrossbarCircuit, mc_variations, study_for
    from memspice.montecarlo.cache import ChunkCache
    from memspice.montecarlo.engine import run_chunk
    from memspice.montecarlo.plan import Plan, Variation
    from memspice.montecarlo.sampling import draw_chunk
    from memspice.ngspice import engine as ng
    from memspice.ngspice import simulate
    from memspice.ngspice.locate import find_ngspice
    from memspice.raw import read_raw

    study = study_for(SPEC, {"crossbar.rows": rows})
    circuit = CrossbarCircuit.from_study(study)
    var = circuit.spec.device_card.variability
    plan = Plan(name="overhead", circuit="crossbar", spec={"circuit_hash": circuit.spec_hash()},
                samples=chunks * chunk_size, seed=1, chunk_size=chunk_size,
                vary=tuple(Variation.from_dict(v) for v in mc_variations(var.program_sigma_s, var.read_sigma_s)))
    groups = circuit.param_groups()
    out: dict = {"memspice": str(Path(memspice.__file__).parent), "load": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        cache = ChunkCache(Path(tmp) / "cache", plan, circuit)
        run_chunk(plan, 0, circuit)  # warm: imports, the fixed cards rendered once
        # 2. end to end, then the simulator alone on the same decks
        c0, k0, w0 = time.thread_time(), _cpu_children(), time.perf_counter()
        records = []
        for k in range(chunks):
            rec = run_chunk(plan, k, circuit)
            cache.store(rec)
            records.append(rec)
        c1, k1, w1 = time.thread_time(), _cpu_children(), time.perf_counter()
        if not all(r["batched"] and set(r["status"]) == {"ok"} for r in records):
            raise SystemExit("error: a chunk did not run batched or failed")
        decks = []
        for k in range(chunks):
            d = Path(tmp) / f"limit_{k:03d}"
            d.mkdir()
            text = circuit.batch(draw_chunk(plan, groups, k)).deck.render("out.raw")
            (d / "deck.cir").write_text(text)
            same = text.replace(str(Path(memspice.__file__).parent), "<memspice>")  # the models' include paths
            decks.append((d, hashlib.sha256(same.encode()).hexdigest()))
        exe = str(find_ngspice())
        k2, w2 = _cpu_children(), time.perf_counter()
        for d, _ in decks:
            env = {**os.environ, "HOME": str(d), **{k: v for k, v in ng.OPENMP_ENV.items() if k not in os.environ}}
            with open(d / "stdout.txt", "wb") as so, open(d / "stderr.txt", "wb") as se:
                subprocess.run([exe, "-b", "deck.cir"], cwd=d, stdout=so, stderr=se, stdin=subprocess.DEVNULL,
                               env=env, process_group=0, check=True)
        k3, w3 = _cpu_children(), time.perf_counter()
        py, ngs, lim = (c1 - c0) / chunks, (k1 - k0) / chunks, (k3 - k2) / chunks
        out.update({
            "python_cpu_ms": 1e3 * py, "ngspice_cpu_ms": 1e3 * ngs, "engine_wall_ms": 1e3 * (w1 - w0) / chunks,
            "limit_cpu_ms": 1e3 * lim, "limit_wall_ms": 1e3 * (w3 - w2) / chunks,
            "cpu_fraction": lim / (py + ngs), "wall_fraction": (w3 - w2) / (w1 - w0),
            "i_out_A": [v for r in records for v in r["measures"]["i_out_A"]],
            "deck_sha256": hashlib.sha256("".join(h for _, h in decks).encode()).hexdigest(),
        })
        # 1. per item, on chunk 1
        values = draw_chunk(plan, groups, 1)
        made = circuit.batch(values)
        deck = made.deck
        tables = deck.cards[-1]
        res = simulate(deck, keep_run_dir=True)
        rd = res.run_dir
        plots = read_raw(rd / "out.raw")
        lines = ng._read_logs(rd)
        rec = run_chunk(plan, 1, circuit)

        env_v = {**os.environ, **ng.OPENMP_ENV}

        def run_dir() -> None:  # what a successful run does with its folder (the deck goes on ngspice's stdin)
            d = ng._new_run_dir(Path(tmp) / "runs")
            with (d / "stdout.log").open("wb"), (d / "stderr.log").open("wb"):
                pass
            ng.shutil.rmtree(d)

        def read_back() -> None:
            p = read_raw(rd / "out.raw")
            sel = [ng._select(x, s) for x, s in zip(p, deck.analyses, strict=True)]
            ng._check_output(deck, sel, ng._read_logs(rd), rd)

        items = {
            "draw the chunk's values (draw_chunk)": lambda: draw_chunk(plan, groups, 1),
            "chunk deck object (circuit.batch)": lambda: circuit.batch(values),
            "deck text: state tables (TableSources.render)": tables.render,
            "deck text: the rest (Deck.render less tables)": lambda: deck.render("out.raw"),
            "run folder: make, open the logs, remove": run_dir,
            "read back: logs, raw file, checks": read_back,
            "measurements (measure_points)": lambda: made.measure(plots),
            "cache write (ChunkCache.store)": lambda: cache.store(rec),
            "start and wait for a process (Popen: ngspice -v)": lambda: subprocess.run(
                [exe, "-v"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                env=env_v, process_group=0, check=True),
        }
        ms = {name: _median_ms(fn, items_repeat) for name, fn in items.items()}
        ms["deck text: the rest (Deck.render less tables)"] -= ms["deck text: state tables (TableSources.render)"]
        ms["rest: timer, environment, record, logs"] = 1e3 * py - sum(ms.values())
        out["items_ms"] = ms
        del lines
        ng.shutil.rmtree(rd)
    return out


def _child(tree: Path, args: argparse.Namespace, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(out), "--rows", str(args.rows),
           "--chunks", str(args.chunks), "--chunk-size", str(args.chunk_size), "--items-repeat", str(args.items_repeat)]
    subprocess.run(cmd, env=env, check=True)
    got = json.loads(out.read_text())
    if Path(got["memspice"]).resolve() != (tree / "memspice").resolve():
        raise SystemExit(f"error: the child imported {got['memspice']}, not {tree / 'memspice'}")
    return got


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=64)
    ap.add_argument("--chunks", type=int, default=10)
    ap.add_argument("--chunk-size", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3, help="alternating runs of each tree (with --against)")
    ap.add_argument("--items-repeat", type=int, default=15, help="repeats of each item's timing (median)")
    ap.add_argument("--against", type=Path, default=None, help="another commit's source tree, run side by side")
    ap.add_argument("--rel-tol", type=float, default=0.0,
                    help="with --against: i_out_A may differ by this much relative and the deck text may differ")
    ap.add_argument("--profile", action="store_true", help="also print a cProfile of the chunks (this tree)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        args.worker.write_text(json.dumps(measure(args.rows, args.chunks, args.chunk_size, args.items_repeat)))
        return 0
    if args.profile:
        profile(args.rows, args.chunks, args.chunk_size)
    trees = {"this tree": ROOT}
    if args.against is not None:
        if not (args.against / "memspice" / "__init__.py").exists():
            ap.error(f"--against {args.against}: no memspice/ source tree there")
        trees["against"] = args.against.resolve()
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory(prefix="bench-overhead-runs-") as tmp:
        for rep in range(args.repeat if args.against is not None else 1):
            for name, tree in (trees.items() if rep % 2 == 0 else reversed(trees.items())):
                runs[name].append(_child(tree, args, Path(tmp) / f"{name.replace(' ', '_')}_{rep}.json"))
                r = runs[name][-1]
                print(f"run {rep + 1} {name}: Python {r['python_cpu_ms']:.2f} ms CPU per chunk, ngspice "
                      f"{r['ngspice_cpu_ms']:.1f}, alone {r['limit_cpu_ms']:.1f}; "
                      f"cpu_fraction {r['cpu_fraction']:.3f}, "
                      f"wall_fraction {r['wall_fraction']:.3f}; load {r['load']:.1f}", flush=True)

    def med(name: str, key: str) -> float:
        return float(np.median([r[key] for r in runs[name]]))

    names = list(trees)
    print(f"\n{args.rows}-row column, {args.chunks} chunks of {args.chunk_size} samples, one thread; "
          f"medians of {len(runs[names[0]])} run(s){', trees alternating' if len(names) > 1 else ''}; "
          f"load {os.getloadavg()[0]:.1f} at the end")
    head = "".join(f"{n:>14}" for n in names)
    print(f"{'ms of thread CPU per chunk':<50}{head}")
    for item in runs[names[0]][0]["items_ms"]:
        print(f"  {item:<48}" + "".join(f"{float(np.median([r['items_ms'][item] for r in runs[n]])):>14.3f}"
                                         for n in names))
    for key, label in (("python_cpu_ms", "engine Python CPU per chunk (end to end)"),
                       ("ngspice_cpu_ms", "its ngspice CPU per chunk"),
                       ("limit_cpu_ms", "ngspice -b alone, same decks, CPU per chunk"),
                       ("engine_wall_ms", "engine wall per chunk"),
                       ("limit_wall_ms", "ngspice -b alone wall per chunk"),
                       ("cpu_fraction", "cpu_fraction (alone / engine)"), ("wall_fraction", "wall_fraction")):
        print(f"{label:<50}" + "".join(f"{med(n, key):>14.3f}" for n in names))
    ok = True
    if len(names) > 1:
        a, b = runs[names[0]][0], runs[names[1]][0]
        ia, ib = np.array(a["i_out_A"]), np.array(b["i_out_A"])
        same_i = np.array_equal(ia, ib)
        rel = float(np.max(np.abs(ia - ib) / np.maximum(np.abs(ib), 1e-300)))
        same_deck = a["deck_sha256"] == b["deck_sha256"]
        print(f"i_out_A of {len(a['i_out_A'])} samples bit-identical between the trees: {same_i} (max relative "
              f"difference {rel:.1e}, {int(np.count_nonzero(ia != ib))} differ); deck text identical: {same_deck}")
        ok = (same_i and same_deck) if args.rel_tol == 0 else rel <= args.rel_tol
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({n: runs[n] for n in names}, indent=1) + "\n")
    if not ok:
        print("error: the trees' results or decks differ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
