"""Time the timed read of the precharge scheme (write-verify in the timing, chips in the timing) three ways.

One run, side by side, the same slots (``--slots`` cells: the 5-bit converter's 32 cells repeated, each copy
with its own threshold shifts, as a chunk of chips is read) of ``circuits/qcell_adc_5bit.toml`` with the
0.45 ns precharge timing and 0.1/0.1 um input devices (the 992 fJ candidate, docs/adc.md 5d), DC-programmed
first (not timed), then ``timed.timed_bounds`` over +-1.2 LSB in 0.1 LSB steps around the DC bounds:

1. **one deck**: the whole grid (50 conversions) of every slot in one transient (the reader until session 8);
2. **split**: the whole grid, slots in decks of ``timed.SLOTS_PER_DECK``;
3. **default**: split and chunked (``timed.CHUNK_POINTS`` inputs per side per transient; a slot leaves once
   both crossings are found).

Prints each one's CPU seconds (this process and its ngspice children: ``--backend subprocess``), wall
seconds, the largest difference of its bounds from the one-deck read (V and LSB), and last
``default_over_one_deck_cpu_ratio: X``.

    PYTHONPATH=. python scripts/bench_timed_read.py [--slots 64] [--seed 1]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CANDIDATE = {"cell.input": {"w_m": 0.1e-6, "l_m": 0.1e-6}, "timing.scheme": "precharge", "timing.read_s": 0.45e-9,
             "timing.period_s": 0.85e-9, "timing.precharge_s": 0.15e-9, "timing.sense_s": 0.2e-9}


def cpu_s() -> float:
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def main() -> int:
    from memspice.characterize import adc as flow
    from memspice.characterize.adc import timed
    from memspice.characterize.adc.montecarlo import mc_sigmas, pelgrom_sigmas_v
    from memspice.netlist import qcell as nq
    from memspice.spec.adc import load_adc_spec
    from memspice.spec.device import load_card

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slots", type=int, default=64, help="slots read (a multiple of 32: copies of the 5-bit array)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the copies' threshold shifts")
    args = ap.parse_args()
    if args.slots < 32 or args.slots % 32 or args.slots > 1024:
        print(f"--slots: {args.slots}, expected a multiple of 32 from 32 to 1024", file=sys.stderr)
        return 2
    spec = load_adc_spec(ROOT / "circuits/qcell_adc_5bit.toml").with_overrides(CANDIDATE)
    card = load_card(spec.card)
    opts = flow.RunOptions(backend="subprocess", show_progress=False, workers=1, timeout_s=4 * 3600)
    c0 = cpu_s()
    _, prog, _ = flow.program_converter(spec, card, opts)
    print(f"DC programming (not timed): {cpu_s() - c0:.1f} s CPU", flush=True)
    reps = args.slots // spec.n_cells
    gl, gu = np.tile(prog.g_lower_s, reps), np.tile(prog.g_upper_s, reps)
    lo, up = np.tile(prog.lower_v, reps), np.tile(prog.upper_v, reps)
    # each copy's threshold shifts drawn as a chip's are (Pelgrom, the card's A_VT), in CELL_DEVICES order
    pel = pelgrom_sigmas_v(spec, mc_sigmas(spec, card)["a_vt_v_m"])
    sigma = np.array([pel[dev.name] for dev in nq.CELL_DEVICES])
    dv = np.random.default_rng(args.seed).standard_normal((args.slots, len(sigma))) * sigma
    ways = {"one deck": {"chunk_points": None, "slots_per_deck": None},
            "split": {"chunk_points": None},
            "default": {}}
    cpu, out = {}, {}
    for name, kw in ways.items():
        c0, w0 = cpu_s(), time.perf_counter()
        out[name] = timed.timed_bounds(spec, card, gl, gu, lo, up, opts, 1.2, 0.1, dv, **kw)
        cpu[name] = cpu_s() - c0
        diff = np.nanmax(np.abs(np.concatenate([out[name][i] - out["one deck"][i] for i in (0, 1)])))
        print(f"{name:9s}: {cpu[name]:7.1f} s CPU, {time.perf_counter() - w0:7.1f} s wall; "
              f"max |bound - one deck| {diff:.2e} V ({diff / spec.lsb_v:.2e} LSB)", flush=True)
    print(f"split_over_one_deck_cpu_ratio: {cpu['split'] / cpu['one deck']:.3f}")
    print(f"default_over_one_deck_cpu_ratio: {cpu['default'] / cpu['one deck']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
