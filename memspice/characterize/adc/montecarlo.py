"""The programmed Q-cell ADC as a Monte Carlo circuit, its variations, runs through the engine and statistics."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from memspice.characterize.adc.measure import program_converter
from memspice.characterize.adc.options import RunOptions
from memspice.characterize.adc.programming import Programming
from memspice.errors import SpecError
from memspice.extract import adc as ex
from memspice.montecarlo.circuit import ParamGroup
from memspice.netlist import qcell as nq
from memspice.netlist.deck import Analyze, Deck, Step
from memspice.raw import Plot
from memspice.spec.adc import AdcSpec
from memspice.spec.device import DeviceCard, load_card

# -- 6. Monte Carlo -------------------------------------------------------------------------------


@dataclass(frozen=True)
class McSamples:
    """Literal values applied to each Monte Carlo sample, kept with the results (seed recorded)."""

    seed: int
    g_lower_s: np.ndarray  # (M, n_cells) applied: programmed + read noise, clipped to the window
    g_upper_s: np.ndarray  # (M, n_cells)
    delvto_v: np.ndarray  # (M, n_cells, 9), order of memspice.netlist.qcell.CELL_DEVICES

    def __len__(self) -> int:
        return self.g_lower_s.shape[0]

    def table(self) -> dict[str, np.ndarray]:
        """Long table: one row per (sample, cell)."""
        m, n = self.g_lower_s.shape
        cols: dict[str, np.ndarray] = {
            "sample": np.repeat(np.arange(m), n),
            "cell": np.tile(np.arange(n), m),
            "g_lower_S": self.g_lower_s.ravel(),
            "g_upper_S": self.g_upper_s.ravel(),
        }
        for j, dev in enumerate(nq.CELL_DEVICES):
            cols[f"delvto_{dev.name}_V"] = self.delvto_v[:, :, j].ravel()
        return cols


def mc_sigmas(spec: AdcSpec, card: DeviceCard) -> dict[str, float]:
    var = card.variability
    mc = spec.mc
    a_vt = mc.a_vt_v_m if mc.a_vt_v_m is not None else spec.cell.models.a_vt_v_m
    return {"program_sigma_s": var.program_sigma_s if mc.program_sigma_s is None else mc.program_sigma_s,
            "read_sigma_s": var.read_sigma_s if mc.read_sigma_s is None else mc.read_sigma_s,
            "a_vt_v_m": a_vt if mc.mismatch else 0.0}


def pelgrom_sigmas_v(spec: AdcSpec, a_vt_v_m: float) -> dict[str, float]:
    """Threshold mismatch sigma A_VT / sqrt(W L) (V) of each cell transistor, by instance name."""
    return {dev.name: a_vt_v_m / math.sqrt(getattr(spec.cell, dev.role).w_m * getattr(spec.cell, dev.role).l_m)
            for dev in nq.CELL_DEVICES}


BOUNDARY_MEASURE = "boundary_V_i{}"  # measurement name of internal boundary i (0-based), V


class QcellAdcCircuit:
    """The programmed Q-cell ADC as a Monte Carlo circuit (:mod:`memspice.montecarlo.circuit`).

    The deck is the cell array at its read-phase supplies (no encoder: codes follow from the cell
    outputs through the Gray OR logic, as the encoder computes them), conductances at their
    programmed (nominal) values; every sample sets every varied value with ``alter`` and sweeps the
    input at ``sweep_step_lsb``.

    Groups: ``g_lower``, ``g_upper`` (S) the programmed conductances of each cell's MA and MB
    (nominal: the write-verified values; bounded by the card window); ``dg_read_lower``,
    ``dg_read_upper`` (S) read-noise offsets added to them (nominal 0; frozen for the sample's sweep;
    the sum is clipped to the window); ``delvto_<device>`` (V) the BSIM4 ``delvto`` of that
    transistor in every cell (nominal 0; devices of :data:`memspice.netlist.qcell.CELL_DEVICES`).
    Measurements: ``boundary_V_i<i>`` the code-density transition of internal boundary i (V,
    resolution +-half a sweep step), ``code_error_rate`` (fraction of in-range sweep inputs whose
    code is off the target quantizer's by more than one) and ``code_mismatch_rate`` (by any).
    """

    kind = "qcell_adc"

    def __init__(self, spec: AdcSpec, g_lower_s, g_upper_s, card: DeviceCard | None = None):
        self.spec = spec
        self.card = card if card is not None else load_card(spec.card)
        self.g_lower_s = np.asarray(g_lower_s, dtype=float).copy()
        self.g_upper_s = np.asarray(g_upper_s, dtype=float).copy()
        n = spec.n_cells
        for name, g in (("g_lower_s", self.g_lower_s), ("g_upper_s", self.g_upper_s)):
            if g.shape != (n,):
                raise SpecError(f"plan.spec.{name}", g.tolist(), f"{n} conductances (S), one per cell")
            self.card.state_for(g)  # inside the window, or a SpecError naming it
        self.window = self.card.window_s()
        self.targets_v = spec.targets_v()

    @classmethod
    def from_programming(cls, spec: AdcSpec, card: DeviceCard, prog: Programming) -> QcellAdcCircuit:
        return cls(spec, prog.g_lower_s, prog.g_upper_s, card)

    @classmethod
    def from_spec(cls, data: Mapping[str, Any], base_dir: str | Path = ".",
                  opts: RunOptions | None = None) -> QcellAdcCircuit:
        """From a plan's spec: ``{file = "circuits/qcell_adc_4bit.toml", overrides = {...}}`` (path
        relative to ``base_dir``; overrides dotted as with ``--param``) or the ``[adc]`` fields inline.

        The conductances are those of the nominal programming (programming map, write-verify and the
        converter-level correction, as ``characterize adc`` does: tens of seconds), or ``g_lower_s``
        and ``g_upper_s`` (S, one per cell) given next to the spec.
        """
        table = dict(data)
        g_lower = table.pop("g_lower_s", None)
        g_upper = table.pop("g_upper_s", None)
        if (g_lower is None) != (g_upper is None):
            missing = "g_upper_s" if g_upper is None else "g_lower_s"
            raise SpecError(f"plan.spec.{missing}", None, "both g_lower_s and g_upper_s, or neither")
        if "file" in table:
            path = Path(table.pop("file"))
            overrides = dict(table.pop("overrides", {}) or {})
            if table:
                key = sorted(table)[0]
                raise SpecError(f"plan.spec.{key}", table[key],
                                "only file, overrides, g_lower_s and g_upper_s next to file")
            from memspice.spec.adc import load_adc_spec

            spec = load_adc_spec(path if path.is_absolute() else Path(base_dir) / path)
            if overrides:
                spec = spec.with_overrides(overrides, where="plan.spec.overrides")
        else:
            spec = AdcSpec.from_dict(table, where="plan.spec")
        card = load_card(spec.card)
        if g_lower is not None:
            return cls(spec, g_lower, g_upper, card)
        opts = opts or RunOptions(backend="subprocess", show_progress=False)
        _, prog, _ = program_converter(spec, card, opts)
        return cls.from_programming(spec, card, prog)

    def spec_hash(self) -> str:
        """The converter (without its Monte Carlo settings), the card and the programmed conductances."""
        from memspice.spec.adc import MonteCarloSpec

        h = hashlib.sha256(self.spec.replace(mc=MonteCarloSpec()).spec_hash().encode())
        h.update(self.card.spec_hash().encode())
        h.update(np.ascontiguousarray(self.g_lower_s).tobytes())
        h.update(np.ascontiguousarray(self.g_upper_s).tobytes())
        return h.hexdigest()[:16]

    def deck(self) -> Deck:
        return Deck(f"qcell adc {self.spec.bits}-bit monte carlo",
                    nq.mc_cards(self.spec, self.card, self.g_lower_s, self.g_upper_s),
                    header={**nq.header(self.spec, self.card, "Monte Carlo"), "circuit hash": self.spec_hash()})

    def param_groups(self) -> dict[str, ParamGroup]:
        lo, hi = self.window
        n = self.spec.n_cells
        cells = range(n)
        groups = {
            "g_lower": ParamGroup("g_lower", "S", self.g_lower_s.copy(), tuple(f"g_lower_c{k}" for k in cells),
                                  doc="programmed conductance of each cell's MA (lower bound)", lower=lo, upper=hi),
            "g_upper": ParamGroup("g_upper", "S", self.g_upper_s.copy(), tuple(f"g_upper_c{k}" for k in cells),
                                  doc="programmed conductance of each cell's MB (upper bound)", lower=lo, upper=hi),
            "dg_read_lower": ParamGroup("dg_read_lower", "S", np.zeros(n), tuple(f"dg_read_lower_c{k}" for k in cells),
                                        doc="read-noise offset of MA, added to g_lower (frozen for the sweep)"),
            "dg_read_upper": ParamGroup("dg_read_upper", "S", np.zeros(n), tuple(f"dg_read_upper_c{k}" for k in cells),
                                        doc="read-noise offset of MB, added to g_upper (frozen for the sweep)"),
        }
        for dev in nq.CELL_DEVICES:
            name = f"delvto_{dev.name}"
            groups[name] = ParamGroup(name, "V", np.zeros(n), tuple(f"delvto_c{k}_{dev.name}" for k in cells),
                                      doc=f"threshold shift (BSIM4 delvto) of {dev.name} ({dev.role}) in each cell")
        return groups

    def conductances(self, values: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Applied (g_lower, g_upper) in S: programmed + read noise, clipped to the card window."""
        lo, hi = self.window
        out = []
        for side, nominal in (("lower", self.g_lower_s), ("upper", self.g_upper_s)):
            g = np.asarray(values.get(f"g_{side}", nominal), dtype=float)
            if f"dg_read_{side}" in values:
                g = g + np.asarray(values[f"dg_read_{side}"], dtype=float)
            out.append(np.clip(g, lo, hi))
        return out[0], out[1]

    def delvto(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Threshold shifts (n_cells, 9) in V, columns in the order of CELL_DEVICES."""
        n = self.spec.n_cells
        return np.stack([np.asarray(values.get(f"delvto_{dev.name}", np.zeros(n)), dtype=float)
                         for dev in nq.CELL_DEVICES], axis=1)

    def apply(self, values: Mapping[str, np.ndarray]) -> list[Step]:
        gl, gu = self.conductances(values)
        return list(nq.sample_alters(self.spec, self.card, gl, gu, self.delvto(values)))

    def analyses(self) -> list[Analyze]:
        return [nq.mc_analysis(self.spec)]

    def measure_names(self) -> list[str]:
        return [BOUNDARY_MEASURE.format(i) for i in range(self.spec.n_cells - 1)] + [
            "code_error_rate", "code_mismatch_rate"]

    def measure(self, plots: Sequence[Plot]) -> dict[str, float]:
        spec = self.spec
        plot = plots[0]
        v = plot["v-sweep"]
        out = np.stack([plot[f"v(out{k})"] for k in range(spec.n_cells)], axis=1)
        return code_measures(spec, v, ex.codes_from_match(out < spec.cell.vdd_v / 2), self.targets_v)

    def run_samples(self, samples: Sequence[Mapping[str, np.ndarray]],
                    opts: RunOptions = RunOptions()) -> list[dict[str, float]]:
        """The engine's per-chunk work without the engine: one parsed deck, each sample's ``alter``
        steps then its sweep; ``samples`` holds one {group: values} per sample (groups left out stay
        at nominal)."""
        steps: list[Step] = []
        for values in samples:
            steps += [*self.apply(values), *self.analyses()]
        base = self.deck()
        res = opts.sim(Deck(base.title, base.cards, steps=steps, options=base.options, header=base.header))
        n_an = len(self.analyses())
        return [self.measure(res.plots[s * n_an:(s + 1) * n_an]) for s in range(len(samples))]

    def applied_samples(self, values: Mapping[str, np.ndarray], seed: int) -> McSamples:
        """The literal values the samples ran with, from the engine's per-group values (samples, members)."""
        m = len(next(iter(values.values())))
        gl, gu, dv = [], [], []
        for s in range(m):
            one = {g: v[s] for g, v in values.items()}
            a, b = self.conductances(one)
            gl.append(a)
            gu.append(b)
            dv.append(self.delvto(one))
        return McSamples(seed=seed, g_lower_s=np.array(gl), g_upper_s=np.array(gu), delvto_v=np.array(dv))


def mc_variations(spec: AdcSpec, card: DeviceCard) -> list[dict[str, Any]]:
    """The engine's variations of ``spec.mc``: untruncated normal programming error and read noise on
    both memristors of every cell (card sigmas unless overridden) and, with ``mc.mismatch``, a
    Pelgrom threshold shift N(0, A_VT / sqrt(W L)) on every transistor."""
    sig = mc_sigmas(spec, card)
    out: list[dict[str, Any]] = []
    for side in ("lower", "upper"):
        out.append({"group": f"g_{side}", "sigma": sig["program_sigma_s"], "truncate_sigma": None,
                    "label": "program"})
    for side in ("lower", "upper"):
        out.append({"group": f"dg_read_{side}", "sigma": sig["read_sigma_s"], "truncate_sigma": None,
                    "label": "read"})
    if sig["a_vt_v_m"] > 0:
        for name, sigma in pelgrom_sigmas_v(spec, sig["a_vt_v_m"]).items():
            out.append({"group": f"delvto_{name}", "sigma": sigma, "truncate_sigma": None, "label": "mismatch"})
    return out


@dataclass
class AdcMcResult:
    """The Q-cell ADC's Monte Carlo: measured boundaries and code errors per sample (the Monte Carlo
    engine's own, circuit-independent result is :class:`memspice.montecarlo.engine.PlanResult`)."""

    measured_v: np.ndarray  # (M, N-1), successful samples only
    code_error_rate: np.ndarray  # (M,) fraction of in-range grid inputs with |code - ideal| > 1
    code_mismatch: np.ndarray  # (M,) fraction with any code difference from the ideal quantizer
    sample: np.ndarray | None = None  # (M,) sample index of each row (default 0..M-1)
    failed: tuple[int, ...] = ()  # samples ngspice could not solve (left out of the rows above)
    cache_dir: Path | None = None
    programming: str = "open"  # how the samples were programmed: open or closed (write-verify per chip)
    converged: np.ndarray | None = None  # (M,) closed loop: write-verify converged
    reason: np.ndarray | None = None  # (M,) closed loop: code of chips.REASONS (0: converged)
    boundary: np.ndarray | None = None  # (M,) closed loop: boundary that did not converge (-1: none)
    bound: np.ndarray | None = None  # (M,) closed loop: bound that stopped it, 2 x cell + side (0 lower; -1: none)
    bound_dominant: np.ndarray | None = None  # (M,) closed loop: 1 where that bound is dominant, 0 recessive
    iterations: np.ndarray | None = None  # (M,) closed loop: verify sweeps used
    seconds: float = float("nan")  # wall time of the Monte Carlo (0 when read from the cache)

    def __post_init__(self) -> None:
        if self.sample is None:
            self.sample = np.arange(len(self.measured_v))


def run_mc(circuit: QcellAdcCircuit, samples: int, seed: int, *, vary: Sequence[Mapping[str, Any]],
           cache_root: str | Path, chunk_size: int = 10, backend: str = "subprocess", workers: int | None = None,
           scheduler: str | None = None, show_progress: bool = True):
    """Monte Carlo of the programmed converter through the engine
    (:func:`memspice.montecarlo.engine.run_circuit`): chunks of ``chunk_size`` samples, one alter deck
    each, on ``workers`` processes (None: one per core; the engine starts no more than there are
    chunks to run), cached under ``cache_root``. Returns the engine's result."""
    from memspice.montecarlo.engine import run_circuit

    return run_circuit(circuit, name=f"qcell_adc-{circuit.spec.bits}bit", samples=samples, seed=seed, vary=vary,
                       chunk_size=chunk_size, backend=backend, workers=workers, scheduler=scheduler,
                       cache_root=cache_root, show_progress=show_progress)


def mc_result(circuit: QcellAdcCircuit, engine_result) -> AdcMcResult:
    """The converter's view of an engine result: measured boundaries of the samples that ran."""
    status = np.array([s for r in engine_result.records for s in r["status"]])
    ok = status == "ok"
    n_b = circuit.spec.n_cells - 1
    measured = np.stack([engine_result.measure(BOUNDARY_MEASURE.format(i)) for i in range(n_b)], axis=1)
    index = np.arange(len(status))
    return AdcMcResult(measured_v=measured[ok], code_error_rate=engine_result.measure("code_error_rate")[ok],
                    code_mismatch=engine_result.measure("code_mismatch_rate")[ok], sample=index[ok],
                    failed=tuple(int(k) for k in index[~ok]), cache_dir=engine_result.cache_dir)


def monte_carlo(spec: AdcSpec, card: DeviceCard, prog: Programming,
                opts: RunOptions = RunOptions()) -> tuple[AdcMcResult, McSamples]:
    """``spec.mc.samples`` samples of the converter as programmed by ``prog`` (open loop: programming
    does not see the sample's variation), through the engine with ``opts.workers`` and cached under
    ``opts.mc_cache_root`` (a temporary folder when None)."""
    circuit = QcellAdcCircuit.from_programming(spec, card, prog)
    mc = spec.mc

    def go(root: Path):
        res = run_mc(circuit, mc.samples, mc.seed, vary=mc_variations(spec, card), cache_root=root,
                     chunk_size=mc.chunk, backend=opts.backend, workers=opts.workers,
                     show_progress=opts.show_progress)
        values = {g: res.values(g) for g in circuit.param_groups()}
        return mc_result(circuit, res), circuit.applied_samples(values, mc.seed)

    if opts.mc_cache_root is not None:
        return go(Path(opts.mc_cache_root))
    import tempfile

    with tempfile.TemporaryDirectory(prefix="memspice-adc-mc-") as tmp:
        result, samples = go(Path(tmp))
    result.cache_dir = None
    return result, samples


def mc_statistics(spec: AdcSpec, mc: AdcMcResult, targets_v: np.ndarray) -> dict:
    lsb = spec.lsb_v
    meas = mc.measured_v
    sigma = np.std(meas, axis=0, ddof=1) if len(meas) > 1 else np.full(meas.shape[1], np.nan)
    inl_max, dnl_max = [], []
    for row in meas:
        inl, dnl = ex.inl_dnl(row, targets_v, spec.input_lo_v, spec.input_hi_v, lsb)
        inl_max.append(np.max(np.abs(inl)))
        dnl_max.append(np.max(np.abs(dnl)))
    inl_max, dnl_max = np.array(inl_max), np.array(dnl_max)
    span = spec.input_hi_v - spec.input_lo_v
    closed = mc.converged is not None
    return {
        "programming": mc.programming,
        "samples": len(meas),
        "failed_samples": list(mc.failed),
        "nonconverged_samples": int(np.sum(~mc.converged)) if closed else None,
        "verify_iterations_mean": float(np.mean(mc.iterations)) if closed and len(mc.iterations) else None,
        "seconds": mc.seconds,
        "boundary_sigma_V": sigma,
        "boundary_sigma_lsb": sigma / lsb,
        "boundary_sigma_rms_V": float(np.sqrt(np.mean(sigma**2))),
        "boundary_sigma_pct_of_range": float(100 * np.sqrt(np.mean(sigma**2)) / span),
        "inl_max_lsb_rms": float(np.sqrt(np.mean(inl_max**2))),
        "dnl_max_lsb_rms": float(np.sqrt(np.mean(dnl_max**2))),
        "inl_max_lsb_mean": float(np.mean(inl_max)),
        "dnl_max_lsb_mean": float(np.mean(dnl_max)),
        "inl_max_lsb_p95": float(np.percentile(inl_max, 95)),
        "dnl_max_lsb_p95": float(np.percentile(dnl_max, 95)),
        "code_error_rate": float(np.mean(mc.code_error_rate)),
        "code_mismatch_rate": float(np.mean(mc.code_mismatch)),
        "inl_max_lsb": inl_max,
        "dnl_max_lsb": dnl_max,
    }


def code_measures(spec: AdcSpec, v: np.ndarray, codes: np.ndarray, targets_v: np.ndarray) -> dict[str, float]:
    """A converter's measurements from its output ``codes`` on the input grid ``v``: the code-density
    transitions (``BOUNDARY_MEASURE``) and, inside the input range, the rates of codes more than one
    (``code_error_rate``) and at all (``code_mismatch_rate``) away from the ideal code of ``targets_v``."""
    measured = ex.transitions_from_codes(v, codes, spec.n_cells)
    keep = (v >= spec.input_lo_v) & (v < spec.input_hi_v)
    diff = np.abs(codes[keep] - ex.ideal_codes(v[keep], targets_v))
    result = {BOUNDARY_MEASURE.format(i): float(b) for i, b in enumerate(measured)}
    result["code_error_rate"] = float(np.mean(diff > 1))
    result["code_mismatch_rate"] = float(np.mean(diff > 0))
    return result
