"""``memspice train`` and ``memspice evaluate``: network accuracy on CIM hardware.

Thin: options become :class:`~memspice.nn.spec.TrainSpec`, :class:`~memspice.nn.spec.CimSpec` and
:class:`~memspice.nn.spec.EvalSpec`; torch is imported inside the commands only.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from memspice.cli.common import Overwrite, prepare_out_dir
from memspice.errors import InputError, SpecError


class Network(StrEnum):  # the choices of nn.spec.TrainSpec.network (a test checks each enum against its field)
    vgg8 = "vgg8"
    resnet18 = "resnet18"


class Dataset(StrEnum):
    fashion_mnist = "fashion_mnist"
    cifar10 = "cifar10"


class TorchDevice(StrEnum):
    cpu = "cpu"
    cuda = "cuda"
    auto = "auto"


class InputMode(StrEnum):
    analog = "analog"
    bit_serial = "bit_serial"


class ConvMapping(StrEnum):
    channel_group = "channel_group"
    kernel_position = "kernel_position"


class Conversion(StrEnum):
    subarray = "subarray"
    layer = "layer"


class LloydPreprocess(StrEnum):
    clip = "clip"
    filter = "filter"


class Calibration(StrEnum):
    hardware = "hardware"
    ideal = "ideal"


# options train and evaluate share (each command states the default)
_Network = Annotated[Network, typer.Option("--network", help="vgg8 (NeuroSim's VGG8) or resnet18 (CIFAR ResNet18).")]
_Dataset = Annotated[Dataset, typer.Option("--dataset", help="fashion_mnist (Debian's dataset-fashion-mnist) or "
                                           "cifar10.")]
_Data = Annotated[Path | None, typer.Option("--data", help="Folder of the data set (CIFAR-10: the "
                                            "cifar-10-batches-py folder).")]
_Width = Annotated[float, typer.Option("--width", help="Channel-width multiplier (1.0 = the published network).")]
_Epochs = Annotated[int, typer.Option("--epochs", help="Training epochs.")]
_Batch = Annotated[int, typer.Option("--batch-size", help="Training batch size.")]
_Lr = Annotated[float, typer.Option("--lr", help="Peak learning rate (AdamW, one-cycle schedule).")]
_TrainImages = Annotated[int, typer.Option("--train-images", help="Train on the first N images only (0 = all).")]
_Seed = Annotated[int, typer.Option("--seed", help="Training seed (initialisation, shuffling, augmentation).")]
_Qat = Annotated[int, typer.Option("--qat", help="Quantization-aware training with N-bit weights and activations, as "
                                     "NeuroSim's WAGE VGG8 (bounded activations, straight-through gradients, SSE "
                                     "loss; docs/nn.md); 0 = float training (evaluate --preset paper: 8 unless "
                                     "given).")]
_Threads = Annotated[int, typer.Option("--threads", help="Torch CPU threads while training: part of the network's "
                                      "definition (the thread count changes kernels' summation order), whatever the "
                                      "machine's cores.")]
_Device = Annotated[TorchDevice, typer.Option("--device", help="cpu, cuda or auto (cuda when a GPU is usable).")]
_Cache = Annotated[Path, typer.Option("--cache-dir", help="Where trained weights are cached by hash.")]


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


def _train_spec(network, dataset, width, epochs, batch_size, lr, train_images, seed, qat_bits=0, threads=2):
    from memspice.nn.spec import TrainSpec

    return TrainSpec(network=str(network), dataset=str(dataset), width=width, epochs=epochs, batch_size=batch_size,
                     lr=lr, train_images=train_images, seed=seed, qat_bits=qat_bits, threads=threads)


# evaluate's flags as spec fields: (table, field) of the spec file; a flag given on the command line
# overrides the file, a flag left at its default does not
_FLAG_FIELDS = {
    "network": ("train", "network"), "dataset": ("train", "dataset"), "width": ("train", "width"),
    "epochs": ("train", "epochs"), "batch_size": ("train", "batch_size"), "lr": ("train", "lr"),
    "train_images": ("train", "train_images"), "seed": ("train", "seed"), "qat": ("train", "qat_bits"),
    "threads": ("train", "threads"),
    "weight_bits": ("cim", "weight_bits"), "act_bits": ("cim", "act_bits"), "rows": ("cim", "rows"),
    "g_min": ("cim", "g_min_s"), "g_max": ("cim", "g_max_s"), "input_mode": ("cim", "input_mode"),
    "cell_bits": ("cim", "cell_bits"), "conv_mapping": ("cim", "conv_mapping"),
    "calibration_images": ("cim", "calibration_images"), "conversion": ("cim", "conversion"),
    "bits": ("eval", "bits"), "adcs": ("eval", "adcs"), "test_images": ("eval", "test_images"),
    "sigmas": ("eval", "sigmas"), "sweep_bits": ("eval", "sweep_bits"), "sweep_adcs": ("eval", "sweep_adcs"),
    "trials": ("eval", "trials"), "design_sigma": ("eval", "design_sigma"), "eval_batch": ("eval", "batch_size"),
    "eval_seed": ("eval", "seed"), "lloyd_preprocess": ("eval", "lloyd_preprocess"),
    "calibration": ("eval", "calibration"), "diagnostics": ("eval", "diagnostics"),
}
TABLES = ("train", "cim", "eval")


def parse_set(items: list[str] | None) -> dict[str, dict]:
    """``--set TABLE.FIELD=VALUE`` (VALUE in TOML: 4, 2e-3, [3, 4], true; a bare word is a string) by table."""
    import tomllib

    out: dict[str, dict] = {t: {} for t in TABLES}
    for item in items or []:
        key, sep, text = item.partition("=")
        table, dot, field = key.strip().partition(".")
        if not sep or not dot or table not in TABLES or not field:
            raise SpecError("--set", item, "TABLE.FIELD=VALUE with TABLE one of train, cim, eval, e.g. "
                            "eval.test_images=2000 or eval.bits=[3,4]")
        try:
            value = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = text.strip()
        out[table][field] = value
    return out


def evaluate_specs(flag_specs: dict, explicit: set[str], spec_file: Path | None, sets: list[str] | None,
                   preset: str = ""):
    """The (TrainSpec, CimSpec, EvalSpec) of an evaluate command line: the spec file's tables (or the
    flags' values without a file), then the flags given on the command line, then ``--set``. With a
    ``preset``, its network training (:func:`memspice.nn.paper.paper_train_spec`: quantization-aware at
    8 bits) applies unless ``qat_bits`` is given by the file, ``--qat`` or ``--set train.qat_bits``."""
    from memspice.nn.spec import CimSpec, EvalSpec, TrainSpec
    from memspice.spec.base import read_toml

    classes = {"train": TrainSpec, "cim": CimSpec, "eval": EvalSpec}
    given = {f"{t}.{f}" for name, (t, f) in _FLAG_FIELDS.items() if name in explicit}
    if spec_file is None:
        specs = dict(flag_specs)
    else:
        data = read_toml(spec_file)
        given |= {f"{t}.{f}" for t in TABLES if isinstance(data.get(t), dict) for f in data[t]}
        for key in data:
            if key not in TABLES:
                raise SpecError(str(key), data[key], f"one of the tables {', '.join(TABLES)}", source=str(spec_file))
        specs = {t: classes[t].from_dict(data.get(t, {}), where=t, source=str(spec_file)) for t in TABLES}
        changes: dict[str, dict] = {t: {} for t in TABLES}
        for name in explicit & set(_FLAG_FIELDS):
            table, field = _FLAG_FIELDS[name]
            changes[table][field] = getattr(flag_specs[table], field)
        specs = {t: specs[t].replace(**changes[t]) if changes[t] else specs[t] for t in TABLES}
    for table, values in parse_set(sets).items():
        if values:
            specs[table] = specs[table].with_overrides(values, where=table)
            given |= {f"{table}.{f}" for f in values}
    if preset and "train.qat_bits" not in given:
        from memspice.nn.paper import paper_train_spec

        specs["train"] = paper_train_spec(preset, specs["train"])
    return specs["train"], specs["cim"], specs["eval"]


def train_cmd(
    network: _Network = Network.vgg8, dataset: _Dataset = Dataset.fashion_mnist, data: _Data = None,
    width: _Width = 0.125, epochs: _Epochs = 4, batch_size: _Batch = 128, lr: _Lr = 2e-3,
    train_images: _TrainImages = 0, seed: _Seed = 0, qat: _Qat = 0, threads: _Threads = 2,
    device: _Device = TorchDevice.cpu,
    cache_dir: _Cache = Path("runs/cache/train"),
    force: Annotated[bool, typer.Option("--force", help="Train again even when cached weights exist.")] = False,
) -> None:
    """Train a network in floating point, or quantization-aware with --qat (cached by configuration hash), and
    report its test accuracy."""
    from memspice.nn.train import train

    spec = _train_spec(network, dataset, width, epochs, batch_size, lr, train_images, seed, qat, threads)
    result = train(spec, data_root=data, device=str(device), cache_dir=cache_dir, force=force)
    meta = result.meta
    how = "loaded from cache" if result.cached else f"trained in {meta['train_time_s']:.0f} s on {meta['device']}"
    typer.echo(f"{spec.network} (width {spec.width:g}, {meta['weights']} weights) on {spec.dataset}: {how}")
    typer.echo(f"float test accuracy: {100 * meta['float_test_accuracy']:.2f} % ({meta['test_images']} images), "
               f"seed {meta['seed']}")
    if "qat_test_accuracy" in meta:
        typer.echo(f"quantized ({spec.qat_bits}-bit weights and activations) test accuracy: "
                   f"{100 * meta['qat_test_accuracy']:.2f} %")
    typer.echo(f"weights: {result.path}")


def evaluate_cmd(
    ctx: typer.Context,
    spec_file: Annotated[Path | None, typer.Argument(
        help="Evaluation spec (TOML with [train], [cim] and [eval] tables; fields as in memspice.nn.spec). "
        "Flags given on the command line and --set override it.")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a spec field: TABLE.FIELD=VALUE (TABLE train, cim or eval; VALUE in TOML, e.g. "
        "eval.test_images=2000, eval.bits=[3,4]); repeatable.")] = None,
    network: _Network = Network.vgg8, dataset: _Dataset = Dataset.fashion_mnist, data: _Data = None,
    width: _Width = 0.125, epochs: _Epochs = 4, batch_size: _Batch = 128, lr: _Lr = 2e-3,
    train_images: _TrainImages = 0, seed: _Seed = 0, qat: _Qat = 0, threads: _Threads = 2,
    device: _Device = TorchDevice.cpu,
    cache_dir: _Cache = Path("runs/cache/train"),
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("runs/evaluate"),
    bits: Annotated[str, typer.Option("--bits", help="ADC resolutions of the accuracy table.")] = "3,4,5,6",
    adcs: Annotated[
        str,
        typer.Option("--adcs", help="ADC models of the accuracy table."),
    ] = "uniform_minmax,uniform_clipped,lloyd_max,variation_aware",
    test_images: Annotated[int, typer.Option("--test-images", help="Evaluate the first N test images.")] = 10_000,
    sigmas: Annotated[
        str,
        typer.Option("--sigmas", help="Boundary sigmas of the sweep (fractions of the range; empty for none)."),
    ] = "0.001,0.01,0.02,0.03,0.05",
    sweep_bits: Annotated[str, typer.Option("--sweep-bits", help="ADC resolutions of the variation sweep.")] = "3,4,5",
    sweep_adcs: Annotated[
        str,
        typer.Option("--sweep-adcs", help="ADC models of the sweep (also uniform_clipped)."),
    ] = "lloyd_max,variation_aware,super_resolution",
    trials: Annotated[int, typer.Option("--trials", help="Boundary draws per sigma and resolution.")] = 16,
    design_sigma: Annotated[
        float,
        typer.Option("--design-sigma", help="Sigma the variation_aware fit of the table is designed for."),
    ] = 0.02,
    eval_batch: Annotated[
        int,
        typer.Option("--eval-batch", help="Images per inference batch (0: 100 on CPU, 2000 on GPU)."),
    ] = 0,
    eval_seed: Annotated[int, typer.Option("--eval-seed", help="Seed of calibration, fits and variation draws.")] = 0,
    rows: Annotated[int, typer.Option("--rows", help="Rows per sub-array.")] = 128,
    weight_bits: Annotated[int, typer.Option("--weight-bits", help="Weight precision (sign included).")] = 8,
    act_bits: Annotated[int, typer.Option("--act-bits", help="Activation precision.")] = 8,
    g_min: Annotated[float, typer.Option("--g-min", help="Lowest programmed conductance, in S.")] = 100e-6,
    g_max: Annotated[float, typer.Option("--g-max", help="Highest programmed conductance, in S.")] = 400e-6,
    input_mode: Annotated[
        InputMode, typer.Option("--input-mode", help="analog (one read) or bit_serial."),
    ] = InputMode.analog,
    cell_bits: Annotated[int, typer.Option("--cell-bits", help="Weight-magnitude bits per pair (0 = no slicing).")] = 0,
    conv_mapping: Annotated[
        ConvMapping,
        typer.Option("--conv-mapping", help="channel_group or kernel_position."),
    ] = ConvMapping.channel_group,
    calibration_images: Annotated[
        int,
        typer.Option("--calibration-images", help="Training images fitting the ADCs."),
    ] = 512,
    spice_adc: Annotated[
        list[Path] | None,
        typer.Option("--spice-adc", help="SPICE-characterized ADC (adc.json); repeat for several bits."),
    ] = None,
    column_model: Annotated[
        Path | None,
        typer.Option("--column-model", help="Crossbar column model JSON: the polynomial column_model.json of "
                                          "characterize crossbar, or a nodal column (kind 'nodal', as the study "
                                          "writes in evaluate/column/column_model.json)."),
    ] = None,
    conversion: Annotated[
        Conversion,
        typer.Option("--conversion", help="subarray (each sub-array partial sum, the hardware) or layer (whole-layer "
                                        "output, the paper's Fig. 5 experiment)."),
    ] = Conversion.subarray,
    lloyd_preprocess: Annotated[
        LloydPreprocess,
        typer.Option("--lloyd-preprocess", help="Lloyd-Max samples: clip (to 0.5-99.5 %, iterated to convergence) "
                                              "or filter (the authors' batch code: drop outside, append min and "
                                              "max, their 100-500 iterations)."),
    ] = LloydPreprocess.clip,
    calibration: Annotated[
        Calibration,
        typer.Option("--calibration", help="With --column-model: hardware (fit through the column, digital gain/offset "
                                         "correction) or ideal (fit without the column, no correction)."),
    ] = Calibration.hardware,
    diagnostics: Annotated[
        bool,
        typer.Option("--diagnostics/--no-diagnostics", help="Write layers.csv (fits every converter per layer: slow)."),
    ] = True,
    preset: Annotated[
        str,
        typer.Option("--preset", help="paper: the paper's setting (whole-layer conversion, ReADC's uniform and "
                                    "Lloyd-Max at 3/4/5 bits, no sweep) on the paper's kind of network (trained "
                                    "quantization-aware at 8 bits, trained first if not cached; --qat 0: the "
                                    "float-trained one, a different experiment), printed beside the paper's "
                                    "numbers."),
    ] = "",
    train_if_missing: Annotated[bool, typer.Option("--train", help="Train the network first when not cached.")] = False,
    overwrite: Overwrite = False,
) -> None:
    """Accuracy tables over ADC bits and models, and boundary-variation sweeps (accuracy.csv, figures)."""
    from memspice.nn.artifacts import load_column_model, load_spice_adc
    from memspice.nn.evaluate import check_column, evaluate
    from memspice.nn.spec import CimSpec, EvalSpec
    from memspice.nn.train import load_trained, resolve_device, train

    flag_t = _train_spec(network, dataset, width, epochs, batch_size, lr, train_images, seed, qat, threads)
    cim = CimSpec(weight_bits=weight_bits, act_bits=act_bits, rows=rows, g_min_s=g_min, g_max_s=g_max,
                  input_mode=str(input_mode), cell_bits=cell_bits, conv_mapping=str(conv_mapping),
                  calibration_images=calibration_images, conversion=str(conversion))
    sweep = _floats(sigmas, "--sigmas")
    espec = EvalSpec(bits=_ints(bits, "--bits"), adcs=_words(adcs), test_images=test_images, sigmas=sweep,
                     sweep_bits=_ints(sweep_bits, "--sweep-bits") if sweep else (),
                     sweep_adcs=_words(sweep_adcs), trials=trials, design_sigma=design_sigma,
                     batch_size=eval_batch, seed=eval_seed, lloyd_preprocess=str(lloyd_preprocess),
                     calibration=str(calibration), diagnostics=diagnostics)
    explicit = {name for name in ctx.params if (src := ctx.get_parameter_source(name)) is not None
                and src.name in ("COMMANDLINE", "ENVIRONMENT")}
    tspec, cim, espec = evaluate_specs({"train": flag_t, "cim": cim, "eval": espec}, explicit, spec_file, set_,
                                       preset)
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
    check_column(column, cim)  # before any weights are loaded or the output folder is made
    identity = repr(([s.spec_hash() for s in (tspec, cim, espec)], [str(a.path) for a in arts], str(column_model)))
    out_dir = prepare_out_dir(out, "evaluate", hashlib.sha256(identity.encode()).hexdigest()[:16], overwrite=overwrite)
    dev = resolve_device(str(device))
    # a preset names its network: trained first when not cached (the paper's: ~5 min CPU, docs/nn.md)
    trained = (train(tspec, data_root=data, device=str(dev), cache_dir=cache_dir) if train_if_missing or preset
               else load_trained(tspec, cache_dir, dev))
    result = evaluate(trained, cim, espec, out_dir=out_dir, data_root=data, device=str(dev), spice_adcs=arts,
                      column=column)
    typer.echo((out_dir / "tables.md").read_text().rstrip())
    typer.echo(f"\nwrote {out_dir / 'accuracy.csv'} ({len(result.rows)} rows), tables.md, layers.csv, "
               f"accuracy_vs_bits.png, variation_sweep.png, provenance.json in {result.timings['total_s']:.0f} s")


def register(app: typer.Typer, characterize_app: typer.Typer) -> None:
    app.command("train")(train_cmd)
    app.command("evaluate")(evaluate_cmd)
