"""Run memspice's benchmarks in one go and write one Markdown table (figure, memspice, baseline, ratio, goal).

1. ``scripts/bench_montecarlo.py`` (crossbar column Monte Carlo: batched and alter engine paths, the
   simulator alone on the same chunk decks, one ngspice process per sample), run as a subprocess with
   ``--json``;
2. ``scripts/bench_inference.py`` (CIM against float inference), run as a subprocess, its printed
   medians parsed; if it cannot run (no data set) the row says why;
3. ``scripts/bench_chips.py``: a closed- against open-loop chip Monte Carlo of the Q-cell ADC
   (``memspice.characterize.adc.chips.chip_monte_carlo``) at ``--adc-bits`` bits and ``--adc-chips``
   chips (default 4 and 64, the issue's goal), run as a subprocess with ``--json``; ``--adc-chips 0``
   skips it.

Writes ``runs/bench/bench_<UTC time>.md`` and ``.json`` and copies them to ``runs/bench/latest.md`` /
``latest.json``. Every figure is measured in this run on this machine; a loaded machine slows
every method, and the ratios are what is compared.

    PYTHONPATH=. python scripts/bench_all.py [--workers 2] [--mc-samples 1000] [--mc-baseline-samples 200]
                                             [--images 10000] [--adc-bits 4] [--adc-chips 64]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd: list[str]) -> tuple[int, str]:
    print("$ " + " ".join(cmd), flush=True)
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env = {**os.environ, "PYTHONPATH": path}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    print(proc.stdout[-3000:], proc.stderr[-2000:], sep="\n", flush=True)
    return proc.returncode, proc.stdout + proc.stderr


def bench_montecarlo(args, tmp: Path) -> dict:
    out = tmp / "mc.json"
    rc, text = _run([sys.executable, "scripts/bench_montecarlo.py", "--samples", str(args.mc_samples),
                     "--baseline-samples", str(args.mc_baseline_samples), "--workers", str(args.workers),
                     "--json", str(out)])
    if rc != 0 or not out.exists():
        return {"error": f"bench_montecarlo.py exit {rc}: {text.strip().splitlines()[-1:] or ['']}"}
    return json.loads(out.read_text())


def bench_inference(args) -> dict:
    rc, text = _run([sys.executable, "scripts/bench_inference.py", "--images", str(args.images)])
    f = re.search(r"^float times \(s\): wall .*?\(median ([0-9.]+)\)", text, re.M)
    c = re.search(r"^cim times \(s\): wall .*?\(median ([0-9.]+)\)", text, re.M)
    if rc != 0 or not (f and c):
        return {"error": f"bench_inference.py exit {rc}: {text.strip().splitlines()[-1:] or ['']}"}
    return {"float_s": float(f.group(1)), "cim_s": float(c.group(1)), "images": args.images,
            "cim_over_float_time_ratio": float(c.group(1)) / float(f.group(1))}


def bench_adc(args, tmp: Path) -> dict:
    out = tmp / "chips.json"
    rc, text = _run([sys.executable, "scripts/bench_chips.py", "--bits", str(args.adc_bits), "--chips",
                     str(args.adc_chips), "--workers", str(args.workers), "--json", str(out)])
    if rc != 0 or not out.exists():
        return {"error": f"bench_chips.py exit {rc}: {text.strip().splitlines()[-1:] or ['']}"}
    return json.loads(out.read_text())


def table(res: dict, args) -> list[str]:
    lines = ["| figure | memspice | baseline | ratio | goal (issue 16) |", "|---|---|---|---|---|"]
    mc = res["montecarlo"]
    if "error" in mc:
        lines.append(f"| Monte Carlo | not run: {mc['error']} | | | |")
    else:
        r = mc["samples_per_s"]
        b, a = r["memspice, batched (default)"], r["memspice, alter path (before)"]
        lb, la = r["ngspice -b alone, batched chunk decks"], r["ngspice -b alone, alter chunk decks"]
        p = r["ngspice -b, one process per sample"]
        lines += [
            f"| MC crossbar {mc['rows']}-row read, samples/s: engine (batched) vs one ngspice -b per sample | "
            f"{b:.1f} | {p:.1f} | {b / p:.2f} (speedup_vs_process_per_sample) | >= 8 |",
            f"| same, alter path (before) vs one ngspice -b per sample | {a:.1f} | {p:.1f} | {a / p:.2f} | - |",
            f"| engine (batched) vs ngspice -b alone on its chunk decks | {b:.1f} | {lb:.1f} | "
            f"{b / lb:.2f} (fraction_of_simulator_limit) | >= 0.9 |",
            *([f"| same, CPU seconds: engine (this process and its ngspice children) vs ngspice -b alone | "
               f"{mc['cpu_s']['engine batched']:.2f} | {mc['cpu_s']['limit batched']:.2f} | "
               f"{mc['cpu_fraction_of_simulator_limit']:.2f} (cpu_fraction_of_simulator_limit) | >= 0.9 |"]
              if "cpu_s" in mc else []),
            f"| engine (alter, before) vs ngspice -b alone on its chunk decks | {a:.1f} | {la:.1f} | {a / la:.2f} | "
            ">= 0.9 |",
            f"| simulator limit: batched vs alter chunk decks | {lb:.1f} | {la:.1f} | {lb / la:.2f} | move it |",
            *([f"| simulator limit: batched decks, inline cells vs subckt cells (before) | {lb:.1f} | "
               f"{r['ngspice -b alone, batched, subckt cells']:.1f} | {mc['inline_over_subckt_simulator_limit']:.2f} "
               f"(CPU {mc['cpu_inline_over_subckt_simulator_limit']:.2f}) | move it |"]
              if "inline_over_subckt_simulator_limit" in mc else []),
            f"| engine batched vs engine alter path | {b:.1f} | {a:.1f} | {b / a:.2f} | - |",
        ]
    inf = res["inference"]
    if "error" in inf:
        lines.append(f"| CIM inference vs float | not run: {inf['error']} | | | <= 2 |")
    else:
        lines.append(f"| CIM inference vs float, s for {inf['images']} images (4-bit Lloyd-Max, CPU) | "
                     f"{inf['cim_s']:.2f} | {inf['float_s']:.2f} | {inf['cim_over_float_time_ratio']:.2f} | <= 2 |")
    adc = res.get("adc")
    if adc is None:
        lines.append("| ADC chip Monte Carlo closed vs open loop | skipped (--adc-chips 0) | | | <= 3 |")
    elif "error" in adc:
        lines.append(f"| ADC chip Monte Carlo closed vs open loop | not run: {adc['error']} | | | <= 3 |")
    else:
        lines.append(f"| ADC chip Monte Carlo, {adc['bits']}-bit, {adc['chips']} chips, s: closed vs open loop "
                     f"(verify sweeps per chip: mean {adc['verify_sweeps_mean']:.2f}, "
                     f"max {adc['verify_sweeps_max']}) | "
                     f"{adc['closed_s']:.1f} | {adc['open_s']:.1f} | {adc['closed_over_open_time_ratio']:.2f} "
                     "(closed_over_open_time_ratio) | <= 3 (64 chips, 4-bit) |")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--mc-samples", type=int, default=1000)
    ap.add_argument("--mc-baseline-samples", type=int, default=200)
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--adc-bits", type=int, default=4)
    ap.add_argument("--adc-chips", type=int, default=64, help="0 skips the ADC timing")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "bench")
    args = ap.parse_args()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    res: dict = {"started_utc": started, "workers": args.workers, "cpu_count": os.cpu_count(),
                 "load_average_at_start": list(os.getloadavg())}
    with tempfile.TemporaryDirectory(prefix="bench-all-") as tmp:
        res["montecarlo"] = bench_montecarlo(args, Path(tmp))
    res["inference"] = bench_inference(args)
    if args.adc_chips > 0:
        with tempfile.TemporaryDirectory(prefix="bench-all-") as tmp:
            res["adc"] = bench_adc(args, Path(tmp))
    res["load_average_at_end"] = list(os.getloadavg())
    head = [f"# memspice benchmarks, {started}", "",
            f"{args.workers} workers on a machine with {os.cpu_count()} cores; load average at start "
            f"{res['load_average_at_start'][0]:.1f}, at end {res['load_average_at_end'][0]:.1f} (other jobs slow "
            "every method alike; compare ratios). Monte Carlo: circuits/crossbar_128.toml at "
            f"{res['montecarlo'].get('rows', '?')} rows, {args.mc_samples} samples (per-sample baseline "
            f"{args.mc_baseline_samples}), chunks of {res['montecarlo'].get('chunk_size', '?')}.", ""]
    text = "\n".join([*head, *table(res, args)]) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = started.replace(":", "").replace("-", "")
    for name in (f"bench_{stamp}", "latest"):
        (args.out / f"{name}.md").write_text(text)
        (args.out / f"{name}.json").write_text(json.dumps(res, indent=2) + "\n")
    print(text)
    print(f"written to {args.out}/bench_{stamp}.md and latest.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
