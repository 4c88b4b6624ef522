"""Design-space exploration of the Q-cell ADC from SPICE: ``memspice explore adc SPEC --grid GRID``.

A grid (TOML, ``[grid]``) names design variables of the ADC spec and the values to try; every
combination is a design point. Each point is characterized as a chip would be: programming map,
write-verify (DC, then, in the precharge scheme, verified again in the conversion timing:
:mod:`memspice.characterize.adc.timed`), the transistor-level transfer, a transient over the spec's
conversions for energy (total and switching, :mod:`memspice.extract.energy`) and delay, the area model
(at the card's node and normalised), a mismatch Monte Carlo on the engine for linearity, and a
read-disturb margin. Points are cached one JSON file each under ``OUT/points/`` (a killed run resumes)
and run in worker processes that die with this one, killing their ngspice runs first; the tables and
figures are rebuilt from the cache.

Linearity under mismatch is that of programmed chips: every point runs the **closed-loop** chip Monte
Carlo (:func:`memspice.characterize.adc.chips.chip_monte_carlo`: each sample a fabricated chip programmed
by its own write-verify, whose verify reads the state the chip is used in: a DC sweep in the static
scheme, the read in the conversion timing in the precharge scheme, after which the chip is read in that
timing, :mod:`memspice.characterize.adc.chips_timed`). The **open-loop** experiment (the nominal
programming applied to every sample) is available by name (``grid.mc_programming = "open"``); each row
says which ran (``mc_experiment``).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from memspice import __version__
from memspice.errors import InputError, SpecError
from memspice.spec.adc import AdcSpec

# variable (dotted AdcSpec path) -> what it is
VARIABLES = {
    "cell.transistors": "transistor card (models/<name>.lib): its node, minimum length and mismatch",
    "cell.vdd_v": "supply of the match line, the inverters and the encoder (V)",
    "cell.v_read_v": "read supply of the dividers, pulsed on for the read window only (V)",
    "cell.v_ref_v": "source reference of the input transistors (V)",
    "cell.v_pu_v": "pull-up (keeper) gate bias during the read (V)",
    "cell.input": "input NMOS size {w_m, l_m}",
    "cell.pulldown": "match-line pull-down size {w_m, l_m}",
    "cell.pullup": "match-line pull-up size {w_m, l_m}",
    "cell.inv_n": "inverter NMOS size {w_m, l_m}",
    "cell.inv_p": "inverter PMOS size {w_m, l_m}",
    "encoder.rom_p": "encoder ROM PMOS size {w_m, l_m}",
    "encoder.bl_pulldown": "encoder bit-line pull-down NMOS size {w_m, l_m}",
    "encoder.bl_reset": "encoder bit-line reset NMOS size {w_m, l_m}",
    "encoder.logic_n": "encoder sense/XOR NMOS size {w_m, l_m}",
    "encoder.logic_p": "encoder sense/XOR PMOS size {w_m, l_m}",
    "timing.scheme": "evaluation scheme: static or precharge",
    "timing.read_s": "read window (s)",
    "timing.period_s": "conversion period (s)",
    "timing.precharge_s": "precharge phase (s)",
    "timing.sense_s": "sense enable time (s)",
    "card": "memristor card (its conductance window)",
}

MC_CLOSED = "closed loop: each sample a chip programmed by write-verify (DC verify = static read state)"
MC_CLOSED_TIMED = ("closed loop in the timing: each sample a chip write-verified by its read in the precharge "
                   "timing, then read in it")
MC_OPEN = ("open loop: the nominal programming applied to each sample (named experiment: "
           "grid.mc_programming = open)")
MC_PROGRAMMING = ("closed", "open")

POINT_DECK_TIMEOUT_S = 4 * 3600.0

OBJECTIVES = ("energy_switching_J", "energy_total_J", "area_normalised_um2", "inl_rms_lsb")


@dataclass(frozen=True)
class Grid:
    """Design variables and their values; every combination is a point. ``named``: explicit points
    (``[[grid.points]]``: a name and variable = value), after the combinations; candidate designs that
    change several knobs at once are not a product."""

    variables: dict[str, tuple]
    mc_samples: int = 8
    seed: int = 20250101
    named: tuple[tuple[str, dict[str, Any]], ...] = ()
    mc_programming: str = "closed"  # closed: programmed chips (default); open: the named open-loop experiment

    def points(self) -> list[dict[str, Any]]:
        names = list(self.variables)
        combos = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*self.variables.values())]
        return (combos if names else []) + [dict(p) for _, p in self.named]

    def names(self) -> list[str]:
        """A label per point (in :meth:`points` order): the name of a named point, else its index."""
        n = len(self.points()) - len(self.named)
        return [str(i) for i in range(n)] + [name for name, _ in self.named]


def load_grid(path: str | Path) -> Grid:
    """A :class:`Grid` from the ``[grid]`` table of a TOML file (``vary`` sub-table: variable = [values])."""
    import tomllib

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: grid file not found") from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{path}: not valid TOML ({err})") from None
    table = data.get("grid")
    if not isinstance(table, dict):
        raise SpecError("grid", None, "a [grid] table", source=str(path))
    for key in table:
        if key not in ("vary", "points", "mc_samples", "seed", "mc_programming"):
            raise SpecError(f"grid.{key}", key, "one of the known keys: mc_samples, mc_programming, seed, vary, points",
                            source=str(path))
    named = _named_points(table.get("points"), path)
    vary = table.get("vary", {} if named else None)
    if not isinstance(vary, dict) or not (vary or named):
        raise SpecError("grid.vary", vary, "a table of design variables, each a list of values (or [[grid.points]])",
                        source=str(path))
    variables: dict[str, tuple] = {}
    for name, values in vary.items():
        if name not in VARIABLES:
            raise SpecError(f"grid.vary.{name}", name, f"one of the design variables: {', '.join(VARIABLES)}",
                            source=str(path))
        if not isinstance(values, list) or not values:
            raise SpecError(f"grid.vary.{name}", values, "a non-empty list of values", source=str(path))
        variables[name] = tuple(values)
    mc = table.get("mc_samples", 8)
    if not isinstance(mc, int) or isinstance(mc, bool) or not 0 <= mc <= 1000:
        raise SpecError("grid.mc_samples", mc, "an integer from 0 to 1000", source=str(path))
    seed = table.get("seed", 20250101)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SpecError("grid.seed", seed, "a non-negative integer", source=str(path))
    programming = table.get("mc_programming", "closed")
    if programming not in MC_PROGRAMMING:
        raise SpecError("grid.mc_programming", programming,
                        "closed (each chip write-verified in its own read: the default) or open (the named open-loop "
                        "experiment)", source=str(path))
    return Grid(variables=variables, mc_samples=mc, seed=seed, named=named, mc_programming=programming)


def _named_points(points: Any, path: Path) -> tuple[tuple[str, dict[str, Any]], ...]:
    """``[[grid.points]]``: each a table with a unique ``name`` and at least one known design variable."""
    if points is None:
        return ()
    if not isinstance(points, list) or not points:
        raise SpecError("grid.points", points, "a non-empty array of tables ([[grid.points]])", source=str(path))
    out: list[tuple[str, dict[str, Any]]] = []
    for i, p in enumerate(points):
        if not isinstance(p, dict):
            raise SpecError(f"grid.points[{i}]", p, "a table: name = \"...\" and design variables", source=str(path))
        name = p.get("name")
        if not isinstance(name, str) or not name.strip() or any(name == n for n, _ in out):
            raise SpecError(f"grid.points[{i}].name", name, "a unique non-empty name", source=str(path))
        values = {k: v for k, v in p.items() if k != "name"}
        for k in values:
            if k not in VARIABLES:
                raise SpecError(f"grid.points[{i}].{k}", k, f"one of the design variables: {', '.join(VARIABLES)}",
                                source=str(path))
        if not values:
            raise SpecError(f"grid.points[{i}]", name, "at least one design variable", source=str(path))
        out.append((name, values))
    return tuple(out)


def point_specs(base: AdcSpec, grid: Grid) -> list[AdcSpec]:
    """The spec of every point, validated before anything runs (a bad combination names its point)."""
    specs = []
    named = len(grid.points()) - len(grid.named)
    for i, (point, name) in enumerate(zip(grid.points(), grid.names(), strict=True)):
        try:
            specs.append(base.with_overrides(point))
        except SpecError as err:
            label = f'"{name}"' if i >= named else f"{i} ({_label(point)})"
            raise SpecError(f"grid point {label}: {err.field}", err.value, err.expected) from None
    return specs


def _label(point: Mapping[str, Any]) -> str:
    def short(v):
        if isinstance(v, dict):
            return f"{v.get('w_m', 0) * 1e6:g}/{v.get('l_m', 0) * 1e6:g}um"
        return f"{v:g}" if isinstance(v, float) else str(v)

    return ", ".join(f"{k.split('.')[-1]}={short(v)}" for k, v in point.items())


def point_seed(grid: Grid, index: int) -> int:
    """The Monte Carlo seed of point ``index``: a child of SeedSequence(grid.seed), recorded in its row.

    A combination's child follows its index; a named point's follows its name (the spawn key is the
    name's SHA-256, 4 words), so adding or reordering named points leaves the others' seeds and cache
    keys as they were."""
    n = len(grid.points()) - len(grid.named)
    if index < n:
        child = np.random.SeedSequence(grid.seed, spawn_key=(index,))  # = SeedSequence(grid.seed).spawn(..)[index]
    else:
        digest = hashlib.sha256(grid.named[index - n][0].encode()).digest()
        key = tuple(int.from_bytes(digest[4 * j:4 * j + 4], "little") for j in range(4))
        child = np.random.SeedSequence(grid.seed, spawn_key=(1 << 32, *key))  # never a combination's key
    return int(child.generate_state(1)[0])


def point_key(spec: AdcSpec, mc_samples: int, seed: int, programming: str = "closed") -> str:
    text = json.dumps([spec.spec_hash(), mc_samples, seed, __version__, programming])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_disturb_margin_v(spec: AdcSpec) -> float:
    """Smallest switching threshold of the card (V) minus the largest voltage a memristor can see in a read,
    v_read - v_ref (the divider node cannot fall below the source reference): > 0 means no read
    disturbs a programmed state (a bound from the circuit, not a simulation of the state)."""
    from memspice.spec.device import load_card

    card = load_card(spec.card)
    p = card.params
    if card.model == "vteam":
        thr = min(abs(float(p["v_on_v"])), abs(float(p["v_off_v"])))
    else:
        thr = min(abs(float(p["v_p_v"])), abs(float(p["v_n_v"])))
    return thr - (spec.cell.v_read_v - spec.cell.v_ref_v)


def cpu_s() -> float:
    """CPU seconds of this process (all threads) and of its finished children (the ngspice runs)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class _Phases:
    """Wall and CPU seconds per phase of a point (``wall_<phase>_s``, ``cpu_<phase>_s`` in its row): where
    the explorer's time goes (CPU time, not wall, says what an idle machine would take)."""

    def __init__(self, row: dict[str, Any]):
        self.row = row
        self.t, self.c = time.perf_counter(), cpu_s()

    def done(self, phase: str) -> None:
        t, c = time.perf_counter(), cpu_s()
        self.row[f"wall_{phase}_s"], self.row[f"cpu_{phase}_s"] = t - self.t, c - self.c
        self.t, self.c = t, c


def dc_key(spec: AdcSpec) -> str:
    """Hash of what the nominal DC programming (map, write-verify, transfer) reads: the spec without its
    ``timing`` and ``mc`` tables. Their DC decks are the same text (tests/unit/test_explore.py), so points
    that differ only in timing (the scheme, the read window) share one nominal programming."""
    d = spec.hash_data()
    d.pop("timing", None)
    d.pop("mc", None)
    return hashlib.sha256(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def characterize_point(spec: AdcSpec, mc_samples: int, seed: int, backend: str = "subprocess",
                       nominal: dict[str, tuple] | None = None, programming: str = "closed") -> dict[str, Any]:
    """One design point, as a row (units in the column names); never raises for a design that fails:
    the row says why (``status``). The row records the wall and CPU seconds of each phase
    (``wall_<phase>_s``, ``cpu_<phase>_s``: program, timed, energy, mc) and in all (``wall_s``, ``cpu_s``).

    ``nominal`` ({:func:`dc_key`: (map, programming, transfer)}): the nominal DC programming of points
    already run in this worker; a point whose key is there reuses it (the same decks would give the same
    numbers) and adds its own (``nominal_programming`` in the row: computed or shared).

    ``programming``: closed (each Monte Carlo chip write-verified by its own read: DC sweeps in the static
    scheme, the timed read in the precharge scheme, :mod:`memspice.characterize.adc.chips_timed`) or open
    (the named open-loop experiment: the nominal programming applied to every sample)."""
    from memspice.characterize import adc as flow
    from memspice.characterize.adc.chips import nonconverged, stopped_at
    from memspice.characterize.adc.timed import program_in_timing
    from memspice.errors import SimulationError
    from memspice.spec.device import load_card

    # the ngspice wall-clock guard is a hang guard, not a speed limit: points run side by side on a shared
    # machine, and a 5-bit static transient (2.4 ns x 8 conversions) exceeded 600 s wall at a ~15 % CPU
    # share, which failed a design for the machine's load
    opts = flow.RunOptions(backend=backend, show_progress=False, workers=1, timeout_s=POINT_DECK_TIMEOUT_S)
    t0, c0 = time.perf_counter(), cpu_s()
    row: dict[str, Any] = {"scheme": spec.timing.scheme, "spec_hash": spec.spec_hash(), "mc_seed": seed}
    phases = _Phases(row)
    area = flow.area_um2(spec)
    row.update(area_um2=area["total_um2"], area_normalised_um2=area["total_normalised_um2"],
               read_disturb_margin_V=read_disturb_margin_v(spec))
    try:
        card = load_card(spec.card)
        key = dc_key(spec)
        shared = nominal is not None and key in nominal
        if shared:
            pmap, prog, tr = nominal[key]
            prog = copy.deepcopy(prog)  # the timed rounds continue from it: never change the shared one
        else:
            pmap, prog, tr = flow.program_converter(spec, card, opts)
            if nominal is not None:
                nominal[key] = (pmap, copy.deepcopy(prog), tr)
        row["nominal_programming"] = "shared" if shared else "computed"
        phases.done("program")
        boundaries = tr.measured_v
        converged = True
        if spec.timing.scheme == "precharge":
            timed = program_in_timing(spec, card, pmap, prog, opts)
            prog, boundaries = timed.prog, timed.dominant_v
            worst = timed.history_lsb[-1]
            row.update(timed_rounds=timed.rounds, timed_worst_error_lsb=worst)
            converged = math.isfinite(worst) and worst <= spec.program_tol_lsb
            phases.done("timed")
        from memspice.extract import adc as ex

        inl, dnl = ex.inl_dnl(boundaries, prog.plan.targets_v, spec.input_lo_v, spec.input_hi_v, spec.lsb_v)
        en = flow.conversion_energy_settled(spec, card, prog, opts)
        phases.done("energy")
        row.update(inl_nominal_lsb=float(np.max(np.abs(inl))), dnl_nominal_lsb=float(np.max(np.abs(dnl))),
                   energy_total_J=en.energy_per_conversion_j, energy_switching_J=en.switching_j,
                   energy_static_J=en.static_j, delay_s=en.delay_s, read_window_s=en.read_s,
                   codes_ok=en.codes_ok, write_verify_iterations=prog.iterations)
        for group, e in en.by_cause().get("switching_J", {}).items():
            row[f"switching_{group.replace(' ', '_').replace('/', '_')}_J"] = e
        if mc_samples:
            # closed loop (each sample a chip programmed by write-verify, chips.chip_monte_carlo): the verify
            # reads the state the chip is used in (static: DC sweeps; precharge: the timed read, and the chip
            # is then read in that timing). The open loop is a named experiment, never the default.
            experiment = programming
            mspec = spec.with_overrides({"mc.samples": mc_samples, "mc.seed": seed, "mc.programming": experiment})
            mc, _ = flow.chip_monte_carlo(mspec, card, prog, opts, experiment)
            stats = flow.mc_statistics(mspec, mc, prog.plan.targets_v)
            label = (MC_OPEN if experiment == "open" else
                     MC_CLOSED if spec.timing.scheme == "static" else MC_CLOSED_TIMED)
            row.update(mc_experiment=label,
                       inl_rms_lsb=stats["inl_max_lsb_rms"], dnl_rms_lsb=stats["dnl_max_lsb_rms"],
                       boundary_sigma_rms_V=stats["boundary_sigma_rms_V"], mc_failed=len(mc.failed),
                       mc_nonconverged=stats["nonconverged_samples"] or 0,
                       mc_nonconverged_why="; ".join(f"chip {r['sample']}: {r['reason']} at {stopped_at(r)}"
                                                     for r in nonconverged(mc)))
            phases.done("mc")
        else:
            row.update(mc_experiment="none (nominal)", inl_rms_lsb=row["inl_nominal_lsb"],
                       dnl_rms_lsb=row["dnl_nominal_lsb"])
        row["status"] = ("ok" if en.codes_ok and converged else "codes wrong" if not en.codes_ok else
                         f"write-verify in timing not converged (worst {row['timed_worst_error_lsb']:.3g} LSB)")
    except (SpecError, SimulationError) as err:
        row["status"] = f"failed: {err}".replace("\n", " ")
    row["wall_s"], row["cpu_s"] = time.perf_counter() - t0, cpu_s() - c0
    return row


def _run_group(args) -> list[tuple[int, dict]]:
    """The points of one :func:`dc_key` group in turn, sharing their nominal programming; each row is
    written to the cache as soon as its point is done (a killed run resumes from it)."""
    from memspice.io import write_json

    cache_dir, todo = args
    nominal: dict[str, tuple] = {}
    out = []
    for index, spec_dict, mc_samples, seed, backend, programming in todo:
        spec = AdcSpec.from_dict(spec_dict)
        row = characterize_point(spec, mc_samples, seed, backend, nominal=nominal, programming=programming)
        write_json(Path(cache_dir) / f"{point_key(spec, mc_samples, seed, programming)}.json", row)
        out.append((index, row))
    return out


@dataclass
class ExploreResult:
    points: list[dict[str, Any]]  # one row per point, the grid values first
    pareto: list[int]  # indices into points
    variables: list[str]
    wall_s: float
    cpu_s: float = float("nan")  # this run's CPU seconds, its workers and ngspice runs included


def pareto_front(rows: Sequence[Mapping[str, Any]], objectives: Sequence[str] = OBJECTIVES) -> list[int]:
    """Indices of the rows with status ok that no other ok row dominates (all objectives minimised)."""
    ok = [i for i, r in enumerate(rows) if r.get("status") == "ok"
          and all(isinstance(r.get(o), (int, float)) and math.isfinite(r[o]) for o in objectives)]
    vals = {i: np.array([rows[i][o] for o in objectives], dtype=float) for i in ok}
    front = []
    for i in ok:
        dominated = any(np.all(vals[j] <= vals[i]) and np.any(vals[j] < vals[i]) for j in ok if j != i)
        if not dominated:
            front.append(i)
    return front


def group_points(keys: Sequence[str], workers: int) -> list[list[int]]:
    """Indices of the points to run in turn in one worker: those with the same key (:func:`dc_key`), the
    largest group split in halves while there are fewer groups than workers (every worker kept busy)."""
    groups: dict[str, list[int]] = {}
    for j, key in enumerate(keys):
        groups.setdefault(key, []).append(j)
    out = list(groups.values())
    while out and len(out) < workers and max(map(len, out)) > 1:
        big = out.pop(int(np.argmax([len(g) for g in out])))
        out += [big[:len(big) // 2], big[len(big) // 2:]]
    return out


def run_explore(base: AdcSpec, grid: Grid, cache_dir: Path, *, workers: int = 1, backend: str = "subprocess",
                log: Callable[[str], None] | None = None, show_progress: bool = False) -> ExploreResult:
    """Characterize every grid point (cached in ``cache_dir``, one JSON file each; cached points are not
    run again) with ``workers`` processes; the result does not depend on ``workers``. Points with the same
    :func:`dc_key` run in turn in one worker and share their nominal programming."""
    from memspice.progress import progress

    say = log or (lambda s: None)
    t0, c0 = time.perf_counter(), cpu_s()
    specs = point_specs(base, grid)
    points = grid.points()
    cache_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[int, dict] = {}
    todo = []
    for i, spec in enumerate(specs):
        seed = point_seed(grid, i)
        f = cache_dir / f"{point_key(spec, grid.mc_samples, seed, grid.mc_programming)}.json"
        if f.exists():
            rows[i] = json.loads(f.read_text())
        else:
            todo.append((i, spec.to_dict(), grid.mc_samples, seed, backend, grid.mc_programming))
    say(f"{len(specs)} design points, {len(specs) - len(todo)} cached, {len(todo)} to run on {workers} worker(s)")

    def done(i: int, row: dict) -> None:
        rows[i] = row
        say(f"point {i} ({_label(points[i])}): {row['status']}, {row['wall_s']:.0f} s wall, "
            f"{row.get('cpu_s', float('nan')):.0f} s CPU, nominal programming {row.get('nominal_programming')}")

    # points that differ only in timing share their nominal DC programming: one task per dc_key group
    parts = group_points([dc_key(specs[args[0]]) for args in todo], workers)
    tasks = [(str(cache_dir), [todo[j] for j in part]) for part in parts]
    with progress(len(todo), "explore adc", enabled=show_progress) as bar:
        if workers > 1 and len(tasks) > 1:
            from concurrent.futures import ProcessPoolExecutor, as_completed

            from memspice.montecarlo.engine import worker_init

            # workers die with this process and kill their ngspice first (a killed explore leaves nothing running)
            with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), initializer=worker_init,
                                     initargs=(os.getpid(),)) as pool:
                for fut in as_completed([pool.submit(_run_group, t) for t in tasks]):
                    for i, row in fut.result():
                        done(i, row)
                        bar.advance()
        else:
            for task in tasks:
                for i, row in _run_group(task):
                    done(i, row)
                    bar.advance()
    table = []
    names = grid.names()
    variables = list(grid.variables)
    for _, p in grid.named:
        variables += [k for k in p if k not in variables]
    for i in range(len(specs)):
        label = {"name": names[i]} if grid.named else {}
        table.append({"point": i, **label, **{k: _plain(v) for k, v in points[i].items()}, **rows[i]})
    return ExploreResult(points=table, pareto=pareto_front(table), variables=variables,
                         wall_s=time.perf_counter() - t0, cpu_s=cpu_s() - c0)


def _plain(v: Any) -> Any:
    if isinstance(v, dict):  # a size: written as W/L in um
        return f"{v['w_m'] * 1e6:g}/{v['l_m'] * 1e6:g}"
    return v
