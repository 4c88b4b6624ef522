"""Conversion energy of a programmed Q-cell ADC by cause: static (per source) and switching (per group).

One transient over ``timing.conversions`` conversions in the spec's evaluation scheme
(:func:`memspice.netlist.qcell.adc_tran_deck`), split with :func:`memspice.extract.energy.split_energies`
over the phases at which the stimuli change. The total is the same number the flow has always reported
(rail voltage x delivered charge per supply); the split says how much of it is DC current held for a
phase (dividers, ratioed match line, inverters, encoder) and how much is charge moved onto nodes
(C V^2). The paper's 12.58 fJ (Hong et al. 2025, Fig. 6) compares with the switching part only
(DOMAIN.md 1.3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memspice.extract import adc as ex
from memspice.extract.energy import EnergySplit, split_energies
from memspice.netlist import qcell as nq
from memspice.spec.adc import AdcSpec
from memspice.spec.device import DeviceCard

# supply -> static cause (a DC path held during a phase)
STATIC_CAUSES = {
    "read": "dividers",
    "ref": "dividers",
    "ml": "match-line pull-up/keeper and output inverters",
    "pu": "other",
    "inv": "B inverters",
    "enc": "encoder",
    "sen": "encoder",
    "rst": "encoder",
    "in": "input driver",
}
# supply -> switching group (the paper's split: source/input driver, ML precharge, other, encoder)
SWITCHING_GROUPS = {
    "read": "source/input driver",
    "ref": "source/input driver",
    "in": "source/input driver",
    "ml": "match-line precharge",
    "pu": "match-line precharge",
    "inv": "other",
    "enc": "encoder",
    "sen": "encoder",
    "rst": "encoder",
}


@dataclass
class ConversionEnergy:
    """Energy per conversion (J) of one transient, by supply and by cause, with the codes it produced."""

    scheme: str
    split: EnergySplit
    inputs_v: list[float]
    expected_codes: list[int]
    sampled_codes: list[int]
    delays_s: list[float]
    read_s: float
    period_s: float

    @property
    def total_j(self) -> float:
        return self.split.energy_total_j

    @property
    def switching_j(self) -> float:
        return self.split.switching_total_j

    @property
    def static_j(self) -> float:
        return self.split.static_total_j

    @property
    def codes_ok(self) -> bool:
        return self.expected_codes == self.sampled_codes

    @property
    def delay_s(self) -> float:
        finite = [d for d in self.delays_s if np.isfinite(d)]
        return float(max(finite)) if finite else float("nan")

    def by_cause(self) -> dict:
        """``{"static_J": {cause: J}, "switching_J": {group: J}}`` per conversion."""
        return self.split.grouped(STATIC_CAUSES, SWITCHING_GROUPS)

    def summary(self) -> dict:
        """What ``summary.json`` keeps: totals on both bases and the split."""
        return {"scheme": self.scheme, "energy_per_conversion_J": self.total_j,
                "energy_switching_J": self.switching_j, "energy_static_J": self.static_j,
                **self.by_cause(),
                "basis_note": "energy_per_conversion_J is the total (DC counted); the paper's 12.58 fJ compares "
                              "with energy_switching_J (C V^2 only)"}


def conversion_energy_by_cause(spec: AdcSpec, card: DeviceCard, g_lower_s, g_upper_s, inputs_v, expected_codes,
                               sim) -> ConversionEnergy:
    """Transient of the converter with conductances ``g_lower_s``, ``g_upper_s`` (S) converting ``inputs_v``
    (V); ``sim(deck)`` runs a deck (e.g. ``RunOptions.sim``). Codes are captured at the end of each read."""
    plot = sim(nq.adc_tran_deck(spec, card, g_lower_s, g_upper_s, inputs_v))[0]
    t = plot["time"]
    cell, tm = spec.cell, spec.timing
    supplies = nq.tran_supplies(spec)
    rails = {name: cell.vdd_v for name in supplies}
    rails.update({"read": cell.v_read_v, "ref": cell.v_ref_v, "in": tm.driver_supply_v})
    currents = {name: plot[f"i(v{name})"] for name in supplies}
    n = len(inputs_v)
    edges, ramp = nq.phase_edges_s(spec, n)
    split = split_energies(t, currents, rails, edges, n_conversions=n, ramp=ramp)
    starts = nq.read_times_s(spec, n)
    bits_v = np.stack([plot[f"v(d{j})"] for j in range(spec.bits)], axis=1)
    delays, sampled = [], []
    for c in range(n):
        t_read = starts[c] + tm.edge_s / 2
        t_sample = starts[c] + tm.read_s - tm.edge_s
        bits = [ex.sample_at(t, bits_v[:, j], t_sample) > cell.vdd_v / 2 for j in range(spec.bits)]
        sampled.append(int(sum(int(b) << j for j, b in enumerate(bits))))
        delays.append(ex.last_crossing_delay_s(t, bits_v, cell.vdd_v, t_read, t_sample))
    return ConversionEnergy(scheme=tm.scheme, split=split, inputs_v=[float(x) for x in inputs_v],
                            expected_codes=[int(k) for k in expected_codes], sampled_codes=sampled,
                            delays_s=delays, read_s=tm.read_s, period_s=tm.period_s)
