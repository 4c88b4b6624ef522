"""Time a closed-loop chip Monte Carlo of the Q-cell ADC against the open-loop one of the same chips.

The converter: ``circuits/qcell_adc_<bits>bit.toml`` (default 4 bits; ``AdcSpec(bits=...)`` where no
file exists), programmed nominally first (write-verify of the nominal converter, not timed). Then, in
this process and one after the other, ``--chips`` fabricated chips (seed ``--seed``, chunks of
``--chunk``, ``--workers`` workers, ``--backend``):

1. **open loop** (``chip_monte_carlo(..., "open")``): every chip gets the nominal chip's verified
   conductances plus a programming error; one transfer sweep per chip;
2. **closed loop** (``chip_monte_carlo(..., "closed")``): every chip is programmed by write-verify
   (each verify sees that chip's own mismatch), then read as used (the same transfer sweep).

Both draw the same chips (the closed loop's first write is the open loop's sample). Prints each time,
the closed loop's verify sweeps per chip (mean, max), its non-converged chips and both loops' INL
(RMS over chips of max |INL|, LSB), each loop's CPU time (this process and its finished children, the
figure that says what it costs on a loaded machine), ``closed_over_open_cpu_time_ratio`` and last
``closed_over_open_time_ratio: X`` (wall; issue 16: <= 3 at 64 chips, 4 bits). ``--json PATH`` also writes
the figures, per-chip max |INL| included (``scripts/bench_all.py`` reads them).

    PYTHONPATH=. python scripts/bench_chips.py [--bits 4] [--chips 64] [--workers 2] [--chunk 8]
                                               [--backend shared] [--seed 20250101] [--json PATH]
                                               [--prog-cache PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def cpu_s() -> float:
    """CPU seconds of this process and its finished children (the shared backend's worker processes end
    with each run, the subprocess backend's ngspice processes with each deck)."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def main() -> int:
    from memspice.characterize import adc as flow
    from memspice.characterize.adc import chips
    from memspice.characterize.adc.montecarlo import mc_statistics
    from memspice.spec.adc import AdcSpec, load_adc_spec
    from memspice.spec.device import load_card

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--chips", type=int, default=64)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--chunk", type=int, default=8, help="chips per chunk (one deck per verify iteration)")
    ap.add_argument("--backend", choices=("shared", "subprocess"), default="shared")
    ap.add_argument("--seed", type=int, default=20250101)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--prog-cache", type=Path, default=None,
                    help="pickle of the nominal programming: read if it exists, else written (A/B runs of two "
                         "code versions whose nominal programming is the same skip it)")
    args = ap.parse_args()
    if args.chips < 2 or args.workers < 1 or args.chunk < 1:
        ap.error("need chips >= 2, workers >= 1, chunk >= 1")
    path = ROOT / "circuits" / f"qcell_adc_{args.bits}bit.toml"
    spec = load_adc_spec(path) if path.exists() else AdcSpec(bits=args.bits)
    spec = spec.with_overrides({"mc.samples": args.chips, "mc.seed": args.seed, "mc.chunk": args.chunk})
    card = load_card(spec.card)
    opts = flow.RunOptions(backend=args.backend, show_progress=False, workers=args.workers)
    t0 = time.perf_counter()
    if args.prog_cache is not None and args.prog_cache.exists():
        import pickle

        prog = pickle.loads(args.prog_cache.read_bytes())
    else:
        _, prog, _ = flow.program_converter(spec, card, opts)
        if args.prog_cache is not None:
            import pickle

            args.prog_cache.parent.mkdir(parents=True, exist_ok=True)
            args.prog_cache.write_bytes(pickle.dumps(prog))
    print(f"{args.bits}-bit converter ({path.name if path.exists() else 'defaults'}, card {card.name}) programmed "
          f"nominally in {time.perf_counter() - t0:.1f} s (not timed below); {args.chips} chips, chunks of "
          f"{args.chunk}, {args.workers} workers, backend {args.backend}, seed {args.seed}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    out: dict = {"bits": args.bits, "chips": args.chips, "workers": args.workers, "chunk": args.chunk,
                 "backend": args.backend, "seed": args.seed}
    for mode in ("open", "closed"):
        t0, c0 = time.perf_counter(), cpu_s()
        mc, _ = chips.chip_monte_carlo(spec, card, prog, opts, mode)
        out[f"{mode}_s"] = time.perf_counter() - t0
        out[f"{mode}_cpu_s"] = cpu_s() - c0
        st = mc_statistics(spec, mc, prog.plan.targets_v)
        out[f"{mode}_inl_max_lsb_rms"] = st["inl_max_lsb_rms"]
        out[f"{mode}_dnl_max_lsb_rms"] = st["dnl_max_lsb_rms"]
        out[f"{mode}_failed"] = len(mc.failed)
        out[f"{mode}_inl_max_lsb"] = [float(v) for v in st["inl_max_lsb"]]
        line = (f"{mode} loop: {out[f'{mode}_s']:.1f} s (CPU {out[f'{mode}_cpu_s']:.1f} s); "
                f"INL {st['inl_max_lsb_rms']:.4f} LSB, "
                f"DNL {st['dnl_max_lsb_rms']:.4f} LSB (RMS over chips of max |.|), failed {len(mc.failed)}")
        if mode == "closed":
            it = np.asarray(mc.iterations, dtype=float)
            out.update({"verify_sweeps_mean": float(it.mean()), "verify_sweeps_max": int(it.max()),
                        "nonconverged": int(np.sum(~mc.converged))})
            line += (f"; verify sweeps per chip mean {it.mean():.2f}, max {int(it.max())}; "
                     f"not converged {int(np.sum(~mc.converged))} of {len(it)}")
        print(line, flush=True)
    out["closed_over_open_time_ratio"] = out["closed_s"] / out["open_s"]
    out["closed_over_open_cpu_time_ratio"] = out["closed_cpu_s"] / out["open_cpu_s"]
    out["load_average_at_end"] = os.getloadavg()[0]
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    print(f"closed_over_open_cpu_time_ratio: {out['closed_over_open_cpu_time_ratio']:.2f}")
    print(f"closed_over_open_time_ratio: {out['closed_over_open_time_ratio']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
