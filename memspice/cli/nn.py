"""``memspice train`` and ``memspice evaluate``: network accuracy on CIM hardware.

Thin: options become :class:`~memspice.nn.spec.TrainSpec`, :class:`~memspice.nn.spec.CimSpec` and
:class:`~memspice.nn.spec.EvalSpec`; torch is imported inside the commands only.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import typer

from memspice.cli.common import prepare_out_dir
from memspice.errors import InputError

_NETWORK = typer.Option("vgg8", "--network", help="vgg8 (NeuroSim's VGG8) or resnet18 (CIFAR ResNet18).")
_DATASET = typer.Option("fashion_mnist", "--dataset", help="fashion_mnist (Debian's dataset-fashion-mnist) or cifar10.")
_DATA = typer.Option(None, "--data", help="Folder of the data set (CIFAR-10: the cifar-10-batches-py folder).")
_WIDTH = typer.Option(0.125, "--width", help="Channel-width multiplier (1.0 = the published network).")
_EPOCHS = typer.Option(4, "--epochs", help="Training epochs.")
_BATCH = typer.Option(128, "--batch-size", help="Training batch size.")
_LR = typer.Option(2e-3, "--lr", help="Peak learning rate (AdamW, one-cycle schedule).")
_TRAIN_IMAGES = typer.Option(0, "--train-images", help="Train on the first N images only (0 = all).")
_SEED = typer.Option(0, "--seed", help="Training seed (initialisation, shuffling, augmentation).")
_DEVICE = typer.Option("cpu", "--device", help="cpu, cuda or auto (cuda when a GPU is usable).")
_CACHE = typer.Option(Path("runs/cache/train"), "--cache-dir", help="Where trained weights are cached by hash.")


def _ints(text: str, option: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise InputError(f"{option} {text!r}: expected comma-separated integers, e.g. 3,4,5") from None
    if not values:
        raise InputError(f"{option}: expected at least one value")
    return values


def _floats(text: str, option: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise InputError(f"{option} {text!r}: expected comma-separated numbers, e.g. 0.01,0.02") from None


def _words(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _train_spec(network, dataset, width, epochs, batch_size, lr, train_images, seed):
    from memspice.nn.spec import TrainSpec

    return TrainSpec(network=network, dataset=dataset, width=width, epochs=epochs, batch_size=batch_size, lr=lr,
                     train_images=train_images, seed=seed)


def train_cmd(
    network: str = _NETWORK, dataset: str = _DATASET, data: Path | None = _DATA, width: float = _WIDTH,
    epochs: int = _EPOCHS, batch_size: int = _BATCH, lr: float = _LR, train_images: int = _TRAIN_IMAGES,
    seed: int = _SEED, device: str = _DEVICE, cache_dir: Path = _CACHE,
    force: bool = typer.Option(False, "--force", help="Train again even when cached weights exist."),
) -> None:
    """Train a network in floating point (cached by configuration hash) and report its test accuracy."""
    from memspice.nn.train import train

    spec = _train_spec(network, dataset, width, epochs, batch_size, lr, train_images, seed)
    result = train(spec, data_root=data, device=device, cache_dir=cache_dir, force=force)
    meta = result.meta
    how = "loaded from cache" if result.cached else f"trained in {meta['train_time_s']:.0f} s on {meta['device']}"
    typer.echo(f"{spec.network} (width {spec.width:g}, {meta['weights']} weights) on {spec.dataset}: {how}")
    typer.echo(f"float test accuracy: {100 * meta['float_test_accuracy']:.2f} % ({meta['test_images']} images), "
               f"seed {meta['seed']}")
    typer.echo(f"weights: {result.path}")


def evaluate_cmd(
    network: str = _NETWORK, dataset: str = _DATASET, data: Path | None = _DATA, width: float = _WIDTH,
    epochs: int = _EPOCHS, batch_size: int = _BATCH, lr: float = _LR, train_images: int = _TRAIN_IMAGES,
    seed: int = _SEED, device: str = _DEVICE, cache_dir: Path = _CACHE,
    out: Path = typer.Option(Path("runs/evaluate"), "--out", help="Output folder."),
    bits: str = typer.Option("3,4,5,6", "--bits", help="ADC resolutions of the accuracy table."),
    adcs: str = typer.Option("uniform_minmax,uniform_clipped,lloyd_max,variation_aware", "--adcs",
                             help="ADC models of the accuracy table."),
    test_images: int = typer.Option(10_000, "--test-images", help="Evaluate the first N test images."),
    sigmas: str = typer.Option("0.001,0.01,0.02,0.03,0.05", "--sigmas",
                               help="Boundary sigmas of the sweep (fractions of the range; empty for none)."),
    sweep_bits: str = typer.Option("3,4,5", "--sweep-bits", help="ADC resolutions of the variation sweep."),
    sweep_adcs: str = typer.Option("lloyd_max,variation_aware,super_resolution", "--sweep-adcs",
                                   help="ADC models of the sweep (also uniform_clipped)."),
    trials: int = typer.Option(16, "--trials", help="Boundary draws per sigma and resolution."),
    design_sigma: float = typer.Option(0.02, "--design-sigma",
                                       help="Sigma the variation_aware fit of the table is designed for."),
    eval_batch: int = typer.Option(0, "--eval-batch", help="Images per inference batch (0: 100 on CPU, 2000 on GPU)."),
    eval_seed: int = typer.Option(0, "--eval-seed", help="Seed of calibration, fits and variation draws."),
    rows: int = typer.Option(128, "--rows", help="Rows per sub-array."),
    weight_bits: int = typer.Option(8, "--weight-bits", help="Weight precision (sign included)."),
    act_bits: int = typer.Option(8, "--act-bits", help="Activation precision."),
    g_min: float = typer.Option(100e-6, "--g-min", help="Lowest programmed conductance, in S."),
    g_max: float = typer.Option(400e-6, "--g-max", help="Highest programmed conductance, in S."),
    input_mode: str = typer.Option("analog", "--input-mode", help="analog (one read) or bit_serial."),
    cell_bits: int = typer.Option(0, "--cell-bits", help="Weight-magnitude bits per pair (0 = no slicing)."),
    conv_mapping: str = typer.Option("channel_group", "--conv-mapping", help="channel_group or kernel_position."),
    calibration_images: int = typer.Option(512, "--calibration-images", help="Training images fitting the ADCs."),
    spice_adc: list[Path] = typer.Option(None, "--spice-adc",
                                         help="SPICE-characterized ADC (adc.json); repeat for several bits."),
    column_model: Path | None = typer.Option(None, "--column-model", help="Crossbar column model JSON."),
    conversion: str = typer.Option("subarray", "--conversion",
                                   help="subarray (each sub-array partial sum, the hardware) or layer (whole-layer "
                                        "output, the paper's Fig. 5 experiment)."),
    lloyd_preprocess: str = typer.Option("clip", "--lloyd-preprocess",
                                         help="Lloyd-Max samples: clip (to 0.5-99.5 %) or filter (the authors' "
                                              "batch code: drop outside, append min and max)."),
    calibration: str = typer.Option("hardware", "--calibration",
                                    help="With --column-model: hardware (fit through the column, digital gain/offset "
                                         "correction) or ideal (fit without the column, no correction)."),
    diagnostics: bool = typer.Option(True, "--diagnostics/--no-diagnostics",
                                     help="Write layers.csv (fits every converter per layer: slow)."),
    preset: str = typer.Option("", "--preset",
                               help="paper: the paper's setting (whole-layer conversion, ReADC's uniform and "
                                    "Lloyd-Max at 3/4/5 bits, no sweep), printed beside the paper's numbers."),
    train_if_missing: bool = typer.Option(False, "--train", help="Train the network first when not cached."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Empty an --out folder that holds another run's "
                                   "files (refused otherwise)."),
) -> None:
    """Accuracy tables over ADC bits and models, and boundary-variation sweeps (accuracy.csv, figures)."""
    from memspice.nn.artifacts import load_column_model, load_spice_adc
    from memspice.nn.evaluate import evaluate
    from memspice.nn.spec import CimSpec, EvalSpec
    from memspice.nn.train import load_trained, resolve_device, train

    tspec = _train_spec(network, dataset, width, epochs, batch_size, lr, train_images, seed)
    cim = CimSpec(weight_bits=weight_bits, act_bits=act_bits, rows=rows, g_min_s=g_min, g_max_s=g_max,
                  input_mode=input_mode, cell_bits=cell_bits, conv_mapping=conv_mapping,
                  calibration_images=calibration_images, conversion=conversion)
    sweep = _floats(sigmas, "--sigmas")
    espec = EvalSpec(bits=_ints(bits, "--bits"), adcs=_words(adcs), test_images=test_images, sigmas=sweep,
                     sweep_bits=_ints(sweep_bits, "--sweep-bits") if sweep else (),
                     sweep_adcs=_words(sweep_adcs), trials=trials, design_sigma=design_sigma,
                     batch_size=eval_batch, seed=eval_seed, lloyd_preprocess=lloyd_preprocess,
                     calibration=calibration, diagnostics=diagnostics)
    if preset:
        from memspice.nn.paper import apply_preset

        cim, espec = apply_preset(preset, cim, espec)
    arts = [load_spice_adc(p) for p in spice_adc or []]
    for art in arts:
        if art.bits not in espec.bits:
            raise InputError(f"--spice-adc {art.path} is a {art.bits}-bit ADC but --bits is "
                             f"{','.join(map(str, espec.bits))}; the bits must match (add {art.bits} to --bits)")
    column = load_column_model(column_model) if column_model is not None else None
    if column is not None and cim.conversion == "layer":
        raise InputError("--column-model describes one sub-array's column; it cannot be combined with whole-layer "
                         "conversion (--conversion layer or --preset paper); use --conversion subarray")
    identity = repr(([s.spec_hash() for s in (tspec, cim, espec)], [str(a.path) for a in arts], str(column_model)))
    out_dir = prepare_out_dir(out, "evaluate", hashlib.sha256(identity.encode()).hexdigest()[:16], overwrite=overwrite)
    dev = resolve_device(device)
    trained = (train(tspec, data_root=data, device=str(dev), cache_dir=cache_dir) if train_if_missing
               else load_trained(tspec, cache_dir, dev))
    result = evaluate(trained, cim, espec, out_dir=out_dir, data_root=data, device=str(dev), spice_adcs=arts,
                      column=column)
    typer.echo((out_dir / "tables.md").read_text().rstrip())
    typer.echo(f"\nwrote {out_dir / 'accuracy.csv'} ({len(result.rows)} rows), tables.md, layers.csv, "
               f"accuracy_vs_bits.png, variation_sweep.png, provenance.json in {result.timings['total_s']:.0f} s")


def register(app: typer.Typer, characterize_app: typer.Typer) -> None:
    app.command("train")(train_cmd)
    app.command("evaluate")(evaluate_cmd)
