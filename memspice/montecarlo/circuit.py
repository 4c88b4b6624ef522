"""What a circuit must provide to be run by the Monte Carlo engine.

A Monte Carlo circuit is parsed once per worker (its :meth:`MonteCarloCircuit.deck` holds the
cards and the nominal values) and each sample is applied with ``alter`` steps. Sampling happens
in Python from the plan's distributions: the circuit only says which parameter groups it exposes
(:class:`ParamGroup`: a name, a unit, nominal values) and how a vector of values for a group
becomes ``Alter`` steps. It also says which analyses a sample runs and how the resulting plots
become named scalar measurements.

Optionally a circuit batches (:class:`BatchingCircuit`): it writes a whole chunk as one deck that
needs no control command per sample (e.g. every sample a point of one ``.dc`` sweep) and cuts the
result into per-sample measurements. The engine falls back to the ``alter`` path when a circuit
does not batch a chunk or the batched run fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from memspice.netlist.deck import Analyze, Deck, Step
from memspice.raw import Plot


@dataclass(frozen=True)
class ParamGroup:
    """A group of circuit parameters varied together, e.g. every cell's conductance.

    ``nominal`` holds one nominal value per member (in ``unit``); ``labels`` names the members
    (used as column names of the sample table, e.g. ``g_r012``).
    """

    name: str
    unit: str
    nominal: np.ndarray
    labels: tuple[str, ...]
    doc: str = ""
    lower: float | None = None  # physical floor (e.g. 0 S); draws below it are clipped and counted
    upper: float | None = None


class MonteCarloCircuit(Protocol):
    """The interface the engine uses; see :mod:`memspice.montecarlo.netlist_circuit` for an example."""

    #: short kind name used in plans, e.g. "crossbar", "qcell_adc", "netlist"
    kind: str

    def spec_hash(self) -> str:
        """Stable hash of everything that defines the circuit (part of the cache key)."""

    def deck(self) -> Deck:
        """The circuit at nominal values, with no steps (the engine adds them)."""

    def param_groups(self) -> Mapping[str, ParamGroup]:
        """Parameter groups a plan may vary."""

    def apply(self, values: Mapping[str, np.ndarray]) -> list[Step]:
        """``Alter`` steps that set every varied group to the given values (full vectors)."""

    def analyses(self) -> Sequence[Analyze]:
        """The analyses one sample runs (in order)."""

    def measure_names(self) -> Sequence[str]:
        """Names of the results :meth:`measure` returns (checked against a plan before running)."""

    def measure(self, plots: Sequence[Plot]) -> Mapping[str, float]:
        """Named scalar results of one sample from its plots (units in the names: ``i_out_A``)."""


@dataclass(frozen=True)
class Batch:
    """A whole chunk in one deck: ``measure`` turns the deck's plots into one measurement per sample
    (raising :class:`~memspice.errors.SimulationError` if the plots do not hold them all)."""

    deck: Deck
    measure: Callable[[Sequence[Plot]], list[Mapping[str, float]]]


class BatchingCircuit(MonteCarloCircuit, Protocol):
    """A circuit that can run a chunk in one deck without per-sample control commands."""

    def batch(self, values: Mapping[str, np.ndarray]) -> Batch | None:
        """The chunk (values: (samples, members) per group, as drawn) as one :class:`Batch`, or None
        where this circuit or chunk does not batch (the engine then applies samples by ``alter``).
        Its measurements must equal the alter path's within a tolerance the circuit states and tests."""
