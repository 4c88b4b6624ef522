"""Fitting memristor model parameters to measured quasi-static I-V sweeps.

A measured sweep is a staircase of applied voltages, each held for ``point_time_s`` (the
instrument's time per point; not in the paper's data, so an assumption the user states) with the
current read at the end of the step. During SET sweeps the instrument limits the current to a
compliance value: the device then sees only the voltage that drives the compliance current
through it, which is what stops the switching (and sets the final conductance per compliance).

The sweeps are simulated with the model's own equations (the numpy reference of
:mod:`memspice.reference.memristor`, integrated with fine fixed sub-steps), and
``scipy.optimize.least_squares`` minimises the relative current error over all points. Each
sweep starts from the state whose conductance matches its first low-field points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memspice.errors import DataError, SpecError
from memspice.reference import memristor as ref
from memspice.spec.device import DeviceCard


@dataclass
class Sweep:
    """One measured curve: applied voltages (V) in sweep order, currents (A, sign of the voltage)."""

    name: str
    v_V: np.ndarray
    i_A: np.ndarray
    compliance_A: float | None = None


def load_iv_data(path: str | Path) -> list[Sweep]:
    """Sweeps from a CSV in either of two layouts.

    - long: columns ``curve, v_V, i_A`` and optionally ``compliance_A`` (empty for none);
    - the wide layout of Hong et al. 2025 Fig. 3b: column pairs ``V_set_<N>uA, I_set_<N>uA`` and
      ``V_reset_<N>uA, I_reset_<N>uA`` with currents in microamperes (reset currents as magnitudes);
      set sweeps carry an N uA compliance.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataError(f"I-V data {path}: file not found")
    try:
        table = pd.read_csv(path)
    except Exception as err:  # pandas raises many kinds
        raise DataError(f"I-V data {path}: not a readable CSV ({err})") from None
    try:
        return _sweeps(table, path)
    except (ValueError, TypeError) as err:  # a column that is not numbers
        raise DataError(f"I-V data {path}: {str(err).splitlines()[0]}") from None


def _sweeps(table, path: Path) -> list[Sweep]:
    cols = set(table.columns)
    sweeps: list[Sweep] = []
    if {"curve", "v_V", "i_A"} <= cols:
        for name, group in table.groupby("curve", sort=False):
            comp = group["compliance_A"].dropna().unique() if "compliance_A" in cols else []
            sweeps.append(Sweep(str(name), group["v_V"].to_numpy(float), group["i_A"].to_numpy(float),
                                float(comp[0]) if len(comp) else None))
    else:
        pairs = sorted(c[2:] for c in cols if c.startswith("V_") and f"I_{c[2:]}" in cols)
        if not pairs:
            raise DataError(f"I-V data {path}: expected columns curve, v_V, i_A (long layout) or "
                            "V_<name>/I_<name> pairs (Hong et al. Fig. 3b layout)")
        for tag in pairs:
            v = table[f"V_{tag}"].to_numpy(float)
            i = table[f"I_{tag}"].to_numpy(float) * 1e-6
            keep = ~(np.isnan(v) | np.isnan(i))
            v, i = v[keep], i[keep]
            i = np.sign(v) * np.abs(i)
            comp = None
            if tag.startswith("set_") and tag.endswith("uA"):
                comp = float(tag[len("set_"):-2]) * 1e-6
            sweeps.append(Sweep(tag, v, i, comp))
    for s in sweeps:
        if len(s.v_V) < 4:
            raise DataError(f"I-V data {path}: curve {s.name} has fewer than 4 points")
        bad = ~(np.isfinite(s.v_V) & np.isfinite(s.i_A))
        if bad.any():
            k = int(np.argmax(bad))
            raise DataError(f"I-V data {path}: curve {s.name}, point {k}: got v={float(s.v_V[k])!r}, "
                            f"i={float(s.i_A[k])!r}; expected finite numbers (no empty cells, NaN or inf)")
        if s.compliance_A is not None and not (math.isfinite(s.compliance_A) and s.compliance_A > 0):
            raise DataError(f"I-V data {path}: curve {s.name}: compliance {s.compliance_A!r}; expected a positive "
                            "finite current in A or an empty cell")
    return sweeps


def initial_state(card: DeviceCard, sweep: Sweep, polarity: float) -> float:
    """State whose conductance matches the sweep's first low-field points (|v| <= read voltage)."""
    v, i = sweep.v_V, sweep.i_A
    low = np.flatnonzero((np.abs(v) > 0) & (np.abs(v) <= max(card.read_v, 2 * np.min(np.abs(v[v != 0])))))
    idx = low[:3] if low.size else np.flatnonzero(v != 0)[:3]
    v_model = polarity * v[idx]
    g = np.mean(np.abs(i[idx] / v[idx]))
    # the model's conductance at this small voltage, relative to its read conductance
    x_guess = np.linspace(0, 1, 2001)
    g_model = np.abs(ref.current(card.model, card.params, np.mean(v_model), x_guess) / np.mean(v_model))
    return float(x_guess[np.argmin(np.abs(g_model - g))])


def simulate_sweeps(card: DeviceCard, sweeps: Sequence[Sweep], point_time_s: float, *,
                    substeps: int = 20) -> list[np.ndarray]:
    """Model currents (A, sign of the applied voltage) at every measured point.

    All sweeps advance together (vectorised); each point is held ``point_time_s`` and integrated
    with ``substeps`` explicit steps, the state clipped to [0, 1].
    """
    polarity = ref.set_polarity(card.model, card.params)
    n = max(len(s.v_V) for s in sweeps)
    v_app = np.zeros((len(sweeps), n))
    for j, s in enumerate(sweeps):
        v_app[j, : len(s.v_V)] = polarity * s.v_V
    comp = np.array([s.compliance_A if s.compliance_A is not None else np.inf for s in sweeps])
    x = np.array([initial_state(card, s, polarity) for s in sweeps])
    currents = np.empty((len(sweeps), n))
    h = point_time_s / substeps
    for k in range(n):
        for _ in range(substeps):
            v_dev = _device_voltage(card, v_app[:, k], x, comp)
            x = np.clip(x + h * ref.dxdt(card.model, card.params, v_dev, x), 0.0, 1.0)
        currents[:, k] = polarity * ref.current(card.model, card.params, _device_voltage(card, v_app[:, k], x, comp), x)
    return [currents[j, : len(s.v_V)] for j, s in enumerate(sweeps)]


def _device_voltage(card: DeviceCard, v_app: np.ndarray, x: np.ndarray, compliance: np.ndarray) -> np.ndarray:
    """Applied voltage, or the lower voltage that drives just the compliance current."""
    i = ref.current(card.model, card.params, v_app, x)
    over = np.abs(i) > compliance
    if not over.any():
        return v_app
    limited = ref.voltage_for_current(card.model, card.params, np.copysign(np.minimum(compliance, 1e3), i), x)
    return np.where(over, limited, v_app)


# parameters fitted by default, per model; positive-magnitude ones are fitted in log space
DEFAULT_FIT = {
    "vteam": ("r_on_ohm", "r_off_ohm", "k_on_m_per_s", "k_off_m_per_s", "alpha_on", "alpha_off", "v_on_v",
              "v_off_v"),
    "yakopcic": ("a1_a", "a2_a", "b_per_v", "v_p_v", "v_n_v", "a_p_per_s", "a_n_per_s", "alpha_p", "alpha_n"),
}


@dataclass
class FitResult:
    card: DeviceCard
    names: tuple[str, ...]
    rms_relative: float
    rms_absolute_A: float
    per_curve_rms_relative: dict[str, float]
    simulated: list[np.ndarray]
    evaluations: int
    point_time_s: float


def _residuals(card, sweeps, point_time_s, floor_a):
    sims = simulate_sweeps(card, sweeps, point_time_s)
    res = [(np.abs(s) - np.abs(m.i_A)) / (np.abs(m.i_A) + floor_a) for s, m in zip(sims, sweeps, strict=True)]
    return np.concatenate(res), sims


def fit_card(start: DeviceCard, sweeps: Sequence[Sweep], *, names: Sequence[str] | None = None,
             point_time_s: float = 1e-3, floor_a: float = 1e-6, max_evaluations: int = 400) -> FitResult:
    """Fit ``names`` (default: :data:`DEFAULT_FIT`) of ``start`` to the sweeps.

    The residual of a point is (|I_model| - |I_measured|) / (|I_measured| + ``floor_a``): relative,
    with a floor so that the few points near 0 V do not dominate.
    """
    from scipy.optimize import least_squares

    names = tuple(names or DEFAULT_FIT[start.model])
    for n in names:
        start.decl.param(n)
    signs = {n: math.copysign(1.0, float(start.params[n])) if float(start.params[n]) != 0 else 1.0 for n in names}

    def to_card(z):
        values = {n: signs[n] * math.exp(zk) for n, zk in zip(names, z, strict=True)}
        return start.with_params(**values)

    z0 = np.array([math.log(abs(float(start.params[n]))) for n in names])
    count = 0

    def fun(z):
        nonlocal count
        count += 1
        try:
            card = to_card(z)
        except (SpecError, ValueError):
            return np.full(sum(len(s.v_V) for s in sweeps), 1e3)
        return _residuals(card, sweeps, point_time_s, floor_a)[0]

    sol = least_squares(fun, z0, method="trf", x_scale=1.0, diff_step=1e-3, max_nfev=max_evaluations)
    card = to_card(sol.x)
    res, sims = _residuals(card, sweeps, point_time_s, floor_a)
    abs_err = np.concatenate([np.abs(s) - np.abs(m.i_A) for s, m in zip(sims, sweeps, strict=True)])
    per_curve = {}
    offset = 0
    for s in sweeps:
        n = len(s.v_V)
        per_curve[s.name] = float(np.sqrt(np.mean(res[offset:offset + n] ** 2)))
        offset += n
    return FitResult(card=card, names=names, rms_relative=float(np.sqrt(np.mean(res**2))),
                     rms_absolute_A=float(np.sqrt(np.mean(abs_err**2))), per_curve_rms_relative=per_curve,
                     simulated=sims, evaluations=count, point_time_s=point_time_s)
