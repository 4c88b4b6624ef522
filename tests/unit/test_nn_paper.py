"""The paper-setting preset and the comparison table (numbers from DOMAIN.md section 1.1)."""

from __future__ import annotations

import pytest

from memspice.errors import SpecError
from memspice.nn.paper import PAPER_VGG8_CIFAR10, apply_preset, paper_markdown
from memspice.nn.spec import CimSpec, EvalSpec

pytestmark = pytest.mark.unit


def test_paper_preset_is_whole_layer_conversion_with_the_authors_baselines():
    cim, spec = apply_preset("paper", CimSpec(rows=64), EvalSpec(test_images=123))
    assert cim.conversion == "layer" and cim.rows == 64  # other fields kept
    assert spec.bits == (3, 4, 5) and spec.adcs == ("uniform_minmax", "lloyd_max")
    assert spec.lloyd_preprocess == "filter" and spec.sigmas == () and spec.test_images == 123
    with pytest.raises(SpecError, match="preset"):
        apply_preset("neurosim", CimSpec(), EvalSpec())


def test_paper_table_prints_ours_beside_the_paper_with_deltas():
    rows = [{"network": "vgg8", "dataset": "cifar10", "adc": "float", "bits": 0, "sigma": 0.0, "accuracy": 0.9}]
    rows += [{"network": "vgg8", "dataset": "cifar10", "adc": a, "bits": b, "sigma": 0.0, "accuracy": 0.5}
             for a in ("uniform_minmax", "lloyd_max") for b in (3, 4, 5)]
    text = paper_markdown(rows)
    assert "Same network and data set." in text
    # 4 bits: ours 50.00, paper 52.33 (uniform) and 88.93 (Lloyd-Max): deltas -2.33 and -38.93
    assert "| 4 | 50.00 | 52.33 | -2.33 | 50.00 | 88.93 | -38.93 |" in text
    assert PAPER_VGG8_CIFAR10["lloyd_max"][5] == 90.20
    other = paper_markdown([{**r, "dataset": "fashion_mnist"} for r in rows])
    assert "compare the trend" in other
