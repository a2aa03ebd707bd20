"""One ResNet builder, and every network of the book as a one-line configuration of it.

``ResNet(block, layers, widths)``: a stem, then ``len(layers)`` stages named
``layer1..layerK`` (stage k holds ``layers[k-1]`` blocks of width ``widths[k-1]``; the
first stage keeps the resolution, each later one halves it in its first block), then
global average pooling and a fully connected layer. He et al. 2015, Table 1 (ImageNet)
and section 4.2 (CIFAR-10). Taught in chapter 4.

Module names are torchvision's (``conv1, bn1, relu, maxpool, layer1..layer4, avgpool,
fc``), so ``resnet18()..resnet152()`` load torchvision's checkpoints with
``strict=True`` and give the same outputs.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import nn

from resnet_edu.core.arguments import check_choice, check_positive_int, check_positive_ints
from resnet_edu.models.blocks import BasicBlock, Bottleneck, PlainBlock
from resnet_edu.models.init import default_init_, he_init_, zero_init_residual_
from resnet_edu.models.shortcuts import SHORTCUT_OPTIONS

STEMS: tuple[str, ...] = ("imagenet", "cifar")
INITS: tuple[str, ...] = ("default", "he")
#: The two kinds of network the book compares: no shortcuts, and shortcuts.
KINDS: tuple[str, ...] = ("plain", "residual")


class ResNet(nn.Module):
    """A residual (or plain) network: stem, K stages of blocks, average pool, fc.

    He et al. 2015, Table 1 and section 4.2; taught in chapter 4. Every named network
    below is one line of arguments to this class. Stems. ``"imagenet"`` (Table 1, conv1): 7x7 conv stride 2, BN, ReLU, 3x3 max pool
    stride 2, so 224 -> 56 before ``layer1``. ``"cifar"`` (section 4.2): 3x3 conv
    stride 1, BN, ReLU, and ``maxpool = nn.Identity()``, so 32 stays 32.

    Args:
        block: the block class (PlainBlock, BasicBlock, Bottleneck, PreActBlock, or any
            class with their constructor and ``expansion``).
        layers: blocks per stage, e.g. ``[2, 2, 2, 2]`` for ResNet-18.
        widths: channels of each stage (before ``block.expansion``); one per stage.
        stem: ``"imagenet"`` or ``"cifar"``.
        shortcut: option ``"A"``, ``"B"`` or ``"C"`` (section 3.3); ignored by PlainBlock.
        in_channels: channels of the input image (3 for RGB, 1 for grey).
        num_classes: outputs of the final fc layer.
        zero_init_residual: zero the last BN of each residual branch (chapter 7).
        norm_layer: norm constructor; ``nn.Identity`` builds the network without BN.
        stride_in_1x1: Bottleneck only: the paper's stride placement (see Bottleneck).
        init: ``"he"`` (torchvision's init, :func:`~resnet_edu.models.init.he_init_`) or
            ``"default"`` (then re-initialised with PyTorch's default,
            :func:`~resnet_edu.models.init.default_init_`; chapter 5 compares them).

    Attributes:
        in_channels, num_classes: as given.
        min_input_size: the smallest height/width accepted, the network's total
            downsampling factor (32 for the ImageNet stem with 4 stages, 4 for the CIFAR
            one with 3): below it the last stage would see padding, not pixels. At
            exactly this size the last stage is 1x1, so BatchNorm in training mode needs
            a batch of at least 2 (PyTorch's "Expected more than 1 value per channel").
        stage_names: ``["layer1", ..., "layerK"]``, in forward order.
        blocks_per_stage: blocks in each stage, ``layers`` as given (``(3, 4, 6, 3)`` for ResNet-34).
    """

    def __init__(
        self,
        block: type[nn.Module],
        layers: Sequence[int],
        widths: Sequence[int] = (64, 128, 256, 512),
        *,
        stem: str = "imagenet",
        shortcut: str = "B",
        in_channels: int = 3,
        num_classes: int = 1000,
        zero_init_residual: bool = False,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
        stride_in_1x1: bool = False,
        init: str = "he",
    ) -> None:
        super().__init__()
        block_kwargs = _block_kwargs(block, shortcut, stride_in_1x1, norm_layer)
        layers = check_positive_ints("layers (blocks per stage)", layers)
        widths = check_positive_ints("widths", widths)
        if len(layers) != len(widths):
            raise ValueError(
                f"layers and widths need one entry per stage: got {len(layers)} stages in "
                f"layers={list(layers)} but {len(widths)} in widths={list(widths)}"
            )
        check_choice("stem", stem, STEMS)
        check_choice("init", init, INITS)
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.num_classes = check_positive_int("num_classes", num_classes)

        # Stem: conv1, bn1, relu, maxpool.
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
            stem_stride = 4  # conv1 /2, maxpool /2
        else:
            self.conv1 = nn.Conv2d(in_channels, widths[0], kernel_size=3, stride=1, padding=1, bias=False)
            stem_stride = 1
        self.bn1 = norm_layer(widths[0])
        self.relu = nn.ReLU()
        if stem == "imagenet":
            self.maxpool: nn.Module = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:
            self.maxpool = nn.Identity()

        # Stages layer1..layerK: the first keeps the resolution, the others halve it.
        channels = widths[0]
        self.stage_names: list[str] = []
        self.blocks_per_stage: tuple[int, ...] = tuple(layers)
        for k, (num_blocks, width) in enumerate(zip(layers, widths), start=1):
            stride = 1 if k == 1 else 2
            stage = make_stage(block, channels, width, num_blocks, stride, **block_kwargs)
            setattr(self, f"layer{k}", stage)
            self.stage_names.append(f"layer{k}")
            channels = width * block.expansion  # type: ignore[attr-defined]

        # Full pre-activation leaves the last sum un-normalised: one more BN-ReLU
        # (He et al. 2016, section 4). Post-activation networks have none.
        self.final_bn = norm_layer(channels) if getattr(block, "preactivation", False) else None

        # Head: global average pool, then fc.
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

        self.min_input_size = stem_stride * 2 ** (len(layers) - 1)
        he_init_(self)
        if init == "default":
            default_init_(self)
        if zero_init_residual:
            zero_init_residual_(self)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """The stem alone: conv1, bn1, relu, maxpool (the input of ``layer1``)."""
        x = self.conv1(x)  # (N, w1, H/2, W/2) imagenet | (N, w1, H, W) cifar
        x = self.bn1(x)
        x = self.relu(x)
        return self.maxpool(x)  # (N, w1, H/4, W/4) imagenet | unchanged cifar

    def named_blocks(self) -> list[tuple[str, nn.Module]]:
        """Every block in forward order, with its path: ``[("layer1.0", block), ...]``."""
        return [(f"{name}.{i}", block) for name in self.stage_names for i, block in enumerate(getattr(self, name))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        x = self.stem(x)  # (N, w1, H/4, W/4) imagenet | (N, w1, H, W) cifar
        for name in self.stage_names:
            x = getattr(self, name)(x)  # layer k: (N, e*w_k, H', W'), H' halved for k > 1
        if self.final_bn is not None:
            x = self.relu(self.final_bn(x))  # pre-activation networks only
        x = self.avgpool(x)  # (N, C, 1, 1)
        x = torch.flatten(x, 1)  # (N, C)
        return self.fc(x)  # (N, num_classes)

    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"ResNet expects a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
        if x.dim() != 4:
            raise ValueError(
                f"ResNet expects a 4-D input (N, C, H, W), got {x.dim()}-D shape {tuple(x.shape)}; "
                "add a batch dimension with x.unsqueeze(0) for a single image"
            )
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"this model expects {self.in_channels} input channel(s), got {x.shape[1]} "
                f"(input shape {tuple(x.shape)}); build it with in_channels={x.shape[1]} to accept them"
            )
        if min(x.shape[-2:]) < self.min_input_size:
            raise ValueError(
                f"input {x.shape[-2]}x{x.shape[-1]} is too small: this network downsamples by "
                f"{self.min_input_size}, so height and width must be at least {self.min_input_size}"
            )


def make_stage(
    block: type[nn.Module], in_channels: int, channels: int, num_blocks: int, stride: int, **block_kwargs: Any
) -> nn.Sequential:
    """One stage: ``num_blocks`` blocks, the first with ``stride`` and the channel change.

    Args:
        block: the block class.
        in_channels: channels entering the stage.
        channels: the blocks' width (output is ``channels * block.expansion``).
        num_blocks: how many blocks.
        stride: the first block's stride (1 or 2).
        **block_kwargs: passed to every block (shortcut, norm_layer, ...).
    """
    out_channels = channels * block.expansion  # type: ignore[attr-defined]
    blocks = [block(in_channels, channels, stride, **block_kwargs)]
    blocks += [block(out_channels, channels, 1, **block_kwargs) for _ in range(num_blocks - 1)]
    return nn.Sequential(*blocks)


def _block_kwargs(
    block: type[nn.Module], shortcut: str, stride_in_1x1: bool, norm_layer: Callable[[int], nn.Module]
) -> dict[str, Any]:
    if not (isinstance(block, type) and issubclass(block, nn.Module) and hasattr(block, "expansion")):
        raise TypeError(
            "block must be a block class with an `expansion` attribute (PlainBlock, BasicBlock, "
            f"Bottleneck, PreActBlock), got {block!r}"
        )
    check_choice("shortcut", shortcut, SHORTCUT_OPTIONS)
    kwargs: dict[str, Any] = {"norm_layer": norm_layer}
    if getattr(block, "has_shortcut", True):
        kwargs["shortcut"] = shortcut
    if stride_in_1x1:
        if not issubclass(block, Bottleneck):
            raise ValueError(f"stride_in_1x1 only applies to Bottleneck blocks, not {block.__name__}")
        kwargs["stride_in_1x1"] = True
    return kwargs


# ImageNet networks, He et al. 2015, Table 1 (torchvision's defaults: option B, 1000 classes).


def resnet18(**kwargs: Any) -> ResNet:
    """ResNet-18: BasicBlock x [2, 2, 2, 2]; 11,689,512 parameters. Args: see :class:`ResNet`."""
    return ResNet(BasicBlock, [2, 2, 2, 2], **kwargs)


def resnet34(**kwargs: Any) -> ResNet:
    """ResNet-34: BasicBlock x [3, 4, 6, 3]; 21,797,672 parameters. Args: see :class:`ResNet`."""
    return ResNet(BasicBlock, [3, 4, 6, 3], **kwargs)


def resnet50(**kwargs: Any) -> ResNet:
    """ResNet-50: Bottleneck x [3, 4, 6, 3]; 25,557,032 parameters. Args: see :class:`ResNet`."""
    return ResNet(Bottleneck, [3, 4, 6, 3], **kwargs)


def resnet101(**kwargs: Any) -> ResNet:
    """ResNet-101: Bottleneck x [3, 4, 23, 3]; 44,549,160 parameters. Args: see :class:`ResNet`."""
    return ResNet(Bottleneck, [3, 4, 23, 3], **kwargs)


def resnet152(**kwargs: Any) -> ResNet:
    """ResNet-152: Bottleneck x [3, 8, 36, 3]; 60,192,808 parameters. Args: see :class:`ResNet`."""
    return ResNet(Bottleneck, [3, 8, 36, 3], **kwargs)


#: The ImageNet ResNets of Table 1 by name, for loops over the family.
IMAGENET_RESNETS: dict[str, Callable[..., ResNet]] = {
    "resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50, "resnet101": resnet101, "resnet152": resnet152,
}


def plain18(**kwargs: Any) -> ResNet:
    """Plain-18: ResNet-18's layers without shortcuts (section 4.1). Args: see :class:`ResNet`."""
    return ResNet(PlainBlock, [2, 2, 2, 2], **kwargs)


def plain34(**kwargs: Any) -> ResNet:
    """Plain-34: ResNet-34's layers without shortcuts (section 4.1). Args: see :class:`ResNet`."""
    return ResNet(PlainBlock, [3, 4, 6, 3], **kwargs)


# CIFAR-10 networks, He et al. 2015, section 4.2: 6n + 2 layers, widths 16/32/64, option A.

CIFAR_WIDTHS: tuple[int, int, int] = (16, 32, 64)


def cifar_blocks_per_stage(depth: int) -> int:
    """The n of a CIFAR network of ``depth = 6n + 2`` layers (n blocks in each of 3 stages).

    Args:
        depth: total weighted layers: 1 stem conv + 3 stages x n blocks x 2 convs + 1 fc.

    Raises:
        ValueError: if depth is not 6n + 2 with n >= 1 (8, 14, 20, 26, 32, ...).
    """
    check_positive_int("depth", depth)
    if depth < 8 or (depth - 2) % 6 != 0:
        raise ValueError(
            f"a CIFAR ResNet has 6n + 2 layers (n >= 1): 8, 14, 20, 32, 44, 56, 110, ...; got depth={depth}"
        )
    return (depth - 2) // 6


def cifar_resnet(depth: int, **kwargs: Any) -> ResNet:
    """A CIFAR-10 ResNet of ``depth = 6n + 2`` layers (section 4.2), option A, 10 classes.

    The book's digits networks are these with ``in_channels=1`` (1-channel 8x8 images);
    chapter 5 adds ``norm_layer=nn.Identity`` (no BN) and ``init="default"``.

    Args:
        depth: 6n + 2, e.g. 20, 32, 44, 56, 110 (Table 6).
        **kwargs: override any :class:`ResNet` argument (e.g. ``shortcut="B"``,
            ``widths=(32, 64, 128)``, ``in_channels=1``).
    """
    return cifar_network(depth, "residual", **kwargs)


def cifar_plain(depth: int, **kwargs: Any) -> ResNet:
    """The plain twin of :func:`cifar_resnet`: same layers and parameter count, no shortcuts.

    Args:
        depth: 6n + 2, e.g. 20, 32, 44, 56, 110 (Figure 6, left).
        **kwargs: override any :class:`ResNet` argument.
    """
    return cifar_network(depth, "plain", **kwargs)


def cifar_network(depth: int, kind: str, **kwargs: Any) -> ResNet:
    """A CIFAR-family network of ``depth = 6n + 2`` layers: ``kind`` ``"plain"`` or ``"residual"``.

    Three stages of n blocks (widths 16/32/64), the 3x3 stem, option A shortcuts,
    10 classes (section 4.2). The one builder behind :func:`cifar_resnet`,
    :func:`cifar_plain` and every digits network of the book. Taught in chapter 4.

    Args:
        depth: 6n + 2.
        kind: one of :data:`KINDS`.
        **kwargs: override any :class:`ResNet` argument, ``widths`` included.
    """
    n = cifar_blocks_per_stage(depth)
    check_choice("kind", kind, KINDS)
    block = BasicBlock if kind == "residual" else PlainBlock
    widths = kwargs.pop("widths", CIFAR_WIDTHS)
    options = {"stem": "cifar", "shortcut": "A", "num_classes": 10, **kwargs}
    return ResNet(block, [n, n, n], widths, **options)


def resnet20(**kwargs: Any) -> ResNet:
    """CIFAR ResNet-20 (n = 3); 269,722 parameters. Args: see :func:`cifar_resnet`."""
    return cifar_resnet(20, **kwargs)


def resnet32(**kwargs: Any) -> ResNet:
    """CIFAR ResNet-32 (n = 5); 464,154 parameters. Args: see :func:`cifar_resnet`."""
    return cifar_resnet(32, **kwargs)


def resnet44(**kwargs: Any) -> ResNet:
    """CIFAR ResNet-44 (n = 7); 658,586 parameters. Args: see :func:`cifar_resnet`."""
    return cifar_resnet(44, **kwargs)


def resnet56(**kwargs: Any) -> ResNet:
    """CIFAR ResNet-56 (n = 9); 853,018 parameters. Args: see :func:`cifar_resnet`."""
    return cifar_resnet(56, **kwargs)


def resnet110(**kwargs: Any) -> ResNet:
    """CIFAR ResNet-110 (n = 18); 1,727,962 parameters. Args: see :func:`cifar_resnet`."""
    return cifar_resnet(110, **kwargs)


def plain20(**kwargs: Any) -> ResNet:
    """CIFAR plain-20, ResNet-20 without shortcuts. Args: see :func:`cifar_plain`."""
    return cifar_plain(20, **kwargs)


def plain32(**kwargs: Any) -> ResNet:
    """CIFAR plain-32, ResNet-32 without shortcuts. Args: see :func:`cifar_plain`."""
    return cifar_plain(32, **kwargs)


def plain44(**kwargs: Any) -> ResNet:
    """CIFAR plain-44, ResNet-44 without shortcuts. Args: see :func:`cifar_plain`."""
    return cifar_plain(44, **kwargs)


def plain56(**kwargs: Any) -> ResNet:
    """CIFAR plain-56, ResNet-56 without shortcuts. Args: see :func:`cifar_plain`."""
    return cifar_plain(56, **kwargs)


def plain110(**kwargs: Any) -> ResNet:
    """CIFAR plain-110, ResNet-110 without shortcuts. Args: see :func:`cifar_plain`."""
    return cifar_plain(110, **kwargs)
