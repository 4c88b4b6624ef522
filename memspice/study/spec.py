"""The study file: one TOML that names every stage's inputs (``memspice study STUDY.toml``).

Every table is optional except ``[study]``; unknown keys and stages are errors naming the key.
Paths (crossbar and ADC specs, cards) are relative to the study file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memspice.errors import SpecError
from memspice.spec.base import MAX_DEVICES, MAX_SAMPLES, Spec, check, check_count, param, read_toml

STAGES = ("device", "crossbar", "train", "calibrate", "adc", "evaluate", "system", "export")


@dataclass(frozen=True)
class StudyMeta(Spec):
    name: str = param(doc="name of the study: the run folder is runs/<name>/ unless --out says otherwise",
                      safe="name")
    title: str = param("", "title of the report page")
    seed: int = param(0, "master seed: every stage's seed is derived from it and recorded")
    bits: tuple[int, ...] = param((4,), "ADC resolutions characterized in SPICE and costed")
    stages: tuple[str, ...] = param(STAGES, "stages to run, in this order (export always runs last)")
    workers: int = param(0, "Monte Carlo worker processes (0: one per core)")
    device: str = param("cpu", "torch device of training and inference: cpu, cuda or auto")
    overlap: bool = param(True, "start the SPICE work that reads no earlier stage (the crossbar, the ADC at "
                                "uniform boundaries) beside the earlier stages, in one thread; same tables either way")

    def validate(self) -> None:
        check(bool(self.name.strip()) and all(c.isalnum() or c in "-_." for c in self.name), "study.name",
              self.name, "a non-empty name of letters, digits, '-', '_' or '.'")
        check(self.seed >= 0, "study.seed", self.seed, "a seed >= 0")
        check(len(self.bits) >= 1, "study.bits", self.bits, "at least one resolution")
        for k, b in enumerate(self.bits):
            check(2 <= b <= 6, f"study.bits[{k}]", b, "a resolution from 2 to 6 bits (the Q-cell ADC's range)")
        for k, s in enumerate(self.stages):
            check(s in STAGES, f"study.stages[{k}]", s, f"one of {', '.join(STAGES)}")
        check(self.workers >= 0, "study.workers", self.workers, "0 (one per core) or a positive count")


@dataclass(frozen=True)
class DeviceStage(Spec):
    cards: tuple[str, ...] = param(("vteam_paper", "yakopcic_paper"), "device cards: built-in names or TOML paths")
    mc: int = param(8, "Monte Carlo devices per card (write-verify with device-to-device spread)")

    def validate(self) -> None:
        check(len(self.cards) >= 1, "device.cards", self.cards, "at least one card")
        check_count("mc", self.mc, MAX_DEVICES, low=0, what="devices per card, each programmed in ngspice")


@dataclass(frozen=True)
class CrossbarStage(Spec):
    spec: str = param("crossbar_128.toml", "crossbar study file ([crossbar] and [study] tables)")
    overrides: Mapping[str, Any] = param(doc="overrides of that file, dotted names as on the command line",
                                         default_factory=dict)
    mc: int = param(200, "Monte Carlo samples of programming error and read noise")

    def validate(self) -> None:
        check_count("mc", self.mc, MAX_SAMPLES, low=0, what="Monte Carlo samples of the column")


@dataclass(frozen=True)
class AdcStage(Spec):
    spec: str = param("qcell_adc_4bit.toml", "Q-cell ADC spec ([adc] table); bits and boundaries are set per run")
    boundary_sets: tuple[str, ...] = param(("uniform", "lloyd_max"), "boundary sets characterized: uniform over "
                                           "the input range and/or the network's Lloyd-Max set")
    mc: int = param(16, "Monte Carlo samples per ADC (programming error, read noise, threshold mismatch)")
    energy: bool = param(True, "run the transient energy and delay study")
    overrides: Mapping[str, Any] = param(doc="overrides of the ADC spec (cell.v_read_v = 0.7, ...)",
                                         default_factory=dict)

    def validate(self) -> None:
        for k, s in enumerate(self.boundary_sets):
            check(s in ("uniform", "lloyd_max"), f"adc.boundary_sets[{k}]", s, "uniform or lloyd_max")
        check_count("mc", self.mc, MAX_SAMPLES, low=0, what="Monte Carlo samples per ADC")


@dataclass(frozen=True)
class NetworkStage(Spec):
    network: str = param("vgg8", "vgg8 or resnet18")
    dataset: str = param("fashion_mnist", "fashion_mnist or cifar10")
    data: str = param("", "data folder (default: the dataset's standard place)")
    width: float = param(0.125, "channel-width multiplier")
    epochs: int = param(4, "training epochs")
    train_images: int = param(0, "train on the first N images only (0: all)")
    cache_dir: str = param("runs/cache/train", "where trained weights are cached by configuration hash "
                           "(relative to the working folder, shared between studies)")


@dataclass(frozen=True)
class EvaluateStage(Spec):
    test_images: int = param(2000, "test images per inference")
    bits: tuple[int, ...] = param((3, 4, 5, 6), "ADC resolutions of the accuracy table")
    adcs: tuple[str, ...] = param(("uniform_minmax", "uniform_clipped", "lloyd_max", "variation_aware"),
                                  "ADC models of the accuracy table")
    sigmas: tuple[float, ...] = param((0.01, 0.02, 0.05), "boundary sigmas of the variation sweep")
    sweep_bits: tuple[int, ...] = param((4,), "resolutions of the variation sweep")
    sweep_adcs: tuple[str, ...] = param(("lloyd_max", "variation_aware"), "ADC models of the sweep")
    trials: int = param(8, "variation draws per sigma")
    spice_trials: int = param(8, "SPICE chip rows per programming mode (each draws every layer's converter from "
                              "the ADC stage's Monte Carlo chips; 0 = one per chip)")
    sweep_test_images: int = param(500, "first N of the test images for the variation sweep and the SPICE chip rows "
                                   "(one inference per trial; 0 = test_images)")
    calibration_images: int = param(512, "training images the ADCs are fitted on")
    column_model: bool = param(True, "also evaluate the network with the crossbar stage's column model between "
                               "the arrays and the ADCs (an extra table: ideal CIM, uniform and Lloyd-Max at the "
                               "study's bits)")
    adc_layer: str = param("", "layer whose Lloyd-Max set the SPICE ADC is programmed with (default: the layer "
                           "with the most partial sums)")
    column_grid: bool = param(True, "evaluate Lloyd-Max at the study's bits through the crossbar stage's column "
                              "(the deterministic nodal IR-drop model, hardware calibration) at every rows x "
                              "wire resistance of the grid, beside the same rows without a column: where the "
                              "column stops working")
    column_grid_rows: tuple[int, ...] = param((), "rows per sub-array of the column grid (empty: the crossbar "
                                              "stage's study.sweep_rows)")
    column_grid_r_wire_ohm: tuple[float, ...] = param((), "wire resistance per row and column segment of the column "
                                                      "grid (empty: the crossbar stage's study.sweep_r_wire_ohm)",
                                                      "ohm")
    column_grid_test_images: int = param(500, "test images per point of the column grid")
    column_grid_calibration_images: int = param(128, "calibration images per point of the column grid")
    paper_preset: bool = param(False, "also evaluate the paper's setting (whole-layer conversion, the authors' "
                               "uniform and Lloyd-Max at 3/4/5 bits) into evaluate/paper, beside the paper's numbers")

    def validate(self) -> None:
        check(self.spice_trials >= 0, "evaluate.spice_trials", self.spice_trials, "0 (one per chip) or a positive "
              "count")
        check(self.sweep_test_images >= 0, "evaluate.sweep_test_images", self.sweep_test_images,
              "0 (all test images) or a positive count")
        for k, n in enumerate(self.column_grid_rows):
            check(isinstance(n, int) and 1 <= n <= 4096, f"column_grid_rows[{k}]", n, "1 to 4096 rows")
        for k, r in enumerate(self.column_grid_r_wire_ohm):
            check(r >= 0, f"column_grid_r_wire_ohm[{k}]", r, "a resistance >= 0 ohm")
        check(self.column_grid_test_images >= 1, "evaluate.column_grid_test_images", self.column_grid_test_images,
              "at least 1 image")
        check(self.column_grid_calibration_images >= 1, "evaluate.column_grid_calibration_images",
              self.column_grid_calibration_images, "at least 1 image")


@dataclass(frozen=True)
class SystemStage(Spec):
    workloads: tuple[str, ...] = param(("vgg8_cifar10", "study"), "vgg8_cifar10 (the paper's VGG8), resnet18_cifar10,"
                                       " study (the study's network)")
    columns_per_adc: int = param(8, "sub-array columns sharing one ADC")

    def validate(self) -> None:
        for k, w in enumerate(self.workloads):
            check(w in ("vgg8_cifar10", "resnet18_cifar10", "study"), f"system.workloads[{k}]", w,
                  "vgg8_cifar10, resnet18_cifar10 or study")
        check(self.columns_per_adc >= 1, "system.columns_per_adc", self.columns_per_adc, "at least 1")


@dataclass(frozen=True)
class StudySpec(Spec):
    study: StudyMeta = param(doc="name, seed, bits, stages")
    device: DeviceStage = param(doc="device characterization", default_factory=DeviceStage)
    crossbar: CrossbarStage = param(doc="crossbar column characterization", default_factory=CrossbarStage)
    adc: AdcStage = param(doc="Q-cell ADC characterization", default_factory=AdcStage)
    network: NetworkStage = param(doc="network and training", default_factory=NetworkStage)
    evaluate: EvaluateStage = param(doc="accuracy study", default_factory=EvaluateStage)
    system: SystemStage = param(doc="system energy and area", default_factory=SystemStage)
    base_dir: str = param("", "folder of the study file (relative paths start there)")

    def path(self, name: str) -> Path:
        p = Path(name)
        return p if p.is_absolute() else Path(self.base_dir or ".") / p


def load_study_file(path: str | Path) -> StudySpec:
    path = Path(path)
    if not path.exists():
        raise SpecError("STUDY", str(path), "an existing study file (TOML), e.g. circuits/study_default.toml")
    data = dict(read_toml(path))
    if "study" not in data:
        raise SpecError("study", None, "a [study] table with at least name", source=str(path))
    data["base_dir"] = str(path.resolve().parent)
    spec = StudySpec.from_dict(data, source=str(path))
    for field, file in (("crossbar.spec", spec.crossbar.spec), ("adc.spec", spec.adc.spec)):
        if not spec.path(file).exists():
            raise SpecError(field, file, f"an existing file (looked for {spec.path(file)})", source=str(path))
    from memspice.spec.device import builtin_cards

    for k, card in enumerate(spec.device.cards):
        if card not in builtin_cards() and not spec.path(card).exists():
            raise SpecError(f"device.cards[{k}]", card, f"a built-in card ({', '.join(builtin_cards())}) or an "
                            f"existing card file", source=str(path))
    return spec
