"""The ngspice engine with real ngspice: both backends, identical numbers, loud failures."""

import numpy as np
import pytest

from memspice.errors import (
    ConvergenceError,
    InputError,
    MissingVectorError,
    NetlistError,
    SimulationTimeout,
)
from memspice.netlist.cards import BSource, Capacitor, Instance, ISource, Pulse, Resistor, Sine, VSource
from memspice.netlist.deck import Alter, Analyze, Command, Dc, Deck, Op, Tran
from memspice.ngspice import simulate

pytestmark = pytest.mark.ngspice
BACKENDS = ["subprocess", "shared"]


def rc_deck():
    cards = [VSource("1", "in", "0", 1.0, Sine(0, 1, 1e3)), Resistor("1", "in", "a", 1e3),
             Resistor("2", "a", "0", 2e3), Capacitor("1", "a", "0", 1e-7)]
    return Deck("rc", cards, steps=[
        Analyze(Op(), ("v(a)", "i(v1)"), label="op"),
        Analyze(Dc("v1", 0, 1, 0.1), ("v(a)",), label="dc"),
        Alter("r2", "resistance", 4e3),
        Analyze(Tran(1e-5, 2e-3), ("v(a)", "i(v1)"), label="tran"),
    ])


@pytest.mark.parametrize("backend", BACKENDS)
def test_results_match_hand_calculation(backend):
    result = simulate(rc_deck(), backend=backend)
    assert result["op"]["v(a)"][0] == pytest.approx(2 / 3, rel=1e-9)
    dc = result["dc"]
    np.testing.assert_allclose(dc["v(a)"], dc["v-sweep"] * 2 / 3, rtol=1e-9, atol=1e-15)
    tran = result["tran"]
    assert tran.scale == "time" and tran["time"][-1] == pytest.approx(2e-3)


def test_backends_give_identical_numbers():
    sub = simulate(rc_deck(), backend="subprocess")
    shared = simulate(rc_deck(), backend="shared")
    assert sub.labels == shared.labels
    for p_sub, p_sh in zip(sub.plots, shared.plots, strict=True):
        assert p_sub.name == p_sh.name
        assert set(p_sub.vectors) == set(p_sh.vectors)
        assert p_sub.kinds == p_sh.kinds  # the raw file's variable types == the types PySpice's units say
        for key, values in p_sub.vectors.items():
            assert np.array_equal(values, p_sh.vectors[key]), key  # bit for bit


def test_shared_backend_releases_memory_between_runs():
    from memspice.ngspice.engine import shared_engine

    for _ in range(3):
        simulate(rc_deck(), backend="shared")
    engine = shared_engine()
    # after each run every plot is destroyed and the circuit removed: only the constants remain
    engine._clear_output()
    engine._command("setplot")
    plots = [line for line in engine._output() if line.startswith("Current") or "\t" in line]
    assert plots == ["Current const\tConstant values (constants)"]
    engine._clear_output()
    engine._command("listing")
    assert engine._output() == ["Error: no circuit loaded."]


def _failing(kind):
    ok = [VSource("1", "in", "0", 1.0), Resistor("1", "in", "0", 1e3)]
    if kind == "netlist":
        return Deck("t", [*ok, Instance("1", "nosuchsub", ["in", "0"])], steps=[Analyze(Op(), ("v(in)",))])
    if kind == "vector":
        return Deck("t", ok, steps=[Analyze(Op(), ("v(in)", "v(nowhere)"))])
    if kind == "command":
        return Deck("t", ok, steps=[Command("frobnicate"), Analyze(Op(), ("v(in)",))])
    if kind == "singular":
        return Deck("t", [*ok, Capacitor("1", "a", "b", 1e-12)], steps=[Analyze(Op(), ("v(in)",))])
    if kind == "nonconvergence":
        return Deck("t", [ISource("1", "0", "a", 1e-3), BSource("1", "a", "0", "i", "(v(a) > 0.5 ? 2e-3 : 0)")],
                    steps=[Analyze(Op(), ("v(a)",))])
    if kind == "timeout":  # a discontinuous source that ngspice crawls through
        return Deck("t", [VSource("1", "in", "0", 0.0, Pulse(0, 1, 1e-9, 1e-9, 1e-9, 5e-9, 1e-8)),
                          Resistor("1", "in", "a", 1e3), BSource("1", "a", "0", "i", "(v(a) > 0.5 ? 2e-3 : 0)"),
                          Capacitor("1", "a", "0", 1e-15)],
                    steps=[Analyze(Tran(1e-12, 3e-8), ("v(a)",))])
    raise AssertionError(kind)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("kind", "error", "needle"),
    [
        ("netlist", NetlistError, "unknown subckt"),
        ("vector", MissingVectorError, "nowhere"),
        ("command", NetlistError, "no such command"),
        ("singular", ConvergenceError, "singular matrix"),
        ("nonconvergence", ConvergenceError, ""),
        ("timeout", SimulationTimeout, "no result after"),
    ],
)
def test_failures_are_loud_and_keep_the_run(backend, kind, error, needle, tmp_path):
    with pytest.raises(error) as info:
        simulate(_failing(kind), backend=backend, timeout_s=2.0, run_root=tmp_path)
    err = info.value
    assert needle in str(err)
    assert err.run_dir is not None and err.run_dir.is_dir()
    assert (err.run_dir / "deck.cir").is_file()
    assert str(err.run_dir) in str(err) and "deck.cir" in str(err)
    # the engine recovers: the next run in the same process works
    assert simulate(rc_deck(), backend=backend)["op"]["v(a)"][0] == pytest.approx(2 / 3)


def test_success_removes_run_dir_unless_kept(tmp_path):
    simulate(rc_deck(), run_root=tmp_path)
    assert list(tmp_path.iterdir()) == []
    result = simulate(rc_deck(), run_root=tmp_path, keep_run_dir=True)
    assert (result.run_dir / "out.raw").is_file() and (result.run_dir / "stdout.log").is_file()


def test_unknown_backend():
    with pytest.raises(InputError, match="backend"):
        simulate(rc_deck(), backend="xyce")


def test_missing_ngspice_is_a_clear_error(tmp_path, monkeypatch):
    from memspice.errors import NgspiceNotFoundError

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("MEMSPICE_NGSPICE", raising=False)
    with pytest.raises(NgspiceNotFoundError, match="apt-get install ngspice"):
        simulate(rc_deck(), backend="subprocess")
