"""``memspice characterize crossbar``: how far a SPICE crossbar column departs from the ideal dot
product, what a read costs, and a behavioural column model for the network side.

Split by job: :mod:`.reads` (patterns, DC reads, IR-drop sweep, transient read), :mod:`.montecarlo`
(the Monte Carlo circuit), :mod:`.flow` (:func:`run_crossbar` -> :class:`CrossbarResult`, no files),
:mod:`.outputs` (:func:`write_outputs`); figures in :mod:`memspice.report.crossbar_figures`. Every
public name is re-exported here.

Flow (every number from ngspice; Python draws the patterns and reduces the results):

1. **DC transfer**: seeded random weights and inputs (half uniform, half spanning the output range),
   all read in ONE deck (parsed once, patterns applied with ``alter``); per read and logical
   column the SPICE current against the ideal sum of (G+ - G-) V.
2. **IR-drop sweep**: the same over row counts and wire resistances.
3. **Transient read** of pattern 0: settling of the sensed output to half an LSB of the ADC, and
   the read energy from the drivers', word lines' and op-amp supplies' currents.
4. **Monte Carlo** (optional): programming error and read noise drawn in Python
   (:class:`CrossbarCircuit` is the Monte Carlo engine's interface; the engine runs it here).
5. **Column model**: a cubic fit of the normalised output against the normalised partial sum,
   with the noise the data and the card's variability imply (``column_model.json``).
"""

from memspice.characterize.crossbar.flow import (
    CrossbarResult,
    golden_netlist,
    run_crossbar,
    study_for,
)
from memspice.characterize.crossbar.montecarlo import CrossbarCircuit, mc_variations, run_mc
from memspice.characterize.crossbar.outputs import characterize_crossbar, write_outputs
from memspice.characterize.crossbar.reads import (
    STREAM_SWEEP,
    STREAM_TRANSFER,
    DcReads,
    Pattern,
    draw_patterns,
    full_scale_pattern,
    ideal_output_a,
    logical_outputs,
    pattern_reads,
    run_dc,
    run_ir_sweep,
    run_transient,
    sensed_signal,
    sweep_spec,
)

__all__ = [
    "STREAM_SWEEP",
    "STREAM_TRANSFER",
    "CrossbarCircuit",
    "CrossbarResult",
    "DcReads",
    "Pattern",
    "characterize_crossbar",
    "draw_patterns",
    "full_scale_pattern",
    "golden_netlist",
    "ideal_output_a",
    "logical_outputs",
    "mc_variations",
    "pattern_reads",
    "run_crossbar",
    "run_dc",
    "run_ir_sweep",
    "run_mc",
    "run_transient",
    "sensed_signal",
    "study_for",
    "sweep_spec",
    "write_outputs",
]
