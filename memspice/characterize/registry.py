"""The one place where concrete Monte Carlo circuits are named: plan ``circuit`` kind -> factory.

The Monte Carlo engine (:mod:`memspice.montecarlo.engine`) knows only the circuit protocol
(:mod:`memspice.montecarlo.circuit`) and runs the circuit object it is given; it never imports a
concrete circuit. A plan file names its circuit by kind (``netlist``, ``crossbar``, ``qcell_adc``)
and the kind is recorded in the plan (and so in its cache key), so a rerun of the same plan file
builds the same circuit here and resumes from the chunk cache. To add a circuit: give it a
``from_spec(spec, base_dir)`` constructor and list it in :data:`CIRCUITS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from memspice.errors import SpecError
from memspice.montecarlo.circuit import MonteCarloCircuit
from memspice.montecarlo.plan import Plan

Factory = Callable[[Mapping, str], MonteCarloCircuit]


def _netlist(spec: Mapping, base_dir: str) -> MonteCarloCircuit:
    from memspice.montecarlo.netlist_circuit import NetlistCircuit

    return NetlistCircuit.from_spec(spec, base_dir)


def _crossbar(spec: Mapping, base_dir: str) -> MonteCarloCircuit:
    from memspice.characterize.crossbar import CrossbarCircuit

    return CrossbarCircuit.from_spec(spec, base_dir)


def _qcell_adc(spec: Mapping, base_dir: str) -> MonteCarloCircuit:
    from memspice.characterize.adc.montecarlo import QcellAdcCircuit

    return QcellAdcCircuit.from_spec(spec, base_dir)


#: plan ``circuit`` kind -> constructor from the plan's ``spec`` table and the plan file's folder;
#: the constructors import lazily, so naming a kind costs nothing until it is built.
CIRCUITS: dict[str, Factory] = {"netlist": _netlist, "crossbar": _crossbar, "qcell_adc": _qcell_adc}

_BUILT: dict[str, MonteCarloCircuit] = {}


def build_circuit(plan: Plan) -> MonteCarloCircuit:
    """The plan's circuit, by its ``circuit`` kind (built once per process and plan)."""
    key = plan.spec_hash()
    if key not in _BUILT:
        if plan.circuit not in CIRCUITS:
            raise SpecError("plan.circuit", plan.circuit, f"one of {', '.join(sorted(CIRCUITS))}")
        _BUILT[key] = CIRCUITS[plan.circuit](plan.spec, plan.base_dir or ".")
    return _BUILT[key]


def check_plan(plan: Plan) -> MonteCarloCircuit:
    """Build the plan's circuit and check the plan against it (groups, measurements); nothing runs."""
    from memspice.montecarlo.engine import check_circuit

    circuit = build_circuit(plan)
    check_circuit(plan, circuit)
    return circuit


def run_plan_by_kind(plan: Plan, **kwargs: Any):
    """:func:`memspice.montecarlo.engine.run_plan` with the circuit the plan names (a rerun resumes
    from the cache: the cache key holds the plan and the circuit's hash)."""
    from memspice.montecarlo.engine import run_plan

    return run_plan(plan, circuit=check_plan(plan), **kwargs)


__all__ = ["CIRCUITS", "build_circuit", "check_plan", "run_plan_by_kind"]
