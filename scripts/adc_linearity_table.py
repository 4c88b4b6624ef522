"""Fig. 4-like linearity table of the Q-cell ADC: bits x memristor programming sigma x {open, closed} loop.

Each cell of the table is a chip Monte Carlo (``memspice.characterize.adc.chip_monte_carlo``) of the
uniform n-bit converter of ``circuits/qcell_adc_<n>bit.toml`` (defaults where the file is absent):
transistor mismatch (Pelgrom) and read noise always on; the memristor programming sigma is the
programming error of a write (open loop: the only write; closed loop: every write of write-verify,
accepted within ``mc.band_v``). Columns: RMS over samples of max |INL| and max |DNL| (LSB), boundary
sigma (mV and LSB), code error rate, non-converged samples; the paper's numbers (DOMAIN.md 1.2, Fig. 4:
0 %, 1 %, 2.5 % variation) beside them.

    PYTHONPATH=. python scripts/adc_linearity_table.py --bits 3 4 --samples 32 --out runs/linearity

Writes ``linearity_table.md`` and ``linearity_table.json`` (every number and the seed) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from memspice.characterize import adc as flow
from memspice.characterize.adc import chips
from memspice.spec.adc import AdcSpec, load_adc_spec
from memspice.spec.device import load_card

PAPER_COLUMN = {0.0: "0%", 0.01: "1%", 0.025: "2.5%"}


def spec_for(bits: int) -> AdcSpec:
    path = Path(f"circuits/qcell_adc_{bits}bit.toml")
    return load_adc_spec(path) if path.exists() else AdcSpec(bits=bits)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bits", type=int, nargs="+", default=[3, 4, 5, 6])
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--seed", type=int, default=20250101)
    ap.add_argument("--band-v", type=float, default=5e-3)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--sigmas", nargs="+", default=["0", "0.01", "0.025", "card"],
                    help="programming sigma as a fraction of the card window, or 'card' (the card's own)")
    ap.add_argument("--out", type=Path, default=Path("runs/linearity"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for bits in args.bits:
        spec = spec_for(bits).with_overrides({"mc.samples": args.samples, "mc.seed": args.seed,
                                              "mc.band_v": args.band_v, "mc.chunk": 8})
        card = load_card(spec.card)
        g0, g1 = card.window_s()
        opts = flow.RunOptions(backend="shared", show_progress=False, workers=args.workers,
                               mc_cache_root=args.out / "mc_cache")
        _, prog, _ = flow.program_converter(spec, card, opts)
        for sig in args.sigmas:
            sigma_s = card.variability.program_sigma_s if sig == "card" else float(sig) * (g1 - g0)
            label = (f"card {sigma_s * 1e6:.1f} uS" if sig == "card"
                     else f"{100 * float(sig):g} % ({sigma_s * 1e6:.2f} uS)")
            s = spec.with_overrides({"mc.program_sigma_s": sigma_s})
            for mode in ("open", "closed"):
                t0 = time.monotonic()
                mc, _ = chips.chip_monte_carlo(s, card, prog, opts, mode)
                st = flow.mc_statistics(s, mc, s.targets_v())
                paper = flow.PAPER["linearity_lsb"].get(bits, {}).get(PAPER_COLUMN.get(float(sig), ""), None) \
                    if sig != "card" else None
                row = {"bits": bits, "sigma": label, "programming": mode, "samples": st["samples"],
                       "inl_max_lsb_rms": st["inl_max_lsb_rms"], "dnl_max_lsb_rms": st["dnl_max_lsb_rms"],
                       "boundary_sigma_mV": 1e3 * st["boundary_sigma_rms_V"],
                       "boundary_sigma_lsb": st["boundary_sigma_rms_V"] / s.lsb_v,
                       "code_error_rate": st["code_error_rate"], "nonconverged": st["nonconverged_samples"],
                       "paper_inl_dnl_lsb": paper, "seconds": time.monotonic() - t0}
                rows.append(row)
                print(json.dumps(row), flush=True)
    (args.out / "linearity_table.json").write_text(json.dumps(
        {"seed": args.seed, "samples": args.samples, "band_V": args.band_v, "rows": rows}, indent=2))
    lines = [f"Chip Monte Carlo, {args.samples} samples per cell, seed {args.seed}, closed-loop band "
             f"+-{args.band_v * 1e3:g} mV; mismatch and read noise always on. RMS over samples of max |INL| "
             "(max |DNL|), LSB; paper: DOMAIN.md 1.2 (Fig. 4).", "",
             "| bits | programming sigma | loop | max INL (DNL), LSB | boundary sigma mV (LSB) | CER | "
             "not converged | paper INL (DNL) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        paper = "-" if r["paper_inl_dnl_lsb"] is None else "{:.3f} ({:.3f})".format(*r["paper_inl_dnl_lsb"])
        nc = "-" if r["nonconverged"] is None else f"{r['nonconverged']}/{r['samples']}"
        lines.append(f"| {r['bits']} | {r['sigma']} | {r['programming']} | {r['inl_max_lsb_rms']:.3f} "
                     f"({r['dnl_max_lsb_rms']:.3f}) | {r['boundary_sigma_mV']:.2f} ({r['boundary_sigma_lsb']:.3f}) | "
                     f"{r['code_error_rate']:.1e} | {nc} | {paper} |")
    (args.out / "linearity_table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
