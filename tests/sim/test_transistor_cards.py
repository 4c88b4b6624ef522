"""The transistor cards of models/ as ngspice runs them, against the threshold each card declares.

Independent reference: BSIM4's ``vth0`` is the long-channel threshold at zero body bias, so the threshold a
long, wide device shows in a linear-region sweep (maximum-transconductance extrapolation, the textbook
extraction: V_T = V_GS* - I_D*/g_m* - V_DS/2) must land near it. The extrapolation is not the same
definition (mobility degradation and the sub-threshold tail move it by tens of mV), so the tolerance is
60 mV; a card read with the wrong model name, a missing include or a wrong unit misses by far more. The
variants without gate tunnelling (memspice's ``_ngt``) must carry the same on-current (tunnelling adds
pA-nA to uA-level currents).
"""

import re

import numpy as np
import pytest

from memspice.netlist.cards import Include, Mosfet, VSource
from memspice.netlist.deck import Analyze, Dc, Deck
from memspice.ngspice import simulate
from memspice.spec.adc import TRANSISTOR_MODELS

pytestmark = pytest.mark.ngspice

VDS = 0.05
W = L = 1e-6


def card_vth0(text: str, model: str) -> float:
    block = re.search(rf"^\.model {model} .*?(?=\n\n|\Z)", text, flags=re.MULTILINE | re.DOTALL).group(0)
    return float(re.search(r"\bvth0=(\S+)", block).group(1))


def linear_sweep(models, model: str, pmos: bool, vmax: float, vds: float = VDS, size=(W, L)):
    sign = -1.0 if pmos else 1.0
    deck = Deck(f"{model} linear-region sweep", [
        Include(str(models.lib_path)),
        VSource("d", "d", "0", sign * vds),
        VSource("g", "g", "0", 0.0),
        Mosfet("dut", "d", "g", "0", "0", model, *size),
    ], steps=[Analyze(Dc("vg", 0.0, sign * vmax, sign * 0.005), ("i(vd)",), label="dc")])
    plot = simulate(deck)["dc"]
    vg = np.abs(plot["v-sweep"])
    i_d = np.abs(plot["i(vd)"])
    return vg, i_d


@pytest.mark.parametrize("name", sorted(TRANSISTOR_MODELS))
@pytest.mark.parametrize("kind", ["nmos", "pmos"])
def test_threshold_is_the_declared_vth0(name, kind):
    models = TRANSISTOR_MODELS[name]
    text = models.lib_path.read_text()
    pmos = kind == "pmos"
    model = models.pmos if pmos else models.nmos
    vth0 = abs(card_vth0(text, model))
    vg, i_d = linear_sweep(models, model, pmos, 1.2 * models.vdd_nominal_v)
    gm = np.gradient(i_d, vg)
    k = int(np.argmax(gm))
    vt = vg[k] - i_d[k] / gm[k] - VDS / 2
    print(f"{name} {kind}: extracted {vt:.4f} V, card vth0 {vth0:.4f} V, I_D at VDD {i_d[-1] * 1e6:.2f} uA")
    assert abs(vt - vth0) < 0.06
    # the device is off below threshold and on above it (a sweep that never switches cannot pass)
    assert i_d[-1] > 1e3 * i_d[0]
    # no gate tunnelling: the same on-current of a Q-cell-sized device (0.1/0.1 um, V_GS = V_DS = VDD); on a
    # 1 um^2 gate the tunnelling current is ~1 % of the linear-region current at 22 nm
    vdd = models.vdd_nominal_v
    small = (0.1e-6, 0.1e-6)
    _, i_pub = linear_sweep(models, model, pmos, vdd, vds=vdd, size=small)
    _, i_ngt = linear_sweep(models, models.pmos_no_tunnelling if pmos else models.nmos_no_tunnelling, pmos, vdd,
                            vds=vdd, size=small)
    print(f"  on-current {i_pub[-1] * 1e6:.3f} uA, without tunnelling {i_ngt[-1] * 1e6:.3f} uA")
    assert i_ngt[-1] == pytest.approx(i_pub[-1], rel=1e-3)
