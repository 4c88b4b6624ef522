"""Validated descriptions of training runs, the CIM mapping and accuracy evaluations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from memspice.spec.base import Spec, check, check_positive, param

ADC_MODELS = ("float", "ideal", "uniform_minmax", "uniform_clipped", "lloyd_max", "variation_aware", "spice",
              "super_resolution")
#: ADC models fitted per layer and evaluated without boundary variation (``spice`` and
#: ``super_resolution`` need errors, from an artifact or the variation model).
TABLE_ADCS = ("uniform_minmax", "uniform_clipped", "lloyd_max", "variation_aware")
#: torch threads training runs with unless the spec says otherwise (TrainSpec.threads): the count
#: torch chose by itself on the 2-core machines the cached networks were trained on.
TRAIN_THREADS = 2
SWEEP_ADCS = ("uniform_clipped", "lloyd_max", "variation_aware", "super_resolution")


@dataclass(frozen=True)
class TrainSpec(Spec):
    """One training run; its hash names the cached weights (``runs/cache/train/<hash>``)."""

    network: Literal["vgg8", "resnet18"] = param("vgg8", "network topology")
    dataset: Literal["fashion_mnist", "cifar10"] = param("fashion_mnist", "data set")
    width: float = param(0.125, "channel-width multiplier (1.0 = the published network)")
    epochs: int = param(4, "passes over the training images")
    batch_size: int = param(128, "images per optimizer step")
    lr: float = param(2e-3, "peak learning rate of Adam (cosine decay to zero)")
    weight_decay: float = param(5e-4, "decoupled weight decay (AdamW)")
    train_images: int = param(0, "use only the first N training images (0 = all)")
    augment: bool = param(True, "random crop (pad 2 or 4 px) and horizontal flip")
    seed: int = param(0, "seed of initialisation, shuffling and augmentation")
    qat_bits: int = param(0, "0: float training; N: quantization-aware training as NeuroSim's WAGE VGG8 (N-bit "
                          "weights and activations in the forward pass, straight-through gradients, bounded "
                          "activations, SSE loss; memspice.nn.qat)")
    threads: int = param(TRAIN_THREADS, "torch CPU threads while training: the summation order of some kernels "
                         "(MKL's small matrix products) follows the thread count, so the count is part of the "
                         "network's definition, whatever the machine's cores (docs/nn.md)")

    def validate(self) -> None:
        check_positive("width", self.width)
        check(1 <= self.threads <= 256, "threads", self.threads, "1 to 256 torch threads")
        check(self.qat_bits == 0 or 2 <= self.qat_bits <= 16, "qat_bits", self.qat_bits,
              "0 (float training) or 2 to 16 bits")
        check(self.qat_bits == 0 or self.network == "vgg8", "qat_bits", self.qat_bits,
              f"0 for network {self.network} (quantization-aware training is built for vgg8 only)")
        check(self.width <= 4, "width", self.width, "a width multiplier at most 4")
        check(self.epochs >= 1, "epochs", self.epochs, "at least 1 epoch")
        check(self.batch_size >= 0, "batch_size", self.batch_size, "0 (automatic) or a number of images")
        check_positive("lr", self.lr)
        check(self.weight_decay >= 0, "weight_decay", self.weight_decay, "a value >= 0")
        check(self.train_images >= 0, "train_images", self.train_images, "0 (all) or a positive count")

    def hash_data(self) -> dict:
        """Every field, ``qat_bits`` left out while it is 0 and ``threads`` while it is the default, so
        networks keep the cache names they had before the fields existed (trained with torch's default
        two threads on the project's 2-core machines; :func:`memspice.nn.train.load_trained` retrains an
        entry whose meta.json records another count)."""
        data = self.to_dict()
        if not self.qat_bits:
            del data["qat_bits"]
        if self.threads == TRAIN_THREADS:
            del data["threads"]
        return data


@dataclass(frozen=True)
class CimSpec(Spec):
    """How layers are mapped onto crossbars (NeuroSim's scheme; see docs/nn.md)."""

    weight_bits: int = param(8, "weight precision, sign included (sign = which device of the pair)")
    act_bits: int = param(8, "activation (input voltage) precision, unsigned")
    rows: int = param(128, "rows of one sub-array: the partial sum of at most this many products meets an ADC")
    g_min_s: float = param(100e-6, "lowest programmed conductance of a device", "S")
    g_max_s: float = param(400e-6, "highest programmed conductance of a device", "S")
    input_mode: Literal["analog", "bit_serial"] = param(
        "analog", "'analog': all input bits in one read (amplitude or pulse width); 'bit_serial': one bit per read")
    conv_mapping: Literal["channel_group", "kernel_position"] = param(
        "channel_group", "sub-array layout of convolutions: whole kernels of R // k^2 channels, or NeuroSim's "
        "R channels of one kernel position")
    cell_bits: int = param(0, "weight-magnitude bits per conductance pair; 0 = the whole weight in one pair")
    conversion: Literal["subarray", "layer"] = param(
        "subarray", "what one ADC conversion digitises: 'subarray', each sub-array's partial sum (the hardware); "
        "'layer', the layer's whole output (the paper's Fig. 5 experiment, ReADC's F.linear(input, weight))")
    calibration_images: int = param(512, "training images whose partial sums fit the ADCs")
    calibration_samples: int = param(200_000, "partial sums kept per layer (random subsample) for fitting")

    def validate(self) -> None:
        check(2 <= self.weight_bits <= 16, "weight_bits", self.weight_bits, "2 to 16 bits")
        check(1 <= self.act_bits <= 16, "act_bits", self.act_bits, "1 to 16 bits")
        check(self.rows >= 1, "rows", self.rows, "at least 1 row")
        check_positive("g_min_s", self.g_min_s, "S")
        check(self.g_max_s > self.g_min_s, "g_max_s", self.g_max_s, f"more than g_min_s = {self.g_min_s:g} S")
        check(0 <= self.cell_bits <= self.weight_bits - 1, "cell_bits", self.cell_bits,
              f"0 (whole weight) to {self.weight_bits - 1} bits")
        check(self.calibration_images >= 1, "calibration_images", self.calibration_images, "at least 1 image")
        check(self.calibration_samples >= 1000, "calibration_samples", self.calibration_samples, "at least 1000")

    @property
    def weight_levels(self) -> int:
        """Largest weight magnitude in integer steps (127 for 8 bits)."""
        return 2 ** (self.weight_bits - 1) - 1

    @property
    def magnitude_bits(self) -> int:
        return self.weight_bits - 1

    @property
    def slices(self) -> int:
        """Conductance pairs per weight (weight bit-slicing)."""
        if self.cell_bits == 0:
            return 1
        return -(-self.magnitude_bits // self.cell_bits)

    @property
    def input_cycles(self) -> int:
        return self.act_bits if self.input_mode == "bit_serial" else 1

    @property
    def siemens_per_step(self) -> float:
        """Conductance of one integer weight step in one pair (the mapping is linear), in S."""
        bits = self.magnitude_bits if self.cell_bits == 0 else self.cell_bits
        return (self.g_max_s - self.g_min_s) / (2 ** bits - 1)


@dataclass(frozen=True)
class EvalSpec(Spec):
    """What ``memspice evaluate`` measures."""

    bits: tuple[int, ...] = param((3, 4, 5, 6), "ADC resolutions of the accuracy table")
    adcs: tuple[str, ...] = param(TABLE_ADCS, "ADC models of the accuracy table (float and ideal always run)")
    test_images: int = param(10_000, "first N test images evaluated (every row uses the same images)")
    sigmas: tuple[float, ...] = param((0.001, 0.01, 0.02, 0.03, 0.05),
                                      "boundary sigmas of the variation sweep, fractions of the boundary range")
    sweep_bits: tuple[int, ...] = param((3, 4, 5), "ADC resolutions of the variation sweep")
    sweep_adcs: tuple[str, ...] = param(("lloyd_max", "variation_aware", "super_resolution"),
                                        "ADC models of the variation sweep")
    trials: int = param(16, "random boundary draws per sigma and resolution")
    spice_trials: int = param(0, "SPICE chip rows per programming mode: the first N Monte Carlo chip draws "
                              "(0 = one per Monte Carlo chip of the artifact)")
    sweep_test_images: int = param(0, "first N test images of the variation sweep and the SPICE chip rows, which "
                                   "repeat one inference per trial (0 = test_images)")
    design_sigma: float = param(0.02, "sigma that the variation_aware fit of the accuracy table is designed for")
    batch_size: int = param(0, "images per inference batch; 0 = 100 on a CPU (cache-friendly), 2000 on a GPU")
    seed: int = param(0, "seed of calibration-image choice, fits and variation draws")
    lloyd_preprocess: Literal["clip", "filter"] = param(
        "clip", "Lloyd-Max samples: 'clip' to the 0.5-99.5 percentiles, or 'filter' as the authors' batch code "
        "(drop samples outside them, then append the min and max; their 100-500 Lloyd-Max iterations)")
    diagnostics: bool = param(True, "write layers.csv (per-layer statistics and every converter's fit, "
                              "variation_aware included: slow)")
    preset: Literal["", "paper"] = param("", "named setting this evaluation follows ('paper': see memspice.nn.paper); "
                                         "set by apply_preset, adds the comparison with the paper's table")
    calibration: Literal["hardware", "ideal"] = param(
        "hardware", "with a column model: 'hardware' calibrates activation ranges and ADCs on the column's own "
        "output, layer by layer, and corrects its gain and offset digitally (what a chip does); 'ideal' fits "
        "on column-free partial sums and corrects nothing (a different experiment)")

    def validate(self) -> None:
        for i, b in enumerate(self.bits + self.sweep_bits):
            check(1 <= b <= 12, "bits" if i < len(self.bits) else "sweep_bits", b, "1 to 12 bits")
        for a in self.adcs:
            check(a in ADC_MODELS and a not in ("spice", "super_resolution"), "adcs", a,
                  "float, ideal, uniform_minmax, uniform_clipped, lloyd_max or variation_aware "
                  "(spice rows come from --spice-adc, super_resolution from the sweep)")
        for a in self.sweep_adcs:
            check(a in SWEEP_ADCS, "sweep_adcs", a, "one of " + ", ".join(SWEEP_ADCS))
        for s in self.sigmas:
            check(0 < s < 0.5, "sigmas", s, "fractions of the boundary range between 0 and 0.5 (0.01 = 1 %)")
        check(self.test_images >= 1, "test_images", self.test_images, "at least 1 image")
        check(self.trials >= 1, "trials", self.trials, "at least 1 trial")
        check(self.spice_trials >= 0, "spice_trials", self.spice_trials, "0 (one per chip) or a positive count")
        check(self.sweep_test_images >= 0, "sweep_test_images", self.sweep_test_images, "0 (all) or a positive count")
        check(0 <= self.design_sigma < 0.5, "design_sigma", self.design_sigma, "a fraction from 0 to 0.5")
        check(self.batch_size >= 0, "batch_size", self.batch_size, "0 (automatic) or a number of images")
