"""Fig. 2b: one Q-cell programmed to the paper's window and swept over its input.

The cell is the default :class:`~memspice.spec.adc.AdcSpec` cell (45 nm PTM card, the study's memristor
card). It is programmed closed loop: write-verify (:func:`memspice.characterize.adc.program_cell`)
sweeps the cell itself and corrects both conductances until each edge is within 0.2 mV of
[0.920, 1.132) V, as a chip's cell would be programmed after fabrication. Then one DC sweep over the
paper's input range (0.75-1.30 V, 1 mV steps) records node A, node B after its inverter (``ib``) and
the output, the three traces of the paper's figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memspice.io import write_csv
from memspice.papers import hong2025 as paper
from memspice.report.tables import Table
from memspice.reproduce.compare import Delta, swing, window_edges
from memspice.reproduce.outcome import Outcome

WINDOW_V = (0.920, 1.132)
SWEEP_V = (0.75, 1.30, 0.001)
CELL_TOL_V = 2e-4  # write-verify tolerance of each window edge (program_cell's default)


@dataclass(frozen=True)
class Context:
    """How a reproduction runs: ``quick`` (smaller sample counts), ngspice backend, workers, seed, the
    inputs a user may add: CIFAR-10 batches (``data``) and a design explorer's output (``explore``), and
    Fig. 5's network training (``fig5_network``: ``qat8``, the paper's kind, or ``float``, a different
    experiment)."""

    quick: bool = False
    backend: str = "subprocess"
    workers: int | None = None
    seed: int = 2025
    data: Path | None = None  # CIFAR-10 python batches (Fig. 5), when the user has them
    explore: Path | None = None  # a `memspice explore adc` output folder (Fig. 6's best-design row)
    fig5_network: str = "qat8"  # Fig. 5's network: "qat8" (trained with 8-bit weights and activations) or "float"


def run_fig2b(ctx: Context, folder: Path) -> Outcome:
    from memspice.characterize import adc as flow
    from memspice.netlist import qcell as nq
    from memspice.spec.adc import AdcSpec
    from memspice.spec.device import load_card

    spec = AdcSpec()
    card = load_card(spec.card)
    opts = flow.RunOptions(backend=ctx.backend, show_progress=False)
    pmap = flow.programming_map(spec, card, opts)
    g_lo, g_hi, lo, hi = flow.program_cell(spec, card, pmap, *WINDOW_V, opts, tol_v=CELL_TOL_V)
    start, stop, step = SWEEP_V
    deck = nq.cells_sweep_deck(spec, card, [g_lo], [g_hi], start, stop, step,
                               extra_vectors=("v(a0)", "v(xc0.ib)"))
    plot = opts.sim(deck)[0]
    v = np.asarray(plot["v-sweep"])
    a, b, out = (np.asarray(plot[k]) for k in ("v(a0)", "v(xc0.ib)", "v(out0)"))
    write_csv(folder / "fig2b_memspice.csv", {"input_V": v, "node_a_V": a, "node_b_inv_V": b, "out_V": out})

    ref = paper.fig2b()
    p_lo, p_hi = window_edges(ref.input_v, ref.out_v)
    m_lo, m_hi = window_edges(v, out)
    pa, ma = swing(ref.node_a_v), swing(a)
    pb, mb = swing(ref.node_b_inv_v), swing(b)
    deltas = [
        Delta("window lower edge", "V", p_lo, m_lo, "output crossing half its swing"),
        Delta("window upper edge", "V", p_hi, m_hi, "output crossing half its swing"),
        Delta("node A high (sweep start)", "V", pa[1], ma[1], f"{SWEEP_V[0]:g} V input"),
        Delta("node A low (sweep end)", "V", pa[0], ma[0], f"{SWEEP_V[1]:.2f} V input"),
        Delta("node B after inverter, high", "V", pb[1], mb[1], f"{SWEEP_V[1]:.2f} V input"),
        Delta("output high (mismatch)", "V", float(np.max(ref.out_v)), float(np.max(out)), "outside the window"),
    ]
    # divider ratio G_T/G_M = V_R / V_A - 1 at the sweep start, from each side's node A (V_R of ours;
    # the paper's read supply is ~0.8 V by its own figure: node A tops out just below it)
    v_r = spec.cell.v_read_v
    ratio_m = v_r / ma[1] - 1.0
    ratio_p = v_r / pa[1] - 1.0
    sentences = [
        f"The window edges agree to {1e3 * max(abs(m_lo - p_lo), abs(m_hi - p_hi)):.1f} mV because write-verify "
        f"programs them (conductances {g_lo * 1e6:.1f} / {g_hi * 1e6:.1f} uS, edges {lo:.4f} / {hi:.4f} V at the "
        f"{1e3 * CELL_TOL_V:g} mV verify tolerance); what differs is the node swings, which belong to the "
        "transistors.",
        f"Node A starts at {ma[1]:.3f} V here against {pa[1]:.3f} V in the paper: at {SWEEP_V[0]:g} V input the "
        f"{spec.cell.transistors} input transistor already conducts G_T/G_M = {ratio_m:.3f} of its memristor, "
        f"against {ratio_p:.4f} implied "
        f"by the paper's trace (with the same {v_r:g} V read supply), so the paper's input device sits closer to its "
        f"threshold; node A bottoms out at {ma[0]:.3f} V vs {pa[0]:.3f} V.",
    ]
    plots = [("fig2b_overlay.png", "Fig. 2b: node A, node B after its inverter and output, memspice (solid) "
              "vs paper source data (dashed)")]
    _plot(folder / plots[0][0], ref, v, a, b, out)
    table = Table("fig2b_series", "Fig. 2b: memspice sweep of one Q-cell programmed to [0.920, 1.132) V",
                  ["input_V", "node_a_V", "node_b_inv_V", "out_V"],
                  [[float(x) for x in row] for row in zip(v[::10], a[::10], b[::10], out[::10], strict=True)])
    return Outcome("2b", "one Q-cell's window and node voltages", deltas, sentences, plots, [table])


def _plot(path: Path, ref: paper.CellSweep, v, a, b, out) -> None:
    from memspice.report.plotting import pyplot, save

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for (ys, yp, label, color) in ((a, ref.node_a_v, "node A", "C0"), (b, ref.node_b_inv_v, "node B (inverted)", "C1"),
                                   (out, ref.out_v, "output", "C2")):
        ax.plot(v, ys, color=color, label=f"{label}, memspice")
        ax.plot(ref.input_v, yp, color=color, ls="--", label=f"{label}, paper")
    for edge in WINDOW_V:
        ax.axvline(edge, color="0.6", lw=0.8)
    ax.set_xlabel("input (V)")
    ax.set_ylabel("node voltage (V)")
    ax.legend(fontsize=7, ncol=2)
    save(fig, path)
