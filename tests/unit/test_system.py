import numpy as np
import pytest

from memspice.system.cost import AdcCost, PeripherySpec, SarAdcModel, enob_from_boundaries, system_breakdown
from memspice.system.workload import Counts, MappingSpec, count, resnet18_cifar_layers, vgg8_layers

pytestmark = pytest.mark.unit


def test_sar_model_by_hand():
    sar = SarAdcModel()
    # 5 bits: P = (0.3132*5 + 2.5681) uW + 0.061085/2524 W = 28.34 uW over 6 ns
    assert sar.energy_J(5) == pytest.approx(28.336e-6 * 6e-9, rel=1e-3)
    assert sar.energy_J(5) == pytest.approx(170e-15, rel=0.01)  # the paper's implied SAR cost
    assert sar.area_um2(5) == pytest.approx(108.0, rel=0.01)
    assert sar.delay_s(4) == pytest.approx(5e-9)
    assert sar.area_um2(3) == pytest.approx(0.06327 * (269 + 218) + 0.12654 * (209 + 146), rel=1e-9)


@pytest.mark.parametrize("bits", [3, 4, 5, 6])
def test_enob_of_ideal_and_perturbed_quantizers(bits):
    lo, hi = 0.7, 1.2
    ideal = lo + (hi - lo) * np.arange(1, 2**bits) / 2**bits
    assert enob_from_boundaries(ideal, lo, hi, bits) == pytest.approx(bits, abs=1e-3)
    rng = np.random.default_rng(0)
    shaky = np.sort(ideal + rng.normal(0, 0.2 * (hi - lo) / 2**bits, ideal.size))
    assert enob_from_boundaries(shaky, lo, hi, bits) < bits


def test_network_sizes_match_the_literature():
    vgg = vgg8_layers()
    assert sum(layer.rows * layer.cols for layer in vgg) == pytest.approx(12.97e6, rel=0.01)  # DOMAIN.md 5
    assert sum(layer.macs for layer in vgg) == pytest.approx(0.62e9, rel=0.01)
    res = resnet18_cifar_layers()
    assert sum(layer.rows * layer.cols for layer in res) == pytest.approx(11.2e6, rel=0.01)


def test_counts_by_hand_for_one_layer():
    from memspice.system.workload import Layer

    layer = Layer("x", rows=300, cols=20, positions=4)
    c = count([layer], MappingSpec(subarray_rows=128, weight_bits=8, cell_bits=4, input_bits=8,
                                   bit_serial_inputs=True, columns_per_adc=8))
    # 3 row tiles x (20 outputs x 2 slices) columns x 4 positions x 8 input bits
    assert c.conversions == 3 * 40 * 4 * 8
    assert c.adcs == 3 * 5
    assert c.cells == 2 * 300 * 40
    assert c.macs == 300 * 20 * 4


def test_paper_shares_follow_from_paper_unit_costs():
    # the paper's VGG8 study: 57.3 M conversions, 78.6 k ADCs; NeuroSim's non-ADC parts (QIM tables)
    counts = Counts(macs=616_000_000, cells=25_930_000, subarrays=0, adcs=78_600, conversions=57_270_000,
                    array_reads=616_000_000)
    periphery = PeripherySpec(array_J_per_mac=913.3e-9 / 616e6)
    sar = system_breakdown(counts, AdcCost("sar", 5, 170e-15, 108.0, 6e-9, 5), periphery)
    qcell = system_breakdown(counts, AdcCost("qcell", 5, 12.58e-15, 24.29, 1e-9, 5), periphery)
    assert sar["energy_share_percent"]["ADC"] == pytest.approx(79.8, abs=0.5)
    assert qcell["energy_share_percent"]["ADC"] == pytest.approx(22.5, abs=0.5)
    assert sar["area_share_percent"]["ADC"] == pytest.approx(47.6, abs=0.5)
    assert qcell["area_share_percent"]["ADC"] == pytest.approx(16.9, abs=0.5)


def test_walden():
    assert AdcCost("q", 5, 12.58e-15, 24.29, 1e-9, 5.0).walden_fom_J == pytest.approx(0.393e-15, rel=1e-2)


def test_study_adc_designs_on_both_energy_bases(tmp_path):
    """The system table carries the SPICE Q-cell on the switching basis (the paper's) beside the total."""
    import json
    from types import SimpleNamespace

    from memspice.study.system import adc_designs, energy_basis

    d = tmp_path / "lloyd_max_4b"
    d.mkdir()
    d.joinpath("summary.json").write_text(json.dumps({"energy_per_conversion_J": 1e-12, "energy_switching_J": 2e-14,
                                                      "area_um2": 40.0, "delay_s": 5e-10, "enob": 3.9}))
    study = SimpleNamespace(spec=SimpleNamespace(study=SimpleNamespace(bits=(4,)),
                                                 adc=SimpleNamespace(boundary_sets=("lloyd_max",))))
    designs = {a.name: a for a, _ in adc_designs(study, tmp_path)}
    assert designs["Q-cell lloyd_max 4 b (switching)"].energy_J == 2e-14
    assert designs["Q-cell lloyd_max 4 b (total)"].energy_J == 1e-12
    assert [energy_basis(n) for n in ("SAR 4 b", "Q-cell lloyd_max 4 b (total)", "Q-cell (paper)")] == [
        "NeuroSim model", "total (DC counted)", "switching (C V^2)"]
