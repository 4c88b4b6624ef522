"""The Monte Carlo circuit registry (memspice.characterize.registry): the one place a plan's circuit
kind becomes a circuit; the engine only runs the circuit it is given."""

import pytest

from memspice.characterize import registry
from memspice.errors import SpecError
from memspice.montecarlo.plan import Plan

pytestmark = pytest.mark.unit


def test_every_circuit_kind_is_registered_once():
    assert sorted(registry.CIRCUITS) == ["crossbar", "netlist", "qcell_adc"]


def test_an_unknown_kind_names_the_field_and_the_kinds():
    plan = Plan(name="p", circuit="ladder9", spec={}, samples=2)
    with pytest.raises(SpecError, match=r"plan\.circuit.*ladder9.*crossbar, netlist, qcell_adc"):
        registry.check_plan(plan)


def test_a_crossbar_plan_builds_the_crossbar_circuit_and_checks_its_measures():
    plan = Plan(name="xb", circuit="crossbar", spec={"rows": 4, "seed": 5}, samples=2, measure=("i_out_A",))
    circuit = registry.check_plan(plan)
    assert circuit.kind == "crossbar" and registry.build_circuit(plan) is circuit  # built once per process
    with pytest.raises(SpecError, match=r"plan\.measure\[0\].*a measurement of circuit crossbar"):
        registry.check_plan(plan.replace(name="xb2", measure=("nope",)))
