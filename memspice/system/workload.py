"""Network workloads mapped onto crossbar sub-arrays, NeuroSim style: how many MACs, cells,
sub-arrays, ADC instances and conversions an inference needs (pure arithmetic).

Each layer is unrolled to a K x N weight matrix (K = in_channels x kernel^2 rows, N = output
channels) evaluated at P output positions. It is cut into sub-arrays of ``subarray_rows`` rows;
every sub-array column produces one partial sum per output position, per input bit cycle (when
inputs are bit-serial) and per weight slice; each partial sum is one ADC conversion. Signed
weights use a differential pair of columns read by one ADC (the pair's current difference).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from memspice.spec.base import Spec, check, param


@dataclass(frozen=True)
class Layer:
    name: str
    rows: int  # unrolled fan-in K
    cols: int  # output channels N
    positions: int  # output positions P per image

    @property
    def macs(self) -> int:
        return self.rows * self.cols * self.positions


def vgg8_layers(input_hw: int = 32, in_channels: int = 3, width: float = 1.0, classes: int = 10) -> list[Layer]:
    """NeuroSim's VGG8 (DOMAIN.md section 5), scaled by ``width`` (channel multiplier)."""
    c = [max(1, round(ch * width)) for ch in (128, 128, 256, 256, 512, 512)]
    fc_hidden = max(1, round(1024 * width))
    hw = [input_hw, input_hw, input_hw // 2, input_hw // 2, input_hw // 4, input_hw // 4]
    layers = []
    fan_in = in_channels
    for k in range(6):
        layers.append(Layer(f"conv{k + 1}", fan_in * 9, c[k], hw[k] * hw[k]))
        fan_in = c[k]
    flat = c[5] * (input_hw // 8) ** 2
    layers.append(Layer("fc1", flat, fc_hidden, 1))
    layers.append(Layer("fc2", fc_hidden, classes, 1))
    return layers


def resnet18_cifar_layers(input_hw: int = 32, classes: int = 10) -> list[Layer]:
    """The CIFAR ResNet18: 3x3 stem, stages [2, 2, 2, 2] at 64..512 channels, 1x1 shortcuts."""
    layers = [Layer("stem", 3 * 9, 64, input_hw * input_hw)]
    cin, hw = 64, input_hw
    for stage, cout in enumerate((64, 128, 256, 512)):
        for block in range(2):
            stride = 2 if (stage > 0 and block == 0) else 1
            hw_out = hw // stride
            layers.append(Layer(f"s{stage}b{block}c1", cin * 9, cout, hw_out * hw_out))
            layers.append(Layer(f"s{stage}b{block}c2", cout * 9, cout, hw_out * hw_out))
            if stride != 1 or cin != cout:
                layers.append(Layer(f"s{stage}b{block}sc", cin, cout, hw_out * hw_out))
            cin, hw = cout, hw_out
    layers.append(Layer("fc", 512, classes, 1))
    return layers


NETWORKS = {"vgg8": vgg8_layers, "resnet18": resnet18_cifar_layers}


@dataclass(frozen=True)
class MappingSpec(Spec):
    """How weights and inputs are mapped onto sub-arrays and converted."""

    subarray_rows: int = param(128, "rows per sub-array (partial-sum length)")
    weight_bits: int = param(8, "weight precision")
    cell_bits: int = param(8, "bits stored per memristor (weight slices = ceil(weight_bits / cell_bits))")
    input_bits: int = param(8, "activation precision")
    bit_serial_inputs: bool = param(False, "inputs applied one bit per read cycle (else one analog read)")
    columns_per_adc: int = param(8, "sub-array columns sharing one ADC through a multiplexer")

    def validate(self) -> None:
        for name in ("subarray_rows", "weight_bits", "cell_bits", "input_bits", "columns_per_adc"):
            check(getattr(self, name) >= 1, name, getattr(self, name), "at least 1")

    @property
    def weight_slices(self) -> int:
        return math.ceil(self.weight_bits / self.cell_bits)

    @property
    def read_cycles(self) -> int:
        return self.input_bits if self.bit_serial_inputs else 1


@dataclass(frozen=True)
class Counts:
    """Per-inference counts of a network under a mapping."""

    macs: int
    cells: int
    subarrays: int
    adcs: int
    conversions: int
    array_reads: int  # MAC-operations the arrays perform (macs x read cycles x slices)


def count(layers: list[Layer], mapping: MappingSpec) -> Counts:
    macs = cells = subarrays = adcs = conversions = array_reads = 0
    s = mapping.weight_slices
    for layer in layers:
        tiles = math.ceil(layer.rows / mapping.subarray_rows)
        cols = layer.cols * s  # one differential pair per weight slice; one ADC input per pair
        macs += layer.macs
        cells += 2 * layer.rows * cols  # differential pair
        subarrays += tiles * math.ceil(2 * cols / mapping.subarray_rows)
        adcs += tiles * math.ceil(cols / mapping.columns_per_adc)
        conversions += tiles * cols * layer.positions * mapping.read_cycles
        array_reads += layer.macs * s * mapping.read_cycles
    return Counts(macs, cells, subarrays, adcs, conversions, array_reads)
