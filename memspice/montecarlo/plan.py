"""Monte Carlo plans: pure data describing a batch.

A plan names a circuit (its kind and spec), the parameter groups to vary with their
distributions, the sample count, the seed and the chunk size. Everything random is drawn from
the plan alone (see :mod:`memspice.montecarlo.sampling`), so a plan and its seed give the same
samples on any machine, with any number of workers, on any backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from memspice.errors import SpecError
from memspice.spec.base import MAX_SAMPLES, Spec, check, check_count, check_name, check_positive, param, read_toml


@dataclass(frozen=True)
class Variation(Spec):
    """One random contribution to a parameter group; several may target the same group (they add)."""

    group: str = param(doc="parameter group of the circuit, e.g. g (cell conductances)", safe="name")
    distribution: Literal["normal", "uniform", "lognormal"] = param("normal", "shape of the draw")
    sigma: float | None = param(None, "absolute standard deviation, in the group's unit")
    sigma_rel: float | None = param(None, "standard deviation relative to each nominal value")
    truncate_sigma: float | None = param(3.0, "redraw values beyond this many sigma (normal only; none: no limit)")
    label: str = param("", "name of this contribution in the sample table, e.g. program or read")

    def validate(self) -> None:
        if self.label:
            check_name("label", self.label)
        check((self.sigma is None) != (self.sigma_rel is None), "sigma", self.sigma,
              "exactly one of sigma (absolute) and sigma_rel (relative)")
        if self.sigma is not None:
            check(self.sigma >= 0, "sigma", self.sigma, "a standard deviation >= 0")
        if self.sigma_rel is not None:
            check(self.sigma_rel >= 0, "sigma_rel", self.sigma_rel, "a relative standard deviation >= 0")
        if self.truncate_sigma is not None:
            check_positive("truncate_sigma", self.truncate_sigma)
        check(self.distribution == "normal" or self.truncate_sigma in (None, 3.0), "truncate_sigma",
              self.truncate_sigma, "truncation only with the normal distribution")


@dataclass(frozen=True)
class Plan(Spec):
    """A Monte Carlo batch."""

    name: str = param(doc="name of the plan (the output folder is runs/mc/<name>)", safe="name")
    circuit: str = param(doc="circuit kind: netlist, crossbar or qcell_adc")
    spec: Mapping[str, Any] = param(doc="the circuit's spec (a table, or {file = 'path'} relative to the plan)")
    samples: int = param(doc="number of samples")
    seed: int = param(0, "seed of the SeedSequence the samples are drawn from")
    chunk_size: int = param(50, "samples per chunk: the unit of work, caching and resumption")
    vary: tuple[Variation, ...] = param((), "random contributions to the circuit's parameter groups")
    measure: tuple[str, ...] = param((), "measurements to keep (default: all the circuit provides)", safe="name")
    timeout_s: float = param(120.0, "wall-time limit per sample (a chunk gets chunk_size times this)", "s")
    backend: Literal["subprocess", "shared"] = param("subprocess", "ngspice backend in the workers")
    base_dir: str = param("", "folder that relative paths in spec are taken from (set when loading a file)")
    max_failed_fraction: float = param(0.5, "the batch fails (non-zero exit) when more samples than this fraction "
                                       "fail in ngspice")

    def validate(self) -> None:
        check_count("samples", self.samples, MAX_SAMPLES, what="the limit of a plan")
        check(self.seed >= 0, "seed", self.seed, "a seed >= 0")
        check_count("chunk_size", self.chunk_size, 10_000, what="samples in one deck")
        check_positive("timeout_s", self.timeout_s, "s")
        check(0 <= self.max_failed_fraction < 1, "max_failed_fraction", self.max_failed_fraction,
              "a fraction from 0 to below 1")

    @property
    def n_chunks(self) -> int:
        return -(-self.samples // self.chunk_size)

    def chunk_range(self, k: int) -> range:
        start = k * self.chunk_size
        return range(start, min(start + self.chunk_size, self.samples))

    def cache_fields(self) -> dict[str, Any]:
        """What defines the results (not how they are computed): the cache key's content."""
        data = self.to_dict()
        # how the batch runs does not change its numbers (tests show both backends bit-identical)
        for key in ("base_dir", "timeout_s", "backend", "max_failed_fraction"):
            data.pop(key, None)
        return data


def load_plan(path: str | Path) -> Plan:
    """A plan from the ``[plan]`` table of a TOML file; relative spec paths are resolved from it."""
    path = Path(path)
    data = read_toml(path)
    if "plan" not in data:
        raise SpecError("plan", None, "a [plan] table", source=str(path))
    table = dict(data["plan"])
    table.setdefault("base_dir", str(path.resolve().parent))
    return Plan.from_dict(table, where="plan", source=str(path))
