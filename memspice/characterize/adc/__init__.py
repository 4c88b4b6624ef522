"""Characterize a Q-cell ADC in ngspice: programming map, write-verify, transfer, energy, Monte Carlo.

The package is split by job; every public name is re-exported here, so
``from memspice.characterize import adc as flow; flow.run_adc(...)`` keeps working.

The flow (each step a function, so callers can run any part):

1. :func:`programming_map` (:mod:`.programming`) - DC sweeps of isolated branch test cells over the
   card's conductance window give each bound as a monotonic function of its memristor conductance.
2. :func:`check_reachable` - every target boundary must lie in the reachable range of the bound
   that sets it; otherwise a :class:`~memspice.errors.SpecError` names the boundary and the range.
3. :func:`program` - per-cell bound targets (the Gray encoder decides which bound of a pair sets a
   transition; the other gets an overlap guard band), a first guess from the inverted map, then
   write-verify: sweep the cell array, correct each conductance through the local map slope, until
   every bound is within ``program_aim_lsb``.
4. :func:`transfer` (:mod:`.measure`) - the whole converter with its transistor-level encoder swept at
   ``sweep_step_lsb``: code versus input, measured boundaries, INL, DNL, ENOB;
   :func:`program_converter` closes the nominal programming on those transitions.
5. :func:`conversion_energy` (:mod:`.measure`) - a transient over several conversions: energy per
   supply, delay; :func:`area_um2`.
6. Monte Carlo (:mod:`.montecarlo`) - :class:`QcellAdcCircuit` is the programmed converter as a Monte
   Carlo circuit (:mod:`memspice.montecarlo.circuit`); :func:`run_mc` runs it through the Monte Carlo
   engine: values drawn from the plan's SeedSequence (one child per chunk), one parsed deck with
   ``alter`` steps per chunk, worker processes, an atomic chunk cache that resumes an interrupted run.
   :mod:`.chips` programs every sample as a chip is programmed (closed loop, write-verify of that
   sample; :func:`chip_monte_carlo`), the default; open loop stays available. In the precharge scheme
   each chip is verified by its read in the conversion timing and read in it (:mod:`.chips_timed`).
7. :func:`run_adc` (:mod:`.flow`) computes everything into an :class:`AdcResult` (no files);
   :func:`write_outputs` (:mod:`.outputs`) writes CSV, JSON, figures and ``adc.json`` to a folder.
"""

from memspice.characterize.adc.chips import (
    REASONS,
    ClosedLoopAdcCircuit,
    check_band,
    chip_monte_carlo,
    closed_variations,
    nonconverged,
    read_noise_floor_v,
)
from memspice.characterize.adc.chips_timed import TimedClosedLoopAdcCircuit
from memspice.characterize.adc.disturb import read_disturb
from memspice.characterize.adc.flow import AdcResult, adc_artifact, run_adc, summary
from memspice.characterize.adc.measure import (
    ENERGY_GROUPS,
    EnergyResult,
    Transfer,
    area_um2,
    conversion_energy,
    conversion_energy_settled,
    conversion_inputs,
    program_converter,
    pullup_sensitivity_lsb,
    transfer,
)
from memspice.characterize.adc.montecarlo import (
    BOUNDARY_MEASURE,
    AdcMcResult,
    McSamples,
    QcellAdcCircuit,
    mc_result,
    mc_sigmas,
    mc_statistics,
    mc_variations,
    monte_carlo,
    pelgrom_sigmas_v,
    run_mc,
)
from memspice.characterize.adc.options import PAPER, RunOptions
from memspice.characterize.adc.outputs import golden_decks, write_outputs
from memspice.characterize.adc.programming import (
    MAX_SWEEP_MARGIN_LSB,
    BoundPlan,
    Programming,
    WriteVerify,
    beyond_sweep,
    check_reachable,
    map_grid_s,
    measure_cells,
    plan_bounds,
    programming_map,
)
from memspice.characterize.adc.verify import (
    program,
    program_cell,
    reference_tables,
    reference_window,
    sweep_cells,
)

__all__ = [
    "BOUNDARY_MEASURE",
    "ENERGY_GROUPS",
    "MAX_SWEEP_MARGIN_LSB",
    "PAPER",
    "REASONS",
    "AdcMcResult",
    "AdcResult",
    "BoundPlan",
    "ClosedLoopAdcCircuit",
    "EnergyResult",
    "McSamples",
    "Programming",
    "QcellAdcCircuit",
    "RunOptions",
    "TimedClosedLoopAdcCircuit",
    "Transfer",
    "WriteVerify",
    "adc_artifact",
    "area_um2",
    "beyond_sweep",
    "check_band",
    "check_reachable",
    "chip_monte_carlo",
    "closed_variations",
    "conversion_energy",
    "conversion_energy_settled",
    "conversion_inputs",
    "golden_decks",
    "map_grid_s",
    "mc_result",
    "mc_sigmas",
    "mc_statistics",
    "mc_variations",
    "measure_cells",
    "monte_carlo",
    "nonconverged",
    "pelgrom_sigmas_v",
    "plan_bounds",
    "program",
    "program_cell",
    "program_converter",
    "programming_map",
    "pullup_sensitivity_lsb",
    "read_disturb",
    "read_noise_floor_v",
    "reference_tables",
    "reference_window",
    "run_adc",
    "run_mc",
    "summary",
    "sweep_cells",
    "transfer",
    "write_outputs",
]
