"""Where a closed-loop chip Monte Carlo's time goes: one run in this process (one worker), every
simulator call of the chips' code counted and timed.

Programs the converter ``circuits/qcell_adc_<bits>bit.toml`` nominally (cached under ``--cache`` as a
pickle, so repeated profiles skip it), then runs ``--chips`` chips closed loop (chunks of ``--chunk``,
one worker, so everything runs here) and, unless ``--no-open``, the same chips open loop. Prints, per
kind of simulator call (``locate``: a chip's first whole-range sweep; ``verify``: a windowed reading;
``use``: the transfer sweep of the programmed chips; ``open``: the open loop's chunk deck): calls,
analyses, swept points x read cells, swept points x the deck's cell slots (what the simulator
solves: a load-independent measure of its work), wall and CPU seconds (this process: with the shared backend the
simulator runs here, with the subprocess backend its children), then the verify sweeps per chip, the
Python time outside the simulator and, with ``--cprofile N``, the N costliest functions by own time.

    PYTHONPATH=. python scripts/profile_chips.py [--bits 4] [--chips 8] [--chunk 8] [--backend shared]
                                                 [--seed 20250101] [--cprofile 25] [--no-open]
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from bench_chips import cpu_s  # this folder is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    from memspice.characterize import adc as flow
    from memspice.characterize.adc import chips
    from memspice.characterize.adc.montecarlo import mc_statistics
    from memspice.netlist.deck import Analyze
    from memspice.spec.adc import load_adc_spec
    from memspice.spec.device import load_card

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--chips", type=int, default=8)
    ap.add_argument("--chunk", type=int, default=8)
    ap.add_argument("--backend", choices=("shared", "subprocess"), default="shared")
    ap.add_argument("--seed", type=int, default=20250101)
    ap.add_argument("--cprofile", type=int, default=0, help="print the N costliest functions (own time)")
    ap.add_argument("--calls", action="store_true", help="print every simulator call (points x read cells)")
    ap.add_argument("--no-open", action="store_true", help="skip the open loop")
    ap.add_argument("--cache", type=Path, default=ROOT / "runs" / "profile_chips")
    args = ap.parse_args()
    spec = load_adc_spec(ROOT / "circuits" / f"qcell_adc_{args.bits}bit.toml")
    spec = spec.with_overrides({"mc.samples": args.chips, "mc.seed": args.seed, "mc.chunk": args.chunk})
    card = load_card(spec.card)
    opts = flow.RunOptions(backend=args.backend, show_progress=False, workers=1)
    cached = args.cache / f"prog_{args.bits}bit_{spec.spec_hash()}.pkl"
    if cached.exists():
        prog = pickle.loads(cached.read_bytes())
    else:
        _, prog, _ = flow.program_converter(spec, card, opts)
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(pickle.dumps(prog))

    # calls, analyses, points x read cells, wall, cpu, points x cell slots in the deck (what the simulator solves)
    stats: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0, 0.0, 0])
    real = chips.simulate

    def timed(deck, **kw):
        an = [s for s in deck.steps if isinstance(s, Analyze)]
        labels = {a.label for a in an}
        kind = ("locate" if any(lb.startswith("locate") for lb in labels) else
                "verify" if "verify" in labels else "use")
        t0, c0 = time.perf_counter(), cpu_s()
        res = real(deck, **kw)
        st = stats[kind]
        cpu_before = st[4]
        slots = sum(1 for line in deck.netlist().splitlines() if line.lower().startswith("xc"))
        st[5] += slots * sum(len(p["v-sweep"]) for p in res.plots)
        st[0] += 1
        st[1] += len(an)
        st[2] += sum(len(p["v-sweep"]) * max(len(a.vectors), 1) for p, a in zip(res.plots, an, strict=True))
        st[3] += time.perf_counter() - t0
        st[4] += cpu_s() - c0
        calls.append((kind, [(len(p["v-sweep"]), len(a.vectors)) for p, a in zip(res.plots, an, strict=True)],
                      time.perf_counter() - t0, st[4] - cpu_before, slots))
        return res

    calls: list = []
    chips.simulate = timed
    prof = None
    if args.cprofile:
        import cProfile

        prof = cProfile.Profile()
    print(f"{args.bits}-bit, {args.chips} chips, chunks of {args.chunk}, one worker, backend {args.backend}, "
          f"seed {args.seed}; load average {os.getloadavg()[0]:.1f}", flush=True)
    t0, c0 = time.perf_counter(), cpu_s()
    if prof:
        prof.enable()
    mc, _ = chips.chip_monte_carlo(spec, card, prog, opts, "closed")
    if prof:
        prof.disable()
    wall, cpu = time.perf_counter() - t0, cpu_s() - c0
    st = mc_statistics(spec, mc, prog.plan.targets_v)
    it = np.asarray(mc.iterations)
    print(f"closed loop: {wall:.2f} s wall, {cpu:.2f} s CPU; verify sweeps per chip {it.tolist()} "
          f"(mean {it.mean():.2f}); not converged {int(np.sum(~mc.converged))}; "
          f"INL {st['inl_max_lsb_rms']:.4f} DNL {st['dnl_max_lsb_rms']:.4f} LSB (RMS of max |.|)")
    sim_wall = sim_cpu = 0.0
    print(f"{'kind':8s} {'calls':>6s} {'analyses':>9s} {'points*cells':>13s} {'points*slots':>13s} {'wall s':>8s} "
          f"{'cpu s':>8s}")
    for kind in ("locate", "verify", "use"):
        c, a, p, w, u, sp = stats.get(kind, [0, 0, 0, 0.0, 0.0, 0])
        sim_wall += w
        sim_cpu += u
        print(f"{kind:8s} {c:6d} {a:9d} {p:13d} {sp:13d} {w:8.2f} {u:8.2f}")
    if args.calls:
        for kind, an, w, u, slots in calls:
            print(f"  {kind:7s} wall {w:6.2f} s CPU {u:6.2f} s; {slots} slots, {len(an)} analyses, points x read cells "
                  + " ".join(f"{p}x{c}" for p, c in an))
    print(f"outside the simulator calls: {wall - sim_wall:.2f} s wall, {cpu - sim_cpu:.2f} s CPU")
    if not args.no_open:
        t0, c0 = time.perf_counter(), cpu_s()
        chips.chip_monte_carlo(spec, card, prog, opts, "open")
        o_wall, o_cpu = time.perf_counter() - t0, cpu_s() - c0
        print(f"open loop: {o_wall:.2f} s wall, {o_cpu:.2f} s CPU; closed / open: wall {wall / o_wall:.2f}, "
              f"CPU {cpu / o_cpu:.2f}")
    if prof:
        import pstats

        pstats.Stats(prof).sort_stats("tottime").print_stats(args.cprofile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
