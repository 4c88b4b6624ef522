"""Energy and area of ADCs and of a whole CIM inference (pure arithmetic).

Baseline ADC: NeuroSim's SAR model (DOMAIN.md 1.3) with L = 2^bits levels:
latency (log2 L + 1) ns; energy P_col (log2 L + 1) x 1 ns with
P_col = (0.3132 log2 L + 2.5681) uW + 0.061085 / R_col W; area
A_nmin (269 + (log2 L - 1) 109) + A_pmin (209 + (log2 L - 1) 73).

The free constants (R_col, A_nmin, A_pmin) are not in the paper. Their defaults reproduce the SAR
cost the paper's VGG8 study implies (about 170 fJ and 108 um^2 per 5-bit conversion), which makes
the roll-up comparable with its ADC shares; every constant below is a field with its source.

The non-ADC parts per conversion (shift-add, buffers and interconnect) and per ADC (their area)
come from NeuroSim's 14 nm VGG8 estimate as tabulated in the first author's QIM repository
(system_costs.csv: per image, SAR configuration) divided by the conversions and ADC instances that
the SAR ADC energy and area imply (9.736 uJ / 170 fJ = 57.3 M conversions; 8.488 mm^2 / 108 um^2 =
78.6 k ADCs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from memspice.spec.base import Spec, check, check_positive, param
from memspice.system.workload import Counts


@dataclass(frozen=True)
class SarAdcModel(Spec):
    """NeuroSim's SAR ADC model."""

    r_col_ohm: float = param(2524.0, "column resistance seen by the ADC (calibrated: 170 fJ at 5 bits)", "ohm")
    a_nmin_um2: float = param(0.06327, "area of a minimum NMOS (calibrated: 108 um^2 at 5 bits)", "um^2")
    a_pmin_um2: float = param(0.12654, "area of a minimum PMOS (twice the NMOS, NeuroSim's ratio)", "um^2")

    def validate(self) -> None:
        for name in ("r_col_ohm", "a_nmin_um2", "a_pmin_um2"):
            check_positive(name, getattr(self, name))

    def delay_s(self, bits: int) -> float:
        return (bits + 1) * 1e-9

    def energy_J(self, bits: int) -> float:
        p_col = (0.3132 * bits + 2.5681) * 1e-6 + 0.061085 / self.r_col_ohm
        return p_col * (bits + 1) * 1e-9

    def area_um2(self, bits: int) -> float:
        return self.a_nmin_um2 * (269 + (bits - 1) * 109) + self.a_pmin_um2 * (209 + (bits - 1) * 73)


@dataclass(frozen=True)
class AdcCost:
    """One ADC design point."""

    name: str
    bits: int
    energy_J: float
    area_um2: float
    delay_s: float
    enob: float

    @property
    def walden_fom_J(self) -> float:
        """Walden figure of merit E / 2^ENOB (J per conversion step)."""
        return self.energy_J / 2.0**self.enob


def enob_from_boundaries(boundaries, lo: float, hi: float, bits: int) -> float:
    """Effective bits of a quantizer with the given internal boundaries over [lo, hi].

    The input is uniform over the range and each code reconstructs to its ideal mid-level; the
    RMS error e gives SQNR = FS / (sqrt(12) e) and ENOB = log2 of that (= bits for an ideal
    quantizer, whose e is LSB / sqrt(12)).
    """
    b = np.asarray(boundaries, dtype=float)
    n = 2**bits
    check(b.size == n - 1, "boundaries", b.size, f"{n - 1} internal boundaries for {bits} bits")
    lsb = (hi - lo) / n
    x = np.linspace(lo, hi, 200001)
    code = np.searchsorted(b, x, side="right")
    recon = lo + (code + 0.5) * lsb
    e = np.sqrt(np.mean((x - recon) ** 2))
    return float(math.log2((hi - lo) / (math.sqrt(12.0) * e)))


@dataclass(frozen=True)
class PeripherySpec(Spec):
    """Everything but the arrays and ADCs, per conversion and per ADC; and the array's own unit costs."""

    shift_add_J_per_conversion: float = param(9.23e-15, "shift-add/accumulate energy per partial sum "
                                              "(NeuroSim VGG8 adder energy / 57.3 M conversions)", "J")
    other_J_per_conversion: float = param(17.96e-15, "buffers, interconnect, activation per partial sum "
                                          "(NeuroSim VGG8 'other' / 57.3 M conversions)", "J")
    adder_um2_per_adc: float = param(67.7, "shift-add area per ADC (NeuroSim VGG8 adder area / 78.6 k ADCs)",
                                     "um^2")
    other_um2_per_adc: float = param(46.6, "other periphery area per ADC (NeuroSim VGG8 / 78.6 k ADCs)", "um^2")
    cell_um2: float = param(0.01455, "1T1R cell area (NeuroSim VGG8 array area / its 25.9 M differential cells)",
                            "um^2")
    array_J_per_mac: float = param(1.48e-15, "array read energy per MAC when no crossbar characterization is "
                                   "given (NeuroSim VGG8 array energy / 616 M MACs)", "J")

    def validate(self) -> None:
        for name in self.field_docs():
            check(getattr(self, name) >= 0, name, getattr(self, name), "a value >= 0")


def system_breakdown(counts: Counts, adc: AdcCost, periphery: PeripherySpec,
                     array_J_per_mac: float | None = None) -> dict[str, Any]:
    """Energy (J per inference) and area (um^2) by component, with shares in percent."""
    e_mac = periphery.array_J_per_mac if array_J_per_mac is None else array_J_per_mac
    energy = {
        "ADC": counts.conversions * adc.energy_J,
        "Array": counts.array_reads * e_mac,
        "Adder": counts.conversions * periphery.shift_add_J_per_conversion,
        "Other": counts.conversions * periphery.other_J_per_conversion,
    }
    area = {
        "ADC": counts.adcs * adc.area_um2,
        "Array": counts.cells * periphery.cell_um2,
        "Adder": counts.adcs * periphery.adder_um2_per_adc,
        "Other": counts.adcs * periphery.other_um2_per_adc,
    }
    e_total = sum(energy.values())
    a_total = sum(area.values())
    return {
        "adc": adc.name,
        "bits": adc.bits,
        "energy_J": energy,
        "area_um2": area,
        "energy_total_J": e_total,
        "area_total_um2": a_total,
        "energy_share_percent": {k: 100 * v / e_total for k, v in energy.items()},
        "area_share_percent": {k: 100 * v / a_total for k, v in area.items()},
        "latency_adc_s": counts.conversions * adc.delay_s / max(counts.adcs, 1),
    }
