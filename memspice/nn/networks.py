"""Networks: NeuroSim's VGG8 (with a width multiplier) and the CIFAR ResNet18.

VGG8 is NeuroSim's topology (no batch norm, no bias, 3x3 convolutions, ReLU)::

    conv 3->128, conv 128->128, pool, conv 128->256, conv 256->256, pool,
    conv 256->512, conv 512->512, pool, FC 8192->1024, FC 1024->10

with every channel count multiplied by ``width`` (1.0 is NeuroSim's network, 12.97 M weights).
Grey 28x28 images (Fashion-MNIST) are zero-padded to 32x32 by the network's first module, so the
topology, the pooling chain and the FC input (512 * width * 4 * 4) stay exactly NeuroSim's; only
the first convolution has 1 input channel instead of 3. The padding is exact: Fashion-MNIST's
background is 0, and padding happens before any weight sees the image.

ResNet18 is the common CIFAR variant: 3x3 stride-1 stem, no max-pool, stages [2, 2, 2, 2] at
64/128/256/512 channels (times ``width``), 1x1 shortcut convolutions, 4x4 average pool, FC 512->10.
"""

from __future__ import annotations

import torch
from torch import nn

from memspice.errors import SpecError

NETWORKS = ("vgg8", "resnet18")


def build_network(name: str, *, in_channels: int, image_size: int, num_classes: int = 10,
                  width: float = 1.0, act_bound: float = 0.0) -> nn.Module:
    """A freshly initialised network for ``in_channels`` x ``image_size`` x ``image_size`` inputs;
    ``act_bound`` > 0 (VGG8 only): bounded activations (see :class:`VGG8`)."""
    if width <= 0:
        raise SpecError("width", width, "a positive width multiplier")
    if name == "vgg8":
        return VGG8(in_channels=in_channels, image_size=image_size, num_classes=num_classes, width=width,
                    act_bound=act_bound)
    if act_bound:
        raise SpecError("act_bound", act_bound, f"0 for {name} (bounded activations are built for vgg8 only)")
    if name == "resnet18":
        return ResNet18(in_channels=in_channels, image_size=image_size, num_classes=num_classes, width=width)
    raise SpecError("network", name, "one of " + ", ".join(NETWORKS))


def _ch(base: int, width: float) -> int:
    return max(1, round(base * width))


class VGG8(nn.Module):
    """NeuroSim's VGG8 (see the module docstring); inputs smaller than 32x32 are zero-padded.

    ``act_bound`` > 0: the network as NeuroSim's WAGE training builds it (memspice.nn.qat): every
    hidden layer's output clamped to ``[0, act_bound]`` (a bounded ReLU, ``nn.Hardtanh``) and the
    logits to ``[-act_bound, act_bound]``. The clamps hold no parameters: the state dict is the same.
    """

    def __init__(self, *, in_channels: int = 3, image_size: int = 32, num_classes: int = 10, width: float = 1.0,
                 act_bound: float = 0.0):
        super().__init__()
        if image_size > 32:
            raise SpecError("image_size", image_size, "at most 32 pixels (VGG8 is built for 32x32 inputs)")
        pad = 32 - image_size
        c1, c2, c3 = _ch(128, width), _ch(256, width), _ch(512, width)
        layers: list[nn.Module] = []
        if pad:
            layers.append(nn.ZeroPad2d((pad // 2, pad - pad // 2, pad // 2, pad - pad // 2)))
        chans = [(in_channels, c1), (c1, c1), "pool", (c1, c2), (c2, c2), "pool", (c2, c3), (c3, c3), "pool"]
        for item in chans:
            if item == "pool":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(item[0], item[1], 3, padding=1, bias=False), _activation(act_bound)]
        self.features = nn.Sequential(*layers)
        hidden = _ch(1024, width)
        head: list[nn.Module] = [nn.Flatten(), nn.Linear(c3 * 16, hidden, bias=False), _activation(act_bound),
                                 nn.Linear(hidden, num_classes, bias=False)]
        if act_bound:
            head.append(nn.Hardtanh(-act_bound, act_bound))
        self.classifier = nn.Sequential(*head)
        for m in crossbar_layers(self):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def _activation(act_bound: float) -> nn.Module:
    return nn.Hardtanh(0.0, act_bound, inplace=True) if act_bound else nn.ReLU(inplace=True)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu2 = nn.ReLU(inplace=True)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x))


class ResNet18(nn.Module):
    """The CIFAR ResNet18 (see the module docstring); 28x28 inputs are zero-padded to 32x32."""

    def __init__(self, *, in_channels: int = 3, image_size: int = 32, num_classes: int = 10, width: float = 1.0):
        super().__init__()
        if image_size > 32:
            raise SpecError("image_size", image_size, "at most 32 pixels")
        pad = 32 - image_size
        widths = [_ch(c, width) for c in (64, 128, 256, 512)]
        stem: list[nn.Module] = []
        if pad:
            stem.append(nn.ZeroPad2d((pad // 2, pad - pad // 2, pad // 2, pad - pad // 2)))
        stem += [nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]),
                 nn.ReLU(inplace=True)]
        self.stem = nn.Sequential(*stem)
        blocks: list[nn.Module] = []
        cin = widths[0]
        for i, cout in enumerate(widths):
            for j in range(2):
                blocks.append(BasicBlock(cin, cout, 2 if (i > 0 and j == 0) else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.AvgPool2d(4), nn.Flatten(), nn.Linear(cin, num_classes, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def count_weights(model: nn.Module) -> int:
    """Weights of the layers that a crossbar holds (convolutions and fully connected layers)."""
    return sum(m.weight.numel() for m in crossbar_layers(model))


def crossbar_layers(model: nn.Module) -> list[nn.Conv2d | nn.Linear]:
    """The convolutions and linear layers of ``model`` (the layers a crossbar holds) in definition order."""
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
