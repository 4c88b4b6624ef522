"""The paper's accuracy setting (Hong et al. 2025, Fig. 5) as a named preset, and our numbers beside theirs.

The preset ``paper`` is the authors' experiment, not the hardware: every layer's WHOLE output is
converted once (``conversion = 'layer'``; ReADC's accuracy code quantizes ``F.linear(input,
weight)``), with the authors' baselines: ``uniform_minmax`` (ReADC ``linear_quantization_boundaries``)
and ``lloyd_max`` with the authors' batch preprocessing and iteration (``lloyd_preprocess = 'filter'``:
ReADC ``optimize_quantization_boundaries`` and ``lloyd_max_algorithm``), every layer converted (as
NeuroSim's whole-output ``inference == 1`` branch that ReADC's README modifies), at 3, 4 and 5 bits, no
boundary variation, on the paper's kind of network: NeuroSim's VGG8, trained with 8-bit weights and
activations in the forward pass (WAGE; :func:`paper_train_spec`, ``memspice.nn.qat``). The paper's
numbers are VGG8 on CIFAR-10 (DOMAIN.md section 1.1); ours are for whatever network and data set are
evaluated, and the comparison says so, and says when the network was trained in float (a different
experiment).
"""

from __future__ import annotations

from typing import Any

from memspice.nn.spec import CimSpec, EvalSpec, TrainSpec

PRESETS = ("paper",)

#: The paper's VGG8 is NeuroSim's, trained with 8-bit weights and activations (WAGE): the preset's
#: network is trained quantization-aware at these bits (``TrainSpec.qat_bits``) unless told otherwise.
PAPER_QAT_BITS = 8

#: Hong et al. 2025 Fig. 5 source data: VGG8 on CIFAR-10, accuracy (%) by ADC bits.
PAPER_VGG8_CIFAR10 = {
    "float": 90.24,
    "uniform_minmax": {3: 13.03, 4: 52.33, 5: 89.87},
    "lloyd_max": {3: 68.11, 4: 88.93, 5: 90.20},
}


def _check(name: str) -> None:
    if name not in PRESETS:
        from memspice.errors import SpecError

        raise SpecError("preset", name, "one of " + ", ".join(PRESETS))


def apply_preset(name: str, cim: CimSpec, spec: EvalSpec) -> tuple[CimSpec, EvalSpec]:
    """``cim`` and ``spec`` changed to the named preset's setting (other fields kept)."""
    _check(name)
    cim = cim.replace(conversion="layer")
    spec = spec.replace(bits=(3, 4, 5), adcs=("uniform_minmax", "lloyd_max"), sigmas=(), sweep_bits=(),
                        lloyd_preprocess="filter", preset="paper", diagnostics=False)
    return cim, spec


def paper_train_spec(name: str, train: TrainSpec) -> TrainSpec:
    """``train`` with the preset's network training: quantization-aware at :data:`PAPER_QAT_BITS` for
    VGG8 (the paper's network); other networks have no quantization-aware training and stay as given."""
    _check(name)
    return train.replace(qat_bits=PAPER_QAT_BITS) if train.network == "vgg8" else train


def network_text(train: dict[str, Any]) -> str:
    """How a network was trained, in words, from its training spec (``TrainSpec.to_dict()``)."""
    width = "" if train.get("width", 1) == 1 else f" width {train['width']:g}"
    bits = int(train.get("qat_bits", 0) or 0)
    how = (f"trained quantization-aware with {bits}-bit weights and activations (NeuroSim's WAGE forward pass)"
           if bits else "trained in float")
    return f"{str(train.get('network', '?')).upper()}{width} on {train.get('dataset', '?')}, {how}"


def differences(train: dict[str, Any]) -> list[str]:
    """What differs from the paper's network, training and data (VGG8 width 1 on CIFAR-10, 8-bit weights
    and activations in training), from the evaluated network's training spec; empty when nothing does."""
    out = []
    if train.get("network") != "vgg8":
        out.append("network")
    if train.get("width") != 1:
        out.append("width")
    if int(train.get("qat_bits", 0) or 0) != PAPER_QAT_BITS:
        out.append("training")
    if train.get("dataset") != "cifar10":
        out.append("data set")
    return out


def paper_markdown(rows: list[dict[str, Any]], train: dict[str, Any]) -> str:
    """Our accuracy beside the paper's, with the deltas (percentage points) and the basis stated;
    ``train`` is the evaluated network's training spec (``TrainSpec.to_dict()``)."""
    ours = {(r["adc"], r["bits"]): 100 * r["accuracy"] for r in rows if r["sigma"] == 0 and r["adc"] != "spice"}
    bits = int(train.get("qat_bits", 0) or 0)
    if bits == PAPER_QAT_BITS:
        head = "## Beside the paper (preset 'paper': whole-layer conversion, the authors' baselines)\n"
    else:
        head = ("## Beside the paper, on a network trained otherwise (preset 'paper' with "
                f"{'float training' if not bits else f'{bits}-bit quantization-aware training'}: a different "
                "experiment from the paper's, whose VGG8 is trained with 8-bit weights and activations)\n")
    diff = differences(train)
    lines = [
        head,
        f"Ours: {network_text(train)}; paper: VGG8 (width 1) on CIFAR-10, NeuroSim-trained with 8-bit weights and "
        "activations (Hong et al. 2025, Fig. 5 source data). " + (
            "Same network, training and data set." if not diff else
            f"Different {' and '.join(diff)}: compare the trend, not the numbers."),
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
