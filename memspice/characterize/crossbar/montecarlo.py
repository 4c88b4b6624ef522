"""A crossbar read as a Monte Carlo circuit (:mod:`memspice.montecarlo.circuit`) and its run through the engine.

Registered for plan files under the kind ``crossbar`` in :mod:`memspice.characterize.registry`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memspice.characterize.crossbar.reads import STREAM_TRANSFER, draw_patterns, ideal_output_a, logical_outputs
from memspice.montecarlo.circuit import ParamGroup
from memspice.netlist.crossbar import cell_steps, column_current, out_node, read_analyses, tile_cards
from memspice.netlist.deck import Analyze, Deck, Op, Step
from memspice.raw import Plot
from memspice.spec.crossbar import CrossbarSpec, CrossbarStudy, CrossbarStudySpec, load_study


class CrossbarCircuit:
    """A crossbar tile at one pattern as a Monte Carlo circuit (:mod:`memspice.montecarlo.circuit`).

    Groups: ``g`` every cell's conductance (S; nominal the programmed targets; bounded by the card
    window) and ``dg_read`` a read-noise offset added to it (S; nominal 0). Measurements:
    ``i_out_A``, ``v_out_V`` and ``ideal_A`` (per column with a ``_c<j>`` suffix when cols > 1);
    ``ideal_A`` is the ideal output of the nominal targets, ``v_out_V`` is nan for an ammeter.
    """

    kind = "crossbar"

    def __init__(self, spec: CrossbarSpec, weights: np.ndarray, v_in_v: np.ndarray):
        self.spec = spec
        self.weights = np.asarray(weights, dtype=float)
        self.v_in_v = np.asarray(v_in_v, dtype=float)
        self.g_nominal = spec.conductances(self.weights)
        self.window = spec.device_card.window_s()
        if self.v_in_v.shape != (spec.rows,):
            raise ValueError(f"{self.v_in_v.shape} input voltages for {spec.rows} rows")

    @classmethod
    def from_study(cls, study: CrossbarStudy) -> CrossbarCircuit:
        """Pattern 0 of the study's DC transfer (its first read)."""
        spec = study.crossbar
        p = draw_patterns(spec, 1, [study.study.seed, STREAM_TRANSFER])[0]
        return cls(spec, p.weights, spec.voltages(p.x[:, 0]))

    @classmethod
    def from_spec(cls, data: Mapping, base_dir: str | Path = ".") -> CrossbarCircuit:
        """From a plan's spec: ``{file = "circuits/crossbar_128.toml", overrides = {...}}`` (path
        relative to ``base_dir``) or a ``[crossbar]`` table with an optional ``seed``."""
        table = dict(data)
        if "file" in table:
            path = Path(table.pop("file"))
            overrides = dict(table.pop("overrides", {}) or {})
            if table:
                from memspice.errors import SpecError

                key = sorted(table)[0]
                raise SpecError(f"plan.spec.{key}", table[key], "only file and overrides next to file")
            study = load_study(path if path.is_absolute() else Path(base_dir) / path, overrides)
            return cls.from_study(study)
        seed = int(table.pop("seed", 0))
        spec = CrossbarSpec.from_dict(table, where="plan.spec")
        return cls.from_study(CrossbarStudy(crossbar=spec, study=CrossbarStudySpec(seed=seed)))

    def spec_hash(self) -> str:
        h = hashlib.sha256(self.spec.spec_hash().encode())
        h.update(np.ascontiguousarray(self.weights).tobytes())
        h.update(np.ascontiguousarray(self.v_in_v).tobytes())
        return h.hexdigest()[:16]

    def deck(self) -> Deck:
        return Deck(f"memspice crossbar tile {self.spec.rows}x{self.spec.cols} (Monte Carlo)",
                    tile_cards(self.spec, self.g_nominal, self.v_in_v),
                    header={"spec_hash": self.spec_hash()})

    def labels(self) -> tuple[str, ...]:
        return tuple(f"g_r{r}_c{k // 2}{'p' if k % 2 == 0 else 'n'}"
                     for r in range(self.spec.rows) for k in range(self.spec.phys_cols))

    def param_groups(self) -> dict[str, ParamGroup]:
        """The groups, made once (the engine asks for them per chunk); their nominal arrays are read-only."""
        made = getattr(self, "_param_groups", None)
        if made is None:
            lo, hi = self.window
            labels = self.labels()
            g0, dg0 = self.g_nominal.ravel().copy(), np.zeros(self.g_nominal.size)
            g0.flags.writeable = dg0.flags.writeable = False
            made = self._param_groups = {
                "g": ParamGroup("g", "S", g0, labels,
                                doc="programmed conductance of every cell (row-major, G+ then G- per column)",
                                lower=lo, upper=hi),
                "dg_read": ParamGroup("dg_read", "S", dg0, tuple("d" + s for s in labels),
                                      doc="read-noise offset of every cell at this read, added to g"),
            }
        return dict(made)

    def conductances(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Applied conductances (rows, 2 cols) in S: g + dg_read, clipped to the card window."""
        g = np.asarray(values.get("g", self.g_nominal.ravel()), dtype=float).ravel()
        if "dg_read" in values:
            g = g + np.asarray(values["dg_read"], dtype=float).ravel()
        lo, hi = self.window
        return np.clip(g, lo, hi).reshape(self.g_nominal.shape)

    def conductances_batch(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """:meth:`conductances` of every sample of a chunk ({group: (samples, members)}): (samples, rows, 2 cols)."""
        n = len(next(iter(values.values())))
        g = np.asarray(values["g"], dtype=float) if "g" in values else np.tile(self.g_nominal.ravel(), (n, 1))
        if "dg_read" in values:
            g = g + np.asarray(values["dg_read"], dtype=float)
        lo, hi = self.window
        return np.clip(g, lo, hi).reshape((n, *self.g_nominal.shape))

    def apply(self, values: Mapping[str, np.ndarray]) -> list[Step]:
        return cell_steps(self.spec, self.conductances(values))

    def analyses(self) -> list[Analyze]:
        return read_analyses(self.spec, Op())

    #: False: every chunk by alter steps (the benchmark compares both paths; same numbers)
    batching = True
    #: How a batched deck writes its cells (:data:`memspice.netlist.crossbar.CELL_FORMS`): "inline" I-V
    #: B-sources (default) or "subckt" instances (the form before; identical numbers, slower in ngspice)
    batch_cells = "inline"

    def batch(self, values: Mapping[str, np.ndarray]):
        """The chunk as one DC sweep of a sample index (:func:`memspice.netlist.crossbar.batched_dc_deck`, cells
        written as :attr:`batch_cells`):
        a :class:`~memspice.montecarlo.circuit.Batch`, or None for resistor cells, the full models or
        one sample. Equals the alter path to ~1e-13 of each column current (tests/sim/test_crossbar_batch.py)."""
        from memspice.errors import SimulationError
        from memspice.montecarlo.circuit import Batch
        from memspice.netlist.crossbar import batched_dc_deck, batched_fixed_cards, batches
        from memspice.netlist.deck import Rendered

        n = len(next(iter(values.values()))) if values else 0
        if not self.batching or not batches(self.spec) or n < 2:
            return None
        g = self.conductances_batch(values)
        title = f"memspice crossbar tile {self.spec.rows}x{self.spec.cols} (Monte Carlo, {n} samples batched)"
        fixed = getattr(self, "_batch_fixed", None)
        if fixed is None or fixed[0] != self.batch_cells:  # the sample-independent cards and hash, made once
            fixed = self._batch_fixed = (self.batch_cells,
                                         Rendered.of(batched_fixed_cards(self.spec, self.v_in_v, self.batch_cells)),
                                         {"spec_hash": self.spec_hash()})
        deck = batched_dc_deck(self.spec, g, self.v_in_v, title=title, header=fixed[2],
                               fixed=[fixed[1]], cells=self.batch_cells)

        def measure(plots: Sequence[Plot]) -> list[dict[str, float]]:
            if len(plots) != 1 or plots[0].n_points != n:
                raise SimulationError(f"batched read gave {[p.n_points for p in plots]} points for {n} samples")
            return self.measure_points(plots[0])

        return Batch(deck, measure)

    def measure_points(self, plot: Plot) -> list[dict[str, float]]:
        """:meth:`measure` of every point of a batched sweep at once (the same arithmetic, elementwise):
        one dict per point, equal to measuring each point's one-point plot."""
        spec = self.spec
        i_phys = np.stack([np.asarray(plot[column_current(k)], dtype=float) for k in range(spec.phys_cols)], axis=1)
        i_log = i_phys[:, 0::2] - i_phys[:, 1::2]
        if spec.sense.kind == "tia":
            v_phys = np.stack([np.asarray(plot[f"v({out_node(k)})"], dtype=float) for k in range(spec.phys_cols)],
                              axis=1)
            v_log = -(v_phys[:, 0::2] - v_phys[:, 1::2])
        else:
            v_log = np.full(i_log.shape, np.nan)
        ideal = ideal_output_a(self.g_nominal, self.v_in_v).tolist()
        names = [("i_out_A", "v_out_V", "ideal_A")] if spec.cols == 1 else [
            (f"i_out_A_c{j}", f"v_out_V_c{j}", f"ideal_A_c{j}") for j in range(spec.cols)]
        out = []
        for i_row, v_row in zip(i_log.tolist(), v_log.tolist(), strict=True):
            meas: dict[str, float] = {}
            for j, (ni, nv, nd) in enumerate(names):
                meas[ni], meas[nv], meas[nd] = i_row[j], v_row[j], ideal[j]
            out.append(meas)
        return out

    def measure_names(self) -> list[str]:
        names = ("i_out_A", "v_out_V", "ideal_A")
        if self.spec.cols == 1:
            return list(names)
        return [f"{n}_c{j}" for j in range(self.spec.cols) for n in names]

    def measure(self, plots: Sequence[Plot]) -> dict[str, float]:
        _, i_log, v_log = logical_outputs(self.spec, plots[0])
        ideal = ideal_output_a(self.g_nominal, self.v_in_v)
        if self.spec.cols == 1:
            return {"i_out_A": float(i_log[0]), "v_out_V": float(v_log[0]), "ideal_A": float(ideal[0])}
        out = {}
        for j in range(self.spec.cols):
            out.update({f"i_out_A_c{j}": float(i_log[j]), f"v_out_V_c{j}": float(v_log[j]),
                        f"ideal_A_c{j}": float(ideal[j])})
        return out


def mc_variations(program_sigma_s: float, read_sigma_s: float) -> list[dict[str, Any]]:
    """The engine's variations of a crossbar read: normal (untruncated) programming error on every
    cell and an independent read-noise offset."""
    return [{"group": "g", "sigma": program_sigma_s, "truncate_sigma": None, "label": "program"},
            {"group": "dg_read", "sigma": read_sigma_s, "truncate_sigma": None, "label": "read"}]


def run_mc(circuit: CrossbarCircuit, samples: int, seed: int, *, program_sigma_s: float, read_sigma_s: float,
           cache_root: str | Path, backend: str = "subprocess", workers: int | None = None, chunk_size: int = 50,
           scheduler: str | None = None, show_progress: bool = True):
    """Monte Carlo of one read through the engine (:func:`memspice.montecarlo.engine.run_circuit`):
    chunked alter decks on every core, cached under ``cache_root`` and resumable."""
    from memspice.montecarlo.engine import run_circuit

    return run_circuit(circuit, name=f"crossbar-{circuit.spec.rows}x{circuit.spec.cols}", samples=samples,
                       seed=seed, vary=mc_variations(program_sigma_s, read_sigma_s), chunk_size=chunk_size,
                       backend=backend, workers=workers, scheduler=scheduler, cache_root=cache_root,
                       show_progress=show_progress)
