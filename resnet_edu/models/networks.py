"""One ResNet builder, and every network of the book as a one-line configuration of it.

``ResNet(block, layers, widths)``: a stem, then ``len(layers)`` stages named
``layer1..layerK`` (stage k holds ``layers[k-1]`` blocks of width ``widths[k-1]``; the
first stage keeps the resolution, each later one halves it in its first block), then
global average pooling and a fully connected layer. He et al. 2015, Table 1 (ImageNet)
and section 4.2 (CIFAR-10). Taught in chapter 4.

Module names are torchvision's (``conv1, bn1, relu, maxpool, layer1..layer4, avgpool,
fc``), so ``resnet18()..resnet152()`` and the rest of torchvision's family
(``resnext50_32x4d``, ``resnext101_32x8d``, ``resnext101_64x4d``, ``wide_resnet50_2``,
``wide_resnet101_2``) load torchvision's checkpoints with ``strict=True`` and give the
same outputs. As torchvision's, every network compiles with ``torch.jit.script``,
traces with ``torch.fx.symbolic_trace``, exports with ``torch.export`` (with a dynamic
batch size) and runs inputs down to 1x1 in eval mode.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
import torch.fx
from torch import nn

from resnet_edu.core.arguments import check_choice, check_positive_int, check_positive_ints
from resnet_edu.models.blocks import BasicBlock, Bottleneck, PlainBlock, PreActBlock, PreActBottleneck
from resnet_edu.models.init import default_init_, he_init_, zero_init_residual_
from resnet_edu.models.shortcuts import SHORTCUT_OPTIONS, ZERO_PLACEMENTS

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
        block: the block class (PlainBlock, BasicBlock, Bottleneck, PreActBlock,
            PreActBottleneck, or any class with their constructor and ``expansion``). For a
            pre-activation block (``block.preactivation``) the stem's BN-ReLU is the
            network's first activation, shared by both paths of the first block, which is
            built with ``preactivate=False``; one more BN-ReLU (``final_bn``) follows the
            last block (He et al. 2016, appendix).
        layers: blocks per stage, e.g. ``[2, 2, 2, 2]`` for ResNet-18.
        widths: channels of each stage (before ``block.expansion``); one per stage.
        stem: ``"imagenet"`` or ``"cifar"``.
        shortcut: option ``"A"``, ``"B"`` or ``"C"`` (sections 3.3 and 4.1); ignored by PlainBlock.
        zeros: option A only: where the zero channels go, ``"both"`` (half before and
            half after the input's, as the published CIFAR checkpoints) or ``"end"``
            (see :class:`~resnet_edu.models.shortcuts.ZeroPadShortcut`).
        in_channels: channels of the input image (3 for RGB, 1 for grey).
        num_classes: outputs of the final fc layer.
        zero_init_residual: zero the last BN of each residual branch (chapter 7).
        norm_layer: norm constructor; ``nn.Identity`` builds the network without BN.
        stride_in_1x1: Bottleneck only: the paper's stride placement (see Bottleneck).
        init: ``"he"`` (torchvision's init, :func:`~resnet_edu.models.init.he_init_`) or
            ``"default"`` (then re-initialised with PyTorch's default,
            :func:`~resnet_edu.models.init.default_init_`; chapter 5 compares them).
        groups: Bottleneck only: groups of each 3x3 convolution (ResNeXt's cardinality).
        width_per_group: Bottleneck only: channels per group at width 64; a bottleneck
            of width ``w`` has ``int(w * width_per_group / 64) * groups`` channels in
            its 3x3 (64 for ResNet, 4 or 8 for ResNeXt, 128 for Wide ResNet-50-2).
        replace_stride_with_dilation: Bottleneck only: one bool per stage after the
            first; True keeps that stage's resolution and dilates its 3x3s instead
            (torchvision's option, for segmentation backbones).

    Attributes:
        in_channels, num_classes: as given.
        min_input_size: the network's total downsampling factor (32 for the ImageNet
            stem with 4 stages, 4 for the CIFAR one with 3): an input of side ``s``
            leaves the last stage with side ``ceil(s / min_input_size)``, 7 at 224.
            Despite the name it is not a minimum: smaller inputs run too, as in
            torchvision, down to 1x1 final maps (the convolutions' zero padding fills
            in). What fails is BatchNorm in training mode on a 1x1 map with a batch
            of 1 (PyTorch's "Expected more than 1 value per channel when training").
            Taught in chapter 4.
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
        zeros: str = "both",
        in_channels: int = 3,
        num_classes: int = 1000,
        zero_init_residual: bool = False,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
        stride_in_1x1: bool = False,
        init: str = "he",
        groups: int = 1,
        width_per_group: int = 64,
        replace_stride_with_dilation: Sequence[bool] | None = None,
    ) -> None:
        super().__init__()
        layers = check_positive_ints("layers (blocks per stage)", layers)
        widths = check_positive_ints("widths", widths)
        if len(layers) != len(widths):
            raise ValueError(
                f"layers and widths need one entry per stage: got {len(layers)} stages in "
                f"layers={list(layers)} but {len(widths)} in widths={list(widths)}"
            )
        dilate = _dilation_flags(replace_stride_with_dilation, len(layers))
        block_kwargs = _block_kwargs(
            block, shortcut, zeros, stride_in_1x1, norm_layer, groups, width_per_group, any(dilate)
        )
        check_choice("stem", stem, STEMS)
        check_choice("init", init, INITS)
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.num_classes = check_positive_int("num_classes", num_classes)

        # Stem: conv1, bn1, relu, maxpool.
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
            downsampling = 4  # conv1 /2, maxpool /2
        else:
            self.conv1 = nn.Conv2d(in_channels, widths[0], kernel_size=3, stride=1, padding=1, bias=False)
            downsampling = 1
        self.bn1 = norm_layer(widths[0])
        # In place, as torchvision, except in pre-activation networks: their last ReLU acts
        # on final_bn(x), which is the last block's output itself when norm_layer=nn.Identity.
        preactivation = bool(getattr(block, "preactivation", False))
        self.relu = nn.ReLU(inplace=not preactivation)
        if stem == "imagenet":
            self.maxpool: nn.Module = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:
            self.maxpool = nn.Identity()

        # Stages layer1..layerK: the first keeps the resolution, the others halve it
        # (or, with replace_stride_with_dilation, keep it and dilate their 3x3s).
        channels, dilation = widths[0], 1
        self.stage_names = []  # filled below (no annotation: TorchScript infers list[str] from the names)
        self.blocks_per_stage = tuple(layers)
        for k, (num_blocks, width) in enumerate(zip(layers, widths), start=1):
            stride, first_dilation = (1 if k == 1 else 2), dilation
            if k > 1 and dilate[k - 2]:
                dilation, stride = dilation * stride, 1
            downsampling *= stride
            # The paper's first activation (He et al. 2016, appendix): "right after conv1 and
            # before splitting into two paths", i.e. the stem's BN-ReLU; the first block adds none.
            first_kwargs = {"preactivate": False} if preactivation and k == 1 else None
            stage = make_stage(
                block, channels, width, num_blocks, stride,
                dilation=dilation, first_dilation=first_dilation, first_kwargs=first_kwargs, **block_kwargs,
            )
            setattr(self, f"layer{k}", stage)
            self.stage_names.append(f"layer{k}")
            channels = width * block.expansion  # type: ignore[attr-defined]

        # Full pre-activation leaves the last sum un-normalised: "an extra activation right
        # after its element-wise addition" (He et al. 2016, appendix). Post-activation networks have none.
        self.final_bn = norm_layer(channels) if preactivation else None

        # Head: global average pool, then fc.
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

        self.min_input_size = downsampling
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
        return [
            (f"{name}.{i}", block)
            for name in self.stage_names
            for i, block in enumerate(self.get_submodule(name))
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_scripting():  # TorchScript skips this; a wrong input fails in conv1
            _check_input(x, self.in_channels)
        x = self.stem(x)  # (N, w1, H/4, W/4) imagenet | (N, w1, H, W) cifar
        for name, stage in self.named_children():  # the stages, in order (script and fx unroll this)
            if name in self.stage_names:
                x = stage(x)  # layer k: (N, e*w_k, H', W'), H' halved for k > 1
        if self.final_bn is not None:
            x = self.relu(self.final_bn(x))  # pre-activation networks only
        x = self.avgpool(x)  # (N, C, 1, 1)
        x = torch.flatten(x, 1)  # (N, C)
        return self.fc(x)  # (N, num_classes)


def _check_input(x: Any, in_channels: int) -> None:
    """One clear message for an input that is not a batch of images with the right channels.

    Runs in eager mode, under ``torch.export`` and ``torch.compile`` (it only reads the
    number of dimensions and of channels, which do not change with the batch size); under
    ``torch.fx.symbolic_trace`` the input is a Proxy with no shape, so it checks nothing.
    """
    if isinstance(x, torch.fx.Proxy):
        return
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"ResNet expects a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(
            f"ResNet expects a 4-D input (N, C, H, W), got {x.dim()}-D shape {tuple(x.shape)}; "
            "add a batch dimension with x.unsqueeze(0) for a single image"
        )
    if x.shape[1] != in_channels:
        raise ValueError(
            f"this model expects {in_channels} input channel(s), got {x.shape[1]} "
            f"(input shape {tuple(x.shape)}); build it with in_channels={x.shape[1]} to accept them"
        )


def make_stage(
    block: type[nn.Module],
    in_channels: int,
    channels: int,
    num_blocks: int,
    stride: int,
    *,
    dilation: int = 1,
    first_dilation: int | None = None,
    first_kwargs: dict[str, Any] | None = None,
    **block_kwargs: Any,
) -> nn.Sequential:
    """One stage: ``num_blocks`` blocks, the first with ``stride`` and the channel change.

    Args:
        block: the block class.
        in_channels: channels entering the stage.
        channels: the blocks' width (output is ``channels * block.expansion``).
        num_blocks: how many blocks.
        stride: the first block's stride (1 or 2).
        dilation: Bottleneck only: dilation of the 3x3s after the first block.
        first_dilation: Bottleneck only: the first block's (``dilation`` if None), as
            torchvision: a stage that trades its stride for dilation starts undilated.
        first_kwargs: more arguments for the first block only (``ResNet`` passes
            ``preactivate=False`` to a pre-activation network's first block).
        **block_kwargs: passed to every block (shortcut, norm_layer, ...).
    """
    first_dilation = dilation if first_dilation is None else first_dilation
    dilated = dilation != 1 or first_dilation != 1  # only then do the blocks get a `dilation`
    first = {"dilation": first_dilation} if dilated else {}
    first.update(first_kwargs or {})
    rest = {"dilation": dilation} if dilated else {}
    out_channels = channels * block.expansion  # type: ignore[attr-defined]
    blocks = [block(in_channels, channels, stride, **first, **block_kwargs)]
    blocks += [block(out_channels, channels, 1, **rest, **block_kwargs) for _ in range(num_blocks - 1)]
    return nn.Sequential(*blocks)


def _dilation_flags(replace_stride_with_dilation: Sequence[bool] | None, num_stages: int) -> list[bool]:
    if replace_stride_with_dilation is None:
        return [False] * (num_stages - 1)
    flags = list(replace_stride_with_dilation)
    if len(flags) != num_stages - 1 or not all(isinstance(f, bool) for f in flags):
        raise ValueError(
            "replace_stride_with_dilation needs one bool per stage after the first "
            f"({num_stages - 1} for {num_stages} stages), or None; got {replace_stride_with_dilation!r}"
        )
    return flags


def _block_kwargs(
    block: type[nn.Module],
    shortcut: str,
    zeros: str,
    stride_in_1x1: bool,
    norm_layer: Callable[[int], nn.Module],
    groups: int,
    width_per_group: int,
    dilated: bool,
) -> dict[str, Any]:
    if not (isinstance(block, type) and issubclass(block, nn.Module) and hasattr(block, "expansion")):
        raise TypeError(
            "block must be a block class with an `expansion` attribute (PlainBlock, BasicBlock, "
            f"Bottleneck, PreActBlock, PreActBottleneck), got {block!r}"
        )
    check_choice("shortcut", shortcut, SHORTCUT_OPTIONS)
    check_choice("zeros", zeros, ZERO_PLACEMENTS)
    check_positive_int("groups", groups)
    check_positive_int("width_per_group", width_per_group)
    kwargs: dict[str, Any] = {"norm_layer": norm_layer}
    if getattr(block, "has_shortcut", True):
        kwargs["shortcut"] = shortcut
        if zeros != "both":
            kwargs["zeros"] = zeros
    is_bottleneck = issubclass(block, Bottleneck)
    if stride_in_1x1:
        if not is_bottleneck:
            raise ValueError(f"stride_in_1x1 only applies to Bottleneck blocks, not {block.__name__}")
        kwargs["stride_in_1x1"] = True
    if groups != 1 or width_per_group != 64:
        if not is_bottleneck:  # torchvision: "BasicBlock only supports groups=1 and base_width=64"
            raise ValueError(
                f"{block.__name__} only supports groups=1 and width_per_group=64 (got {groups} and "
                f"{width_per_group}); grouped and wider 3x3s are Bottleneck's (ResNeXt, Wide ResNet)"
            )
        kwargs.update(groups=groups, base_width=width_per_group)
    if dilated and not is_bottleneck:  # torchvision: "Dilation > 1 not supported in BasicBlock"
        raise ValueError(
            f"{block.__name__} does not support dilation (replace_stride_with_dilation); only Bottleneck does"
        )
    return kwargs


def _resnet(
    block: type[nn.Module], layers: Sequence[int], weights: object, progress: bool, **kwargs: Any
) -> ResNet:
    """What every ImageNet builder does: refuse ``weights``, build ``ResNet(block, layers, **kwargs)``."""
    _refuse_weights(weights, "load_torchvision_weights('resnet50') for torchvision's ImageNet weights")
    return ResNet(block, layers, **kwargs)


def _refuse_weights(weights: object, loader: str) -> None:
    """The builders take torchvision's ``weights``/``progress`` arguments, but build untrained networks."""
    if weights is not None:
        raise ValueError(
            f"resnet_edu's builders build untrained networks: weights must be None, got {weights!r}. "
            f"Build the network, then load weights into it: {loader}, or "
            "load_checkpoint(model, path_or_url) for any state_dict file (both in resnet_edu)."
        )


# ImageNet networks, He et al. 2015, Table 1 (torchvision's defaults: option B, 1000 classes).
# Each builder takes torchvision's keyword arguments: ``weights`` (must be None: load
# weights after building, see _refuse_weights), ``progress`` (accepted, unused: nothing is
# downloaded here), and any :class:`ResNet` argument.


def resnet18(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-18: BasicBlock x [2, 2, 2, 2]; 11,689,512 parameters. Args: see :class:`ResNet`."""
    return _resnet(BasicBlock, [2, 2, 2, 2], weights, progress, **kwargs)


def resnet34(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-34: BasicBlock x [3, 4, 6, 3]; 21,797,672 parameters. Args: see :class:`ResNet`."""
    return _resnet(BasicBlock, [3, 4, 6, 3], weights, progress, **kwargs)


def resnet50(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-50: Bottleneck x [3, 4, 6, 3]; 25,557,032 parameters. Args: see :class:`ResNet`."""
    return _resnet(Bottleneck, [3, 4, 6, 3], weights, progress, **kwargs)


def resnet101(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-101: Bottleneck x [3, 4, 23, 3]; 44,549,160 parameters. Args: see :class:`ResNet`."""
    return _resnet(Bottleneck, [3, 4, 23, 3], weights, progress, **kwargs)


def resnet152(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-152: Bottleneck x [3, 8, 36, 3]; 60,192,808 parameters. Args: see :class:`ResNet`."""
    return _resnet(Bottleneck, [3, 8, 36, 3], weights, progress, **kwargs)


# The rest of torchvision's family: the same Bottleneck with a grouped or wider 3x3.
# ResNeXt: Xie et al. 2017, arXiv:1611.05431; Wide ResNet: Zagoruyko and Komodakis 2016,
# arXiv:1605.07146 (torchvision's "-2" doubles the bottleneck's width, not the outer 1x1s').


def resnext50_32x4d(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNeXt-50 32x4d: ResNet-50 with 32 groups of 4 channels; 25,028,904 parameters. Args: see :class:`ResNet`."""
    return _resnet(Bottleneck, [3, 4, 6, 3], weights, progress, groups=32, width_per_group=4, **kwargs)


def resnext101_32x8d(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNeXt-101 32x8d: ResNet-101 with 32 groups of 8 channels; 88,791,336 parameters. Args: see :class:`ResNet`."""
    return _resnet(Bottleneck, [3, 4, 23, 3], weights, progress, groups=32, width_per_group=8, **kwargs)


def resnext101_64x4d(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNeXt-101 64x4d: ResNet-101 with 64 groups of 4 channels; 83,455,272 parameters. Args: see :class:`ResNet`."""
    return _resnet(Bottleneck, [3, 4, 23, 3], weights, progress, groups=64, width_per_group=4, **kwargs)


def wide_resnet50_2(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """Wide ResNet-50-2: ResNet-50 with bottlenecks twice as wide; 68,883,240 parameters. Args: see :class:`ResNet`."""
    return _resnet(Bottleneck, [3, 4, 6, 3], weights, progress, width_per_group=128, **kwargs)


def wide_resnet101_2(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """Wide ResNet-101-2: ResNet-101 with bottlenecks twice as wide; 126,886,696 parameters. Args: see :class:`ResNet`."""
    return _resnet(Bottleneck, [3, 4, 23, 3], weights, progress, width_per_group=128, **kwargs)


#: The ImageNet ResNets of Table 1 by name, for loops over the family.
IMAGENET_RESNETS: dict[str, Callable[..., ResNet]] = {
    "resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50, "resnet101": resnet101, "resnet152": resnet152,
}

#: torchvision's whole ResNet family by name (its builders' names), for loops and for
#: :func:`resnet_edu.experiments.pretrained.load_torchvision_weights`.
TORCHVISION_RESNETS: dict[str, Callable[..., ResNet]] = {
    **IMAGENET_RESNETS,
    "resnext50_32x4d": resnext50_32x4d, "resnext101_32x8d": resnext101_32x8d, "resnext101_64x4d": resnext101_64x4d,
    "wide_resnet50_2": wide_resnet50_2, "wide_resnet101_2": wide_resnet101_2,
}


def plain18(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """Plain-18: ResNet-18's layers without shortcuts (section 4.1). Args: see :class:`ResNet`."""
    return _resnet(PlainBlock, [2, 2, 2, 2], weights, progress, **kwargs)


def plain34(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """Plain-34: ResNet-34's layers without shortcuts (section 4.1). Args: see :class:`ResNet`."""
    return _resnet(PlainBlock, [3, 4, 6, 3], weights, progress, **kwargs)


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


def _cifar(depth: int, kind: str, weights: object, progress: bool, **kwargs: Any) -> ResNet:
    """What every CIFAR builder does: refuse ``weights``, build ``cifar_network(depth, kind, **kwargs)``."""
    _refuse_weights(weights, "load_cifar_checkpoint(path_or_url) for the published CIFAR-10 checkpoints")
    return cifar_network(depth, kind, **kwargs)


def resnet20(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """CIFAR ResNet-20 (n = 3); 269,722 parameters. Args: see :func:`cifar_resnet`."""
    return _cifar(20, "residual", weights, progress, **kwargs)


def resnet32(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """CIFAR ResNet-32 (n = 5); 464,154 parameters. Args: see :func:`cifar_resnet`."""
    return _cifar(32, "residual", weights, progress, **kwargs)


def resnet44(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """CIFAR ResNet-44 (n = 7); 658,586 parameters. Args: see :func:`cifar_resnet`."""
    return _cifar(44, "residual", weights, progress, **kwargs)


def resnet56(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """CIFAR ResNet-56 (n = 9); 853,018 parameters. Args: see :func:`cifar_resnet`."""
    return _cifar(56, "residual", weights, progress, **kwargs)


def resnet110(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """CIFAR ResNet-110 (n = 18); 1,727,962 parameters. Args: see :func:`cifar_resnet`."""
    return _cifar(110, "residual", weights, progress, **kwargs)


def plain20(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """CIFAR plain-20, ResNet-20 without shortcuts. Args: see :func:`cifar_plain`."""
    return _cifar(20, "plain", weights, progress, **kwargs)


def plain32(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """CIFAR plain-32, ResNet-32 without shortcuts. Args: see :func:`cifar_plain`."""
    return _cifar(32, "plain", weights, progress, **kwargs)


def plain44(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """CIFAR plain-44, ResNet-44 without shortcuts. Args: see :func:`cifar_plain`."""
    return _cifar(44, "plain", weights, progress, **kwargs)


def plain56(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """CIFAR plain-56, ResNet-56 without shortcuts. Args: see :func:`cifar_plain`."""
    return _cifar(56, "plain", weights, progress, **kwargs)


def plain110(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """CIFAR plain-110, ResNet-110 without shortcuts. Args: see :func:`cifar_plain`."""
    return _cifar(110, "plain", weights, progress, **kwargs)


# Pre-activation CIFAR-10 networks, He et al. 2016 ("Identity Mappings in Deep Residual
# Networks", arXiv:1603.05027): ResNet-110 of PreActBlocks (6n + 2 layers, option A as the
# book's ResNet-110), ResNet-164 and ResNet-1001 of PreActBottlenecks (9n + 2 layers: the
# stem conv, 3 stages x n blocks x 3 convs, the fc; widths 16/32/64, outputs 64/128/256,
# projection shortcuts).


def cifar_preact_resnet(depth: int, *, bottleneck: bool = False, **kwargs: Any) -> ResNet:
    """A pre-activation CIFAR-10 ResNet (He et al. 2016): ``6n + 2`` layers, or ``9n + 2`` with bottlenecks.

    Basic blocks (:class:`~resnet_edu.models.blocks.PreActBlock`): three stages of n blocks,
    widths 16/32/64, option A, like :func:`cifar_resnet`. Bottlenecks
    (:class:`~resnet_edu.models.blocks.PreActBottleneck`, the paper's ResNet-164 and
    ResNet-1001): n bottlenecks of widths 16/32/64 (outputs 64/128/256) per stage,
    projection shortcuts (option B) where the shape changes. Taught in chapter 7.

    Args:
        depth: 6n + 2 (e.g. 110), or 9n + 2 (e.g. 164, 1001) with ``bottleneck=True``.
        bottleneck: build it of pre-activation bottlenecks.
        **kwargs: override any :class:`ResNet` argument (e.g. ``num_classes=100``).

    Raises:
        ValueError: if depth is not of the block's form.
    """
    if not isinstance(bottleneck, bool):
        raise TypeError(f"bottleneck must be True or False, got {bottleneck!r}")
    if not bottleneck:
        n = cifar_blocks_per_stage(depth)
        options = {"stem": "cifar", "shortcut": "A", "num_classes": 10, **kwargs}
        return ResNet(PreActBlock, [n, n, n], kwargs.pop("widths", CIFAR_WIDTHS), **options)
    check_positive_int("depth", depth)
    if depth < 11 or (depth - 2) % 9 != 0:
        raise ValueError(
            "a pre-activation bottleneck CIFAR ResNet has 9n + 2 layers (n >= 1): 11, 20, ..., 164, ..., 1001; "
            f"got depth={depth}"
        )
    n = (depth - 2) // 9
    options = {"stem": "cifar", "shortcut": "B", "num_classes": 10, **kwargs}
    return ResNet(PreActBottleneck, [n, n, n], options.pop("widths", CIFAR_WIDTHS), **options)


def preact_resnet110(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """Pre-activation CIFAR ResNet-110 (PreActBlock, n = 18); 1,727,962 parameters.

    Args: see :func:`cifar_preact_resnet`.
    """
    _refuse_weights(weights, "load_checkpoint(model, path_or_url)")
    return cifar_preact_resnet(110, **kwargs)


def preact_resnet164(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """Pre-activation CIFAR ResNet-164 (PreActBottleneck, n = 18); the paper's 1.7M parameters.

    Args: see :func:`cifar_preact_resnet`.
    """
    _refuse_weights(weights, "load_checkpoint(model, path_or_url)")
    return cifar_preact_resnet(164, bottleneck=True, **kwargs)


def preact_resnet1001(*, weights: None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """Pre-activation CIFAR ResNet-1001 (PreActBottleneck, n = 111); the paper's 10.2M parameters.

    Building it on the CPU takes a few seconds (its He init draws 10 million numbers); for
    counting, build it on the meta device: ``with torch.device("meta"): preact_resnet1001()``.

    Args: see :func:`cifar_preact_resnet`.
    """
    _refuse_weights(weights, "load_checkpoint(model, path_or_url)")
    return cifar_preact_resnet(1001, bottleneck=True, **kwargs)
