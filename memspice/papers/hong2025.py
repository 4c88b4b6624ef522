"""The published source data of Hong et al., Nature Communications 2025, as typed arrays.

The CSV files in ``hong2025/`` beside this module are the authors' spreadsheets (GitHub
MIKEHHQ/ReADC, folder Data/, MIT licence) converted sheet by sheet, unchanged otherwise; the README
there says what each holds. Each loader returns plain numpy arrays in SI units (volts, amperes,
siemens, joules, square metres) or, for accuracies and LSB figures, the paper's own units (percent,
LSB); the unit is in every name.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from memspice.errors import DataError

PAPERS = ("hong2025",)
DOI = {"hong2025": "10.1038/s41467-025-65233-w"}


def paper_data_dir(paper: str = "hong2025") -> Path:
    """Folder of a paper's source data shipped with memspice."""
    if paper not in PAPERS:
        raise DataError(f"paper {paper!r}: unknown, expected one of {', '.join(PAPERS)}")
    path = Path(__file__).resolve().parent / paper
    if not path.is_dir():  # pragma: no cover - a broken install
        raise DataError(f"source data of {paper} not found at {path}; reinstall memspice")
    return path


def _rows(name: str) -> list[list[str]]:
    path = paper_data_dir() / name
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return [row for row in csv.reader(fh)]
    except (OSError, UnicodeDecodeError) as err:  # pragma: no cover - a broken install
        raise DataError(f"paper data {path}: {err}") from None


def _columns(name: str) -> dict[str, np.ndarray]:
    rows = _rows(name)
    header, body = rows[0], rows[1:]
    return {h: np.array([float(r[j]) if r[j] != "" else np.nan for r in body]) for j, h in enumerate(header)}


@dataclass(frozen=True)
class CellSweep:
    """Fig. 2b: one Q-cell swept over its input; node A, node B after its inverter, output (V)."""

    input_v: np.ndarray
    node_a_v: np.ndarray
    node_b_inv_v: np.ndarray
    out_v: np.ndarray


@cache
def fig2b() -> CellSweep:
    c = _columns("fig2b.csv")
    return CellSweep(c["Input"], c["A"], c["B"], c["Output"])


def fig3b_path() -> Path:
    """Fig. 3b I-V sweeps (read with :func:`memspice.fit.iv.load_iv_data`)."""
    return paper_data_dir() / "fig3b.csv"


@cache
def fig3c() -> dict[float, np.ndarray]:
    """Fig. 3c: programmed conductances (S) of 64 devices per target conductance (S)."""
    c = _columns("fig3c_conductance_value.csv")
    return {float(k.split("_")[1].removesuffix("uS")) / 1e6: v * 1e-6 for k, v in c.items()}


@cache
def fig3c_sigma() -> dict[float, float]:
    """Fig. 3c: standard deviation (S) of the programmed conductances per target (S), as published."""
    c = _columns("fig3c_variation.csv")
    return {float(t) / 1e6: float(s) * 1e-6 for t, s in zip(c["Target_uS"], c["Std_Variation_uS"], strict=True)}


@cache
def fig3d() -> dict[float, np.ndarray]:
    """Fig. 3d: 1000 reads (S) of one device per target (S)."""
    c = _columns("fig3d.csv")
    out = {}
    for t in np.unique(c["Target_Value_uS"]):
        out[float(t) / 1e6] = c["Measured_Conductance_uS"][c["Target_Value_uS"] == t] * 1e-6
    return out


@cache
def fig4ab() -> tuple[np.ndarray, np.ndarray]:
    """Fig. 4a/b: INL and DNL (LSB) per code of ten 4-bit ADC samples, shape (samples, codes)."""
    inl = _columns("fig4a_INL_Data.csv")
    dnl = _columns("fig4b_DNL_Data.csv")
    keys = [k for k in inl if k.startswith("Sample_")]
    return np.stack([inl[k] for k in keys]), np.stack([dnl[k] for k in keys])


@dataclass(frozen=True)
class LinearityCurve:
    """Fig. 4c/d: RMS over samples of max |INL| or |DNL| (LSB) versus variation (% of the window)."""

    variation_pct: np.ndarray
    rms_lsb: dict[int, np.ndarray]  # bits -> RMS per variation


@cache
def fig4cd() -> tuple[LinearityCurve, LinearityCurve]:
    out = []
    for name in ("fig4c_Plotted_INL_Value.csv", "fig4d_Plotted_DNL_Value.csv"):
        c = _columns(name)
        rms = {int(k.split("-")[0]): v for k, v in c.items() if k.endswith("_RMS")}
        out.append(LinearityCurve(c["Variation (%)"], rms))
    return out[0], out[1]


def _accuracy_table(name: str) -> tuple[float, dict[str, dict[int, float]]]:
    """A sheet of baseline accuracy (%) then accuracy (%) per configuration (row) and ADC bits (column)."""
    rows = _rows(name)
    baseline = float(rows[0][1])
    bits = [int(b.split("-")[0]) for b in rows[2][1:]]
    table = {}
    for row in rows[3:]:
        if row and row[0]:
            table[row[0].strip()] = {b: float(v) for b, v in zip(bits, row[1:], strict=True) if v != ""}
    return baseline, table


def _trials(name: str) -> dict[tuple[int, float], np.ndarray]:
    """A sheet of accuracy (%) trials per (bits, variation as a fraction of the boundary range)."""
    c = _columns(name)
    out: dict[tuple[int, float], list[float]] = {}
    for b, v, a in zip(c["ADC Precision"], c["Device Variation"], c["Accuracy"], strict=True):
        out.setdefault((int(b), float(v)), []).append(float(a))
    return {k: np.array(v) for k, v in out.items()}


@cache
def fig5c() -> tuple[float, dict[str, dict[int, float]]]:
    """Fig. 5c: VGG8/CIFAR-10 baseline accuracy (%) and accuracy (%) per ADC and bits."""
    return _accuracy_table("fig5c.csv")


@cache
def fig5d() -> dict[tuple[int, float], np.ndarray]:
    """Fig. 5d: accuracies (%) of the adaptive ADC's trials per (bits, variation as a fraction of range)."""
    return _trials("fig5d.csv")


@cache
def fig5e() -> tuple[float, dict[str, dict[int, float]]]:
    """Fig. 5e: ResNet18/ImageNet baseline accuracy (%) and accuracy (%) per configuration and bits."""
    return _accuracy_table("fig5e.csv")


@cache
def fig5f() -> dict[tuple[int, float], np.ndarray]:
    """Fig. 5f: ResNet18 accuracies (%) with super-resolution per (bits, variation fraction)."""
    return _trials("fig5f.csv")


@dataclass(frozen=True)
class AdcCost:
    """Fig. 6a/b: the proposed ADC's energy per conversion (J), area (m^2) and their splits."""

    energy_J: float
    area_m2: float
    energy_split_J: dict[str, float]
    area_split_m2: dict[str, float]


@cache
def fig6() -> AdcCost:
    a = {r[0]: float(r[1]) for r in _rows("fig6a.csv") if r}
    energy: dict[str, float] = {}
    area: dict[str, float] = {}
    part = energy
    for row in _rows("fig6b.csv")[1:]:  # an energy block (fJ), then a blank row and an area block (um^2)
        if not row or not row[0]:
            part = area if len(row) > 1 and row[1] == "Area" else part
            continue
        part[row[0]] = float(row[1]) * (1e-15 if part is energy else 1e-12)
    return AdcCost(a["Energy"] * 1e-15, a["Area"] * 1e-12, energy, area)
