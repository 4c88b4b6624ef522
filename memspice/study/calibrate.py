"""The calibrate stage: the network's partial sums give the Lloyd-Max set the Q-cell ADC is programmed with.

The trained network is mapped onto crossbars (the evaluate stage's mapping and seed) and its
per-layer partial sums are recorded on training images.
One layer's Lloyd-Max fit (by default the layer with the most partial sums, the one whose ADC
converts most) is mapped linearly from its boundary range ``[b_0, b_L]`` onto the ADC's input
range: ``v = V_lo + (b - b_0) / (b_L - b_0) (V_hi - V_lo)``. That is the mapping the evaluate
stage assumes when it applies the SPICE boundary errors to each layer's converter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from memspice.artifacts import PsumVoltMap
from memspice.errors import InputError
from memspice.io import write_csv, write_json


def calibrate_stage(study, out: Path, adc_ranges: dict) -> dict[str, Any]:
    import torch

    from memspice.nn import quantizers as q
    from memspice.nn.calibration import calibrate
    from memspice.nn.cim import map_to_cim
    from memspice.nn.data import ImageSet, load_dataset
    from memspice.nn.train import load_trained, resolve_device, to_float

    ev = study.spec.evaluate
    seed = study.seeds["evaluate"]
    dev = resolve_device(study.spec.study.device)
    trained = load_trained(study._train_spec(), Path(study.spec.network.cache_dir), dev)
    cim_spec = study._cim_spec()
    train_set = load_dataset(trained.spec.dataset, "train", study._data_root())
    idx = np.sort(np.random.default_rng([seed, 1]).choice(len(train_set), min(cim_spec.calibration_images,
                                                                               len(train_set)), replace=False))
    calib = ImageSet(train_set.name, "train", train_set.images[idx], train_set.labels[idx], train_set.source)
    cim = map_to_cim(trained.model.to(dev).eval(), cim_spec).to(dev)
    with torch.inference_mode():
        stats = calibrate(cim, to_float(calib.images, dev), batch_size=100, samples=cim_spec.calibration_samples,
                          seed=seed)
    counts = {name: st.count for name, st in stats.items()}
    layer = ev.adc_layer or max(counts, key=counts.get)
    if layer not in stats:
        raise InputError(f"evaluate.adc_layer {layer!r}: no such CIM layer; layers: {', '.join(stats)}")
    x = stats[layer].samples()
    layers_rows = {"layer": list(stats), "partial_sums": [counts[n] for n in stats],
                   "min": [stats[n].minimum for n in stats], "max": [stats[n].maximum for n in stats]}
    write_csv(out / "layers.csv", layers_rows)
    write_csv(out / "psum_samples.csv", {"psum": x})
    summary: dict[str, Any] = {"layer": layer, "layers": list(stats), "sets": {}}
    for bits, adc in adc_ranges.items():
        fit = q.fit_lloyd_max(x, bits, rng=np.random.default_rng([seed, 7, bits]))
        v_lo, v_hi = adc.input_lo_v, adc.input_hi_v
        psum_volts = PsumVoltMap(fit.lo, fit.hi, v_lo, v_hi)  # the same map evaluate applies the SPICE errors with
        frac = psum_volts.fraction(fit.boundaries)
        volts = psum_volts.to_volts(fit.boundaries)
        write_csv(out / f"adc_boundaries_{bits}b.csv", {"boundary_V": volts})
        write_csv(out / f"lloyd_max_{bits}b.csv", {"boundary_psum": fit.boundaries, "boundary_fraction": frac,
                                                   "boundary_V": volts})
        uni = q.uniform_minmax(stats[layer].minimum, stats[layer].maximum, bits)
        occ_uni = q.bin_occupancy(x, uni)
        occ_lm = q.bin_occupancy(x, fit)
        summary["sets"][bits] = {"lo_psum": fit.lo, "hi_psum": fit.hi, "boundaries_V": volts.tolist(),
                                 "fullest_bin_uniform": float(np.max(occ_uni)),
                                 "fullest_bin_lloyd_max": float(np.max(occ_lm)),
                                 "input_range_V": [v_lo, v_hi], "psum_volt_map": psum_volts.to_json()}
        _figure(x, uni, fit, layer, bits, out / f"psum_{bits}b.png")
    write_json(out / "calibrate.json", summary)
    return {"layer": layer, **{f"fullest_bin_uniform_{b}b": s["fullest_bin_uniform"]
                               for b, s in summary["sets"].items()}}


def _figure(x: np.ndarray, uni, fit, layer: str, bits: int, path: Path) -> None:
    from memspice.report.plotting import pyplot, save

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.hist(x, bins=200, color="0.6", density=True)
    for k, b in enumerate(uni.boundaries):
        ax.axvline(b, color="tab:red", lw=0.8, alpha=0.8, label="uniform (min-max)" if k == 0 else None)
    for k, b in enumerate(fit.boundaries):
        ax.axvline(b, color="tab:blue", lw=0.8, ls="--", label="Lloyd-Max" if k == 0 else None)
    ax.set_yscale("log")
    ax.set_xlabel(f"partial sum of layer {layer} (integer units)")
    ax.set_ylabel("density")
    ax.set_title(f"{bits}-bit boundaries on the pre-ADC distribution")
    ax.legend(fontsize=8)
    save(fig, path)
