"""Output files of ``characterize device``: iv.csv, programming.csv, trajectories.csv, devices.csv
(with a Monte Carlo), summary.json and figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from memspice.characterize.device import DeviceResult, DeviceStudySpec, run_device
from memspice.io import write_csv, write_json
from memspice.spec.device import DeviceCard


def write_outputs(result: DeviceResult, out_dir: str | Path, *, figures: bool = True) -> dict[str, Any]:
    """Write the tables, summary.json and (``figures``) hysteresis.png and programming.png; returns the summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    card, spec, loop, devices, device_cards = result.card, result.spec, result.loop, result.devices, result.device_cards
    write_csv(out_dir / "iv.csv", {"time_s": loop.t, "v_V": loop.v, "i_A": loop.i, "state": loop.x})
    write_csv(out_dir / "programming.csv", {
        "device": [d.index for d in devices],
        "sample": [d.sample for d in devices],
        "target_S": [d.target_s for d in devices],
        "final_S": [d.g for d in devices],
        "error_S": [d.g - d.target_s for d in devices],
        "pulses": [d.pulses for d in devices],
        "energy_J": [d.energy_J for d in devices],
        "converged": [abs(d.g - d.target_s) <= spec.program.tolerance_s for d in devices],
    })
    traj = [(d.index, d.sample, d.target_s, *step) for d in devices for step in d.trajectory]
    write_csv(out_dir / "trajectories.csv", {
        "device": [r[0] for r in traj], "sample": [r[1] for r in traj], "target_S": [r[2] for r in traj],
        "pulse": [r[3] for r in traj], "amplitude_V": [r[4] for r in traj], "width_s": [r[5] for r in traj],
        "g_S": [r[6] for r in traj],
    })
    if spec.mc:
        names = sorted(card.variability.d2d_rel_sigma)
        cols: dict[str, list] = {"sample": list(range(len(device_cards)))}
        for name in names:
            cols[name] = [float(c.params[name]) for c in device_cards]
        write_csv(out_dir / "devices.csv", cols)

    write_json(out_dir / "summary.json", result.summary)
    if figures:
        from memspice.report.device_figures import hysteresis_figure, programming_figure

        hysteresis_figure(loop, card, out_dir / "hysteresis.png")
        programming_figure(devices, spec.program, out_dir / "programming.png")
    return result.summary


def characterize_device(card: DeviceCard, spec: DeviceStudySpec, out_dir: Path, *,
                        show_progress: bool = True, figures: bool = True) -> dict[str, Any]:
    """:func:`run_device` then :func:`write_outputs` into ``out_dir``; returns the summary."""
    return write_outputs(run_device(card, spec, show_progress=show_progress), out_dir, figures=figures)
