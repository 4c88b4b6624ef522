"""Time a Monte Carlo of a crossbar column DC read: memspice's engine against re-parsing per sample.

The circuit: ``circuits/crossbar_128.toml`` at ``--rows`` rows (default 64; one signed column, a
G+/G- pair of 1R cells read by TIAs), pattern 0 of its DC transfer, with the card's programming
error (2.8 uS for vteam_paper) and read noise (0.2 uS) on every cell. Three ways, on the same
machine in one run, each with ``--workers`` processes (default: one per core) and timed from the
start of its process pool to the last result (worker start-up included):

1. **memspice**: ``characterize.crossbar.run_mc`` -> ``montecarlo.engine.run_circuit``: the circuit
   parsed once per chunk of ``--chunk-size`` samples, each sample applied with ``alter``, a fresh
   temporary cache folder (so every chunk is computed).
2. **one ngspice -b process per sample**: a complete deck per sample with that sample's
   conductances written into the cell instances, run by ``memspice.ngspice.simulate(deck,
   backend="subprocess")`` (parse included), in a process pool of the same size.
3. **PySpice shared library, re-loading per sample**: the same per-sample deck through
   ``simulate(deck, backend="shared")`` (load, run, destroy per call; one engine per process), in a
   process pool of the same size.

The baselines run the first ``--baseline-samples`` of memspice's samples (the values the engine
drew, taken back from its result); their rate is samples per second of what they ran. The column
current ``i_out_A`` of every baseline sample must agree with memspice's to 1e-6 relative, or the
script exits 1. The last line is ``speedup_vs_process_per_sample: X``.

    python scripts/bench_montecarlo.py [--samples 1000] [--baseline-samples N] [--workers N]
                                       [--rows 64] [--chunk-size 50] [--seed 1]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from memspice.characterize.crossbar import CrossbarCircuit, run_mc, study_for
from memspice.netlist.crossbar import tile_cards
from memspice.netlist.deck import Deck
from memspice.ngspice import simulate
from memspice.spec.crossbar import CrossbarStudy

SPEC = Path(__file__).resolve().parent.parent / "circuits" / "crossbar_128.toml"
TOLERANCE = 1e-6

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
    args = ap.parse_args()
    n_base = args.samples if args.baseline_samples is None else args.baseline_samples
    if args.samples < 1 or not 1 <= n_base <= args.samples or args.workers < 1:
        ap.error("need samples >= 1, 1 <= baseline-samples <= samples, workers >= 1")

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

    with tempfile.TemporaryDirectory(prefix="bench-mc-cache-") as cache:
        t0 = time.perf_counter()
        mc = run_mc(circuit, args.samples, args.seed, program_sigma_s=prog_sigma, read_sigma_s=read_sigma,
                    cache_root=cache, workers=args.workers, chunk_size=args.chunk_size, show_progress=False)
        t_mc = time.perf_counter() - t0
        if mc.computed_chunks != mc.plan.n_chunks:  # pragma: no cover - a fresh folder
            print(f"error: only {mc.computed_chunks} of {mc.plan.n_chunks} chunks computed", file=sys.stderr)
            return 1
    if mc.n_failed:
        print(f"error: memspice: {mc.n_failed} samples failed", file=sys.stderr)
        return 1
    i_mc = mc.measure(key)
    values = {g: mc.values(g) for g in circuit.param_groups()}
    print(f"memspice done: {args.samples} samples in {t_mc:.2f} s", flush=True)

    i_proc, t_proc = run_per_sample(circuit, values, n_base, "subprocess", args.workers)
    print(f"ngspice -b per sample done: {n_base} samples in {t_proc:.2f} s", flush=True)
    i_shared, t_shared = run_per_sample(circuit, values, n_base, "shared", args.workers)
    print(f"PySpice reload per sample done: {n_base} samples in {t_shared:.2f} s", flush=True)

    rows = [("memspice (parse once per chunk, alter)", args.samples, t_mc),
            ("ngspice -b, one process per sample", n_base, t_proc),
            ("PySpice shared, reload per sample", n_base, t_shared)]
    rate = {name: n / t for name, n, t in rows}
    r_mc, r_proc, r_shared = (rate[name] for name, _, _ in rows)
    print()
    print(f"{'method':<40} {'samples':>8} {'seconds':>9} {'samples/s':>10} {'ms/sample/worker':>17}")
    for name, n, t in rows:
        print(f"{name:<40} {n:>8d} {t:>9.2f} {rate[name]:>10.1f} {1e3 * t * args.workers / n:>17.2f}")
    if n_base < args.samples:
        print(f"(baselines ran the first {n_base} of the {args.samples} samples; their rates are over what they ran)")
    d_proc = max_rel_diff(i_proc, i_mc[:n_base])
    d_shared = max_rel_diff(i_shared, i_mc[:n_base])
    print(f"agreement of {key} with memspice over {n_base} samples: max relative difference "
          f"ngspice -b {d_proc:.1e}, PySpice {d_shared:.1e} (limit {TOLERANCE:g})")
    print(f"spread of {key}: mean {np.mean(i_mc) * 1e6:.3f} uA, std {np.std(i_mc, ddof=1) * 1e6:.3f} uA")
    print(f"ratio memspice / ngspice -b per sample: {r_mc / r_proc:.2f}")
    print(f"ratio memspice / PySpice reload per sample: {r_mc / r_shared:.2f}")
    print(f"ratio PySpice reload / ngspice -b per sample: {r_shared / r_proc:.2f}")
    if not (d_proc <= TOLERANCE and d_shared <= TOLERANCE):
        print(f"error: the methods disagree beyond {TOLERANCE:g} relative", file=sys.stderr)
        return 1
    print(f"speedup_vs_process_per_sample: {r_mc / r_proc:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
