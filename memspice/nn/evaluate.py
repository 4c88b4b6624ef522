"""``memspice evaluate``: accuracy of a trained network on CIM hardware, per ADC model, bits and variation.

Outputs in ``out_dir``:

- ``accuracy.csv``: ``network, dataset, adc, bits, sigma, trial, accuracy`` (accuracy a fraction;
  ``bits = 0`` for ``float`` and ``ideal``, which convert no partial sum; ``sigma`` the boundary
  sigma as a fraction of each layer's boundary range, 0 without the variation model);
- ``tables.md``: the accuracy-versus-bits table and the variation sweep (mean, min, max), laid out
  like DOMAIN.md section 1.1;
- ``layers.csv``: per layer and bits, where the partial sums sit and what each converter does
  with them (fraction in the fullest min-max bin, range ratios, quantization SNR);
- ``accuracy_vs_bits.png``, ``variation_sweep.png``;
- ``provenance.json``: versions, seeds, spec hashes, image counts, timings, artifacts.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from memspice import __version__
from memspice.errors import InputError
from memspice.io import write_csv, write_json, write_text_atomic
from memspice.nn import quantizers as q
from memspice.nn.artifacts import SpiceAdc
from memspice.nn.calibration import calibrate
from memspice.nn.cim import (
    CimLayer,
    PsumStats,
    cim_layers,
    exact_float32,
    map_to_cim,
    set_column,
)
from memspice.nn.column import ColumnModel, NodalColumn
from memspice.nn.data import ImageSet, load_dataset
from memspice.nn.fit_cost import fit_estimate, needed_fits
from memspice.nn.spec import CimSpec, EvalSpec
from memspice.nn.train import Trained, accuracy, resolve_device, to_float
from memspice.progress import progress

CSV_COLUMNS = ("network", "dataset", "adc", "bits", "sigma", "trial", "accuracy")


@dataclass
class EvalResult:
    rows: list[dict[str, Any]]
    layers: list[dict[str, Any]]
    out_dir: Path
    provenance: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)

    def accuracy(self, adc: str, bits: int = 0, sigma: float = 0.0) -> list[float]:
        return [r["accuracy"] for r in self.rows
                if r["adc"] == adc and r["bits"] == bits and math.isclose(r["sigma"], sigma)]


def network_label(trained: Trained) -> str:
    """``vgg8``, ``vgg8_w0.125``; a quantization-aware network adds ``_qat<bits>`` (``vgg8_w0.125_qat8``)."""
    s = trained.spec
    label = s.network if s.width == 1 else f"{s.network}_w{s.width:g}"
    return f"{label}_qat{s.qat_bits}" if s.qat_bits else label


def adc_function(fit: q.AdcFit, device: torch.device, *, lut_range: tuple[float, float] | None = None) -> Callable:
    """A torch function applying ``fit`` to partial sums on ``device``; with ``lut_range`` (the
    calibrated partial-sum range, for integer-valued partial sums) a :class:`~q.LookupConverter`."""
    b = torch.tensor(np.sort(fit.boundaries), dtype=torch.float32, device=device)
    lv = torch.tensor(fit.levels, dtype=torch.float32, device=device)
    fn = lambda p: q.quantize(p, b, lv)  # noqa: E731
    return _maybe_lut(fn, fit.boundaries, lut_range, device)


def _maybe_lut(fn: Callable, boundaries: np.ndarray, lut_range: tuple[float, float] | None,
               device: torch.device) -> Callable:
    if lut_range is None:
        return fn
    lo = math.floor(min(lut_range[0], float(np.min(boundaries)))) - 1
    hi = math.ceil(max(lut_range[1], float(np.max(boundaries)))) + 1
    if hi - lo + 1 > q.LUT_MAX_ENTRIES:
        return fn
    return q.LookupConverter(fn, lo, hi, device)


def super_resolution_function(a: q.AdcFit, b: q.AdcFit, nominal: q.AdcFit, device: torch.device,
                              lut_range: tuple[float, float] | None = None) -> Callable:
    ba = torch.tensor(np.sort(a.boundaries), dtype=torch.float32, device=device)
    bb = torch.tensor(np.sort(b.boundaries), dtype=torch.float32, device=device)
    nb = torch.tensor(nominal.boundaries, dtype=torch.float32, device=device)
    lv = torch.tensor(nominal.levels, dtype=torch.float32, device=device)
    fn = lambda p: q.super_resolution(p, ba, bb, nb, lv)  # noqa: E731
    return _maybe_lut(fn, np.concatenate([a.boundaries, b.boundaries]), lut_range, device)


class Fitter:
    """Per-layer converter fits from calibration statistics, cached by (kind, bits, sigma)."""

    def __init__(self, stats: dict[str, PsumStats], seed: int, lloyd_preprocess: str = "clip"):
        self.stats = stats
        self.samples = {name: s.samples() for name, s in stats.items()}
        self.seed = seed
        self.lloyd_preprocess = lloyd_preprocess
        self._cache: dict[tuple, dict[str, q.AdcFit]] = {}
        #: seconds spent fitting (nested fits counted once)
        self.seconds = 0.0

    def has(self, kind: str, bits: int, sigma: float = 0.0) -> bool:
        return (kind, bits, sigma if kind == "variation_aware" else 0.0) in self._cache

    def fits(self, kind: str, bits: int, sigma: float = 0.0) -> dict[str, q.AdcFit]:
        key = (kind, bits, sigma if kind == "variation_aware" else 0.0)
        if key not in self._cache:
            t0, before = time.monotonic(), self.seconds
            out = {}
            for i, (name, x) in enumerate(self.samples.items()):
                rng = np.random.default_rng([self.seed, i, bits])
                if kind == "uniform_minmax":
                    st = self.stats[name]
                    out[name] = q.uniform_minmax(st.minimum, st.maximum, bits)
                elif kind == "uniform_clipped":
                    out[name] = q.fit_uniform_clipped(x, bits, rng=rng)
                elif kind == "lloyd_max":
                    st = self.stats[name]  # filter appends the calibration data's exact extremes, as ReADC does
                    out[name] = q.fit_lloyd_max(x, bits, rng=rng, preprocess=self.lloyd_preprocess,
                                                extremes=(st.minimum, st.maximum))
                elif kind == "variation_aware":
                    start = self.fits("lloyd_max", bits)[name]
                    out[name] = q.fit_variation_aware(x, bits, sigma, rng=rng, start=start)
                else:
                    raise InputError(f"ADC model {kind!r} has no per-layer fit")
            self._cache[key] = out
            self.seconds = before + time.monotonic() - t0
        return self._cache[key]


def _set_adcs(model: torch.nn.Module, fns: dict[str, Callable] | None) -> None:
    for layer in cim_layers(model):
        layer.adc = None if fns is None else fns[layer.name]


def spice_chip_draws(seed: int, bits: int, trial: int, n_layers: int, n_chips: int) -> np.ndarray:
    """Which of the artifact's ``n_chips`` Monte Carlo chips each layer's converter is in a trial:
    independent uniform draws (with replacement) per layer, seeded by ``[seed, 11, bits, trial]``;
    trial 0 of a nominal-only artifact (one chip) gives every layer chip 0."""
    return np.random.default_rng([seed, 11, bits, trial]).integers(0, n_chips, n_layers)


def variation_draws(seed: int, bits: int, trial: int, layer_index: int, n: int, copies: int = 2) -> list[np.ndarray]:
    """Standard truncated-normal draws for one trial and layer (the same across sigmas and ADC
    models, so that the sweep compares models on the same chips)."""
    rng = np.random.default_rng([seed, 7, bits, trial, layer_index])
    return [q.truncated_normal(rng, n) for _ in range(copies)]


def layer_diagnostics(name: str, index: int, layer: CimLayer, st: PsumStats, x: np.ndarray, fitter: Fitter,
                      bits: int, design_sigma: float) -> dict[str, Any]:
    """Where the layer's partial sums sit and how each converter treats them (calibration samples)."""
    p_lo, p_hi = np.percentile(x, q.LLOYD_CLIP_PERCENTILES)
    var = float(np.var(x)) or 1.0
    row: dict[str, Any] = {
        "layer": name, "index": index, "bits": bits, "subarrays": layer.subarrays, "rows_used": layer.in_rows,
        "psum_min": st.minimum, "psum_max": st.maximum, "psum_p0.5": float(p_lo), "psum_p99.5": float(p_hi),
        "psum_std": float(np.sqrt(var)), "zero_fraction": st.zeros / max(st.count, 1),
        "minmax_over_p99_range": (st.maximum - st.minimum) / max(p_hi - p_lo, 1e-30),
    }
    for kind in ("uniform_minmax", "uniform_clipped", "lloyd_max", "variation_aware"):
        fit = fitter.fits(kind, bits, design_sigma)[name]
        diff = fit.quantize_np(x) - x
        err = float(np.mean(diff**2))
        row[f"{kind}_sqnr_dB"] = 10 * math.log10(var / err) if err > 0 else float("inf")
        row[f"{kind}_bias_over_std"] = float(np.mean(diff)) / math.sqrt(var)
        occ = q.bin_occupancy(x, fit)
        row[f"{kind}_fullest_bin_fraction"] = float(occ.max())
        row[f"{kind}_bins_holding_90pct"] = int(np.searchsorted(np.cumsum(np.sort(occ)[::-1]), 0.9) + 1)
    return row


def check_column(column: ColumnModel | NodalColumn | None, cim_spec: CimSpec) -> None:
    """Refuse a column model the CIM settings cannot use (checked before any weights are loaded or written)."""
    if column is not None and cim_spec.conversion == "layer":
        raise InputError("a column model describes one sub-array's column; it cannot be combined with "
                         "conversion = 'layer' (whole-layer outputs); use conversion = 'subarray'")
    if column is not None and column.rows != cim_spec.rows:
        raise InputError(f"column model {column.source or ''} is characterized for {column.rows} rows but the "
                         f"sub-arrays have {cim_spec.rows} rows (--rows); they must match")


def evaluate(trained: Trained, cim_spec: CimSpec, spec: EvalSpec, *, out_dir: Path,
             data_root: str | Path | None = None, device: str = "cpu", spice_adcs: Sequence[SpiceAdc] = (),
             column: ColumnModel | NodalColumn | None = None, show_progress: bool = True) -> EvalResult:
    """Run the accuracy study (see the module docstring) and write its outputs into ``out_dir``."""
    t_start = time.monotonic()
    dev = resolve_device(device)
    batch = spec.batch_size or (2000 if dev.type == "cuda" else 100)
    check_column(column, cim_spec)
    by_bits: dict[int, SpiceAdc] = {}
    for art in spice_adcs:
        if art.bits in by_bits:
            raise InputError(f"two SPICE ADC artifacts for {art.bits} bits: {by_bits[art.bits].path} and {art.path}")
        by_bits[art.bits] = art
    dataset = trained.spec.dataset
    test = load_dataset(dataset, "test", data_root).head(spec.test_images)
    sweep_test = test.head(spec.sweep_test_images) if spec.sweep_test_images else test
    calib = calibration_set(load_dataset(dataset, "train", data_root), cim_spec.calibration_images, spec.seed)
    model = trained.model.to(dev).eval()
    net = network_label(trained)
    rows: list[dict[str, Any]] = []

    def add(adc: str, bits: int, sigma: float, trial: int, acc: float) -> None:
        rows.append({"network": net, "dataset": dataset, "adc": adc, "bits": bits, "sigma": float(sigma),
                     "trial": trial, "accuracy": acc})

    def checkpoint() -> None:  # long studies leave their finished rows behind if interrupted
        write_accuracy_csv(Path(out_dir) / "accuracy.csv", rows)

    table_adcs = [a for a in spec.adcs if a not in ("float", "ideal")]
    sweep_models = list(spec.sweep_adcs)
    n_sweep = len(spec.sweep_bits) * len(spec.sigmas) * spec.trials * len(sweep_models)
    def spice_trials(chips: np.ndarray) -> int:
        return min(len(chips), spec.spice_trials) if spec.spice_trials else len(chips)

    n_spice = sum(spice_trials(v.trial_errors()) for a in spice_adcs for _, v in a.by_programming())
    total = 2 + len(spec.bits) * len(table_adcs) + n_spice + n_sweep
    timings: dict[str, float] = {}
    with exact_float32(), progress(total, f"evaluate {net} on {dataset}", enabled=show_progress) as bar:
        t0 = time.monotonic()
        add("float", 0, 0.0, 0, accuracy(model, test, dev, batch))
        timings["float_inference_s"] = time.monotonic() - t0
        bar.advance()
        cim = map_to_cim(model, cim_spec).to(dev)
        t0 = time.monotonic()
        stats = calibrate(cim, to_float(calib.images, dev), batch_size=batch,
                          samples=cim_spec.calibration_samples, seed=spec.seed, column=column,
                          hardware=spec.calibration == "hardware")
        timings["calibration_s"] = time.monotonic() - t0
        layers = cim_layers(cim)
        for i, layer in enumerate(layers):
            set_column(layer, column, spec.seed * 1000 + 500 + i)
        fitter = Fitter(stats, spec.seed, spec.lloyd_preprocess)
        # integer partial sums (no column model) convert through exact lookup tables
        ranges = {n: (st.minimum, st.maximum) if column is None else None for n, st in stats.items()}

        def run(fns: dict[str, Callable] | None, data: ImageSet = test) -> float:
            _set_adcs(cim, fns)
            for i, layer in enumerate(layers):  # the same column noise for every converter
                set_column(layer, column, spec.seed * 1000 + 500 + i)
            return accuracy(cim, data, dev, batch)

        add("ideal", 0, 0.0, 0, run(None))
        bar.advance()
        t0 = time.monotonic()
        n_cim = 0
        for bits in spec.bits:
            for kind in table_adcs:
                fits = fitter.fits(kind, bits, spec.design_sigma)
                t_lut = time.monotonic()
                fns = {n: adc_function(f, dev, lut_range=ranges[n]) for n, f in fits.items()}
                t1 = time.monotonic()
                add(kind, bits, 0.0, 0, run(fns))
                timings.setdefault(f"cim_inference_{kind}_{bits}bit_s", time.monotonic() - t1)
                # the estimate comes from the second converted inference where there is one: the first
                # also compiles the lookup kernels (5x the per-image time on 2 cores) and overstated it
                if n_cim == min(1, len(spec.bits) * len(table_adcs) - 1):
                    per_image = (time.monotonic() - t1) / max(len(test), 1)
                    rows_left = total - 3 - n_cim
                    est_inf = estimate_s(per_image, (rows_left - n_spice - n_sweep, len(test)),
                                         (n_spice + n_sweep, len(sweep_test))) + rows_left * (t1 - t_lut)
                    t_est = time.monotonic()  # the first fit of each kind is made (and timed) now
                    est_fit, n_fits = fit_estimate(fitter, needed_fits(
                        spec.bits, table_adcs, spec.design_sigma, by_bits, spec.sweep_bits, sweep_models,
                        spec.sigmas))
                    est = est_inf + est_fit
                    timings.update(estimate_after_first_table_row_s=est, estimate_inference_s=est_inf,
                                   estimate_fits_s=est_fit)
                    if show_progress:
                        print(f"evaluate: about {est:.0f} s more: {est_inf:.0f} s for {rows_left} CIM inferences "
                              f"({rows_left - n_spice - n_sweep} of {len(test)} images, {n_spice + n_sweep} of "
                              f"{len(sweep_test)}) at {1e3 * per_image:.2f} ms per image (measured on the "
                              f"{'second' if n_cim else 'first'} one) and {est_fit:.0f} s for {n_fits} converter fits",
                              file=sys.stderr, flush=True)
                n_cim += 1
                bar.advance()
        timings["bits_table_s"] = time.monotonic() - t0
        checkpoint()
        t0 = time.monotonic()
        for bits, whole in sorted(by_bits.items()):
            base = fitter.fits("lloyd_max", bits)
            # closed-loop chips are the "spice" row; other programming modes (open loop) a row each.
            # Every layer's converter is its own chip: an independent Monte Carlo sample of the
            # artifact, its boundary errors applied to that layer's own Lloyd-Max boundaries.
            for mode, art in whole.by_programming():
                label = "spice" if mode in ("closed", "") else f"spice_{mode}"
                chips = art.trial_errors()
                for trial in range(spice_trials(chips)):
                    pick = spice_chip_draws(spec.seed, bits, trial, len(base), len(chips))
                    fns = {n: adc_function(art.apply(f, chips[pick[i]]), dev, lut_range=ranges[n])
                           for i, (n, f) in enumerate(base.items())}
                    add(label, bits, 0.0, trial, run(fns, sweep_test))
                    bar.advance()
        timings["spice_s"] = time.monotonic() - t0
        checkpoint()
        t0 = time.monotonic()
        for bits in spec.sweep_bits:
            lloyd = fitter.fits("lloyd_max", bits)
            for sigma in spec.sigmas:
                aware = fitter.fits("variation_aware", bits, sigma) if "variation_aware" in sweep_models else {}
                for trial in range(spec.trials):
                    draws = {n: variation_draws(spec.seed, bits, trial, i, 2**bits - 1)
                             for i, n in enumerate(lloyd)}
                    for kind in sweep_models:
                        fns = {}
                        for n, f in lloyd.items():
                            za, zb = draws[n]
                            if kind == "lloyd_max":
                                fns[n] = adc_function(q.perturb(f, sigma, za), dev, lut_range=ranges[n])
                            elif kind == "variation_aware":
                                fns[n] = adc_function(q.perturb(aware[n], sigma, za), dev, lut_range=ranges[n])
                            elif kind == "uniform_clipped":
                                uc = fitter.fits("uniform_clipped", bits)[n]
                                fns[n] = adc_function(q.perturb(uc, sigma, za), dev, lut_range=ranges[n])
                            elif kind == "super_resolution":
                                fns[n] = super_resolution_function(q.perturb(f, sigma, za), q.perturb(f, sigma, zb),
                                                                   f, dev, lut_range=ranges[n])
                        add(kind, bits, sigma, trial, run(fns, sweep_test))
                        bar.advance()
            checkpoint()
        timings["sweep_s"] = time.monotonic() - t0
        if "estimate_after_first_table_row_s" in timings:
            timings["after_first_table_row_s"] = time.monotonic() - t_est
        timings["fits_s"] = fitter.seconds
        _set_adcs(cim, None)
    diag_bits = sorted(set(spec.bits) | set(spec.sweep_bits)) if spec.diagnostics else []
    layer_rows = [layer_diagnostics(layer.name, i, layer, stats[layer.name], fitter.samples[layer.name], fitter, b,
                                    spec.design_sigma)
                  for b in diag_bits for i, layer in enumerate(layers)]
    timings["total_s"] = time.monotonic() - t_start
    provenance = {
        "memspice_version": __version__, "torch_version": torch.__version__, "numpy_version": np.__version__,
        "device": str(dev), "network": net, "dataset": dataset, "train_spec": trained.spec.to_dict(),
        "train_spec_hash": trained.spec.spec_hash(), "train_seed": trained.spec.seed,
        "float_test_accuracy_at_training": trained.meta.get("float_test_accuracy"),
        "weights_path": str(trained.path), "cim_spec": cim_spec.to_dict(), "cim_spec_hash": cim_spec.spec_hash(),
        "eval_spec": spec.to_dict(), "eval_spec_hash": spec.spec_hash(), "eval_seed": spec.seed,
        "test_images": len(test), "sweep_test_images": len(sweep_test),
        "calibration_images": len(calib), "data_source": str(test.source),
        "spice_adcs": [{"path": str(a.path), "bits": a.bits, "source": a.source,
                        "mc_samples": len(a.mc_measured_V),
                        "rms_relative_error": float(np.sqrt(np.mean(a.trial_errors() ** 2)))} for a in spice_adcs],
        "column_model": None if column is None else column.describe(),
        "calibration": spec.calibration if column is not None else "no column model",
        "column_correction": {layer.name: None if layer.correction is None else
                              {"gain": layer.correction[0], "offset_fs": layer.correction[1]} for layer in layers},
        "spice_chip_draws": "per trial and layer: numpy default_rng([eval_seed, 11, bits, trial]).integers(0, "
                            "Monte Carlo chips, layers)",
        "timings_s": timings,
    }
    result = EvalResult(rows, layer_rows, Path(out_dir), provenance, timings)
    write_outputs(result)
    return result


# -- outputs -------------------------------------------------------------------------------------


def write_outputs(result: EvalResult) -> None:
    out = result.out_dir
    out.mkdir(parents=True, exist_ok=True)
    write_accuracy_csv(out / "accuracy.csv", result.rows)
    if result.layers:
        keys = list(result.layers[0])
        write_csv(out / "layers.csv", {k: [r[k] for r in result.layers] for k in keys})
    prov = result.provenance
    text = tables_markdown(result.rows, prov.get("test_images"), prov.get("sweep_test_images"))
    if result.provenance.get("eval_spec", {}).get("preset") == "paper":
        from memspice.nn.paper import paper_markdown

        text += "\n" + paper_markdown(result.rows, prov.get("train_spec", {}))
    write_text_atomic(out / "tables.md", text)
    write_json(out / "provenance.json", result.provenance)
    from memspice.nn.figures import plot_accuracy_vs_bits, plot_variation_sweep

    plot_accuracy_vs_bits(result.rows, out / "accuracy_vs_bits.png")
    plot_variation_sweep(result.rows, out / "variation_sweep.png")


def write_accuracy_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_csv(path, {c: [r[c] for r in rows] for c in CSV_COLUMNS})


def _pct(v: float) -> str:
    return f"{100 * v:.2f}"


def calibration_set(train_set: ImageSet, n: int, seed: int) -> ImageSet:
    """The ``n`` training images (at most all) that calibrate ranges and converters: a seeded draw without
    replacement (numpy ``default_rng([seed, 1])``), in training-set order."""
    idx = np.sort(np.random.default_rng([seed, 1]).choice(len(train_set), min(n, len(train_set)), replace=False))
    return ImageSet(train_set.name, "train", train_set.images[idx], train_set.labels[idx], train_set.source)


def estimate_s(per_image_s: float, *passes: tuple[int, int]) -> float:
    """Seconds for ``(inferences, images)`` groups at ``per_image_s`` each image."""
    return per_image_s * sum(n * images for n, images in passes)


def tables_markdown(rows: list[dict[str, Any]], test_images: int | None = None,
                    sweep_images: int | None = None) -> str:
    """The accuracy-versus-bits table and the variation sweeps (accuracy in %); when the sweep and
    the SPICE rows ran on fewer images than the table, their headings say so."""
    fewer = f" (first {sweep_images} of the {test_images} test images)" if sweep_images and test_images and \
        sweep_images < test_images else ""
    lines: list[str] = []
    base = {r["adc"]: r["accuracy"] for r in rows if r["bits"] == 0}
    head = rows[0] if rows else {"network": "?", "dataset": "?"}
    lines.append(f"# {head['network']} on {head['dataset']}\n")
    if base:
        lines.append("Float: " + _pct(base.get("float", float("nan"))) + " %; ideal CIM (8-bit weights and "
                     "activations, no partial-sum quantization): " + _pct(base.get("ideal", float("nan"))) + " %\n")
    nominal = [r for r in rows if r["bits"] > 0 and r["sigma"] == 0 and not r["adc"].startswith("spice")]
    adcs = list(dict.fromkeys(r["adc"] for r in nominal))
    bits = sorted({r["bits"] for r in nominal})
    if adcs:
        lines.append("## Accuracy (%) versus ADC bits, no boundary variation\n")
        lines.append("| ADC bits | " + " | ".join(adcs) + " |")
        lines.append("|---" * (len(adcs) + 1) + "|")
        for b in bits:
            cells = [_pct(r["accuracy"]) for a in adcs for r in nominal if r["adc"] == a and r["bits"] == b]
            lines.append(f"| {b} | " + " | ".join(cells) + " |")
        lines.append("")
    spice = [r for r in rows if r["adc"].startswith("spice")]
    if spice:
        lines.append("## SPICE-characterized ADC (Lloyd-Max boundaries with the artifact's errors, each layer's "
                     "converter an independent Monte Carlo chip; spice: closed-loop programmed chips, spice_open: "
                     "the same chips open loop)" + fewer + "\n")
        lines.append("| ADC bits | row | trials | mean | min | max |")
        lines.append("|---|---|---|---|---|---|")
        for b in sorted({r["bits"] for r in spice}):
            for label in dict.fromkeys(r["adc"] for r in spice):
                acc = np.array([r["accuracy"] for r in spice if r["bits"] == b and r["adc"] == label])
                if acc.size:
                    lines.append(f"| {b} | {label} | {acc.size} | {_pct(acc.mean())} | {_pct(acc.min())} | "
                                 f"{_pct(acc.max())} |")
        lines.append("")
    sweep = [r for r in rows if r["sigma"] > 0]
    for adc in dict.fromkeys(r["adc"] for r in sweep):
        sub = [r for r in sweep if r["adc"] == adc]
        sbits = sorted({r["bits"] for r in sub})
        sigmas = sorted({r["sigma"] for r in sub})
        trials = len({r["trial"] for r in sub})
        lines.append(f"## {adc} under boundary variation ({trials} trials; mean [min, max], %){fewer}\n")
        lines.append("| sigma | " + " | ".join(f"{b}-bit" for b in sbits) + " |")
        lines.append("|---" * (len(sbits) + 1) + "|")
        for s in sigmas:
            cells = []
            for b in sbits:
                acc = np.array([r["accuracy"] for r in sub if r["bits"] == b and r["sigma"] == s])
                cells.append(f"{_pct(acc.mean())} [{_pct(acc.min())}, {_pct(acc.max())}]" if acc.size else "")
            lines.append(f"| {100 * s:g} % | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"
