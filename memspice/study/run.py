"""``memspice study STUDY.toml``: from device SPICE to paper tables, every stage cached.

Stages (each a folder of ``runs/<study>/``, see :mod:`memspice.study.stages`):

device     characterize every card: hysteresis, extracted thresholds and R_on/R_off, write-verify
crossbar   the column spec: DC transfer, IR drop, settling, read energy, Monte Carlo (engine), column model
train      the network in float (weights cached by configuration in ``network.cache_dir``)
calibrate  CIM mapping, per-layer partial sums of training images, Lloyd-Max sets for the ADC
adc        the Q-cell ADC at every configured bits: uniform and the network's Lloyd-Max set, Monte Carlo
evaluate   accuracy over bits x ADC models, variation sweep, SPICE-characterized ADC rows
system     energy and area per inference: SAR baseline vs the Q-cell ADC as simulated and as published
export     tables (CSV, LaTeX, Markdown), figures (PNG, PDF), manifest.json and index.html

A stage's key hashes its configuration, the keys of the stages it reads and the memspice version,
so an edit recomputes the edited stage and what depends on it, nothing else.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import os
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memspice import __version__
from memspice.errors import InputError
from memspice.io import write_bytes_atomic, write_json
from memspice.study.spec import StudySpec
from memspice.study.stages import StageResult, StageRunner, as_json

RUN_RECORD = "study.json"
_log = logging.getLogger(__name__)


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _stage_seed(seed: int, stage: str) -> int:
    """A stage's seed, derived from the study's (recorded in the manifest)."""
    return int(np.random.SeedSequence([seed, int(hashlib.sha256(stage.encode()).hexdigest()[:8], 16)])
               .generate_state(1)[0] % 2**31)


def lower_thread_priority() -> None:
    """Give the calling thread (and the processes and threads it starts: ngspice inherits it) the lowest
    CPU priority, nice 19, on Linux, where nice is per thread; elsewhere nothing. The early SPICE work
    runs so, to fill only the CPU time the study's own stage leaves idle instead of slowing it."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except OSError:  # not permitted here: the work still runs, at the study's priority
            pass


def claim_run_dir(run_dir: Path, spec: StudySpec, study_file: Path) -> None:
    """Make ``run_dir`` this study's run folder; refuse one that holds another study's run."""
    record = run_dir / RUN_RECORD
    if record.exists():
        try:
            found = json.loads(record.read_text())
        except json.JSONDecodeError:
            raise InputError(f"{record}: unreadable; this folder is not a memspice run, choose another --out") from None
        if found.get("name") != spec.study.name:
            raise InputError(f"--out {run_dir} holds a run of study {found.get('name')!r} (from "
                             f"{found.get('study_file')}); study {spec.study.name!r} will not overwrite it. "
                             "Choose another --out or remove that folder.")
    elif run_dir.exists() and any(run_dir.iterdir()):
        raise InputError(f"--out {run_dir} exists and is not a memspice run folder (no {RUN_RECORD}); nothing "
                         "was written. Choose an empty or new folder.")
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(record, {"name": spec.study.name, "study_file": str(study_file.resolve()),
                        "created_by": f"memspice {__version__}"})


class Study:
    """One run of a study file into its run folder; progress (the study's and each stage's start, end
    and time) goes to the ``memspice.study`` loggers at INFO."""

    def __init__(self, spec: StudySpec, study_file: Path, run_dir: Path, *, show_progress: bool = True):
        self.spec = spec
        self.file = study_file
        self.run_dir = run_dir
        self.log = _log.info
        self.show_progress = show_progress
        self.runner = StageRunner(run_dir)
        self.seeds = {s: _stage_seed(spec.study.seed, s) for s in ("device", "crossbar", "train", "evaluate", "adc")}
        self.seeds["train"] = spec.study.seed  # the training cache is shared between studies by seed
        #: SPICE work started before its stage (``study.overlap``): stage part -> future of (result, start, end)
        self._early: dict[str, Future] = {}

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def workers(self) -> int | None:
        return self.spec.study.workers or None

    def _train_spec(self):
        from memspice.nn.spec import TrainSpec

        n = self.spec.network
        return TrainSpec(network=n.network, dataset=n.dataset, width=n.width, epochs=n.epochs,
                         train_images=n.train_images, seed=self.seeds["train"])

    def _data_root(self):
        return self.spec.path(self.spec.network.data) if self.spec.network.data else None

    def _cim_spec(self):
        from memspice.nn.spec import CimSpec

        return CimSpec(calibration_images=self.spec.evaluate.calibration_images)

    def _adc_base(self, bits: int, boundaries: Path | None):
        from memspice.spec.adc import build_adc_spec

        # the TOML values go in as they are (the command line's NAME=VALUE strings parse to the same)
        return build_adc_spec(self.spec.path(self.spec.adc.spec), bits=bits, boundaries=boundaries,
                              mc=self.spec.adc.mc, seed=self.seeds["adc"], overrides=self.spec.adc.overrides)

    def _column_model(self):
        """The column of the accuracy_column table: the crossbar stage's own column (its rows, wires,
        driver, card window) as the deterministic nodal model with the cells' spread, the model the
        column grid uses (docs/nn.md). None when the table is off or there is no crossbar stage."""
        from memspice.study.column_grid import nodal_column

        if not self.spec.evaluate.column_model or "crossbar" not in self.runner.results:
            return None
        study = self._crossbar_study
        try:
            column = nodal_column(study.crossbar, self._cell_spread_s)
        except ValueError as e:
            raise InputError(f"evaluate.column_model: {e}; set evaluate.column_model = false") from None
        rows = self._cim_spec().rows
        if column.rows != rows:
            raise InputError(f"evaluate.column_model: the crossbar stage characterized a {column.rows}-row column but "
                             f"the network's sub-arrays have {rows} rows; set the crossbar spec's rows to {rows} or "
                             "evaluate.column_model = false")
        return column

    @property
    def mc_cache(self) -> Path:
        """Monte Carlo chunk caches of every stage: outside the stage folders, so a killed stage's
        Monte Carlo resumes where it stopped when the study reruns."""
        return self.run_dir / "cache" / "mc"

    def has(self, stage: str) -> bool:
        return stage in self.spec.study.stages

    # -- stages ----------------------------------------------------------------------------------
    def device(self) -> None:
        from memspice.characterize.device import DeviceStudySpec, run_device
        from memspice.characterize.device_outputs import write_outputs
        from memspice.spec.device import builtin_cards, load_card

        cards = [load_card(c if c in builtin_cards() else self.spec.path(c)) for c in self.spec.device.cards]
        spec = DeviceStudySpec(mc=self.spec.device.mc, seed=self.seeds["device"])
        config = {"cards": [card.to_dict() for card in cards], "mc": spec.mc, "seed": spec.seed}

        def work(out: Path) -> dict:
            for card in cards:
                write_outputs(run_device(card, spec, show_progress=self.show_progress), out / card.name)
            return {"cards": [card.name for card in cards]}

        self.runner.run("device", config, work)

    @functools.cached_property
    def _crossbar_study(self):
        """The crossbar stage's study (its spec file with the study's overrides), loaded once for the
        crossbar stage and the evaluate stage's column grid."""
        from memspice.characterize.crossbar import study_for

        c = self.spec.crossbar
        overrides = {**dict(c.overrides), "study.mc": c.mc, "study.seed": self.seeds["crossbar"],
                     "study.workers": self.spec.study.workers}
        return study_for(self.spec.path(c.spec), overrides)

    @functools.cached_property
    def _cell_spread_s(self) -> float:
        """The crossbar stage's cells' conductance spread (S): programming and read sigma combined, as the
        crossbar flow draws them; the random part of the study's nodal columns."""
        from memspice.characterize.crossbar.flow import variability

        return math.hypot(*variability(self._crossbar_study))

    def _grid_columns(self) -> list:
        """The column grid's nodal columns: the crossbar stage's column at every rows x wire resistance."""
        from memspice.study.column_grid import grid_columns

        ev = self.spec.evaluate
        study = self._crossbar_study
        rows = ev.column_grid_rows or study.study.sweep_rows
        r_wire = ev.column_grid_r_wire_ohm or study.study.sweep_r_wire_ohm
        try:
            return grid_columns(study.crossbar, rows, r_wire, self._cell_spread_s)
        except ValueError as e:
            raise InputError(f"evaluate.column_grid: {e}; set evaluate.column_grid = false") from None

    def _crossbar_config(self) -> dict:
        path = self.spec.path(self.spec.crossbar.spec)
        return {"study": self._crossbar_study.to_dict(), "file_hash": _file_hash(path)}

    def _run_crossbar(self, show_progress: bool):
        from memspice.characterize.crossbar import run_crossbar

        return run_crossbar(self._crossbar_study, show_progress=show_progress, mc_cache_root=self.mc_cache)

    def crossbar(self) -> None:
        from memspice.characterize.crossbar import write_outputs

        def work(out: Path) -> dict:
            result, early = self._result("crossbar", lambda: self._run_crossbar(self.show_progress))
            s = write_outputs(result, out)
            return {**{k: s.get(k) for k in ("rel_error_fs_rms", "settling_time_s", "energy_per_mac_J")}, **early}

        self.runner.run("crossbar", self._crossbar_config(), work)

    def train(self) -> None:
        from memspice.nn.train import train

        tspec = self._train_spec()
        cache = Path(self.spec.network.cache_dir)

        def work(out: Path) -> dict:
            t = train(tspec, data_root=self._data_root(), device=self.spec.study.device, cache_dir=cache)
            write_json(out / "meta.json", {**t.meta, "weights": str(t.path)})
            return {"float_test_accuracy": t.meta["float_test_accuracy"], "weights": str(t.path),
                    "cached_weights": t.cached}

        self.runner.run("train", {"train": tspec.to_dict(), "data": str(self._data_root() or "")}, work)

    def calibrate(self) -> None:
        """Per-layer partial sums of training images; the ADC's Lloyd-Max sets (one layer's) in volts."""
        ev = self.spec.evaluate
        upstream = tuple(s for s in ("train",) if s in self.runner.results)
        adc_ranges = {b: self._adc_base(b, None) for b in self.spec.study.bits}
        config = {"cim": self._cim_spec().to_dict(), "seed": self.seeds["evaluate"], "layer": ev.adc_layer,
                  "bits": list(self.spec.study.bits),
                  "input_range_V": {b: [a.input_lo_v, a.input_hi_v] for b, a in adc_ranges.items()}}

        def work(out: Path) -> dict:
            from memspice.study.calibrate import calibrate_stage

            return calibrate_stage(self, out, adc_ranges)

        self.runner.run("calibrate", config, work, upstream=upstream)

    def adc(self) -> None:
        from memspice.characterize import adc as flow

        sets = self.spec.adc.boundary_sets
        upstream = ("calibrate",) if "lloyd_max" in sets else ()
        if upstream and "calibrate" not in self.runner.results:
            raise InputError("study: adc.boundary_sets has lloyd_max, which needs the calibrate stage (and train); "
                             "add them to study.stages or use boundary_sets = ['uniform']")
        cal = self.runner.results.get("calibrate")

        def boundaries(kind: str, bits: int) -> Path | None:
            return cal.dir / f"adc_boundaries_{bits}b.csv" if kind == "lloyd_max" else None

        specs = {(k, b): self._adc_base(b, boundaries(k, b)) for k in sets for b in self.spec.study.bits}
        config = self._adc_config(specs)

        def work(out: Path) -> dict:
            summ, early, results = {}, {}, {}
            def early_last(item) -> bool:  # what was started early last, so that it finishes meanwhile
                return f"adc {item[0][0]}_{item[0][1]}b" in self._early

            for (kind, bits), spec in sorted(specs.items(), key=early_last):
                self.log(f"    Q-cell ADC {bits} bits, {kind} boundaries")
                results[kind, bits] = self._result(f"adc {kind}_{bits}b",
                                                   lambda spec=spec: self._run_adc(spec, self.show_progress))
            for kind, bits in specs:
                result, e = results[kind, bits]
                s = flow.write_outputs(result, out / f"{kind}_{bits}b")
                summ[f"{kind}_{bits}b"] = {k: s[k] for k in ("energy_per_conversion_J", "area_um2", "inl_max_lsb",
                                                            "dnl_max_lsb", "boundary_sigma_rms_V")}
                for k, v in e.items():
                    early[k] = early.get(k, 0.0) + v
            return {**summ, **early}

        self.runner.run("adc", config, work, upstream=upstream)

    def _adc_config(self, specs: dict) -> dict:
        return {"specs": {f"{k}_{b}b": s.hash_data() for (k, b), s in specs.items()},
                "energy": self.spec.adc.energy, "card": {f"{k}_{b}b": s.card for (k, b), s in specs.items()}}

    def _run_adc(self, spec, show_progress: bool):
        from memspice.characterize import adc as flow

        opts = flow.RunOptions(show_progress=show_progress, workers=self.workers, mc_cache_root=self.mc_cache)
        return flow.run_adc(spec, opts, energy=self.spec.adc.energy, log=lambda s: None)

    # -- SPICE work started early (study.overlap) ----------------------------------------------------
    def _start_early(self, pool: ThreadPoolExecutor) -> None:
        """Start, on ``pool``'s one thread, the stages' SPICE work that reads no earlier stage: the
        crossbar's characterization and the ADC at the uniform boundary set (which needs no trained
        network). ngspice runs in its own processes, so this work fills the core that the device
        stage (one ngspice run at a time) and training leave idle; at the lowest priority
        (:func:`lower_thread_priority`), so that it takes only what they leave. Only work whose stage is not
        already finished with the same configuration is started; its results are the same as in
        its stage (independent seeds, no shared state), and its stage writes them."""
        def later(name: str, fn) -> None:
            def job():
                t0 = time.monotonic()
                result = fn()
                return result, t0, time.monotonic()
            self._early[name] = pool.submit(job)

        if self.has("crossbar") and not self.runner.may_be_cached("crossbar", self._crossbar_config()):
            later("crossbar", lambda: self._run_crossbar(False))
        if self.has("adc") and "uniform" in self.spec.adc.boundary_sets:
            uniform = {("uniform", b): self._adc_base(b, None) for b in self.spec.study.bits}
            part = as_json(self._adc_config(uniform))
            done = self.runner.finished_config("adc")
            if not all(done.get(k, {}).get(n) == v for k in ("specs", "card") for n, v in part[k].items()) or \
                    done.get("energy") != part["energy"]:
                for (kind, bits), spec in uniform.items():
                    later(f"adc {kind}_{bits}b", lambda spec=spec: self._run_adc(spec, False))

    def _stop_early(self) -> None:
        """Stop the early work when a stage fails or the study is interrupted: what has not started is
        cancelled; what runs has its ngspice processes killed and may start no new ones until it has ended
        (:func:`memspice.ngspice.engine.stopping_runs`), so the study stops now instead of when that work
        would have finished (ngspice runs in its own session, where the terminal's Ctrl-C does not reach it).
        Finished Monte Carlo chunks stay cached: a rerun resumes."""
        from memspice.ngspice.engine import stopping_runs

        running = [f for f in self._early.values() if not f.cancel() and not f.done()]
        if not running:
            return
        with stopping_runs():
            futures_wait(running)

    def _result(self, name: str, compute):
        """``(result, extra summary)``: the early work's result (waiting for it) or ``compute()`` now."""
        future = self._early.pop(name, None)
        if future is None:
            return compute(), {}
        waited = time.monotonic()
        result, start, end = future.result()
        return result, {"seconds_beside_earlier_stages": max(0.0, min(end, waited) - start)}

    def evaluate(self) -> None:
        from memspice.nn.spec import EvalSpec

        ev = self.spec.evaluate
        espec = EvalSpec(bits=ev.bits, adcs=ev.adcs, test_images=ev.test_images, sigmas=ev.sigmas,
                         sweep_bits=ev.sweep_bits if ev.sigmas else (), sweep_adcs=ev.sweep_adcs, trials=ev.trials,
                         sweep_test_images=ev.sweep_test_images, spice_trials=ev.spice_trials,
                         seed=self.seeds["evaluate"])
        # the same network through the crossbar stage's own column (the nodal IR-drop model, hardware
        # calibration): ideal CIM and the table's uniform and Lloyd-Max converters at the study's bits
        cspec = EvalSpec(bits=tuple(b for b in self.spec.study.bits), adcs=("uniform_minmax", "lloyd_max"),
                         test_images=ev.test_images, sigmas=(), sweep_bits=(), trials=1, seed=self.seeds["evaluate"])
        with_column = ev.column_model and "crossbar" in self.runner.results
        adc_res = self.runner.results.get("adc")
        arts = []
        if adc_res is not None and "lloyd_max" in self.spec.adc.boundary_sets:
            arts = [adc_res.dir / f"lloyd_max_{b}b" / "adc.json" for b in self.spec.study.bits if b in ev.bits]
        upstream = tuple(s for s in ("train", "crossbar", "adc") if s in self.runner.results)
        with_grid = ev.column_grid and "crossbar" in self.runner.results
        grid = self._grid_columns() if with_grid else []
        gspec = EvalSpec(bits=tuple(self.spec.study.bits), adcs=("lloyd_max",), test_images=ev.column_grid_test_images,
                         sigmas=(), sweep_bits=(), trials=1, seed=self.seeds["evaluate"], diagnostics=False)
        pspec = None
        if ev.paper_preset:
            from memspice.nn.paper import apply_preset

            pcim, pspec = apply_preset("paper", self._cim_spec(), espec.replace(diagnostics=False))
        config = {"eval": espec.to_dict(), "cim": self._cim_spec().to_dict(), "spice_adcs": [str(a) for a in arts],
                  "column": cspec.to_dict() if with_column else None, "device": self.spec.study.device,
                  "column_model": self._column_model().describe() if with_column else None,
                  "grid": gspec.to_dict() if with_grid else None,
                  "grid_columns": [c.describe() for c in grid],
                  "grid_calibration_images": ev.column_grid_calibration_images,
                  "paper": pspec.to_dict() if pspec is not None else None,
                  "paper_lloyd_iteration": "readc" if pspec is not None else None}  # changed in session 3

        def work(out: Path) -> dict:
            from memspice.nn.artifacts import load_spice_adc
            from memspice.nn.evaluate import evaluate
            from memspice.nn.train import load_trained, resolve_device

            dev = resolve_device(self.spec.study.device)
            trained = load_trained(self._train_spec(), Path(self.spec.network.cache_dir), dev)
            res = evaluate(trained, self._cim_spec(), espec, out_dir=out, data_root=self._data_root(),
                           device=str(dev), spice_adcs=[load_spice_adc(a) for a in arts],
                           show_progress=self.show_progress)
            summary = {"rows": len(res.rows), "seconds": res.timings.get("total_s")}
            if with_column:
                from memspice.io import write_json
                from memspice.nn.artifacts import nodal_artifact

                column = self._column_model()
                col = evaluate(trained, self._cim_spec(), cspec, out_dir=out / "column", data_root=self._data_root(),
                               device=str(dev), column=column, show_progress=self.show_progress)
                # the column evaluated, as `memspice evaluate --column-model` reads it back
                write_json(out / "column" / "column_model.json", nodal_artifact(column).to_json())
                summary["column_rows"] = len(col.rows)
            if with_grid:
                from memspice.study.column_grid import run_column_grid

                summary["column_grid"] = run_column_grid(self, trained, gspec, grid, out / "column_grid", str(dev))
            if pspec is not None:
                res = evaluate(trained, pcim, pspec, out_dir=out / "paper", data_root=self._data_root(),
                               device=str(dev), show_progress=self.show_progress)
                summary["paper_rows"] = len(res.rows)
            return summary

        self.runner.run("evaluate", config, work, upstream=upstream)

    def system(self) -> None:
        from memspice.study.system import system_stage

        upstream = tuple(s for s in ("adc", "crossbar") if s in self.runner.results)
        config = {"system": self.spec.system.to_dict(), "bits": list(self.spec.study.bits),
                  "network": self.spec.network.to_dict()}
        self.runner.run("system", config, lambda out: system_stage(self, out), upstream=upstream)

    def export(self) -> Path:
        from memspice.study.export import export_run

        return export_run(self)

    # -- all -------------------------------------------------------------------------------------
    def run(self) -> Path:
        from memspice.report.plotting import also_pdf

        order = [s for s in ("device", "crossbar", "train", "calibrate", "adc", "evaluate", "system")
                 if self.has(s)]
        t0 = time.monotonic()
        self.log(f"study {self.spec.study.name}: {len(order) + 1} stages ({', '.join(order)}, export) "
                 f"into {self.run_dir}")
        with also_pdf(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="memspice-early",
                                                 initializer=lower_thread_priority) as pool:
            try:
                if self.spec.study.overlap:
                    self._start_early(pool)
                for stage in order:
                    getattr(self, stage)()
            except BaseException:  # a failed or interrupted (Ctrl-C) stage: stop the early work too
                self._stop_early()
                raise
            finally:
                for future in self._early.values():  # what has not started never will
                    future.cancel()
            index = self.export()
        self.log(f"study {self.spec.study.name}: done in {time.monotonic() - t0:.0f} s; open {index}")
        return index


@dataclass
class StudyResult:
    """A finished study: its run folder, the HTML index of its tables and figures, and every stage's
    result (folder, cache key, whether it came from the cache, its summary).

    Unlike the characterizations, a study writes as it goes: each stage's folder is its cache (a
    rerun recomputes only what changed, a killed run resumes) and the next stage reads it."""

    run_dir: Path
    index: Path
    stages: dict[str, StageResult]


def run_study(study_file: Path, out: Path | None = None, *, stages: tuple[str, ...] | None = None,
              show_progress: bool = True) -> StudyResult:
    """Run (or resume) the study of ``study_file`` into ``out``; progress is logged at INFO to the
    ``memspice.study`` loggers (configure :mod:`logging` to see it; the CLI does)."""
    from memspice.study.spec import load_study_file

    spec = load_study_file(study_file)
    if stages:
        spec = spec.replace(study=spec.study.replace(stages=stages))
    run_dir = out if out is not None else Path("runs") / spec.study.name
    claim_run_dir(run_dir, spec, study_file)
    write_bytes_atomic(run_dir / "study.toml", Path(study_file).read_bytes())
    study = Study(spec, study_file, run_dir, show_progress=show_progress)
    index = study.run()
    return StudyResult(run_dir=run_dir, index=index, stages=dict(study.runner.results))
