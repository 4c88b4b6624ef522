"""The paper's accuracy setting (Hong et al. 2025, Fig. 5) as a named preset, and our numbers beside theirs.

The preset ``paper`` is the authors' experiment, not the hardware: every layer's WHOLE output is
converted once (``conversion = 'layer'``; ReADC's accuracy code quantizes ``F.linear(input,
weight)``), with the authors' baselines: ``uniform_minmax`` (ReADC ``linear_quantization_boundaries``)
and ``lloyd_max`` with the authors' batch preprocessing and iteration (``lloyd_preprocess = 'filter'``:
ReADC ``optimize_quantization_boundaries`` and ``lloyd_max_algorithm``), every layer converted (as
NeuroSim's whole-output ``inference == 1`` branch that ReADC's README modifies), at 3, 4 and 5 bits, no
boundary variation. The paper's numbers are VGG8 on CIFAR-10 (DOMAIN.md section 1.1);
ours are for whatever network and data set are evaluated, and the comparison says so.
"""

from __future__ import annotations

from typing import Any

from memspice.nn.spec import CimSpec, EvalSpec

PRESETS = ("paper",)

#: Hong et al. 2025 Fig. 5 source data: VGG8 on CIFAR-10, accuracy (%) by ADC bits.
PAPER_VGG8_CIFAR10 = {
    "float": 90.24,
    "uniform_minmax": {3: 13.03, 4: 52.33, 5: 89.87},
    "lloyd_max": {3: 68.11, 4: 88.93, 5: 90.20},
}


def apply_preset(name: str, cim: CimSpec, spec: EvalSpec) -> tuple[CimSpec, EvalSpec]:
    """``cim`` and ``spec`` changed to the named preset's setting (other fields kept)."""
    if name != "paper":
        from memspice.errors import SpecError

        raise SpecError("preset", name, "one of " + ", ".join(PRESETS))
    cim = cim.replace(conversion="layer")
    spec = spec.replace(bits=(3, 4, 5), adcs=("uniform_minmax", "lloyd_max"), sigmas=(), sweep_bits=(),
                        lloyd_preprocess="filter", preset="paper", diagnostics=False)
    return cim, spec


def paper_markdown(rows: list[dict[str, Any]]) -> str:
    """Our accuracy beside the paper's, with the deltas (percentage points) and the basis stated."""
    head = rows[0] if rows else {"network": "?", "dataset": "?"}
    ours = {(r["adc"], r["bits"]): 100 * r["accuracy"] for r in rows if r["sigma"] == 0 and r["adc"] != "spice"}
    # the paper's network is NeuroSim's VGG8 trained with 8-bit weights and activations (vgg8_qat8)
    same = head["network"] in ("vgg8", "vgg8_qat8") and head["dataset"] == "cifar10"
    lines = [
        "## Beside the paper (preset 'paper': whole-layer conversion, the authors' baselines)\n",
        f"Ours: {head['network']} on {head['dataset']}; paper: VGG8 (width 1) on CIFAR-10 (Hong et al. 2025, "
        "Fig. 5 source data). " + ("Same network and data set." if same else
                                   "Different network/data set: compare the trend, not the numbers."),
        "",
        "| ADC bits | uniform (ours) | uniform (paper) | delta | Lloyd-Max (ours) | Lloyd-Max (paper) | delta |",
        "|---|---|---|---|---|---|---|",
    ]
    f = ours.get(("float", 0))
    lines.insert(3, f"Float: ours {f:.2f} %, paper {PAPER_VGG8_CIFAR10['float']:.2f} %.\n" if f is not None else "")
    for b in (3, 4, 5):
        cells = []
        for kind in ("uniform_minmax", "lloyd_max"):
            o, p = ours.get((kind, b)), PAPER_VGG8_CIFAR10[kind][b]
            cells += [f"{o:.2f}" if o is not None else "-", f"{p:.2f}", f"{o - p:+.2f}" if o is not None else "-"]
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
