"""Where the paper preset's uniform baseline (or, with ``--adc lloyd_max``, its Lloyd-Max) loses
accuracy: one layer's converter at a time.

The paper preset (``memspice evaluate --preset paper``: whole-layer conversion, ReADC's uniform
``linear_quantization_boundaries`` = :func:`memspice.nn.quantizers.uniform_minmax` on each layer's
calibrated [min, max]) on the cached network of ``memspice train`` with the given options (default:
the preset's network, ``--qat 8``). For every layer, at ``--bits`` (default 5):

- where its whole-layer outputs sit: the calibrated min/max and 0.5/99.5 % percentiles, in the
  layer's output units (partial sum x weight scale x input scale), beside the window the layer's
  activation keeps (``[0, B]`` for a bounded ReLU of the quantization-aware network, B = 127/128 at 8
  bits; ``[-B, B]`` for its logits; ``[0, max]`` / ``[min, max]`` for the float-trained network's ReLU
  and logits); the share of the min-max range inside that window, how many of the uniform grid's
  ``2^n - 1`` cells that is, and the share of samples beyond each end of the window;
- accuracy with only this layer's output converted (every other layer ideal), and with every layer
  but this one converted.

Then, as DIAGNOSTICS of the cause (not baselines: the preset keeps the authors' min-max), every layer
converted by the same uniform quantizer on a narrower range: (a) the calibrated range cut to the
activation's window, (b) the 0.5-99.5 % percentiles, (c) the min/max of a 10,000-value random
subsample per layer (a smaller "data file", since the size of the authors' files is not published).

With ``--adc lloyd_max`` the per-layer columns convert with the preset's Lloyd-Max (ReADC's batch
preprocessing and iteration) instead, and the diagnostics are variants of its fit, each every layer
converted: (a) ReADC's reconstruction as ``adaptive_quantize`` applies it (boundaries
``internal + [max]``, outputs ``levels + [max]``: an input at or above the calibrated maximum outputs
the maximum, not the last cell's mean), (b) every calibration sample (no 8000-sample subsample), (c)
iterated to convergence instead of ReADC's 100-500 iterations, (d) our ``clip`` preprocessing, (e) the
fit's random subsample drawn with other seeds (the spread a draw alone gives).

Same calibration and test images as ``memspice evaluate`` (512 training images chosen by
``--eval-seed``, the first ``--test-images`` test images). Prints Markdown tables and the CPU time.

    python scripts/paper_uniform_layers.py [--qat 8] [--bits 5] [--adc uniform_minmax|lloyd_max]
        [--test-images 2000] [--eval-seed 0] [--cache-dir runs/cache/train]
"""

from __future__ import annotations

import argparse
import functools
import resource
import time
from pathlib import Path

import numpy as np
import torch


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qat", type=int, default=8, help="the network's qat_bits (0: float-trained)")
    ap.add_argument("--width", type=float, default=0.125)
    ap.add_argument("--bits", type=int, default=5)
    ap.add_argument("--adc", choices=("uniform_minmax", "lloyd_max"), default="uniform_minmax",
                    help="the converter of the per-layer columns and the diagnostics")
    ap.add_argument("--test-images", type=int, default=2000)
    ap.add_argument("--calibration-images", type=int, default=512)
    ap.add_argument("--eval-seed", type=int, default=0)
    ap.add_argument("--cache-dir", type=Path, default=Path("runs/cache/train"))
    ap.add_argument("--train-spec", default="", help="TrainSpec fields as key=value,... (tests: train_images=...)")
    ap.add_argument("--no-diagnostics", action="store_true", help="skip the narrower-range diagnostics")
    args = ap.parse_args()

    from memspice.nn import quantizers as q
    from memspice.nn.calibration import calibrate
    from memspice.nn.cim import cim_layers, exact_float32, map_to_cim
    from memspice.nn.data import load_dataset
    from memspice.nn.evaluate import Fitter, adc_function, calibration_set
    from memspice.nn.paper import apply_preset
    from memspice.nn.qat import bound
    from memspice.nn.spec import CimSpec, EvalSpec, TrainSpec
    from memspice.nn.train import accuracy, load_trained, to_float

    extra = dict(kv.split("=") for kv in args.train_spec.split(",") if kv)
    tspec = TrainSpec(width=args.width, qat_bits=args.qat, **{k: int(v) for k, v in extra.items()})
    cim_spec, espec = apply_preset("paper", CimSpec(calibration_images=args.calibration_images),
                                   EvalSpec(test_images=args.test_images, seed=args.eval_seed))
    trained = load_trained(tspec, args.cache_dir)
    t0, c0 = time.monotonic(), cpu_s()
    test = load_dataset(tspec.dataset, "test").head(espec.test_images)
    calib = calibration_set(load_dataset(tspec.dataset, "train"), cim_spec.calibration_images, espec.seed)
    dev = torch.device("cpu")
    bits = args.bits
    with exact_float32():
        float_acc = accuracy(trained.model, test, dev, 100)
        cim = map_to_cim(trained.model, cim_spec)
        stats = calibrate(cim, to_float(calib.images), batch_size=100, samples=cim_spec.calibration_samples,
                          seed=espec.seed)
        layers = cim_layers(cim)
        fitter = Fitter(stats, espec.seed, espec.lloyd_preprocess)
        ranges = {n: (st.minimum, st.maximum) for n, st in stats.items()}

        def run(fits: dict[str, q.AdcFit], fns: dict | None = None) -> float:
            """Accuracy with these layers' fits (or ready converter functions ``fns``); others ideal."""
            for layer in layers:  # a layer without a fit here converts ideally
                f = fits.get(layer.name)
                layer.adc = None if f is None else adc_function(f, dev, lut_range=ranges[layer.name])
                if fns is not None:
                    layer.adc = fns.get(layer.name)
            return 100 * accuracy(cim, test, dev, 100)

        ideal = run({})
        uni = fitter.fits("uniform_minmax", bits)
        lm = fitter.fits("lloyd_max", bits)
        all_uni, all_lm = run(uni), run(lm)
        chosen = lm if args.adc == "lloyd_max" else uni
        B = bound(args.qat) if args.qat else None
        rows = []
        for i, layer in enumerate(layers):
            n, st, x = layer.name, stats[layer.name], fitter.samples[layer.name]
            scale = layer.w_scale * layer.act_scale()  # output units per partial-sum unit
            last = i == len(layers) - 1
            lo, hi = st.minimum * scale, st.maximum * scale
            p_lo, p_hi = (np.percentile(x, q.LLOYD_CLIP_PERCENTILES) * scale).tolist()
            if B is not None:
                w_lo, w_hi = (-B if last else 0.0), B
            else:
                w_lo, w_hi = (lo if last else 0.0), hi
            inside = max(0.0, min(hi, w_hi) - max(lo, w_lo)) / (hi - lo)
            xs, lm_out = x * scale, lm[n].levels * scale
            rows.append({
                "layer": n, "min": lo, "p0.5": p_lo, "p99.5": p_hi, "max": hi, "window": f"[{w_lo:.3g}, {w_hi:.3g}]",
                "range_in_window": inside, "cells_in_window": inside * (2**bits - 1),
                "below_window": float(np.mean(xs < w_lo)), "above_window": float(np.mean(xs > w_hi)),
                "step": (hi - lo) / (2**bits - 1),
                # of Lloyd-Max's 2^n output levels, how many the activation can tell apart (inside its window)
                "lloyd_levels_in_window": float(np.sum((lm_out >= w_lo) & (lm_out <= w_hi))),
                "only_this_layer": run({n: chosen[n]}),
                "all_but_this_layer": run({m: f for m, f in chosen.items() if m != n}),
                "lloyd_only_this_layer": run({n: lm[n]}) if chosen is uni else None,
                "_cut": (max(lo, w_lo) / scale, min(hi, w_hi) / scale),
                "_pct": (p_lo / scale, p_hi / scale),
            })
        diag = {}
        if not args.no_diagnostics and args.adc == "lloyd_max":
            diag.update(lloyd_diagnostics(q, fitter, stats, layers, run, bits, espec, dev))
        elif not args.no_diagnostics:
            diag["range cut to the activation's window (diagnostic)"] = run(
                {r["layer"]: q.uniform_minmax(*r["_cut"], bits) for r in rows})
            diag["0.5-99.5 % percentiles (diagnostic)"] = run(
                {r["layer"]: q.uniform_minmax(*r["_pct"], bits) for r in rows})
            sub = {}
            for i, n in enumerate(uni):
                x = fitter.samples[n]
                pick = np.random.default_rng([espec.seed, 99, i]).choice(x, min(10_000, x.size), replace=False)
                sub[n] = q.uniform_minmax(float(pick.min()), float(pick.max()), bits)
            diag["min/max of a 10,000-value subsample per layer (diagnostic)"] = run(sub)
        run({})

    print(f"# {trained.path.name} (qat_bits {args.qat}), preset 'paper', {bits} bits, first {len(test)} test "
          f"images, {len(calib)} calibration images, eval seed {espec.seed}\n")
    print(f"float {100 * float_acc:.2f} %, ideal CIM {ideal:.2f} %, every layer uniform_minmax {all_uni:.2f} %, "
          f"every layer lloyd_max {all_lm:.2f} %; per-layer columns: {args.adc}\n")
    cols = ["layer", "min", "p0.5", "p99.5", "max", "window", "range_in_window", "cells_in_window", "below_window",
            "above_window", "step", "lloyd_levels_in_window", "only_this_layer", "all_but_this_layer"]
    if args.adc == "uniform_minmax":
        cols.append("lloyd_only_this_layer")
    print("| " + " | ".join(cols) + " |")
    print("|---" * len(cols) + "|")
    for r in rows:
        cells = [r[c] if isinstance(r[c], str) else (f"{r[c]:.2f}" if c.endswith("layer") or c.endswith("in_window")
                                                     else f"{r[c]:.3g}") for c in cols]
        print("| " + " | ".join(cells) + " |")
    for k, v in diag.items():
        print(f"\nevery layer {'' if args.adc == 'lloyd_max' else 'uniform on the '}{k}: {v:.2f} %")
    print(f"\n{time.monotonic() - t0:.0f} s wall, {cpu_s() - c0:.0f} s CPU (this process)")


def _quantize_after(quantize, b, lv, p):
    return quantize(p, b, lv)


def lloyd_diagnostics(q, fitter, stats, layers, run, bits, espec, dev) -> dict[str, float]:
    """Every layer converted by a variant of the preset's Lloyd-Max fit (see the module docstring)."""
    def variant(prepare_kw: dict, schedule: str, seed_offset: int = 0) -> dict[str, q.AdcFit]:
        out = {}
        for i, (n, x) in enumerate(fitter.samples.items()):
            st = stats[n]
            rng = np.random.default_rng([espec.seed + seed_offset, i, bits])  # the Fitter's draw at offset 0
            kw = {"preprocess": espec.lloyd_preprocess, "extremes": (st.minimum, st.maximum), **prepare_kw}
            xs = q.lloyd_max_prepare(x, rng, **kw)
            out[n] = q.lloyd_max_readc(xs, bits) if schedule == "readc" else q.lloyd_max_iterate(xs, bits)
        return out

    lm = fitter.fits("lloyd_max", bits)
    same = variant({}, "readc")
    assert all(np.array_equal(same[n].boundaries, lm[n].boundaries) for n in lm)  # the preset's fit, rebuilt
    diag, readc = {}, {}
    for layer in layers:  # ReADC adaptive_quantize: boundaries internal + [max], outputs levels + [max]
        f = lm[layer.name]
        b = torch.tensor(np.append(np.sort(f.boundaries), f.hi), dtype=torch.float32, device=dev)
        lv = torch.tensor(np.append(f.levels, f.hi), dtype=torch.float32, device=dev)
        readc[layer.name] = functools.partial(_quantize_after, q.quantize, b, lv)
    diag["lloyd_max, ReADC's reconstruction (inputs >= max output max)"] = run({}, readc)
    n_max = max(x.size for x in fitter.samples.values())
    diag[f"lloyd_max on every calibration sample (up to {n_max}, no 8000 subsample)"] = run(
        variant({"max_samples": n_max}, "readc"))
    diag["lloyd_max iterated to convergence (not ReADC's 100-500 iterations)"] = run(variant({}, "converge"))
    diag["lloyd_max with 'clip' preprocessing, converged"] = run(variant({"preprocess": "clip"}, "converge"))
    for k in (1, 2, 3):
        diag[f"lloyd_max, the 8000-sample subsample drawn with seed offset {k}"] = run(variant({}, "readc", k))
    return diag


if __name__ == "__main__":
    main()
