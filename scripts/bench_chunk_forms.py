"""Measure the candidate chunk-deck forms of the crossbar Monte Carlo by ``ngspice -b`` alone: which way of
writing a chunk's samples into a deck costs the simulator least, and which gives today's numbers.

The circuit and samples are those of ``scripts/bench_montecarlo.py``: ``circuits/crossbar_128.toml`` at
``--rows`` rows (default 64; one signed column, G+/G- pair of 1R cells read by TIAs), pattern 0 of its DC
transfer, the card's programming error and read noise, drawn by the engine's own sampling
(``montecarlo.sampling.draw_chunk``, chunks of ``--chunk-size``). Every deck is written before timing and run
by ``ngspice -b`` one at a time in the engine's environment (HOME, OpenMP passive wait; no Python while
ngspice runs); the forms alternate ``--repeat`` times and each figure is the median. CPU time (user +
system of the ngspice process, ``RUSAGE_CHILDREN``) is the figure that other jobs on the machine move
least; wall time is printed beside it with the load.

Forms (one deck per chunk unless said):

- ``alter``: the engine's fallback deck: the tile with each cell a ``vteam_read`` instance, per sample one
  ``alter @v.xc<r>_<k>.vx0[dc]`` per cell (2 x rows) and an ``op``.
- ``alterparam``: each cell's state a ``.param xs<r>_<k>`` (instance ``x0={xs<r>_<k>}``); per sample one
  ``alterparam`` per cell, ``reset`` (ngspice re-reads the circuit) and an ``op``.
- ``source``: one file per sample with that sample's states written into the cells (the per-sample deck
  of bench_montecarlo's baselines), all run by ONE ngspice process: ``source`` each, ``op``, ``write``,
  ``remcirc``; parses each sample, no process per sample.
- ``subckt``: the batched deck before: each cell an instance of the state-port subcircuit ``vteam_read_x``
  whose state node is a B-source table ``pwl(v(idx), ...)`` of a sample index swept by one ``.dc``.
- ``inline``: the batched deck now (``netlist.crossbar.batched_dc_deck``): the same tables and sweep, each
  cell the library's I-V B-source written at top level, the card's parameters as ``.param`` lines.
- ``fused``: ``inline`` with each table written into its cell's B-source in place of ``v(xs..)`` (no state
  nodes, no table sources).
- ``inline_x<K>``: ``inline`` with K chunks' samples in one deck and one sweep (``--group``): what the
  per-deck cost (start-up, parse of the tile) would be if the engine ran K chunks per ngspice process.

Agreement: every form's column currents and TIA outputs, sample by sample, against ``subckt`` (max
relative difference). ``inline`` (the engine's deck) must agree to 1e-12 relative or the script exits 1;
the others' differences are printed (their Newton starts differ; ``fused`` also reads the state without
the table source's branch equation).

    python scripts/bench_chunk_forms.py [--rows 64] [--chunks 2] [--chunk-size 50] [--repeat 3]
                                        [--forms alter,alterparam,...] [--group 4] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memspice.characterize.crossbar import CrossbarCircuit, study_for
from memspice.characterize.crossbar.montecarlo import mc_variations
from memspice.montecarlo.plan import Plan, Variation
from memspice.montecarlo.sampling import draw_chunk
from memspice.netlist.cards import Instance, Param, fmt
from memspice.netlist.crossbar import READ_SUBCKTS, batched_dc_deck, cell_values, output_vectors, tile_cards
from memspice.netlist.deck import Analyze, Command, Deck, Op
from memspice.ngspice.engine import OPENMP_ENV
from memspice.ngspice.locate import find_ngspice
from memspice.raw import read_raw

SPEC = Path(__file__).resolve().parent.parent / "circuits" / "crossbar_128.toml"
ENGINE_FORM = "inline"
REFERENCE_FORM = "subckt"
TOLERANCE = 1e-12  # relative, the engine's form against the form before


@dataclass
class Job:
    """One ngspice -b run: the deck file (written before timing) and how its raw file becomes samples."""

    deck: Path
    samples: int
    read: Callable[[Path], np.ndarray]  # raw file -> (samples, vectors)


def _per_op(vectors: tuple[str, ...]) -> Callable[[Path], np.ndarray]:
    """One plot of one point per sample (op per sample)."""
    return lambda raw: np.array([[p.vectors[v][0] for v in vectors] for p in read_raw(raw)])


def _per_sweep(vectors: tuple[str, ...]) -> Callable[[Path], np.ndarray]:
    """One plot, one sweep point per sample."""
    def read(raw: Path) -> np.ndarray:
        (p,) = read_raw(raw)
        return np.stack([np.asarray(p.vectors[v]) for v in vectors], axis=1)
    return read


def _write(root: Path, name: str, text: str) -> Path:
    d = root / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "deck.cir").write_text(text)
    return d / "deck.cir"


def build_forms(circuit: CrossbarCircuit, chunks: list[np.ndarray], root: Path, forms: list[str], group: int
                ) -> dict[str, list[Job]]:
    """Every form's decks for the chunks' applied conductances ``chunks`` ((n, rows, 2 cols) each)."""
    spec = circuit.spec
    vecs = output_vectors(spec)
    out: dict[str, list[Job]] = {}
    base = circuit.deck()
    title = base.title
    for form in forms:
        jobs = []
        if form == "alter":
            for k, g in enumerate(chunks):
                steps = []
                for s in range(len(g)):
                    steps += [*circuit.apply({"g": g[s].ravel()}), *circuit.analyses()]
                deck = Deck(title, base.cards, steps=steps, header=base.header)
                jobs.append(Job(_write(root, f"{form}/{k}", deck.render("out.raw")), len(g), _per_op(vecs)))
        elif form == "alterparam":
            sub = READ_SUBCKTS[spec.device_card.model]
            for k, g in enumerate(chunks):
                states = cell_values(spec, g)  # elementwise: (samples, rows, 2 cols)
                cards, params = [], []
                for c in base.cards:
                    if isinstance(c, Instance) and c.subckt == sub:
                        state = f"xs{c.name[1:]}"
                        params.append(Param(state, float(states[0][_rk(c.name)])))
                        cards.append(Instance(c.name, c.subckt, c.nodes, {**c.params, "x0": "{" + state + "}"}))
                    else:
                        cards.append(c)
                steps = []
                for s in range(len(g)):
                    steps += [Command(f"alterparam {p.name}={fmt(float(states[s][_rk('c' + p.name[2:])]))}")
                              for p in params]
                    steps += [Command("reset"), *circuit.analyses()]
                deck = Deck(title, [*params, *cards], steps=steps, header=base.header)
                jobs.append(Job(_write(root, f"{form}/{k}", deck.render("out.raw")), len(g), _per_op(vecs)))
        elif form == "source":
            for k, g in enumerate(chunks):
                d = root / form / str(k)
                d.mkdir(parents=True)
                control = ["set filetype=binary", "set appendwrite"]
                for s in range(len(g)):
                    sample = Deck(title, tile_cards(spec, g[s], circuit.v_in_v))
                    (d / f"s{s:03d}.cir").write_text(sample.netlist())
                    control += [f"source s{s:03d}.cir", *Analyze(Op(), vecs).commands(), "write out.raw", "remcirc"]
                text = "\n".join(["* master deck: every sample sourced in turn", "Vdummy dummy 0 0", ".control",
                                  *control, "quit", ".endc", ".end", ""])
                jobs.append(Job(_write(root, f"{form}/{k}", text), len(g), _per_op(vecs)))
        elif form in ("subckt", "inline", "fused"):
            for k, g in enumerate(chunks):
                cells = "subckt" if form == "subckt" else "inline"
                deck = batched_dc_deck(spec, g, circuit.v_in_v, title=title, cells=cells)
                text = deck.render("out.raw")
                if form == "fused":
                    text = fuse_tables(text)
                jobs.append(Job(_write(root, f"{form}/{k}", text), len(g), _per_sweep(vecs)))
        elif form == f"inline_x{group}":
            for k in range(0, len(chunks), group):
                g = np.concatenate(chunks[k:k + group])
                deck = batched_dc_deck(spec, g, circuit.v_in_v, title=title)
                jobs.append(Job(_write(root, f"{form}/{k}", deck.render("out.raw")), len(g), _per_sweep(vecs)))
        else:
            raise SystemExit(f"error: unknown form {form!r}")
        out[form] = jobs
    return out


def _rk(name: str) -> tuple[int, int]:
    r, k = name[1:].split("_")
    return int(r), int(k)


_TABLE = re.compile(r"^Bxs(\d+_\d+) xs\1 0 v=(pwl\(v\(idx\),.*?\))$", re.M | re.S)


def fuse_tables(text: str) -> str:
    """The inline deck with each state table written into its cell (no state node, no table source)."""
    tables = {m.group(1): " ".join(m.group(2).replace("\n+", " ").split()) for m in _TABLE.finditer(text)}
    text = _TABLE.sub("", text)
    return re.sub(r"v\(xs(\d+_\d+)\)", lambda m: tables[m.group(1)], text)


def engine_env(run_dir: Path) -> dict[str, str]:
    """The environment the engine runs ngspice in: HOME in the run folder, OpenMP's passive wait."""
    env = {**os.environ, "HOME": str(run_dir)}
    for key, value in OPENMP_ENV.items():
        env.setdefault(key, value)
    return env


def run(job: Job, exe: str) -> tuple[float, float]:
    """Wall and CPU seconds of ngspice -b on the job's deck (its raw file removed first)."""
    raw = job.deck.parent / "out.raw"
    raw.unlink(missing_ok=True)
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(job.deck.parent / "log.txt", "wb") as log:
        code = subprocess.run([exe, "-b", job.deck.name], cwd=job.deck.parent, stdout=log, stderr=subprocess.STDOUT,
                              check=False, env=engine_env(job.deck.parent), stdin=subprocess.DEVNULL,
                              process_group=0).returncode  # as the engine starts it
    wall = time.perf_counter() - t0
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0 or not raw.exists():
        raise SystemExit(f"error: ngspice -b failed on {job.deck} (exit {code}); see {job.deck.parent / 'log.txt'}")
    return wall, c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=64)
    ap.add_argument("--chunks", type=int, default=4, help="chunks of the engine's draw to write in every form")
    ap.add_argument("--chunk-size", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="alternating runs of every form (medians)")
    ap.add_argument("--group", type=int, default=4, help="chunks per deck of the inline_x<group> form")
    ap.add_argument("--forms", default=None, help="comma-separated subset (default: all)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if min(args.rows, args.chunks, args.chunk_size, args.repeat, args.group) < 1 or args.chunk_size < 2:
        ap.error("need rows, chunks, repeat, group >= 1 and chunk-size >= 2")
    all_forms = ["alter", "alterparam", "source", "subckt", "inline", "fused", f"inline_x{args.group}"]
    forms = all_forms if args.forms is None else args.forms.split(",")
    for need in (REFERENCE_FORM, ENGINE_FORM):
        if need not in forms:
            forms.append(need)

    study = study_for(SPEC, {"crossbar.rows": args.rows})
    circuit = CrossbarCircuit.from_study(study)
    spec = circuit.spec
    var = spec.device_card.variability
    st = study.study
    prog = st.program_sigma_s if st.program_sigma_s is not None else var.program_sigma_s
    read = st.read_sigma_s if st.read_sigma_s is not None else var.read_sigma_s
    plan = Plan(name="forms", circuit=circuit.kind, spec={"circuit_hash": circuit.spec_hash()},
                samples=args.chunks * args.chunk_size, seed=args.seed, chunk_size=args.chunk_size,
                vary=tuple(Variation.from_dict(v, where="vary") for v in mc_variations(prog, read)))
    groups = circuit.param_groups()
    chunks = [circuit.conductances_batch(draw_chunk(plan, groups, k)) for k in range(plan.n_chunks)]
    n = plan.samples
    exe = str(find_ngspice())
    print(f"chunk-deck forms of a crossbar Monte Carlo: {SPEC.name} at {spec.rows} rows x {spec.cols} signed column "
          f"({spec.cell}, {spec.device_card.name}, {spec.read_model} model, sense {spec.sense.kind}); {plan.n_chunks} "
          f"chunks of {args.chunk_size} samples (seed {args.seed}); ngspice -b alone, one deck at a time, "
          f"{args.repeat} alternating runs; load {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-forms-") as tmp:
        jobs = build_forms(circuit, chunks, Path(tmp), forms, args.group)
        times: dict[str, list[tuple[float, float]]] = {f: [] for f in forms}
        results: dict[str, np.ndarray] = {}
        loads = [os.getloadavg()[0]]
        for rep in range(args.repeat):
            for form in forms:
                wall = cpu = 0.0
                for job in jobs[form]:
                    w, c = run(job, exe)
                    wall, cpu = wall + w, cpu + c
                times[form].append((wall, cpu))
                if rep == 0:
                    results[form] = np.concatenate([job.read(job.deck.parent / "out.raw") for job in jobs[form]])
            loads.append(os.getloadavg()[0])
            print(f"run {rep + 1} of {args.repeat} done (load {loads[-1]:.1f})", flush=True)
    ref = results[REFERENCE_FORM]
    print()
    print(f"{'form':<14} {'decks':>5} {'CPU ms/sample':>14} {'wall ms/sample':>15} "
          f"{'max rel diff vs ' + REFERENCE_FORM:>24}")
    figures: dict[str, dict[str, float]] = {}
    for form in forms:
        cpu = float(np.median([c for _, c in times[form]]))
        wall = float(np.median([w for w, _ in times[form]]))
        got = results[form]
        diff = float(np.max(np.abs(got - ref) / np.abs(ref))) if got.shape == ref.shape else float("nan")
        figures[form] = {"decks": len(jobs[form]), "cpu_ms_per_sample": 1e3 * cpu / n,
                         "wall_ms_per_sample": 1e3 * wall / n, "max_rel_diff_vs_subckt": diff}
        print(f"{form:<14} {len(jobs[form]):>5d} {1e3 * cpu / n:>14.3f} {1e3 * wall / n:>15.3f} {diff:>24.1e}")
    print(f"load (1-minute average) during the runs: {min(loads):.1f} to {max(loads):.1f}")
    moved = figures[REFERENCE_FORM]["cpu_ms_per_sample"] / figures[ENGINE_FORM]["cpu_ms_per_sample"]
    print(f"inline_over_subckt_cpu_speed: {moved:.2f}")
    if "alter" in figures:
        print(f"inline_over_alter_cpu_speed: "
              f"{figures['alter']['cpu_ms_per_sample'] / figures[ENGINE_FORM]['cpu_ms_per_sample']:.2f}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": spec.rows, "chunks": plan.n_chunks, "chunk_size": args.chunk_size,
                                         "repeat": args.repeat, "load": [min(loads), max(loads)],
                                         "forms": figures}, indent=2) + "\n")
    if not figures[ENGINE_FORM]["max_rel_diff_vs_subckt"] <= TOLERANCE:
        print(f"error: the engine's form {ENGINE_FORM} differs from {REFERENCE_FORM} by more than {TOLERANCE:g}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
