"""Netlist pieces for memristor devices: the model include and an instance for a card."""

from __future__ import annotations

from memspice.netlist.cards import Instance, Pwl, Raw, Sine, Waveform
from memspice.spec.device import DeviceCard
from memspice.spec.stimulus import PwlStimulus, SineStimulus


def stimulus_waveform(stimulus: SineStimulus | PwlStimulus) -> Waveform:
    """The SPICE source waveform of a stimulus spec (the spec holds the numbers, the netlist the card)."""
    if isinstance(stimulus, SineStimulus):
        return Sine(stimulus.offset_v, stimulus.amplitude_v, stimulus.freq_hz)
    return Pwl(tuple(zip(stimulus.times_s, stimulus.volts, strict=True)))


def model_include(card: DeviceCard) -> Raw:
    """The card's model subcircuit, inlined from ``models/``.

    Inlined rather than ``.include``d so every deck is self-contained: it runs with ``ngspice -b``
    from any folder or machine (a Dask worker, a colleague's checkout), and golden netlists do not
    depend on where the clone lives.
    """
    return Raw(library_text(card.decl.lib))


def library_text(name: str) -> str:
    """Text of a hand-written file of ``models/``, framed by comments naming it."""
    from memspice.resources import model_path

    body = model_path(name).read_text().rstrip("\n")
    return f"* ---- begin models/{name} ----\n{body}\n* ---- end models/{name} ----"


def memristor(card: DeviceCard, name: str, p: str, n: str, *, x0: float | None = None,
              g_s: float | None = None, frozen: bool = False) -> Instance:
    """A memristor instance ``X<name>`` between ``p`` and ``n``.

    The initial state is ``x0`` or the state that reads ``g_s`` (S) at the card's read voltage.
    ``frozen`` fixes the state (pure reads). Its state node is ``v(x<name>.x)``.
    """
    if (x0 is None) == (g_s is None):
        raise ValueError("give exactly one of x0 and g_s")
    state = float(card.state_for(g_s)) if g_s is not None else float(x0)
    params = {**card.spice_params(), "x0": state, "frozen": 1 if frozen else 0}
    return Instance(name, card.decl.subckt, [p, n], params)


def state_node(instance_name: str) -> str:
    """Canonical vector name of an instance's state node."""
    return f"v(x{instance_name.lower()}.x)"


# Relative tolerance of ngspice for device transients: the default 1e-3 lets the state drift by
# a few 1e-4 over a hysteresis loop; 1e-6 keeps it near 1e-5 at negligible cost (measured against
# the scipy reference: tests/sim/test_models_reference.py).
DEVICE_TRAN_OPTIONS = {"reltol": 1e-6}


def device_max_step_s(card: DeviceCard, stimulus) -> float:
    """Largest transient step memspice allows for ``card`` under ``stimulus`` (s).

    Two limits, the smaller wins: (1) the stimulus: 1/1000 of a sine period, or 1/100 of the
    shortest PWL plateau and 1/4000 of the whole record (PWL corners are breakpoints, so edges are
    hit exactly); (2) the model: at the highest drive the stimulus reaches, the state may move at
    most 5 % of its range per step with the window wide open. The model limit is floored at 1/20000
    of the stimulus feature, beyond which ngspice's own truncation-error control (at the reltol
    above) is what keeps fast switching accurate.
    """
    import numpy as np

    from memspice.reference import memristor as ref

    feature = stimulus.shortest_feature_s()
    breaks = np.asarray(stimulus.breakpoints(), dtype=float)
    if breaks.size >= 2:
        segs = np.diff(breaks)
        plateaus = segs[segs > np.median(segs) * 0.5] if segs.size else segs
        by_stimulus = min(float(plateaus.min()) / 100.0, stimulus.duration_s / 4000.0)
        feature = float(plateaus.min())
    else:
        by_stimulus = feature / 1000.0
    t = np.linspace(0.0, stimulus.duration_s, 4001)
    v = stimulus.value(t)
    rates = np.abs(ref.dxdt(card.model, _open_window(card), v, np.full_like(v, 0.5)))
    rate = float(rates.max())
    by_model = 0.05 / rate if rate > 0 else np.inf
    return float(min(by_stimulus, max(by_model, feature / 20000.0)))


def _open_window(card: DeviceCard):
    """Card parameters with the window function switched off (the fastest possible motion)."""
    params = dict(card.params)
    if card.model == "vteam":
        params["window"] = "none"
    return params


def device_testbench(card: DeviceCard, stimulus, *, x0: float, frozen: bool = False,
                     title: str = "memristor testbench"):
    """A deck driving one memristor from an ideal source with ``stimulus`` over its duration.

    Vectors: ``v(p)`` the applied voltage, ``i(vdrive)`` the source current (the device current
    is its negative), and the state ``v(xdut.x)``. memspice chooses the step (device_max_step_s).
    """
    from memspice.netlist.cards import VSource
    from memspice.netlist.deck import Analyze, Deck, Tran

    max_step = device_max_step_s(card, stimulus)
    cards = [model_include(card), VSource("drive", "p", "0", 0.0, stimulus_waveform(stimulus)),
             memristor(card, "dut", "p", "0", x0=x0, frozen=frozen)]
    tran = Tran(step_s=max_step, stop_s=stimulus.duration_s, max_step_s=max_step)
    return Deck(title, cards, steps=[Analyze(tran, ("v(p)", "i(vdrive)", state_node("dut")), label="tran")],
                options=DEVICE_TRAN_OPTIONS, header={"card": card.name, "spec_hash": card.spec_hash()})
