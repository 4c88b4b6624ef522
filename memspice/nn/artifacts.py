"""The SPICE artifacts that the accuracy flow consumes (produced by ``memspice characterize``).

The file formats are owned by :mod:`memspice.artifacts` (versioned dataclasses shared with the
writers); this module turns them into what the network applies.

``adc.json``: a characterized Q-cell ADC::

    {"bits": 4, "input_range_V": [0.70, 1.20],
     "targets_V": [...2^n - 1 programmed internal boundaries, ascending...],
     "measured_V": [...nominal SPICE-measured boundaries...],
     "mc_measured_V": [[...one row per Monte Carlo sample...], ...],   (may be empty)
     "mc_programming": "closed",        (how the mc_measured_V chips were programmed)
     "mc": {"closed": {"measured_V": rows, "errors_V": rows, "errors_lsb": rows, ...},
            "open": {...}},             (every programming mode run: closed loop and its open-loop reference)
     "source": "...", "format_version": 1}

It is applied to a layer as relative boundary errors: ``e_i = (measured_i - target_i) / (V_max - V_min)``
(nominal, and the same per Monte Carlo sample); the layer's Lloyd-Max boundaries ``b_i`` (in
partial-sum units) become ``b_i + e_i * (b_L - b_0)``. This assumes the ADC's input range is mapped
linearly onto the layer's boundary range (the column voltage is a linear function of the partial
sum over the converter's window).

``column_model.json``: ``{"rows": 128, "coefficients": [c0, c1, c2, c3], "noise_sigma": s,
"sigma_g_rel": r}`` (``sigma_g_rel`` optional, 0 by default); see :class:`memspice.nn.column.ColumnModel`.
Or a nodal column (``{"kind": "nodal", "rows", "g_min_S", "g_max_S", "r_row_ohm", "r_col_ohm",
"r_driver_ohm", "sigma_g_rel", "noise_sigma", "source"}``, :class:`memspice.artifacts.NodalColumnArtifact`):
the network computes every column's IR drop from it (:class:`memspice.nn.column.NodalColumn`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from memspice.artifacts import AdcArtifact, ColumnModelArtifact, NodalColumnArtifact, PsumVoltMap, read_column_artifact
from memspice.errors import InputError
from memspice.nn.column import ColumnModel, NodalColumn
from memspice.nn.quantizers import AdcFit


@dataclass(frozen=True)
class SpiceAdc:
    """A SPICE-characterized ADC: its relative boundary errors, nominal and per Monte Carlo sample."""

    bits: int
    input_range_V: tuple[float, float]
    targets_V: np.ndarray
    measured_V: np.ndarray
    mc_measured_V: np.ndarray  # (samples, 2^n - 1), possibly (0, 2^n - 1)
    source: str
    path: Path
    programming: str = ""  # how the mc_measured_V chips were programmed: closed, open ("" in older artifacts)
    mc_modes: tuple[tuple[str, np.ndarray], ...] = ()  # every mode the artifact holds: (programming, rows)

    def by_programming(self) -> list[tuple[str, SpiceAdc]]:
        """One view per programming mode the artifact holds, closed loop first (the default row);
        an artifact without modes is one view labelled with its own ``programming``."""
        if not self.mc_modes:
            return [(self.programming, self)]
        order = sorted(self.mc_modes, key=lambda m: (m[0] != "closed", m[0]))
        return [(mode, replace(self, mc_measured_V=rows, programming=mode, mc_modes=())) for mode, rows in order]

    @property
    def span_V(self) -> float:
        return self.input_range_V[1] - self.input_range_V[0]

    @property
    def nominal_errors(self) -> np.ndarray:
        """Relative boundary errors of the nominal SPICE run (fractions of the input range)."""
        return (self.measured_V - self.targets_V) / self.span_V

    @property
    def mc_errors(self) -> np.ndarray:
        """``(samples, 2^n - 1)`` relative errors, one row per Monte Carlo sample."""
        return (self.mc_measured_V - self.targets_V[None, :]) / self.span_V

    def trial_errors(self) -> np.ndarray:
        """The errors evaluated as trials: the Monte Carlo samples, or the nominal run alone."""
        if len(self.mc_measured_V):
            return self.mc_errors
        return self.nominal_errors[None, :]

    def apply(self, fit: AdcFit, errors: np.ndarray) -> AdcFit:
        """``fit`` with its internal boundaries moved by ``errors`` (relative) times its boundary range."""
        if fit.bits != self.bits:
            raise InputError(f"{self.path}: a {self.bits}-bit SPICE ADC cannot be applied to a {fit.bits}-bit "
                             f"layer converter (bits must match: artifact {self.bits}, converter {fit.bits})")
        volts = PsumVoltMap(fit.lo, fit.hi, *self.input_range_V)
        return fit.with_boundaries(fit.boundaries + volts.psum_shift(errors))


def load_spice_adc(path: str | Path) -> SpiceAdc:
    """Read and check an ``adc.json`` artifact (:class:`memspice.artifacts.AdcArtifact`)."""
    path = Path(path)
    art = AdcArtifact.read(path)
    return SpiceAdc(art.bits, art.input_range_V, art.targets_V, art.measured_V, art.mc_measured_V, art.source, path,
                    art.mc_programming or "", art.mode_rows())


def load_column_model(path: str | Path) -> ColumnModel | NodalColumn:
    """Read and check a column-model file of either kind (:func:`memspice.artifacts.read_column_artifact`):
    the polynomial ``column_model.json`` or a nodal column (``"kind": "nodal"``)."""
    art = read_column_artifact(path)
    return nodal_column(art) if isinstance(art, NodalColumnArtifact) else column_model(art)


def column_model(art: ColumnModelArtifact) -> ColumnModel:
    """The network's :class:`~memspice.nn.column.ColumnModel` of a polynomial column-model artifact."""
    return ColumnModel(art.rows, art.coefficients, art.noise_sigma, art.source, art.sigma_g_rel)


def nodal_column(art: NodalColumnArtifact) -> NodalColumn:
    """The network's :class:`~memspice.nn.column.NodalColumn` of a nodal column artifact."""
    return NodalColumn(art.rows, art.g_min_S, art.g_max_S, art.r_row_ohm, art.r_col_ohm, art.r_driver_ohm,
                       art.sigma_g_rel, art.noise_sigma, art.source)


def nodal_artifact(column: NodalColumn) -> NodalColumnArtifact:
    """The artifact of ``column`` (what :func:`load_column_model` reads back)."""
    return NodalColumnArtifact(column.rows, column.g_min_s, column.g_max_s, column.r_row_ohm, column.r_col_ohm,
                               column.r_driver_ohm, column.sigma_g_rel, column.noise_sigma, column.source)
