"""Learner-style whole ResNets for tests/test_network_checks.py: correct ones and broken ones.

The learner writes a block, a make_stage and the network around them (the capstone of
chapter 4). Each broken network carries one bug a learner really writes (several are the
seed notes' own) and is paired, in CORPUS, with a phrase its hint from ``check_resnet``
must contain. Builders take ``num_classes`` as the checker calls them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


# ---------------------------------------------------------------- the learner's parts

class Block(nn.Module):
    """A basic block with torchvision's names; it builds its own option-B shortcut."""

    expansion = 1

    def __init__(self, in_channels, channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False), nn.BatchNorm2d(channels)
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


def make_stage(block, in_channels, channels, num_blocks, stride):
    blocks = [block(in_channels, channels, stride)]
    for _ in range(1, num_blocks):
        blocks.append(block(channels * block.expansion, channels, 1))
    return nn.Sequential(*blocks)


class GoodResNet(nn.Module):
    """Stem, four stages from make_stage, average pool and fc, with torchvision's names."""

    strides = (1, 2, 2, 2)

    def __init__(self, block, layers, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        channels = 64
        for k, (num_blocks, width, stride) in enumerate(zip(layers, (64, 128, 256, 512), self.strides), start=1):
            setattr(self, f"layer{k}", self.stage(block, channels, width, num_blocks, stride))
            channels = width * block.expansion
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def stage(self, block, in_channels, channels, num_blocks, stride):
        return make_stage(block, in_channels, channels, num_blocks, stride)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def good_resnet18(num_classes=1000):
    return GoodResNet(Block, [2, 2, 2, 2], num_classes)


def good_resnet34(num_classes=1000):
    return GoodResNet(Block, [3, 4, 6, 3], num_classes)


class FunctionalStyle(nn.Module):
    """Another style that must pass: F.relu, x.view, mean over the map, a loop over the stages."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(Block(64, 64), Block(64, 64))
        self.layer2 = nn.Sequential(Block(64, 128, 2), Block(128, 128))
        self.layer3 = nn.Sequential(Block(128, 256, 2), Block(256, 256))
        self.layer4 = nn.Sequential(Block(256, 512, 2), Block(512, 512))
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
        x = x.mean(dim=(2, 3))
        return self.fc(x.view(x.size(0), -1))


# ---------------------------------------------------------------- broken networks

class StrideInLayer1(GoodResNet):
    strides = (2, 2, 2, 2)  # every stage halves: layer1 too


class StrideOnWrongStage(GoodResNet):
    strides = (1, 1, 2, 2)  # layer2 keeps 56x56 (its projection still changes the channels)


class NoMaxPool(GoodResNet):
    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))  # the max pool is created but forgotten
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class StemWithoutRelu(GoodResNet):
    def forward(self, x):  # seed note 2's stem: conv, bn, maxpool
        x = self.maxpool(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class FcForBottlenecks(GoodResNet):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__(block, layers, num_classes)
        self.fc = nn.Linear(2048, num_classes)  # ResNet-50's width, copied


class FixedThousandClasses(GoodResNet):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__(block, layers, num_classes)
        self.fc = nn.Linear(512, 1000)  # num_classes ignored


class StemInASequential(GoodResNet):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__(block, layers, num_classes)
        self.stem = nn.Sequential(self.conv1, self.bn1, nn.ReLU(inplace=True), self.maxpool)
        del self.conv1, self.bn1, self.maxpool

    def forward(self, x):
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class ClassifierName(GoodResNet):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__(block, layers, num_classes)
        self.classifier = self.fc
        del self.fc

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.classifier(torch.flatten(self.avgpool(x), 1))


class SharedBlocks(GoodResNet):
    def stage(self, block, in_channels, channels, num_blocks, stride):  # seed note 0's stages
        rest = [block(channels * block.expansion, channels, 1)] * (num_blocks - 1)
        return nn.Sequential(block(in_channels, channels, stride), *rest)


class TupleLoop(GoodResNet):
    def stage(self, block, in_channels, channels, num_blocks, stride):  # seed note 2's loop
        blocks = [block(in_channels, channels, stride)]
        for _ in (1, num_blocks):
            blocks.append(block(channels * block.expansion, channels, 1))
        return nn.Sequential(*blocks)


class NoAvgPool(GoodResNet):
    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(x)  # straight from the 7x7 map


class NoFlatten(GoodResNet):
    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x))  # (N, 512, 1, 1) into a Linear


class FixedAvgPool(GoodResNet):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__(block, layers, num_classes)
        self.avgpool = nn.AvgPool2d(7)  # stride 7: right at 224, top-left 7x7 of 8x8 at 256


class BlockWithoutFinalRelu(Block):
    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out)) + identity


class OptionABlock(Block):
    """No projection: zero channels on the shortcut (option A) where the shape changes."""

    def __init__(self, in_channels, channels, stride=1):
        super().__init__(in_channels, channels, stride)
        self.downsample = None
        self.extra = channels - in_channels

    def forward(self, x):
        identity = x[:, :, :: self.conv1.stride[0], :: self.conv1.stride[0]]
        identity = F.pad(identity, (0, 0, 0, 0, 0, self.extra))
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class DetachedOutput(GoodResNet):
    def forward(self, x):
        return super().forward(x).detach()


class EndlessForward(GoodResNet):
    def forward(self, x):
        while x.dim() == 4:
            x = x + 0
        return x


def builder(cls, layers=(2, 2, 2, 2), block=Block):
    """A builder ``f(num_classes=1000)`` for a network class, named after it (for the test ids)."""

    def build(num_classes=1000):
        return cls(block, list(layers), num_classes)

    build.__name__ = f"build_{cls.__name__}"
    return build


def block_builder(block_cls):
    def build(num_classes=1000):
        return GoodResNet(block_cls, [2, 2, 2, 2], num_classes)

    build.__name__ = f"build_with_{block_cls.__name__}"
    return build


#: (depth, the learner's builder, a phrase its hint must contain)
CORPUS = [
    (18, builder(StrideInLayer1), "layer1 keeps the max pool's 56x56 map"),
    (18, builder(StrideOnWrongStage), "layer2 keeps the 56x56 map, but torchvision's halves it to 28x28"),
    (18, builder(NoMaxPool), "self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)"),
    (18, builder(StemWithoutRelu), "self.relu is created but never called"),
    (18, builder(FcForBottlenecks), "fc takes 2048 features"),
    (18, builder(FixedThousandClasses), "pass num_classes through"),
    (18, builder(StemInASequential), "`stem.0` -> `conv1`, `stem.1` -> `bn1`"),
    (18, builder(ClassifierName), "`classifier` -> `fc`"),
    (34, builder(SharedBlocks, (3, 4, 6, 3)), "layer1.1 and layer1.2 are one Block object"),
    (18, builder(TupleLoop), "tuple of two numbers"),
    (18, builder(NoAvgPool), "fc receives a (1, 512, 7, 7) map"),
    (18, builder(NoFlatten), "flatten the pooled map first"),
    (18, builder(FixedAvgPool), "match on a 224x224 input but not on 256x256"),
    (18, block_builder(BlockWithoutFinalRelu), "layer1.0's output differs"),
    (18, block_builder(OptionABlock), "layer2.0 lacks its projection shortcut"),
    (18, builder(DetachedOutput), "does not require grad"),
    (34, builder(GoodResNet), "layer1 has 2 blocks, but ResNet-34 has [3, 4, 6, 3]"),
]
