"""The paper-setting preset and the comparison table (numbers from DOMAIN.md section 1.1)."""

from __future__ import annotations

import pytest

from memspice.errors import SpecError
from memspice.nn.paper import PAPER_VGG8_CIFAR10, apply_preset, paper_markdown, paper_train_spec
from memspice.nn.spec import CimSpec, EvalSpec, TrainSpec

pytestmark = pytest.mark.unit


def test_paper_preset_is_whole_layer_conversion_with_the_authors_baselines():
    cim, spec = apply_preset("paper", CimSpec(rows=64), EvalSpec(test_images=123))
    assert cim.conversion == "layer" and cim.rows == 64  # other fields kept
    assert spec.bits == (3, 4, 5) and spec.adcs == ("uniform_minmax", "lloyd_max")
    assert spec.lloyd_preprocess == "filter" and spec.sigmas == () and spec.test_images == 123
    with pytest.raises(SpecError, match="preset"):
        apply_preset("neurosim", CimSpec(), EvalSpec())


def test_paper_preset_trains_vgg8_with_8_bit_weights_and_activations():
    t = paper_train_spec("paper", TrainSpec(width=0.25, epochs=2))
    assert t.qat_bits == 8 and t.width == 0.25 and t.epochs == 2  # other fields kept
    assert t.spec_hash() != TrainSpec(width=0.25, epochs=2).spec_hash()  # a different cached network
    assert paper_train_spec("paper", TrainSpec(network="resnet18")).qat_bits == 0  # no QAT for ResNet18
    with pytest.raises(SpecError, match="preset"):
        paper_train_spec("neurosim", TrainSpec())


def _rows(network="vgg8"):
    rows = [{"network": network, "dataset": "cifar10", "adc": "float", "bits": 0, "sigma": 0.0, "accuracy": 0.9}]
    return rows + [{"network": network, "dataset": "cifar10", "adc": a, "bits": b, "sigma": 0.0, "accuracy": 0.5}
                   for a in ("uniform_minmax", "lloyd_max") for b in (3, 4, 5)]


def test_paper_table_prints_ours_beside_the_paper_with_deltas():
    paper_net = TrainSpec(dataset="cifar10", width=1, qat_bits=8).to_dict()
    text = paper_markdown(_rows("vgg8_qat8"), paper_net)
    assert "Same network, training and data set." in text and "trained quantization-aware with 8-bit" in text
    assert "different experiment" not in text
    # 4 bits: ours 50.00, paper 52.33 (uniform) and 88.93 (Lloyd-Max): deltas -2.33 and -38.93
    assert "| 4 | 50.00 | 52.33 | -2.33 | 50.00 | 88.93 | -38.93 |" in text
    assert PAPER_VGG8_CIFAR10["lloyd_max"][5] == 90.20
    # the comparison reads the training spec, not the label: width 0.125 on Fashion-MNIST is another network
    other = paper_markdown(_rows("vgg8_qat8"), TrainSpec(qat_bits=8).to_dict())
    assert "Different width and data set: compare the trend" in other and "width 0.125 on fashion_mnist" in other


def test_paper_table_names_a_float_trained_network_a_different_experiment():
    text = paper_markdown(_rows(), TrainSpec(dataset="cifar10", width=1).to_dict())
    assert "trained in float" in text and "a different experiment" in text and "Different training:" in text
    assert "Same network" not in text
