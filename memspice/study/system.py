"""The system stage: energy and area per inference with each ADC, and the ADC comparison.

ADC designs: NeuroSim's SAR model at every configured resolution (the baseline), the Q-cell ADC
as memspice simulated it (per boundary set and resolution: energy, delay and area from the adc
stage, ENOB from its measured transfer), and the Q-cell as the paper reports it (12.58 fJ,
24.29 um^2, 5 bits). Workloads: ``paper_vgg8`` (the conversion, ADC, cell and MAC counts that the
paper's VGG8 cost figures imply; see :mod:`memspice.system.cost`), ``vgg8_cifar10`` and
``resnet18_cifar10`` counted layer by layer with memspice's mapping, and ``study`` (the study's
own network). Array read energy: NeuroSim's 14 nm figure, and the crossbar stage's SPICE energy
per MAC when that stage ran.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from memspice.io import write_csv, write_json
from memspice.system.cost import AdcCost, PeripherySpec, SarAdcModel, system_breakdown
from memspice.system.workload import Counts, MappingSpec, count, resnet18_cifar_layers, vgg8_layers

PAPER_QCELL = AdcCost("Q-cell (paper)", 5, 12.58e-15, 24.29, 1e-9, 5.0)
# the counts the paper's VGG8 cost figures imply (memspice.system.cost docstring)
PAPER_VGG8 = Counts(macs=616_000_000, cells=25_930_000, subarrays=0, adcs=78_600, conversions=57_270_000,
                    array_reads=616_000_000)
PAPER_SHARES = {"energy": (79.8, 22.5), "area": (47.6, 16.9)}


def sar_cost(bits: int) -> AdcCost:
    """NeuroSim's SAR ADC at ``bits`` (ENOB taken as the resolution)."""
    sar = SarAdcModel()
    return AdcCost(f"SAR {bits} b", bits, sar.energy_J(bits), sar.area_um2(bits), sar.delay_s(bits), float(bits))


def adc_designs(study, adc_dir: Path | None) -> list[tuple[AdcCost, str]]:
    out = [(sar_cost(b), "NeuroSim SAR model (DOMAIN.md 1.3), calibrated constants") for b in study.spec.study.bits]
    if adc_dir is not None:
        for kind in study.spec.adc.boundary_sets:
            for b in study.spec.study.bits:
                path = adc_dir / f"{kind}_{b}b" / "summary.json"
                s = json.loads(path.read_text())
                if s.get("energy_per_conversion_J") is None:
                    continue  # the adc stage ran without its energy study
                # both bases: the paper's 12.58 fJ compares with switching energy only (DOMAIN.md 1.3)
                if s.get("energy_switching_J") is not None:
                    out.append((AdcCost(f"Q-cell {kind} {b} b (switching)", b, s["energy_switching_J"],
                                        s["area_um2"], s["delay_s"], s["enob"]),
                                f"memspice SPICE ({path.parent.name}), switching energy (C V^2)"))
                out.append((AdcCost(f"Q-cell {kind} {b} b (total)", b, s["energy_per_conversion_J"], s["area_um2"],
                                    s["delay_s"], s["enob"]),
                            f"memspice SPICE ({path.parent.name}), total energy (DC counted)"))
    out.append((PAPER_QCELL, "Hong et al. 2025, Fig. 6 (5-bit), switching basis by all evidence"))
    return out


def energy_basis(adc_name: str) -> str:
    """The basis of an ADC design's energy figure in the system tables."""
    if adc_name.startswith("SAR"):
        return "NeuroSim model"
    if adc_name.endswith("(total)"):
        return "total (DC counted)"
    return "switching (C V^2)"


def workloads(study) -> dict[str, tuple[Counts, str]]:
    mapping = MappingSpec(columns_per_adc=study.spec.system.columns_per_adc)
    out: dict[str, tuple[Counts, str]] = {"paper_vgg8": (PAPER_VGG8, "counts implied by the paper's VGG8 costs")}
    for w in study.spec.system.workloads:
        if w == "vgg8_cifar10":
            out[w] = (count(vgg8_layers(), mapping), "VGG8 on 32x32x3, width 1, memspice mapping")
        elif w == "resnet18_cifar10":
            out[w] = (count(resnet18_cifar_layers(), mapping), "ResNet18 on 32x32x3, memspice mapping")
        elif w == "study":
            n = study.spec.network
            if n.network == "vgg8":
                ch = 1 if n.dataset == "fashion_mnist" else 3
                layers = vgg8_layers(32, ch, n.width)
            else:
                layers = resnet18_cifar_layers()
            out[f"{n.network}_{n.dataset}_w{n.width:g}"] = (count(layers, mapping), "the study's network")
    return out


def system_stage(study, out: Path) -> dict[str, Any]:
    res = study.runner.results
    adc_dir = res["adc"].dir if "adc" in res else None
    designs = adc_designs(study, adc_dir)
    periphery = PeripherySpec(array_J_per_mac=913.3e-9 / 616e6)  # NeuroSim VGG8 array energy / MACs
    arrays = {"neurosim_14nm": None}
    if "crossbar" in res:
        xb = json.loads((res["crossbar"].dir / "summary.json").read_text())
        if xb.get("energy_per_mac_J") is not None:
            arrays["spice_crossbar"] = xb["energy_per_mac_J"]
    rows: list[dict[str, Any]] = []
    breakdowns = {}
    for wname, (counts, wdoc) in workloads(study).items():
        for aname, e_mac in arrays.items():
            base = None
            for adc, source in designs:
                bd = system_breakdown(counts, adc, periphery, e_mac)
                if base is None:
                    base = bd  # the first design is the SAR baseline at the first configured bits
                breakdowns[(wname, aname, adc.name)] = bd
                rows.append({
                    "workload": wname, "array_energy": aname, "adc": adc.name, "bits": adc.bits,
                    "energy_basis": energy_basis(adc.name),
                    "conversions": counts.conversions, "adcs": counts.adcs,
                    "adc_energy_share_percent": bd["energy_share_percent"]["ADC"],
                    "adc_area_share_percent": bd["area_share_percent"]["ADC"],
                    "energy_per_inference_uJ": bd["energy_total_J"] * 1e6,
                    "area_mm2": bd["area_total_um2"] * 1e-6,
                    "energy_saving_vs_sar_percent": 100 * (1 - bd["energy_total_J"] / base["energy_total_J"]),
                    "area_saving_vs_sar_percent": 100 * (1 - bd["area_total_um2"] / base["area_total_um2"]),
                    "adc_source": source, "workload_source": wdoc,
                })
    write_csv(out / "system.csv", {k: [r[k] for r in rows] for k in rows[0]})
    comp = [{"adc": a.name, "bits": a.bits, "energy_basis": energy_basis(a.name),
             "energy_per_conversion_fJ": a.energy_J * 1e15, "area_um2": a.area_um2,
             "delay_ns": a.delay_s * 1e9, "enob": a.enob, "walden_fJ_per_step": a.walden_fom_J * 1e15,
             "source": src} for a, src in designs]
    write_csv(out / "adc_comparison.csv", {k: [r[k] for r in comp] for k in comp[0]})
    write_json(out / "breakdowns.json", {" | ".join(k): v for k, v in breakdowns.items()})
    _figures(breakdowns, designs, out)
    sar5 = system_breakdown(PAPER_VGG8, sar_cost(5), periphery)
    paper_q = breakdowns[("paper_vgg8", "neurosim_14nm", PAPER_QCELL.name)]
    return {"paper_vgg8_shares": {
        "energy_sar_percent": sar5["energy_share_percent"]["ADC"],
        "energy_qcell_percent": paper_q["energy_share_percent"]["ADC"],
        "area_sar_percent": sar5["area_share_percent"]["ADC"],
        "area_qcell_percent": paper_q["area_share_percent"]["ADC"],
        "paper": PAPER_SHARES}}


def _figures(breakdowns: dict, designs, out: Path) -> None:
    """Stacked energy and area breakdowns per ADC design for the paper's VGG8 workload."""
    from memspice.report.plotting import pyplot, save

    plt = pyplot()
    parts = ("ADC", "Array", "Adder", "Other")
    colors = {"ADC": "tab:red", "Array": "tab:blue", "Adder": "tab:green", "Other": "0.6"}
    for aname in sorted({k[1] for k in breakdowns}):
        names = [a.name for a, _ in designs]
        fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.8))
        for ax, (key, unit, scale) in zip(axes, (("energy_J", "energy per inference (uJ)", 1e6),
                                                 ("area_um2", "area (mm^2)", 1e-6)), strict=True):
            bottom = [0.0] * len(names)
            for part in parts:
                vals = [breakdowns[("paper_vgg8", aname, n)][key][part] * scale for n in names]
                ax.bar(range(len(names)), vals, bottom=bottom, color=colors[part], label=part)
                bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
            ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
            ax.set_ylabel(unit)
        axes[0].legend(fontsize=8)
        fig.suptitle(f"VGG8 (paper's counts), array energy: {aname}", fontsize=10)
        save(fig, out / f"breakdown_{aname}.png")
