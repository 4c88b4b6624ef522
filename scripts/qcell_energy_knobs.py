"""Nominal energy points of Q-cell ADC candidates: what each design knob buys (issue 12, docs/adc.md 5d).

    nice -n 19 python scripts/qcell_energy_knobs.py circuits/qcell_adc_design.toml \
        circuits/explore_qcell_low_energy.toml --out runs/knobs [--reuse runs/mc8_s5/programming.csv]

Each candidate (``[[grid.points]]`` of the grid file: dotted spec fields = values) is the base spec with
those overrides. Its nominal programming: the programming map, the DC write-verify
(:func:`memspice.characterize.adc.verify.program`, as in :func:`program_converter` without its
encoder-offset rounds) and the transfer (its max|INL| is recorded). ``--reuse CSV`` (``programming.csv``
of a ``characterize adc`` run of the base spec) skips all that for candidates whose DC decks are the
base's (they differ only in ``timing``: :func:`memspice.characterize.explore.dc_key`); ``--warm`` starts
the write-verify of the others from those conductances. Then one transient
over the spec's conversions in the candidate's own timing (no read-window doubling: the window is the
candidate's, unless ``--settle``: a static candidate's window doubled until its codes settle, as the
explorer does), with the energy split by cause. A precharge candidate is read in its timing with its DC
programming unless ``--timed`` (write-verify in the conversion timing first,
:func:`program_in_timing`); its row says which (``programming``). ``--shifts``: a precharge candidate's
DC-programmed bounds are also read in its timing (``timed_shift_*_lsb``: timed minus DC, per cell).

Nothing here is Monte Carlo: these are nominal points (``mc_experiment`` = none). One JSON row per
candidate under ``OUT/rows/`` (a rerun resumes), and ``OUT/knobs.csv``. Never imported by the package.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

# how read_noise_floor_V was taken; a cached row without it predates the fix of chips.read_noise_floor_v (slope
# at the measured map points, not the interpolant extrapolated past a branch's last reachable bound)
FLOOR_METHOD = "slope at measured map points"


def cpu_s() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def load_reuse(path: Path):
    rows = list(csv.DictReader(path.read_text().splitlines()))
    gl = np.array([float(r["g_lower_S"]) for r in rows])
    gu = np.array([float(r["g_upper_S"]) for r in rows])
    lo = np.array([float(r["measured_lower_V"]) if r["measured_lower_V"] else np.nan for r in rows])
    up = np.array([float(r["measured_upper_V"]) if r["measured_upper_V"] else np.nan for r in rows])
    return gl, gu, lo, up


def nominal_programming(spec, card, cache: dict, cache_dir: Path, reuse, base_key: str, log, warm: bool = False):
    """(map or None, Programming, DC boundaries, how) of the spec's DC decks: from ``cache`` (this run),
    ``cache_dir`` (earlier runs), ``reuse`` (the base spec's programming.csv), or a DC write-verify."""
    from memspice.characterize import adc as flow
    from memspice.characterize.adc.chips import read_noise_floor_v
    from memspice.characterize.adc.programming import Programming, plan_bounds
    from memspice.characterize.adc.verify import program
    from memspice.characterize.explore import dc_key

    key = dc_key(spec)
    targets = spec.targets_v()
    if key in cache:
        return cache[key]
    f = cache_dir / f"{key}.json"
    if key == base_key and reuse is not None:
        gl, gu, lo, up = reuse
        how = "reused (base DC write-verify)"
        floor = float("nan")
    elif f.exists():
        d = json.loads(f.read_text())
        gl, gu = np.array(d["g_lower_s"]), np.array(d["g_upper_s"])
        lo, up = np.array(d["lower_v"], dtype=float), np.array(d["upper_v"], dtype=float)
        how, floor = d["how"], d["read_noise_floor_V"]
        if d.get("read_noise_floor_method") != FLOOR_METHOD:  # cached before the floor read the measured map
            floor = float("nan")  # those were read off the PCHIP end cubic (up to 16x high): not reported
    else:
        opts = flow.RunOptions(show_progress=False, workers=1, timeout_s=4 * 3600.0)
        pmap = flow.programming_map(spec, card, opts)
        flow.check_reachable(spec, pmap, targets, card.name)
        floor = read_noise_floor_v(spec, card, pmap)
        start = None
        if reuse is not None and warm:
            start = Programming(g_lower_s=reuse[0], g_upper_s=reuse[1], plan=plan_bounds(spec, targets))
        prog = program(spec, card, pmap, targets, opts, log=log, start=start)
        tr = flow.transfer(spec, card, prog, opts)
        how = (f"DC write-verify{' (warm start)' if start is not None else ''}, {prog.iterations} sweeps; "
               f"transfer max|INL| {tr.inl_max_lsb:.3f} LSB")
        gl, gu, lo, up = prog.g_lower_s, prog.g_upper_s, prog.lower_v, prog.upper_v
        f.write_text(json.dumps({"how": how, "read_noise_floor_V": floor, "read_noise_floor_method": FLOOR_METHOD,
                                 "g_lower_s": list(map(float, gl)), "g_upper_s": list(map(float, gu)),
                                 "lower_v": [float(x) for x in lo], "upper_v": [float(x) for x in up],
                                 "transfer_V": [float(x) for x in tr.measured_v]}))
    prog = Programming(g_lower_s=np.asarray(gl), g_upper_s=np.asarray(gu), plan=plan_bounds(spec, targets),
                       lower_v=np.asarray(lo), upper_v=np.asarray(up))
    cache[key] = (prog, how, floor)
    return cache[key]


def candidate_row(name: str, spec, cache: dict, cache_dir: Path, reuse, base_key: str, timed: bool, log,
                  warm: bool = False, settle: bool = False, shifts: bool = False) -> dict:
    from memspice.characterize import adc as flow
    from memspice.characterize.adc.timed import program_in_timing
    from memspice.characterize.explore import read_disturb_margin_v
    from memspice.errors import SimulationError, SpecError
    from memspice.extract import adc as ex
    from memspice.spec.device import load_card

    opts = flow.RunOptions(show_progress=False, workers=1, timeout_s=4 * 3600.0)
    card = load_card(spec.card)
    targets = spec.targets_v()
    row: dict = {"candidate": name, "scheme": spec.timing.scheme, "read_s": spec.timing.read_s,
                 "period_s": spec.timing.period_s, "spec_hash": spec.spec_hash()}
    area = flow.area_um2(spec)
    row.update(area_um2=area["total_um2"], area_normalised_um2=area["total_normalised_um2"],
               read_disturb_margin_V=read_disturb_margin_v(spec))
    t0, c0 = time.perf_counter(), cpu_s()
    try:
        prog, how, floor = nominal_programming(spec, card, cache, cache_dir, reuse, base_key, log, warm)
        row.update(programming=how, read_noise_floor_V=floor)
        boundaries = prog.dominant_bounds_v()
        if spec.timing.scheme == "precharge" and shifts:  # where the timing moves the DC-programmed bounds
            from memspice.characterize.adc.timed import timed_bounds

            tl, tu = timed_bounds(spec, card, prog.g_lower_s, prog.g_upper_s, prog.lower_v, prog.upper_v, opts,
                                  half_width_lsb=2.5)
            for side, d in (("lower", (tl - prog.lower_v) / spec.lsb_v), ("upper", (tu - prog.upper_v) / spec.lsb_v)):
                row[f"timed_shift_{side}_lsb"] = " ".join(f"{x:.2f}" for x in d)
                row[f"timed_shift_{side}_min_max_lsb"] = f"{np.nanmin(d):.2f} {np.nanmax(d):.2f}"
        if spec.timing.scheme == "precharge" and timed:
            pmap = flow.programming_map(spec, card, opts)
            tp = program_in_timing(spec, card, pmap, prog, opts, log=log)
            prog, boundaries = tp.prog, tp.dominant_v
            row.update(programming=how + " + timed", timed_rounds=tp.rounds,
                       timed_worst_error_lsb=tp.history_lsb[-1])
        inl, dnl = ex.inl_dnl(boundaries, targets, spec.input_lo_v, spec.input_hi_v, spec.lsb_v)
        row.update(inl_cells_lsb=float(np.nanmax(np.abs(inl))), dnl_cells_lsb=float(np.nanmax(np.abs(dnl))))
        row["cpu_program_s"] = cpu_s() - c0
        if settle and spec.timing.scheme == "static":  # the explorer's rule: double the window until codes settle
            en = flow.conversion_energy_settled(spec, card, prog, opts, max_doublings=2, log=log)
        else:
            en = flow.conversion_energy(spec, card, prog, opts)
        row.update(read_s=en.read_s, period_s=en.period_s)
        row.update(energy_total_J=en.energy_per_conversion_j, energy_switching_J=en.switching_j,
                   energy_static_J=en.static_j, delay_s=en.delay_s, codes_ok=en.codes_ok,
                   codes_expected=" ".join(map(str, en.expected_codes)),
                   codes_sampled=" ".join(map(str, en.sampled_codes)))
        cause = en.by_cause()
        for kind in ("static_J", "switching_J"):
            for group, e in cause.get(kind, {}).items():
                row[f"{kind[:-2]}_{group.replace(' ', '_').replace('/', '_')}_J"] = e
        for sup, e in en.split.switching_j.items():
            row[f"sw_supply_{sup}_J"] = e
        for sup, e in en.split.static_j.items():
            row[f"st_supply_{sup}_J"] = e
        row["status"] = "ok" if en.codes_ok else "codes wrong"
    except (SpecError, SimulationError) as err:
        row["status"] = f"failed: {err}".replace("\n", " ")
    row["wall_s"], row["cpu_s"] = time.perf_counter() - t0, cpu_s() - c0
    return row


def main(argv=None) -> int:
    from memspice.characterize.explore import dc_key, load_grid, point_specs
    from memspice.spec.adc import load_adc_spec

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base")
    ap.add_argument("grid")
    ap.add_argument("--out", default="runs/knobs")
    ap.add_argument("--reuse", default=None, help="programming.csv of the base spec's characterize run")
    ap.add_argument("--timed", action="store_true", help="precharge candidates: write-verify in timing first")
    ap.add_argument("--only", default=None, help="comma-separated candidate names")
    ap.add_argument("--warm", action="store_true", help="start write-verify from the --reuse conductances")
    ap.add_argument("--shifts", action="store_true",
                    help="precharge: also read the DC-programmed bounds in the timing (shift per bound, LSB)")
    ap.add_argument("--settle", action="store_true",
                    help="static candidates: double the read window (at most twice) until the codes settle")
    args = ap.parse_args(argv)
    base = load_adc_spec(args.base)
    grid = load_grid(args.grid)
    specs = point_specs(base, grid)
    names = grid.names()
    reuse = load_reuse(Path(args.reuse)) if args.reuse else None
    out = Path(args.out)
    (out / "rows").mkdir(parents=True, exist_ok=True)
    (out / "programming").mkdir(parents=True, exist_ok=True)
    cache: dict = {}
    only = set(args.only.split(",")) if args.only else None
    rows = []
    for name, spec in zip(names, specs, strict=True):
        pre = spec.timing.scheme == "precharge"
        tag = ("-timed" if args.timed and pre else "") + ("-settled" if args.settle and not pre else "")
        tag += "-shifts" if args.shifts and pre else ""
        f = out / "rows" / f"{name.replace('/', '_').replace(' ', '_')}-{spec.spec_hash()[:12]}{tag}.json"
        if f.exists():
            rows.append(json.loads(f.read_text()))
            continue
        if only is not None and name not in only:
            continue
        print(f"[{time.strftime('%H:%M:%S')}] {name}", flush=True)
        row = candidate_row(name, spec, cache, out / "programming", reuse, dc_key(base), args.timed,
                            lambda s: print("   ", s, flush=True), args.warm, args.settle, args.shifts)
        f.write_text(json.dumps(row, indent=1))
        rows.append(row)
        nan = float("nan")
        print(f"    {row['status']}: switching {row.get('energy_switching_J', nan) * 1e15:.1f} fJ, total "
              f"{row.get('energy_total_J', nan) * 1e15:.0f} fJ, delay {row.get('delay_s', nan) * 1e9:.2f} ns, "
              f"{row['cpu_s']:.0f} s CPU", flush=True)
    order = {n: i for i, n in enumerate(names)}  # every row measured so far into OUT/knobs.csv, in grid order
    rows = sorted((json.loads(p.read_text()) for p in (out / "rows").glob("*.json")),
                  key=lambda r: (order.get(r["candidate"], len(order)), r.get("programming", "")))
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(out / "knobs.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
