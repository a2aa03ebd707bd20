"""VGG-16, the network the ResNet paper measures itself against.

Simonyan & Zisserman 2014, configuration D: thirteen 3x3 convolutions (with biases, no
BN) in five groups separated by 2x2 max pools, then three fully connected layers.
He et al. 2015, section 3.3: VGG-16 costs 15.3 billion multiply-adds, ResNet-34 3.6.
Built here only to be counted (chapter 4's comparison table); names follow torchvision
(``features``, ``avgpool``, ``classifier``), so its parameter count, 138,357,544, can be
checked against torchvision's documentation.
"""

from __future__ import annotations

import torch
from torch import nn

from resnet_edu.core.arguments import check_positive_int

# Channels of each 3x3 conv; "M" is a 2x2 max pool with stride 2 (configuration D).
VGG16_CONFIG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
)


class VGG(nn.Module):
    """A VGG network: conv-ReLU layers and max pools, a 7x7 average pool, three fc layers.

    Args:
        config: channels of each conv, ``"M"`` for a max pool (e.g. :data:`VGG16_CONFIG`).
        in_channels: channels of the input image.
        num_classes: outputs of the last fc layer.
    """

    def __init__(self, config: tuple[int | str, ...], in_channels: int = 3, num_classes: int = 1000) -> None:
        super().__init__()
        check_positive_int("in_channels", in_channels)
        check_positive_int("num_classes", num_classes)
        layers: list[nn.Module] = []
        channels = in_channels
        for item in config:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, int(item), kernel_size=3, padding=1), nn.ReLU()]
                channels = int(item)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(7)
        self.classifier = nn.Sequential(
            nn.Linear(channels * 7 * 7, 4096), nn.ReLU(), nn.Dropout(),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (N, 512, H/32, W/32)
        x = self.avgpool(x)  # (N, 512, 7, 7)
        x = torch.flatten(x, 1)  # (N, 25088)
        return self.classifier(x)  # (N, num_classes)


def vgg16(**kwargs: int) -> VGG:
    """VGG-16 (configuration D): 138,357,544 parameters, 15.47 G multiply-adds at 224x224.

    Args:
        **kwargs: ``in_channels``, ``num_classes`` (see :class:`VGG`).
    """
    return VGG(VGG16_CONFIG, **kwargs)


# Configuration E: sixteen 3x3 convolutions, the VGG-19 of He et al. 2015, Figure 3 (left).
VGG19_CONFIG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
)


def vgg19(**kwargs: int) -> VGG:
    """VGG-19 (configuration E): 143,667,240 parameters, 19.6 G multiply-adds at 224x224.

    The left column of He et al. 2015, Figure 3 (chapter 4 draws it beside ResNet-34).

    Args:
        **kwargs: ``in_channels``, ``num_classes`` (see :class:`VGG`).
    """
    return VGG(VGG19_CONFIG, **kwargs)
