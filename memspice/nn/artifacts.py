"""The SPICE artifacts that the accuracy flow consumes (produced by ``memspice characterize``).

``adc.json``: a characterized Q-cell ADC::

    {"bits": 4, "input_range_V": [0.70, 1.20],
     "targets_V": [...2^n - 1 programmed internal boundaries, ascending...],
     "measured_V": [...nominal SPICE-measured boundaries...],
     "mc_measured_V": [[...one row per Monte Carlo sample...], ...],   (may be empty)
     "mc_programming": "closed",        (how the mc_measured_V chips were programmed)
     "mc": {"closed": {"measured_V": rows, "errors_V": rows, "errors_lsb": rows, ...},
            "open": {...}},             (every programming mode run: closed loop and its open-loop reference)
     "source": "..."}

It is applied to a layer as relative boundary errors: ``e_i = (measured_i - target_i) / (V_max - V_min)``
(nominal, and the same per Monte Carlo sample); the layer's Lloyd-Max boundaries ``b_i`` (in
partial-sum units) become ``b_i + e_i * (b_L - b_0)``. This assumes the ADC's input range is mapped
linearly onto the layer's boundary range (the column voltage is a linear function of the partial
sum over the converter's window).

``column_model.json``: ``{"rows": 128, "coefficients": [c0, c1, c2, c3], "noise_sigma": s,
"sigma_g_rel": r}`` (``sigma_g_rel`` optional, 0 by default); see :class:`memspice.nn.cim.ColumnModel`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from memspice.errors import DataError, InputError
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
        return fit.with_boundaries(fit.boundaries + np.asarray(errors) * fit.range)


def _number_list(data: dict, key: str, path: Path, length: int | None = None) -> np.ndarray:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise DataError(f"{path}: {key} must be a list of numbers; got {value!r:.80}")
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise DataError(f"{path}: {key} holds non-finite values")
    if length is not None and arr.size != length:
        raise DataError(f"{path}: {key} must hold {length} values; got {arr.size}")
    return arr


def _read_json(path: str | Path, what: str) -> tuple[dict, Path]:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{what} {path}: file not found") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{what} {path}: not readable JSON ({err})") from None
    if not isinstance(data, dict):
        raise DataError(f"{what} {path}: expected a JSON object")
    return data, path


def load_spice_adc(path: str | Path) -> SpiceAdc:
    """Read and check an ``adc.json`` artifact."""
    data, path = _read_json(path, "SPICE ADC artifact")
    known = {"bits", "input_range_V", "targets_V", "measured_V", "mc_measured_V", "source", "mc", "mc_programming"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise DataError(f"{path}: unknown keys {unknown}; expected {sorted(known)}")
    bits = data.get("bits")
    if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= 12:
        raise DataError(f"{path}: bits must be an integer from 1 to 12; got {bits!r}")
    n = 2**bits - 1
    rng = _number_list(data, "input_range_V", path, 2)
    if not rng[1] > rng[0]:
        raise DataError(f"{path}: input_range_V must be [low, high] with high > low; got {rng.tolist()}")
    targets = _number_list(data, "targets_V", path, n)
    if np.any(np.diff(targets) <= 0):
        raise DataError(f"{path}: targets_V must be strictly ascending")
    measured = _number_list(data, "measured_V", path, n)
    mc_raw = data.get("mc_measured_V", [])
    if not isinstance(mc_raw, list):
        raise DataError(f"{path}: mc_measured_V must be a list of rows")
    rows = [_number_list({"row": row}, "row", path, n) for row in mc_raw]
    mc = np.stack(rows) if rows else np.zeros((0, n))
    source = data.get("source", "")
    modes = []
    blocks = data.get("mc") or {}
    if not isinstance(blocks, dict):
        raise DataError(f"{path}: mc must be an object {{programming mode: {{measured_V: rows, ...}}}}")
    for mode, block in blocks.items():
        raw = block.get("measured_V") if isinstance(block, dict) else None
        if not isinstance(raw, list):
            raise DataError(f"{path}: mc.{mode}.measured_V must be a list of rows")
        mrows = [_number_list({"row": row}, "row", path, n) for row in raw]
        modes.append((str(mode), np.stack(mrows) if mrows else np.zeros((0, n))))
    programming = data.get("mc_programming") or ""
    return SpiceAdc(bits, (float(rng[0]), float(rng[1])), targets, measured, mc, str(source), path,
                    str(programming), tuple(modes))


def load_column_model(path: str | Path):
    """Read and check a ``column_model.json`` artifact."""
    from memspice.nn.cim import ColumnModel

    data, path = _read_json(path, "column model")
    known = {"rows", "coefficients", "noise_sigma", "sigma_g_rel", "source"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise DataError(f"{path}: unknown keys {unknown}; expected {sorted(known)}")
    rows = data.get("rows")
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
        raise DataError(f"{path}: rows must be a positive integer; got {rows!r}")
    coeffs = _number_list(data, "coefficients", path)
    if coeffs.size == 0:
        raise DataError(f"{path}: coefficients must hold at least one value")
    noise = data.get("noise_sigma", 0.0)
    if not isinstance(noise, (int, float)) or isinstance(noise, bool) or not math.isfinite(noise) or noise < 0:
        raise DataError(f"{path}: noise_sigma must be a number >= 0; got {noise!r}")
    spread = data.get("sigma_g_rel", 0.0)
    if not isinstance(spread, (int, float)) or isinstance(spread, bool) or not math.isfinite(spread) or spread < 0:
        raise DataError(f"{path}: sigma_g_rel must be a number >= 0; got {spread!r}")
    return ColumnModel(rows, tuple(float(c) for c in coeffs), float(noise), str(data.get("source", "")),
                       float(spread))
