"""Names of the energy causes of a Q-cell ADC conversion (issue 12).

:func:`memspice.characterize.adc.measure.conversion_energy` splits every supply's energy into a static
part (DC current held for a phase) and a switching part (C V^2) with
:func:`memspice.extract.energy.split_energies` over the phases at which the stimuli change; the maps
below turn supplies into the causes a designer reads. The total is the number the flow has always
reported (rail voltage x delivered charge per supply). The paper's 12.58 fJ (Hong et al. 2025, Fig. 6)
compares with the switching part only (DOMAIN.md 1.3).
"""

from __future__ import annotations

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

BASIS_NOTE = ("energy_per_conversion_J is the total (static DC current counted); the paper's 12.58 fJ "
              "compares with energy_switching_J (C V^2 only, DOMAIN.md 1.3)")
