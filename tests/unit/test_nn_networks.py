"""Network topologies: NeuroSim's VGG8 and the CIFAR ResNet18; import stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit


@pytest.mark.torch
def test_vgg8_is_neurosims_topology():
    import torch
    from torch import nn

    from memspice.nn.networks import build_network, count_weights

    net = build_network("vgg8", in_channels=3, image_size=32)
    assert count_weights(net) == 12_973_440  # DOMAIN.md section 5: ~12.97 M weights
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (3, 128), (128, 128), (128, 256), (256, 256), (256, 512), (512, 512)]
    assert all(c.bias is None and c.kernel_size == (3, 3) for c in convs)
    fcs = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(f.in_features, f.out_features) for f in fcs] == [(8192, 1024), (1024, 10)]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    small = build_network("vgg8", in_channels=1, image_size=28, width=0.125)
    assert small(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert [f.in_features for f in small.modules() if isinstance(f, nn.Linear)] == [1024, 128]


@pytest.mark.torch
def test_resnet18_for_cifar():
    import torch

    from memspice.nn.networks import build_network, count_weights

    net = build_network("resnet18", in_channels=3, image_size=32)
    assert count_weights(net) == 11_164_352  # ~11.2 M
    tiny = build_network("resnet18", in_channels=1, image_size=28, width=0.0625).eval()
    assert tiny(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_importing_the_nn_package_and_its_cli_does_not_import_torch():
    code = ("import sys, memspice, memspice.nn, memspice.nn.spec, memspice.cli.nn; "
            "bad = [m for m in ('torch', 'matplotlib') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
