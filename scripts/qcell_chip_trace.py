"""Trace the closed-loop write-verify of selected chips of a Q-cell ADC Monte Carlo (issue 12).

The chips are those of ``characterize adc SPEC --mc N --seed S`` (the engine's draws: the plan the
closed-loop Monte Carlo builds, its chunk's values, the same circuit hash), but only the ``--chips``
selected are programmed (cells do not interact in DC, so a chip programs the same alone as beside
others). Every verify iteration of every cell with a bound outside tolerance is printed: the
conductances written, the bounds read, their errors, whether the reading was saturated at the
verify sweep's edge, and the controller's step scale. The whole trace is pickled under ``--cache``.

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
from memspice.characterize.adc.programming import WriteVerify
from memspice.cli.common import parse_overrides
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

    WriteVerify.__init__ = init
    WriteVerify.update = update
    try:
        res = circuit.run_values(values)
    finally:
        WriteVerify.__init__, WriteVerify.update = orig_init, orig
    for s, r in zip(picks, res, strict=True):
        print(f"chip {s}: converged {bool(r['converged'])}, reason {ch.REASONS[int(r['nonconverged_reason'])]}, "
              f"boundary {int(r['nonconverged_boundary'])}, verify sweeps {int(r['verify_iterations'])}, "
              f"worst dominant error {r['programmed_error_max_V'] * 1e3:.2f} mV")
    out = Path(a.cache) / f"trace-seed{a.seed}-chips{'_'.join(map(str, picks))}.pkl"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pickle.dumps({"trace": trace, "results": res, "values": values, "picks": picks}))
    print(f"trace: {out}")


if __name__ == "__main__":
    main()
