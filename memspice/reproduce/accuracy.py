"""Fig. 5: network accuracy with uniform and adaptive (Lloyd-Max) ADCs, and under boundary variation.

The paper's setting (``memspice evaluate --preset paper``, :mod:`memspice.nn.paper`): every layer's
whole output converted once, the authors' uniform quantizer (ReADC ``linear_quantization_boundaries``)
and Lloyd-Max with their batch preprocessing, at 3, 4 and 5 bits; then the paper's variation model
(each internal boundary moved by a truncated normal of sigma x the layer's boundary range) at the
paper's sigmas for Lloyd-Max and for super-resolution (two converters, independent errors).

The paper's network is VGG8 (width 1) on CIFAR-10 and ResNet18 on ImageNet; offline memspice runs
VGG8 (width 0.125) on Fashion-MNIST, or on CIFAR-10 when ``--data`` points at its python batches.
ImageNet is not available offline: Fig. 5e/f are compared by trend (super-resolution minus a single
converter at the same variation), not by number, and the page says so.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from memspice.papers import hong2025 as paper
from memspice.report.tables import Table
from memspice.reproduce.cell import Context
from memspice.reproduce.compare import Delta
from memspice.reproduce.outcome import Outcome

SIGMAS = (0.001, 0.01, 0.02, 0.03, 0.05)  # the paper's Fig. 5d variation (fraction of the boundary range)
FIG5_NETWORKS = ("qat8", "float")  # the network's training: the paper's kind (default), or float
CACHE = Path("runs/cache/train")  # `memspice train`'s default: weights shared with the study and evaluate


def run_fig5(ctx: Context, folder: Path) -> Outcome:
    from memspice.nn.evaluate import evaluate
    from memspice.nn.paper import apply_preset
    from memspice.nn.spec import CimSpec, EvalSpec
    from memspice.nn.train import train

    tspec, what = fig5_train_spec(ctx)
    images = 500 if ctx.quick else 2000
    sweep_images = 500  # the variation sweep's images (its cost: trials x sigmas x bits x converters x images)
    trials = 2 if ctx.quick else 8
    sigmas = (0.01, 0.03, 0.05) if ctx.quick else SIGMAS
    sweep_bits = (4,) if ctx.quick else (3, 4, 5)
    trained = train(tspec, data_root=ctx.data, cache_dir=train_cache(ctx.data), show_progress=False)
    cim, espec = apply_preset("paper", CimSpec(), EvalSpec(test_images=images, diagnostics=False, seed=ctx.seed))
    espec = espec.replace(sigmas=sigmas, sweep_bits=sweep_bits, sweep_adcs=("lloyd_max", "super_resolution"),
                          trials=trials, sweep_test_images=sweep_images if sweep_images < images else 0)
    res = evaluate(trained, cim, espec, out_dir=folder / "evaluate", data_root=ctx.data, show_progress=False)

    base, table = paper.fig5c()
    ours_float = float(np.mean(res.accuracy("float"))) * 100
    deltas = [Delta("float (no ADC)", "%", base, ours_float, what + " vs VGG8 on CIFAR-10")]
    rows = []
    for kind, p_name in (("uniform_minmax", "Uniform"), ("lloyd_max", "Adaptive")):
        for b in (3, 4, 5):
            acc = 100 * float(np.mean(res.accuracy(kind, b)))
            rows.append([kind, b, table[p_name][b], acc])
            deltas.append(Delta(f"{p_name} {b} bits", "%", table[p_name][b], acc, "whole-layer conversion"))
    p5d = paper.fig5d()
    sweep_rows = []
    for b in sweep_bits:
        for s in sigmas:
            lm = 100 * float(np.mean(res.accuracy("lloyd_max", b, s)))
            sr = 100 * float(np.mean(res.accuracy("super_resolution", b, s)))
            p_mean = float(np.mean(p5d[(b, s)])) if (b, s) in p5d else float("nan")
            sweep_rows.append([b, s, p_mean, lm, sr, sr - lm])
            if (b, s) in p5d:
                deltas.append(Delta(f"Lloyd-Max {b} bits, sigma {100 * s:g} %", "%", p_mean, lm,
                                    f"mean of {trials} trials (paper 16)"))
    # super-resolution: the paper's ResNet18/ImageNet gain at 6 bits, 1 % (fig5e) vs ours at the same sigma
    _, e = paper.fig5e()
    p_gain = e["Adaptive (Memristor w/ SR)"][6] - e["Adaptive (Memristor w/o SR)"][6]
    ours_gain = [r[5] for r in sweep_rows if r[1] == 0.01]
    if ours_gain:
        deltas.append(Delta("super-resolution gain at 1 % (points)", "%", p_gain, float(np.mean(ours_gain)),
                            "paper: ResNet18/ImageNet 6 bits; ours: the network above, mean over swept bits"))
    u4 = next(r for r in rows if r[0] == "uniform_minmax" and r[1] == 4)
    l4 = next(r for r in rows if r[0] == "lloyd_max" and r[1] == 4)
    u5 = next(r for r in rows if r[0] == "uniform_minmax" and r[1] == 5)
    sentences = [
        f"Different network and data set ({what}), so the trend is what compares: uniform is "
        f"{rows[0][3]:.1f} / {rows[1][3]:.1f} / {rows[2][3]:.1f} % at 3/4/5 bits (paper {rows[0][2]:.1f} / "
        f"{rows[1][2]:.1f} / {rows[2][2]:.1f}) and Lloyd-Max {rows[3][3]:.1f} / {rows[4][3]:.1f} / {rows[5][3]:.1f} % "
        f"(paper {rows[3][2]:.1f} / {rows[4][2]:.1f} / {rows[5][2]:.1f}).",
        f"At 4 bits Lloyd-Max is {ours_float - l4[3]:.1f} points below our float (paper {base - l4[2]:.1f}) and "
        f"uniform {ours_float - u4[3]:.1f} (paper {base - u4[2]:.1f}); at 5 bits uniform is "
        f"{ours_float - u5[3]:.1f} below (paper {base - u5[2]:.1f}). " + _cause(ctx),
        "Super-resolution is compared by its gain over one converter at the same variation: ResNet18 on ImageNet "
        "is not available offline.",
    ]
    drops = [(r[0], r[1], r[2] - r[3]) for r in sweep_rows if r[2] == r[2]]
    if drops:
        b, s, d = max(drops, key=lambda x: x[2])
        sentences.append(
            f"Under boundary variation our Lloyd-Max loses accuracy faster than the paper's (at {b} bits, sigma "
            f"{100 * s:g} %: {d:.1f} points below the paper's mean). Not isolated; the variation is sigma x the "
            "layer's boundary range, and the authors' 'filter' preprocessing stretches that range to the raw "
            "extremes of whole-layer outputs, so the same sigma moves boundaries further relative to the cells "
            "where the samples lie (a candidate, not a measurement).")
    notes = ["ImageNet/ResNet18 (Fig. 5e/f): not run, the data set cannot be obtained offline."]
    if sweep_images < images:
        notes.append(f"The variation sweep (Fig. 5d/f rows) runs on the first {sweep_images} of the {images} test "
                     f"images ({trials} trials x {len(sigmas)} sigmas x {len(sweep_bits)} resolutions x 2 converters; "
                     f"binomial sampling error about +-{100 * np.sqrt(0.9 * 0.1 / sweep_images):.1f} points at 90 %); "
                     f"the bits rows (Fig. 5c) use all {images}.")
    if ctx.quick:
        notes.append(f"--quick: {images} test images, {trials} trials, sigmas {', '.join(f'{s:g}' for s in sigmas)} "
                     f"at {sweep_bits[0]} bits only")
    tables = [
        Table("fig5c_accuracy", "Fig. 5c: accuracy (%) with uniform and Lloyd-Max ADCs, paper's setting",
              ["adc", "bits", "paper_percent", "memspice_percent"], rows),
        Table("fig5d_variation", "Fig. 5d/f: accuracy (%) under boundary variation (fraction of the layer's range)",
              ["bits", "sigma", "paper_lloyd_max_mean_percent", "lloyd_max_percent", "super_resolution_percent",
               "super_resolution_gain_points"], sweep_rows),
    ]
    plots = [("fig5_overlay.png", "Fig. 5c/d: accuracy vs bits (left) and vs boundary variation (right), paper "
              "(dashed) and memspice (solid)")]
    _plot(folder / plots[0][0], table, rows, p5d, sweep_rows)
    return Outcome("5", "network accuracy with uniform and adaptive ADCs", deltas, sentences, plots, tables, notes)


def _cause(ctx: Context) -> str:
    """What docs/nn.md measured on the offline network, attributed to that measurement (VGG8 width 0.125,
    Fashion-MNIST, ``memspice evaluate --preset paper``: eval seed 0, 2000 test images), not to this run's
    numbers (another seed and image count, so another gap); nothing for a network given by ``--data``,
    which was not measured."""
    if ctx.data is not None:
        return ("Why the gaps sit where they do was measured (docs/nn.md) on the offline Fashion-MNIST network, "
                "not on this CIFAR-10 one.")
    if ctx.fig5_network == "float":
        return ("On the float-trained Fashion-MNIST network (`memspice evaluate --preset paper --qat 0`, 2000 "
                "test images, eval seed 0) docs/nn.md measures where the Lloyd-Max gap sits: mostly in the last "
                "layer, whose 10 logits a 4-bit converter leaves sharing a cell (the two largest for 12.9 % of "
                "images; leaving that layer unconverted recovers 5.2 points), and partly in the authors' 'filter' "
                "preprocessing ('clip' instead: 87.8 vs 82.0 % on 1000 images).")
    return ("Why uniform stays below float at 5 bits was measured in docs/nn.md on the same kind of network with "
            "`memspice evaluate --preset paper` (eval seed 0, 2000 test images, a gap of 8.35 points there; this "
            "run's seed and images differ, hence its own gap), the authors' quantizer as published, one layer at "
            "a time: each layer's activation (a ReLU bounded at 127/128, as NeuroSim's clamp) keeps only 9-24 % "
            "of its whole-layer output's min-max range, so 2.8-7.5 of the 31 uniform cells fall where the "
            "activation lives; the first convolution alone costs 3.85 points and leaving it unconverted recovers "
            "7.45 of the 8.35, and the same quantizer on the range cut to the activation's window gives 89.55 % "
            "(ideal CIM 89.75): the spread of the network's pre-activations beyond the clamp, not a difference "
            "in the quantizer; the paper's network was not measured.")


def fig5_train_spec(ctx: Context):
    """Fig. 5's network (a :class:`~memspice.nn.spec.TrainSpec`) and its description: VGG8 width 0.125 on
    Fashion-MNIST (CIFAR-10 with ``--data``), trained as the paper preset's network (8-bit
    quantization-aware, :func:`memspice.nn.paper.paper_train_spec`) or, with ``fig5_network = 'float'``, in
    float (a different experiment)."""
    from memspice.nn.paper import paper_train_spec
    from memspice.nn.spec import TrainSpec

    if ctx.fig5_network not in FIG5_NETWORKS:
        from memspice.errors import SpecError

        raise SpecError("fig5_network", ctx.fig5_network, f"one of {', '.join(FIG5_NETWORKS)}")
    if ctx.data is not None:
        tspec = TrainSpec(dataset="cifar10", width=0.125)
        what = "VGG8 width 0.125 on CIFAR-10 (--data)"
    else:
        tspec = TrainSpec()
        what = "VGG8 width 0.125 on Fashion-MNIST (CIFAR-10 is not available offline; give --data)"
    if ctx.fig5_network == "qat8":
        tspec = paper_train_spec("paper", tspec)
        return tspec, what + ", trained with 8-bit weights and activations as the paper's NeuroSim VGG8"
    return tspec, what + ", trained in float (--fig5-network float: not the paper's training, a different experiment)"


def train_cache(data: Path | None) -> Path:
    """Where Fig. 5's weights are cached: `memspice train`'s default for the offline Fashion-MNIST; for
    ``--data`` a folder named after the data files (path, names, sizes), since the training spec does not
    say which CIFAR-10 files trained it and weights of one folder must not be reused for another."""
    if data is None:
        return CACHE
    root = Path(data).resolve()
    files = sorted((f.name, f.stat().st_size) for f in root.iterdir() if f.is_file())
    tag = hashlib.sha256(json.dumps([str(root), files]).encode()).hexdigest()[:12]
    return CACHE / f"data-{tag}"


def _plot(path: Path, table, rows, p5d, sweep_rows) -> None:
    from memspice.report.plotting import pyplot, save

    plt = pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for k, (kind, p_name) in enumerate((("uniform_minmax", "Uniform"), ("lloyd_max", "Adaptive"))):
        bits = [r[1] for r in rows if r[0] == kind]
        a.plot(bits, [table[p_name][x] for x in bits], "--o", color=f"C{k}", label=f"{p_name}, paper")
        a.plot(bits, [r[3] for r in rows if r[0] == kind], "-s", color=f"C{k}", label=f"{kind}, memspice")
    a.set_xlabel("ADC bits")
    a.set_ylabel("accuracy (%)")
    a.legend(fontsize=7)
    for k, bits in enumerate(sorted({r[0] for r in sweep_rows})):
        mine = [r for r in sweep_rows if r[0] == bits]
        ps = sorted(s for (bb, s) in p5d if bb == bits)
        b.semilogx([100 * s for s in ps], [np.mean(p5d[(bits, s)]) for s in ps], "--", color=f"C{k}",
                   label=f"{bits} b paper")
        b.semilogx([100 * r[1] for r in mine], [r[3] for r in mine], "-o", color=f"C{k}", label=f"{bits} b Lloyd-Max")
        b.semilogx([100 * r[1] for r in mine], [r[4] for r in mine], ":^", color=f"C{k}", label=f"{bits} b SR")
    b.set_xlabel("boundary sigma (% of the layer's range)")
    b.legend(fontsize=7)
    save(fig, path)
