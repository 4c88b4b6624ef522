"""Read disturb: do the converter's reads move the memristors' programmed states?

The DC and Monte Carlo decks freeze the memristor states (pure reads), which hides a read that puts
more across a memristor than its switching threshold. :func:`read_disturb` runs the conversion
transient of :func:`~memspice.characterize.adc.measure.conversion_energy` (same inputs, timing and
supplies) with the dynamic memristor model (states free to move) and reports, per memristor, the
largest voltage across it during the reads against the card's thresholds, and the conductance drift
per read and after ``reads`` reads (linear extrapolation), also as a boundary shift through the
programming map's slope.
"""

from __future__ import annotations

import numpy as np

from memspice.characterize.adc.measure import conversion_inputs
from memspice.characterize.adc.options import RunOptions
from memspice.characterize.adc.programming import Programming
from memspice.netlist import qcell_tran as nqt
from memspice.netlist.device import state_node
from memspice.spec.adc import AdcSpec
from memspice.spec.device import DeviceCard


def read_disturb(spec: AdcSpec, card: DeviceCard, prog: Programming, opts: RunOptions = RunOptions(),
                 reads: float = 1e6) -> dict:
    """Conductance drift (S) per read and after ``reads`` reads, the peak memristor voltage (V) against
    the card's thresholds ``v_off_v`` (positive) and ``v_on_v`` (negative), and the worst boundary
    shift (V, LSB) after ``reads`` reads through the programming map's local slope."""
    inputs, _ = conversion_inputs(spec, prog.plan.targets_v)
    n = spec.n_cells
    names = [f"m{side}{k}" for side in ("a", "b") for k in range(n)]
    nodes = [f"{side}{k}" for side in ("a", "b") for k in range(n)]
    extra = [state_node(m) for m in names] + [f"v({v})" for v in nodes]
    deck = nqt.adc_tran_deck(spec, card, prog.g_lower_s, prog.g_upper_s, inputs, frozen=False,
                            extra_vectors=tuple(extra))
    plot = opts.sim(deck)[0]
    n_reads = len(inputs)
    v_read = plot["v(vread_n)"]
    x = np.stack([plot[state_node(m)] for m in names], axis=1)
    g = np.asarray(card.conductance(x[[0, -1]]), dtype=float)  # (2, memristors)
    v_across = v_read[:, None] - np.stack([plot[f"v({v})"] for v in nodes], axis=1)
    dg_per_read = (g[1] - g[0]) / n_reads
    # independent: the reference model's state equation integrated along the simulated voltages (the
    # state barely moves, so dx/dt at the initial state); ngspice resolves tiny state steps poorly
    from memspice.reference import memristor as ref

    t = plot["time"]
    rate = ref.dxdt(card.model, card.params, v_across, np.broadcast_to(x[0], v_across.shape))
    dx_ref = np.sum(0.5 * (rate[1:] + rate[:-1]) * np.diff(t)[:, None], axis=0)
    g_ref = np.asarray(card.conductance(x[0] + dx_ref), dtype=float)
    dg_ref_per_read = (g_ref - g[0]) / n_reads
    worst_per_read = np.maximum(np.abs(dg_per_read), np.abs(dg_ref_per_read))
    params = card.params
    v_off = float(params.get("v_off_v", np.nan))
    v_on = float(params.get("v_on_v", np.nan))
    peak = float(np.max(v_across))
    trough = float(np.min(v_across))
    slope = np.concatenate([prog.pmap.slope_v_per_s("lower", prog.g_lower_s),
                            prog.pmap.slope_v_per_s("upper", prog.g_upper_s)]) if prog.pmap is not None else None
    shift_v = None if slope is None else np.abs(worst_per_read * reads * slope)
    k = int(np.argmax(worst_per_read))
    return {
        "reads_simulated": n_reads,
        "reads_extrapolated": reads,
        "peak_memristor_V": peak,
        "lowest_memristor_V": trough,
        "v_off_V": v_off,
        "v_on_V": v_on,
        "margin_to_v_off_V": v_off - peak,
        "margin_to_v_on_V": trough - v_on,
        "disturbs": bool(peak > v_off or trough < v_on),
        "worst_memristor": names[k],
        "dg_per_read_max_S": float(np.max(np.abs(dg_per_read))),
        "dg_per_read_max_reference_S": float(np.max(np.abs(dg_ref_per_read))),
        "dg_after_reads_max_S": float(np.max(worst_per_read) * reads),
        "boundary_shift_after_reads_max_V": None if shift_v is None else float(np.max(shift_v)),
        "boundary_shift_after_reads_max_lsb": None if shift_v is None else float(np.max(shift_v) / spec.lsb_v),
        "operating_point": {"v_read_V": spec.cell.v_read_v, "v_ref_V": spec.cell.v_ref_v,
                            "read_s": spec.timing.read_s},
    }
