"""The seed notes' buggy networks, rewritten so that they run (for tests/test_diagnose.py).

Only the bug under test is kept; typos that stop the code from running at all
(`padding=True`, `nn.Moudle`, `stide=`) are repaired.
"""

from __future__ import annotations

from typing import Tuple

import torch
import torch.nn as nn


# ---------------------------------------------------------------- seed 000: ResNet-50, `[IdenticalBlock(...)] * n`

class Seed000FirstBlock(nn.Module):
    """Seed 000's `BasicBlock`: the first bottleneck of a stage, always projecting."""

    def __init__(self, in_channels: int, channels: Tuple[int, int, int], stride: int):
        super().__init__()
        c1, c2, c3 = channels
        self.block = nn.Sequential(
            nn.Conv2d(in_channels, c1, 1, stride=stride, bias=False),
            nn.BatchNorm2d(c1),
            nn.ReLU(True),
            nn.Conv2d(c1, c2, 3, padding=1, bias=False),  # the seed writes padding=True
            nn.BatchNorm2d(c2),
            nn.ReLU(True),
            nn.Conv2d(c2, c3, 1, bias=False),
            nn.BatchNorm2d(c3),
        )
        self.shortcut = nn.Conv2d(in_channels, c3, 1, stride=stride, bias=False)
        self.batchnorm = nn.BatchNorm2d(c3)
        self.relu = nn.ReLU(True)

    def forward(self, x):
        x_shortcut = self.batchnorm(self.shortcut(x))
        output = self.block(x)
        output = output + x_shortcut
        return self.relu(output)


class Seed000IdenticalBlock(nn.Module):
    def __init__(self, in_channels: int, channels: Tuple[int, int, int]):
        super().__init__()
        c1, c2, c3 = channels
        self.block = nn.Sequential(
            nn.Conv2d(in_channels, c1, kernel_size=1, bias=False),
            nn.BatchNorm2d(c1),
            nn.ReLU(True),
            nn.Conv2d(c1, c2, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(c2),
            nn.ReLU(True),
            nn.Conv2d(c2, c3, kernel_size=1, bias=False),
            nn.BatchNorm2d(c3),
        )
        self.relu = nn.ReLU(True)

    def forward(self, x):
        output = self.block(x)
        output = output + x
        return self.relu(output)


class Seed000Resnet(nn.Module):
    """Seed 000's ResNet-50 (fc to 384). ``repaired=False`` keeps `[IdenticalBlock(...)] * n`."""

    def __init__(self, output_dim: int = 384, repaired: bool = False):
        super().__init__()
        self.stage1 = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(True),
            nn.MaxPool2d(3, stride=2, padding=1),
        )

        def stage(in_channels, channels, stride, rest):
            first = Seed000FirstBlock(in_channels, channels, stride)
            if repaired:
                others = [Seed000IdenticalBlock(channels[2], channels) for _ in range(rest)]
            else:
                others = [Seed000IdenticalBlock(channels[2], channels)] * rest  # the seed's bug
            return nn.Sequential(first, *others)

        self.stage2 = stage(64, [64, 64, 256], 1, 2)
        self.stage3 = stage(256, [128, 128, 512], 2, 3)
        self.stage4 = stage(512, [256, 256, 1024], 2, 5)
        self.stage5 = stage(1024, [512, 512, 2048], 2, 2)
        self.pooling = nn.AdaptiveAvgPool2d((1, 1))
        self.linear = nn.Linear(2048, output_dim)

    def forward(self, x):
        output = self.stage1(x)
        output = self.stage2(output)
        output = self.stage3(output)
        output = self.stage4(output)
        output = self.stage5(output)
        output = torch.flatten(self.pooling(output), 1)
        return self.linear(output)


# ---------------------------------------------------------------- seed 002: bottleneck with `Fx = self.conv3(x)`

class Seed002BottleBlock(nn.Module):
    """Seed 002's `BottleBlock`. ``repaired=True`` applies conv3 to the branch, not to the input."""

    expantion = 4  # sic

    def __init__(self, in_channel, out_channel, downsample=None, stride=1, repaired: bool = False):
        super().__init__()
        self.repaired = repaired
        self.conv1 = nn.Conv2d(in_channel, out_channel, kernel_size=1, stride=1)
        self.bn1 = nn.BatchNorm2d(out_channel)
        self.conv2 = nn.Conv2d(out_channel, out_channel, kernel_size=3, padding=1, stride=stride)
        self.bn2 = nn.BatchNorm2d(out_channel)
        self.conv3 = nn.Conv2d(out_channel, out_channel * self.expantion, kernel_size=1, stride=1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channel * self.expantion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        if self.downsample is not None:
            identity = self.downsample(x)
        Fx = self.conv1(x)
        Fx = self.bn1(Fx)
        Fx = self.relu(Fx)
        Fx = self.conv2(Fx)
        Fx = self.bn2(Fx)
        Fx = self.relu(Fx)
        Fx = self.conv3(Fx if self.repaired else x)  # the seed's bug: x instead of Fx
        Fx = self.bn3(Fx)
        Fx += identity
        return self.relu(Fx)


def seed002_block(repaired: bool = False) -> Seed002BottleBlock:
    """The first block of ResNet-50's layer1 (64 -> 256): in == channels, so conv3(x) runs."""
    projection = nn.Sequential(nn.Conv2d(64, 256, 1, bias=False), nn.BatchNorm2d(256))
    return Seed002BottleBlock(64, 64, downsample=projection, repaired=repaired)


# ---------------------------------------------------------------- seed 004: `self.downsample` never stored

class Seed004BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.stride = stride  # the seed never writes self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)
