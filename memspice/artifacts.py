"""File formats that cross stages, one owner each, used by the writer and every reader.

- ``adc.json`` (:class:`AdcArtifact`): a characterized Q-cell ADC, written by
  ``characterize adc`` (:func:`memspice.characterize.adc.adc_artifact`), read by the network side
  (:func:`memspice.nn.artifacts.load_spice_adc`) and the study.
- a crossbar column model (:class:`ColumnModelArtifact`): ``column_model.json`` and every point of
  ``column_grid.json``, written by ``characterize crossbar``, read by
  :func:`memspice.nn.artifacts.load_column_model` and the study's column grid; or the nodal
  column (:class:`NodalColumnArtifact`, ``"kind": "nodal"``): the column's conductance window and
  wires, from which the network computes every column's IR drop (written by the study's evaluate
  stage beside the accuracy_column table, read by the same loader).
- the partial-sum <-> volt mapping of a converter's input range (:class:`PsumVoltMap`): the study's
  calibrate stage maps a layer's Lloyd-Max boundaries to volts with it, and the evaluate stage maps
  the SPICE boundary errors (volts) back onto each layer's boundaries (partial sums) with it.

Each is a dataclass with ``to_json()`` (a JSON-able dict carrying ``format_version``) and
``from_json(data, source)``, which checks every field and raises a one-line
:class:`~memspice.errors.DataError` naming the source. A file without ``format_version`` was written
before versions were recorded and is read as version 1 (the same fields), so cached runs still load.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from memspice.errors import DataError

ADC_FORMAT_VERSION = 1
COLUMN_MODEL_FORMAT_VERSION = 1
NODAL_COLUMN_FORMAT_VERSION = 1
PSUM_VOLT_MAP_FORMAT_VERSION = 1


def read_json_object(path: str | Path, what: str) -> dict:
    """A JSON object from a file; a missing, unreadable or non-object file is a one-line DataError."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{what} {path}: file not found") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{what} {path}: not readable JSON ({err})") from None
    if not isinstance(data, dict):
        raise DataError(f"{what} {path}: expected a JSON object")
    return data


def _version(data: Mapping, source: str, current: int) -> int:
    version = data.get("format_version", 1)  # no version: written before versions were recorded
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= current:
        raise DataError(f"{source}: format_version must be an integer from 1 to {current} (this memspice reads "
                        f"up to {current}); got {version!r}")
    return version


def _check_keys(data: Mapping, known: set[str], source: str) -> None:
    unknown = sorted(set(data) - known - {"format_version"})
    if unknown:
        raise DataError(f"{source}: unknown keys {unknown}; expected {sorted(known)}")


def number_list(data: Mapping, key: str, source: str, length: int | None = None) -> np.ndarray:
    """``data[key]`` as a float64 array: a list of finite numbers (of ``length`` values if given)."""
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise DataError(f"{source}: {key} must be a list of numbers; got {value!r:.80}")
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise DataError(f"{source}: {key} holds non-finite values")
    if length is not None and arr.size != length:
        raise DataError(f"{source}: {key} must hold {length} values; got {arr.size}")
    return arr


def _rows(raw: Any, key: str, source: str, n: int) -> np.ndarray:
    if not isinstance(raw, list):
        raise DataError(f"{source}: {key} must be a list of rows")
    rows = [number_list({"row": row}, "row", source, n) for row in raw]
    return np.stack(rows) if rows else np.zeros((0, n))


def _nonnegative(data: Mapping, key: str, source: str) -> float:
    value = data.get(key, 0.0)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise DataError(f"{source}: {key} must be a number >= 0; got {value!r}")
    return float(value)


# -- adc.json -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AdcArtifact:
    """``adc.json``: a characterized Q-cell ADC (volts throughout).

    ``mc_measured_V`` holds the Monte Carlo rows of the default programming mode (``mc_programming``);
    ``mc`` holds, per mode run (``closed``, ``open``), a block with each sample's measured boundaries
    (``measured_V``) and, as written by ``characterize adc``, their errors in volts and LSB, the sample
    indices and the convergence of closed-loop samples.
    """

    bits: int
    input_range_V: tuple[float, float]  # the converter's input window [low, high] (V)
    targets_V: np.ndarray  # the 2^n - 1 programmed internal boundaries, ascending (V)
    measured_V: np.ndarray  # the nominal SPICE-measured boundaries (V)
    mc_measured_V: np.ndarray  # (samples, 2^n - 1), possibly (0, 2^n - 1) (V)
    source: str = ""
    mc_programming: str | None = None  # how the mc_measured_V chips were programmed: closed, open
    mc: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    format_version: int = ADC_FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": ADC_FORMAT_VERSION,
            "mc_programming": self.mc_programming,
            "mc": {mode: dict(block) for mode, block in self.mc.items()},
            "bits": self.bits,
            "input_range_V": [float(v) for v in self.input_range_V],
            "targets_V": np.asarray(self.targets_V, dtype=float).tolist(),
            "measured_V": np.asarray(self.measured_V, dtype=float).tolist(),
            "mc_measured_V": np.asarray(self.mc_measured_V, dtype=float).tolist(),
            "source": self.source,
        }

    def mode_rows(self) -> tuple[tuple[str, np.ndarray], ...]:
        """``(programming mode, measured_V rows)`` of every mode block."""
        n = 2**self.bits - 1
        return tuple((str(mode), _rows(block.get("measured_V"), f"mc.{mode}.measured_V", "adc.json", n))
                     for mode, block in self.mc.items())

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "adc.json") -> AdcArtifact:
        version = _version(data, source, ADC_FORMAT_VERSION)
        _check_keys(data, {"bits", "input_range_V", "targets_V", "measured_V", "mc_measured_V", "source", "mc",
                           "mc_programming"}, source)
        bits = data.get("bits")
        if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= 12:
            raise DataError(f"{source}: bits must be an integer from 1 to 12; got {bits!r}")
        n = 2**bits - 1
        rng = number_list(data, "input_range_V", source, 2)
        if not rng[1] > rng[0]:
            raise DataError(f"{source}: input_range_V must be [low, high] with high > low; got {rng.tolist()}")
        targets = number_list(data, "targets_V", source, n)
        if np.any(np.diff(targets) <= 0):
            raise DataError(f"{source}: targets_V must be strictly ascending")
        measured = number_list(data, "measured_V", source, n)
        mc_rows = _rows(data.get("mc_measured_V", []), "mc_measured_V", source, n)
        blocks = data.get("mc") or {}
        if not isinstance(blocks, dict):
            raise DataError(f"{source}: mc must be an object {{programming mode: {{measured_V: rows, ...}}}}")
        for mode, block in blocks.items():
            raw = block.get("measured_V") if isinstance(block, dict) else None
            if not isinstance(raw, list):
                raise DataError(f"{source}: mc.{mode}.measured_V must be a list of rows")
            _rows(raw, f"mc.{mode}.measured_V", source, n)
        return cls(bits=bits, input_range_V=(float(rng[0]), float(rng[1])), targets_V=targets, measured_V=measured,
                   mc_measured_V=mc_rows, source=str(data.get("source", "")),
                   mc_programming=data.get("mc_programming") or None, mc=dict(blocks), format_version=version)

    @classmethod
    def read(cls, path: str | Path) -> AdcArtifact:
        return cls.from_json(read_json_object(path, "SPICE ADC artifact"), str(path))


# -- column model ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ColumnModelArtifact:
    """A crossbar column's behavioural model on normalised partial sums (see
    :class:`memspice.nn.cim.ColumnModel` for what the network does with it)."""

    rows: int  # rows of the characterized column
    coefficients: tuple[float, ...]  # s_out = sum_k c_k s_in^k, ascending powers
    noise_sigma: float = 0.0  # constant random part (fraction of full scale)
    sigma_g_rel: float = 0.0  # cells' random spread over the window, wire attenuation included
    source: str = ""
    format_version: int = COLUMN_MODEL_FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        return {"format_version": COLUMN_MODEL_FORMAT_VERSION, "rows": self.rows,
                "coefficients": [float(c) for c in self.coefficients], "noise_sigma": self.noise_sigma,
                "sigma_g_rel": self.sigma_g_rel, "source": self.source}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "column model") -> ColumnModelArtifact:
        if not isinstance(data, Mapping):
            raise DataError(f"{source}: expected a JSON object")
        version = _version(data, source, COLUMN_MODEL_FORMAT_VERSION)
        _check_keys(data, {"kind", "rows", "coefficients", "noise_sigma", "sigma_g_rel", "source"}, source)
        if data.get("kind", "polynomial") != "polynomial":
            raise DataError(f"{source}: kind must be 'polynomial' or 'nodal'; got {data.get('kind')!r}")
        rows = data.get("rows")
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
            raise DataError(f"{source}: rows must be a positive integer; got {rows!r}")
        coeffs = number_list(data, "coefficients", source)
        if coeffs.size == 0:
            raise DataError(f"{source}: coefficients must hold at least one value")
        return cls(rows=rows, coefficients=tuple(float(c) for c in coeffs),
                   noise_sigma=_nonnegative(data, "noise_sigma", source),
                   sigma_g_rel=_nonnegative(data, "sigma_g_rel", source), source=str(data.get("source", "")),
                   format_version=version)

    @classmethod
    def read(cls, path: str | Path) -> ColumnModelArtifact:
        return cls.from_json(read_json_object(path, "column model"), str(path))


@dataclass(frozen=True)
class NodalColumnArtifact:
    """A crossbar column as its linear resistive network (see :class:`memspice.nn.column.NodalColumn`):
    ``{"kind": "nodal", "rows", "g_min_S", "g_max_S", "r_row_ohm", "r_col_ohm", "r_driver_ohm",
    "sigma_g_rel", "noise_sigma", "source", "format_version"}``."""

    rows: int
    g_min_S: float
    g_max_S: float
    r_row_ohm: float
    r_col_ohm: float
    r_driver_ohm: float = 0.0
    sigma_g_rel: float = 0.0
    noise_sigma: float = 0.0
    source: str = ""
    format_version: int = NODAL_COLUMN_FORMAT_VERSION

    FIELDS = ("g_min_S", "g_max_S", "r_row_ohm", "r_col_ohm", "r_driver_ohm", "sigma_g_rel", "noise_sigma")

    def to_json(self) -> dict[str, Any]:
        return {"format_version": NODAL_COLUMN_FORMAT_VERSION, "kind": "nodal", "rows": self.rows,
                **{k: float(getattr(self, k)) for k in self.FIELDS}, "source": self.source}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "nodal column") -> NodalColumnArtifact:
        if not isinstance(data, Mapping):
            raise DataError(f"{source}: expected a JSON object")
        if data.get("kind") != "nodal":
            raise DataError(f"{source}: kind must be 'nodal'; got {data.get('kind')!r}")
        version = _version(data, source, NODAL_COLUMN_FORMAT_VERSION)
        _check_keys(data, {"kind", "rows", "source", *cls.FIELDS}, source)
        rows = data.get("rows")
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
            raise DataError(f"{source}: rows must be a positive integer; got {rows!r}")
        missing = [k for k in cls.FIELDS[:4] if k not in data]
        if missing:
            raise DataError(f"{source}: missing keys {missing}")
        vals = {k: _nonnegative(data, k, source) for k in cls.FIELDS}
        if not vals["g_max_S"] > vals["g_min_S"]:
            raise DataError(f"{source}: g_max_S must be above g_min_S; got {vals['g_max_S']!r} <= {vals['g_min_S']!r}")
        return cls(rows=rows, **vals, source=str(data.get("source", "")), format_version=version)


def read_column_artifact(path: str | Path) -> ColumnModelArtifact | NodalColumnArtifact:
    """A column-model file of either kind: ``"kind": "nodal"`` or the polynomial (``kind`` absent or
    ``"polynomial"``)."""
    data = read_json_object(path, "column model")
    if data.get("kind") == "nodal":
        return NodalColumnArtifact.from_json(data, str(path))
    return ColumnModelArtifact.from_json(data, str(path))


# -- partial sums <-> volts -------------------------------------------------------------------------

@dataclass(frozen=True)
class PsumVoltMap:
    """The linear map of a layer's boundary range ``[psum_lo, psum_hi]`` (partial-sum units) onto a
    converter's input range ``[v_lo, v_hi]`` (V): ``v = v_lo + (b - psum_lo) / (psum_hi - psum_lo) (v_hi - v_lo)``.
    It assumes the column voltage is a linear function of the partial sum over the converter's window."""

    psum_lo: float
    psum_hi: float
    v_lo: float
    v_hi: float
    format_version: int = PSUM_VOLT_MAP_FORMAT_VERSION

    def fraction(self, psum) -> np.ndarray:
        """Where ``psum`` lies in the boundary range (0 at psum_lo, 1 at psum_hi)."""
        return (np.asarray(psum) - self.psum_lo) / (self.psum_hi - self.psum_lo)

    def to_volts(self, psum) -> np.ndarray:
        return self.v_lo + self.fraction(psum) * (self.v_hi - self.v_lo)

    def psum_shift(self, relative_error) -> np.ndarray:
        """The partial-sum shift of a boundary whose volt error is ``relative_error`` of the input range."""
        return np.asarray(relative_error) * float(self.psum_hi - self.psum_lo)

    def to_json(self) -> dict[str, Any]:
        return {"format_version": PSUM_VOLT_MAP_FORMAT_VERSION, "psum_lo": float(self.psum_lo),
                "psum_hi": float(self.psum_hi), "v_lo_V": float(self.v_lo), "v_hi_V": float(self.v_hi)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "psum-volt map") -> PsumVoltMap:
        version = _version(data, source, PSUM_VOLT_MAP_FORMAT_VERSION)
        _check_keys(data, {"psum_lo", "psum_hi", "v_lo_V", "v_hi_V"}, source)
        values = []
        for key in ("psum_lo", "psum_hi", "v_lo_V", "v_hi_V"):
            v = data.get(key)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise DataError(f"{source}: {key} must be a finite number; got {v!r}")
            values.append(float(v))
        if not (values[1] > values[0] and values[3] > values[2]):
            raise DataError(f"{source}: needs psum_hi > psum_lo and v_hi_V > v_lo_V; got {values}")
        return cls(*values, format_version=version)
