"""Time the nominal programming of the Q-cell ADC (``program_converter``) with windowed verify sweeps
against the whole-range verify sweeps, side by side, and compare what each programmed.

For each ``--bits`` (the reproduce design, ``circuits/qcell_adc_design.toml`` at that resolution), in
this process and alternating (windowed first, then whole-range; ``--repeat`` rounds), runs
``program_converter`` and prints the CPU time of this process and its ngspice children, the verify
decks, the points read (sweep points x cells), the transfer sweeps, and then the largest differences
between the two programmings: conductances (uS, and in LSB of bound movement through the programming
map's slope) and the transfer's measured boundaries (LSB; the read resolution is +-sweep_step_lsb/2).

    PYTHONPATH=. python scripts/bench_programming.py [--bits 4 5] [--repeat 1] [--backend subprocess]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> int:
    from memspice.characterize import adc as flow
    from memspice.characterize.explore import cpu_s as _cpu_s  # this process and its ngspice children
    from memspice.reproduce.adc import design_spec
    from memspice.spec.device import load_card

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bits", type=int, nargs="+", default=[4, 5])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--backend", default="subprocess")
    a = ap.parse_args()
    for bits in a.bits:
        spec = design_spec(bits)
        card = load_card(spec.card)
        opts = flow.RunOptions(backend=a.backend, show_progress=False)
        res = {}
        for _ in range(a.repeat):
            for windowed in (True, False):
                counts: dict = {}
                c0, w0 = _cpu_s(), time.perf_counter()
                pmap, prog, tr = flow.program_converter(spec, card, opts, windowed=windowed, counts=counts)
                cpu, wall = _cpu_s() - c0, time.perf_counter() - w0
                name = "windowed" if windowed else "whole-range"
                res[name] = (pmap, prog, tr)
                print(f"{bits} bits {name}: cpu {cpu:.1f} s wall {wall:.1f} s, verify decks {counts.get('decks')}, "
                      f"points {counts.get('points')}, iterations {prog.iterations}, "
                      f"transfers {counts.get('transfers')}, "
                      f"worst transfer error {np.max(np.abs(tr.measured_v - tr.targets_v)) / spec.lsb_v:.3f} LSB",
                      flush=True)
        (pm, pw, tw), (_, pf, tf) = res["windowed"], res["whole-range"]
        dgl, dgu = pw.g_lower_s - pf.g_lower_s, pw.g_upper_s - pf.g_upper_s
        slope_l = np.abs(pm.slope_v_per_s("lower", pf.g_lower_s))
        slope_u = np.abs(pm.slope_v_per_s("upper", pf.g_upper_s))
        dom = np.array([pw.plan.dominant_cell(i) for i in range(1, spec.n_cells)], dtype=object)
        dlsb = [abs((dgl if side == "lower" else dgu)[int(c)] * (slope_l if side == "lower" else slope_u)[int(c)])
                / spec.lsb_v for c, side in dom]
        db = (tw.measured_v - tf.measured_v) / spec.lsb_v
        print(f"{bits} bits windowed - whole-range: max |dG| {np.max(np.abs(np.r_[dgl, dgu])) * 1e6:.3f} uS, "
              f"dominant conductances moved the bound by at most {max(dlsb):.3f} LSB; transfer boundaries "
              f"max |d| {np.max(np.abs(db)):.3f} LSB (read resolution +-{spec.sweep_step_lsb / 2:g} LSB each)",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
