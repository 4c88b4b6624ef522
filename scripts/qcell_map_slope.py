"""Per-boundary programming-map slope of a Q-cell ADC against its write-verify band (issue 12).

For every internal boundary: the dominant bound (lower of cell i / upper of cell i-1), the conductance
the map gives for its target, the map slope dV/dG there, and what one rewrite (the card's program sigma)
and one read (read sigma) move that bound, in mV and against the acceptance band ``mc.band_v``.

    PYTHONPATH=$PWD python scripts/qcell_map_slope.py circuits/qcell_adc_design.toml [--param k=v ...]
"""

from __future__ import annotations

import argparse

import numpy as np

from memspice.characterize.adc.chips import verified_write_error_s, write_accept_probability
from memspice.characterize.adc.montecarlo import mc_sigmas
from memspice.characterize.adc.programming import plan_bounds, programming_map
from memspice.spec.adc import build_adc_spec
from memspice.spec.device import load_card


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spec")
    ap.add_argument("--param", action="append", default=[])
    a = ap.parse_args()
    over = dict(p.split("=", 1) for p in a.param)
    spec = build_adc_spec(a.spec, overrides={k: float(v) for k, v in over.items()})
    card = load_card(spec.card)
    sig = mc_sigmas(spec, card)
    pmap = programming_map(spec, card)
    plan = plan_bounds(spec, spec.targets_v())
    band = spec.mc.band_v
    print(f"# {a.spec}: {spec.bits} bits, write_band_frac {spec.mc.write_band_frac:g}, "
          f"LSB {spec.lsb_v * 1e3:.2f} mV, band +-{band * 1e3:.2f} mV, "
          f"program sigma {sig['program_sigma_s'] * 1e6:.2f} uS, read sigma {sig['read_sigma_s'] * 1e6:.2f} uS, "
          f"window {card.window_s()[0] * 1e6:.1f}..{card.window_s()[1] * 1e6:.1f} uS")
    print("boundary,side,target_V,g_uS,slope_mV_per_uS,rewrite_sigma_mV,rewrite_sigma_over_band,"
          "p_rewrite_in_band,read_sigma_mV,write_band_uS,pulses_per_rewrite,verified_sigma_mV")
    from math import erf, sqrt
    for i in range(1, spec.n_cells):
        _, side = plan.dominant_cell(i)
        t = float(plan.targets_v[i - 1])
        g = float(pmap.conductance_s(side, t))
        s = float(pmap.slope_v_per_s(side, g))  # V/S
        rs = abs(s) * sig["program_sigma_s"]
        p_in = erf(band / rs / sqrt(2))  # chance that one rewrite aimed exactly lands within the band
        # the device-level write-verify of a rewrite (mc.write_band_frac): its band, pulses, residual spread
        wb = spec.mc.write_band_frac * band / abs(s) if spec.mc.write_band_frac > 0 else np.inf
        p_acc = write_accept_probability(wb, sig["program_sigma_s"], sig["read_sigma_s"])
        z = np.random.default_rng(0).normal(0.0, sig["program_sigma_s"], 2000)
        e_sd = float(np.std([verified_write_error_s(v, wb, sig["program_sigma_s"], sig["read_sigma_s"]) for v in z]))
        print(f"{i - 1},{side},{t:.4f},{g * 1e6:.2f},{s * 1e-3:.3f},{rs * 1e3:.2f},{rs / band:.2f},{p_in:.3f},"
              f"{abs(s) * sig['read_sigma_s'] * 1e3:.3f},{wb * 1e6:.3f},{1 / p_acc:.2f},{abs(s) * e_sd * 1e3:.2f}")


if __name__ == "__main__":
    main()
