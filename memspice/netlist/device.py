"""Netlist pieces for memristor devices: the model include and an instance for a card."""

from __future__ import annotations

from memspice.netlist.cards import Include, Instance
from memspice.spec.device import DeviceCard


def model_include(card: DeviceCard) -> Include:
    """``.include`` of the card's model file (absolute path, so decks run from any folder)."""
    return Include(str(card.decl.lib_path))


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
