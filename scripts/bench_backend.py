"""Time the two ngspice backends side by side on the same workloads, and check they agree.

Workloads (each run with ``subprocess`` and ``shared`` in one process, alternating, ``--repeats``
times each; medians compared):

- ``adc``: the nominal programming of a ``--bits`` Q-cell ADC (``program_converter``: programming
  map, write-verify, transfer sweep through the encoder): many small BSIM4 DC decks, the ADC flow's
  and the explore grid's inner loop.
- ``device``: write-verify of the ``vteam_paper`` card to two targets (``characterize device``'s
  programming): many short transient decks of one memristor.

Wall time and CPU time (this process and its ngspice children) are printed per run; the last lines
are ``<workload>_subprocess_over_shared_wall: X``. The two backends must give the same boundaries and
conductances (to 1e-9 relative): the script exits 1 if they do not.

    PYTHONPATH=. python scripts/bench_backend.py [--bits 2] [--repeats 1] [--workloads adc,device]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _adc(backend: str, bits: int):
    from memspice.characterize.adc import RunOptions
    from memspice.characterize.adc.measure import program_converter
    from memspice.spec.adc import AdcSpec
    from memspice.spec.device import load_card

    spec = AdcSpec.from_dict({"bits": bits})
    card = load_card(spec.card)
    opts = RunOptions(backend=backend, show_progress=False)
    _pmap, prog, tr = program_converter(spec, card, opts)
    return np.concatenate([prog.g_lower_s, prog.g_upper_s, np.asarray(tr.measured_v, dtype=float)])


def _device(backend: str, bits: int):
    from memspice.characterize.device import DeviceStudySpec, ProgramSpec
    from memspice.characterize.device_outputs import characterize_device
    from memspice.spec.device import load_card

    card = load_card("vteam_paper")
    spec = DeviceStudySpec(program=ProgramSpec(targets_s=(200e-6, 300e-6)), backend=backend)
    with tempfile.TemporaryDirectory() as out:
        summary = characterize_device(card, spec, Path(out), show_progress=False, figures=False)
    rows = summary["programming"]["per_target"]
    return np.array([r["final_mean_S"] for r in rows] + [r["pulses_mean"] for r in rows])


WORKLOADS = {"adc": _adc, "device": _device}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--bits", type=int, default=2, help="ADC resolution of the adc workload")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--workloads", default="adc,device")
    args = ap.parse_args()
    os.environ.setdefault("MEMSPICE_PROGRESS", "off")
    ok = True
    ratios = {}
    for name in args.workloads.split(","):
        run = WORKLOADS[name]
        wall: dict[str, list[float]] = {"subprocess": [], "shared": []}
        values: dict[str, np.ndarray] = {}
        for rep in range(args.repeats):
            for backend in ("subprocess", "shared") if rep % 2 == 0 else ("shared", "subprocess"):
                t0, c0 = time.perf_counter(), _cpu()
                values[backend] = run(backend, args.bits)
                dt, dc = time.perf_counter() - t0, _cpu() - c0
                wall[backend].append(dt)
                print(f"{name} {backend}: wall {dt:.2f} s, cpu {dc:.2f} s", flush=True)
        same = np.allclose(values["subprocess"], values["shared"], rtol=1e-9, atol=0)
        ok &= bool(same)
        print(f"{name}: backends agree to 1e-9 relative: {same} "
              f"(max relative difference {np.max(np.abs(values['subprocess'] / values['shared'] - 1)):.2e})")
        ratios[name] = statistics.median(wall["subprocess"]) / statistics.median(wall["shared"])
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    for name, ratio in ratios.items():
        print(f"{name}_subprocess_over_shared_wall: {ratio:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
