"""Drawing sample values (pure numpy).

The plan's seed makes a ``SeedSequence``; chunk k draws from child k of it, so the values of a
sample depend only on the plan, never on how chunks are spread over workers or machines.
Within a chunk, the variations are drawn in plan order, each for every sample and member.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from memspice.errors import SpecError
from memspice.montecarlo.circuit import ParamGroup
from memspice.montecarlo.plan import Plan, Variation


def check_plan_groups(plan: Plan, groups: Mapping[str, ParamGroup]) -> None:
    """Every variation names a group the circuit exposes; every kept measurement is checked later."""
    for k, var in enumerate(plan.vary):
        if var.group not in groups:
            raise SpecError(f"plan.vary[{k}].group", var.group,
                            f"a parameter group of circuit {plan.circuit}: {', '.join(sorted(groups))}")


def chunk_generator(plan: Plan, chunk: int) -> np.random.Generator:
    """Child ``chunk`` of the plan's SeedSequence: ``SeedSequence(seed).spawn(n_chunks)[chunk]``, made
    directly (a child is its parent's entropy with spawn key ``(chunk,)``) instead of spawning every
    chunk's child for each chunk (quadratic in the chunk count)."""
    if not 0 <= chunk < plan.n_chunks:
        raise IndexError(f"chunk {chunk} of a plan with {plan.n_chunks} chunks")
    return np.random.default_rng(np.random.SeedSequence(plan.seed, spawn_key=(chunk,)))


def _draw(var: Variation, nominal: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    sigma = var.sigma if var.sigma is not None else var.sigma_rel * np.abs(nominal)
    shape = (n, nominal.size)
    if var.distribution == "normal":
        z = rng.standard_normal(shape)
        if var.truncate_sigma is not None:
            bad = np.abs(z) > var.truncate_sigma
            while bad.any():
                z[bad] = rng.standard_normal(int(bad.sum()))
                bad = np.abs(z) > var.truncate_sigma
        return z * sigma
    if var.distribution == "uniform":  # same standard deviation: half-width sqrt(3) sigma
        return rng.uniform(-1.0, 1.0, shape) * np.sqrt(3.0) * sigma
    # lognormal: multiplicative, median at nominal, sigma relative (of the log)
    rel = sigma / np.maximum(np.abs(nominal), 1e-300)
    return nominal * (np.exp(rng.standard_normal(shape) * rel) - 1.0)


def draw_chunk(plan: Plan, groups: Mapping[str, ParamGroup], chunk: int) -> dict[str, np.ndarray]:
    """Values of every group for the samples of ``chunk``: arrays of shape (samples, members).

    Groups not varied stay at nominal. Values outside a group's physical bounds are clipped.
    """
    n = len(plan.chunk_range(chunk))
    rng = chunk_generator(plan, chunk)
    values = {name: np.tile(g.nominal.astype(float), (n, 1)) for name, g in groups.items()}
    for var in plan.vary:
        g = groups[var.group]
        values[var.group] = values[var.group] + _draw(var, g.nominal.astype(float), n, rng)
    for name, g in groups.items():
        if g.lower is not None or g.upper is not None:
            values[name] = np.clip(values[name], g.lower if g.lower is not None else -np.inf,
                                   g.upper if g.upper is not None else np.inf)
    return values
