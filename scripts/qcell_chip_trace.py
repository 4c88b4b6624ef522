"""Trace the closed-loop write-verify of selected chips of a Q-cell ADC Monte Carlo (issue 12).

The chips are those of ``characterize adc SPEC --mc N --seed S`` (the engine's draws: the plan the
closed-loop Monte Carlo builds, its chunk's values, the same circuit hash), but only the ``--chips``
selected are programmed (cells do not interact in DC, so a chip programs the same alone as beside
others). Every verify iteration of every cell with a bound outside tolerance is printed: the
conductances written, the bounds read, their errors, whether the reading was saturated at the
verify sweep's edge, and the controller's step scale. The whole trace is pickled under ``--cache``.

``--use`` also compares, per boundary, what the last verify read (cell bounds, no read noise) with what
the chip gives in use (the Monte Carlo's transfer sweep: read noise, drift, bias shift; cell bounds and
code-density transitions through the Gray OR logic) and with the same sweep without read noise, and
lists the sweep points whose code is off by more than one (gaps: no cell matching; overlaps: two).

    PYTHONPATH=$PWD python scripts/qcell_chip_trace.py circuits/qcell_adc_design.toml --mc 8 --seed 1234 \
        --chips 2 [--param mc.max_iter=40] [--cache runs/trace]
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import numpy as np

from memspice.characterize.adc import chips as ch
from memspice.characterize.adc.measure import program_converter
from memspice.characterize.adc.programming import WriteVerify, plan_bounds
from memspice.cli.common import parse_overrides
from memspice.extract import adc as ex
from memspice.montecarlo.plan import Plan, Variation
from memspice.montecarlo.sampling import draw_chunk
from memspice.spec.adc import build_adc_spec
from memspice.spec.device import load_card


def nominal(spec, card, cache: Path | None):
    """The nominal programming (map, write-verify, transfer), pickled under ``cache`` by spec hash."""
    f = None if cache is None else cache / f"nominal-{spec.spec_hash()}.pkl"
    if f is not None and f.exists():
        return pickle.loads(f.read_bytes())
    pmap, prog, _ = program_converter(spec, card)
    if f is not None:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(pickle.dumps((pmap, prog)))
    return pmap, prog


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spec")
    ap.add_argument("--mc", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--chips", default="0", help="comma-separated sample indices")
    ap.add_argument("--param", action="append", default=[])
    ap.add_argument("--cache", default="runs/trace")
    ap.add_argument("--use", action="store_true", help="compare the last verify with the chip in use, per boundary")
    a = ap.parse_args()
    spec = build_adc_spec(a.spec, mc=a.mc, seed=a.seed, overrides=parse_overrides(a.param))
    card = load_card(spec.card)
    # the nominal programming does not depend on the mc table: cache it on the spec without it
    _pmap, prog = nominal(spec.with_overrides({"mc.samples": 0}), card, Path(a.cache) if a.cache else None)
    circuit = ch.ClosedLoopAdcCircuit.from_programming(spec, card, prog)
    m = spec.mc
    plan = Plan(name=f"qcell_adc_closed-{spec.bits}bit", circuit=circuit.kind,
                spec={"circuit_hash": circuit.spec_hash()}, samples=m.samples, seed=m.seed, chunk_size=m.chunk,
                backend="subprocess",
                vary=tuple(Variation.from_dict(dict(v), where=f"vary[{k}]")
                           for k, v in enumerate(ch.closed_variations(spec, card))))
    picks = [int(s) for s in a.chips.split(",")]
    values: dict[str, list] = {}
    for s in picks:
        chunk, j = divmod(s, m.chunk)
        for g, v in draw_chunk(plan, circuit.param_groups(), chunk).items():
            values.setdefault(g, []).append(v[j])
    values = {g: np.stack(v) for g, v in values.items()}
    lsb = spec.lsb_v
    trace: list[dict] = []
    orig = WriteVerify.update

    def update(self, it, lower, upper, log=None, clamped=None):
        x_before = self.x.copy()
        scale_before = self.scale.copy()
        done = orig(self, it, lower, upper, log=log, clamped=clamped)
        chip = picks[next(i for i, c in enumerate(ctls) if c is self)]
        bad = ~self.accepted()
        trace.append({"chip": chip, "it": it, "x": x_before, "lower": lower, "upper": upper, "err": self.err.copy(),
                      "bad": bad, "clamped": None if clamped is None else clamped.copy(), "next": self.x.copy(),
                      "scale": scale_before, "done": done})
        cells = sorted(set(np.nonzero(bad.any(axis=1))[0]))
        print(f"chip {chip} verify {it}: {'done' if done else f'{len(cells)} cells outside tolerance'}")
        for k in cells:
            sat = "" if clamped is None or not clamped[k].any() else f" saturated{clamped[k].astype(int).tolist()}"
            e = self.err[k] / lsb
            print(f"   cell {k:2d} dom{self.dom[k].astype(int).tolist()} G=({x_before[k, 0] * 1e6:7.2f},"
                  f"{x_before[k, 1] * 1e6:7.2f}) uS read=({lower[k]:.4f},{upper[k]:.4f}) V tgt=("
                  f"{self.tgt[k, 0]:.4f},{self.tgt[k, 1]:.4f}) err=({e[0]:+.3f},{e[1]:+.3f}) LSB "
                  f"scale {scale_before[k]:.3g}{sat} -> next ({self.x[k, 0] * 1e6:7.2f},{self.x[k, 1] * 1e6:7.2f})")
        return done

    ctls: list[WriteVerify] = []
    orig_init = WriteVerify.__init__

    def init(self, *args, **kw):
        orig_init(self, *args, **kw)
        ctls.append(self)

    use_plots: list = []
    orig_run = circuit._run

    def run(steps, backend, timeout_s):  # the use sweep of run_values: keep its plots
        plots = orig_run(steps, backend, timeout_s)
        use_plots.extend(plots)
        return plots

    circuit._run = run
    WriteVerify.__init__ = init
    WriteVerify.update = update
    try:
        res = circuit.run_values(values)
    finally:
        WriteVerify.__init__, WriteVerify.update = orig_init, orig
        circuit._run = orig_run
    for s, r in zip(picks, res, strict=True):
        measured = np.array([r[f"boundary_V_i{i}"] for i in range(spec.n_cells - 1)])
        inl, dnl = ex.inl_dnl(measured, circuit.targets_v, spec.input_lo_v, spec.input_hi_v, lsb)
        print(f"chip {s}: converged {bool(r['converged'])}, reason {ch.REASONS[int(r['nonconverged_reason'])]}, "
              f"boundary {int(r['nonconverged_boundary'])}, verify sweeps {int(r['verify_iterations'])}, "
              f"worst dominant error {r['programmed_error_max_V'] * 1e3:.2f} mV; in use max |INL| "
              f"{np.max(np.abs(inl)):.3f} / |DNL| {np.max(np.abs(dnl)):.3f} LSB, "
              f"code errors {r['code_error_rate']:.2%}")
    use = {}
    if a.use:
        for j, s in enumerate(picks):
            last = [t for t in trace if t["chip"] == s][-1]
            use[s] = compare_use(circuit, {g: v[j] for g, v in values.items()}, last, use_plots[j])
    out = Path(a.cache) / f"trace-seed{a.seed}-chips{'_'.join(map(str, picks))}.pkl"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pickle.dumps({"trace": trace, "results": res, "values": values, "picks": picks, "use": use}))
    print(f"trace: {out}")


def _read(plot, spec):
    """(input V, cell outputs (points, cells), codes through the Gray OR logic, transitions V) of a sweep."""
    v = plot["v-sweep"]
    out = np.stack([plot[f"v(out{k})"] for k in range(spec.n_cells)], axis=1)
    codes = ex.codes_from_match(out < spec.cell.vdd_v / 2)
    return v, out, codes, ex.transitions_from_codes(v, codes, spec.n_cells)


def compare_use(circuit, one: dict, last: dict, plot) -> dict:
    """Per boundary: target, the last verify's dominant and recessive readings (no read noise), the cell
    bounds and code-density transition in use, and the transition in use without read noise (V); and
    the sweep points whose code is off the target quantizer's by more than one, with their matching
    cells. Printed; returned as arrays."""
    from memspice.netlist import qcell as nq
    from memspice.netlist.deck import Alter

    spec, card = circuit.spec, circuit.card
    lsb, vdd = spec.lsb_v, spec.cell.vdd_v
    g0, g1 = circuit.window
    x = last["x"]
    dv = circuit.delvto(one)
    v, out, codes, t_use = _read(plot, spec)
    lo_use, up_use = ex.cell_bounds(v, out, vdd)
    # the same chip in use without read noise (drift and bias shift kept)
    gl = np.clip(x[:, 0] + one.get("drift_lower", 0.0), g0, g1)
    gu = np.clip(x[:, 1] + one.get("drift_upper", 0.0), g0, g1)
    steps = [*nq.sample_alters(spec, card, gl, gu, dv), Alter("vpu", "dc", spec.cell.v_pu_v + spec.mc.v_pu_shift_v),
             *circuit.analyses()]
    v2, out2, codes2, t_quiet = _read(circuit._run(steps, "subprocess", 600.0)[0], spec)
    lo_q, up_q = ex.cell_bounds(v2, out2, vdd)
    plan = plan_bounds(spec, circuit.targets_v)
    tgt = circuit.targets_v
    rows = []
    print(f"{'b':>3} {'dom':>10} {'target':>8} | verify dom  rec  | use dom  rec  | use(no noise) dom  rec | "
          "transition use / no noise (LSB from target) | overlap verify / use (LSB)")
    for i in range(1, spec.n_cells):
        side = plan.dominant[i - 1]
        # the dominant bound and the neighbour's recessive bound that meets it
        if side == "lower":
            dom_c, dom_j, rec_c, rec_j = i, 0, i - 1, 1
        else:
            dom_c, dom_j, rec_c, rec_j = i - 1, 1, i, 0
        ver = (last["lower"], last["upper"])
        use_b = (lo_use, up_use)
        q_b = (lo_q, up_q)
        d_ver, r_ver = ver[dom_j][dom_c], ver[rec_j][rec_c]
        d_use, r_use = use_b[dom_j][dom_c], use_b[rec_j][rec_c]
        d_q, r_q = q_b[dom_j][dom_c], q_b[rec_j][rec_c]
        # overlap of cell i-1's upper and cell i's lower: positive = overlap, negative = a gap
        ov_ver = (ver[1][i - 1] - ver[0][i]) / lsb
        ov_use = (up_use[i - 1] - lo_use[i]) / lsb
        t = tgt[i - 1]
        rows.append((i - 1, t, d_ver, r_ver, d_use, r_use, d_q, r_q, t_use[i - 1], t_quiet[i - 1], ov_ver, ov_use))
        print(f"{i - 1:3d} {side + f'({dom_c})':>10} {t:8.4f} | {(d_ver - t) / lsb:+.3f} {(r_ver - t) / lsb:+.3f} | "
              f"{(d_use - t) / lsb:+.3f} {(r_use - t) / lsb:+.3f} | {(d_q - t) / lsb:+.3f} {(r_q - t) / lsb:+.3f} | "
              f"{(t_use[i - 1] - t) / lsb:+.3f} / {(t_quiet[i - 1] - t) / lsb:+.3f} | {ov_ver:+.3f} / {ov_use:+.3f}")
    keep = (v >= spec.input_lo_v) & (v < spec.input_hi_v)
    ideal = ex.ideal_codes(v, tgt)
    bad = np.nonzero(keep & (np.abs(codes - ideal) > 1))[0]
    print(f"code errors in use (|code - ideal| > 1): {len(bad)} of {int(keep.sum())} sweep points "
          f"({len(bad) / keep.sum():.2%})")
    for p in bad:
        cells = np.nonzero(out[p] < vdd / 2)[0].tolist()
        print(f"   v={v[p]:.5f} V code {codes[p]} ideal {ideal[p]} matching cells {cells}")
    return {"rows": np.array(rows), "bad_v": v[bad], "codes": codes, "codes_quiet": codes2, "v": v,
            "t_use": t_use, "t_quiet": t_quiet}


if __name__ == "__main__":
    main()
