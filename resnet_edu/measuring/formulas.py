"""Closed-form parameter and multiply-add (MAC) counts, derived by hand.

The book derives each formula on paper and then checks it against ``numel()`` and
against ``torch.utils.flop_counter`` (FLOPs / 2 = MACs), so every number it prints
has a derivation next to it.

Conventions, the same as the paper's Table 1 and torchvision:

* Parameters are trainable tensors only. A BatchNorm layer has a weight and a bias
  per channel (``2C``); its running mean and variance are buffers, not parameters.
* MACs count the multiply-adds of convolutions and linear layers only. BatchNorm,
  ReLU, pooling and the residual addition are a few operations per activation and
  are left out, as in the paper's FLOP counts and in ``FlopCounterMode``.
* A bias adds parameters but no MACs (it is an addition, not a multiply-add).

Taught in chapters 2 and 3 (blocks, by hand) and chapter 4 (whole networks).
"""

from __future__ import annotations

from resnet_edu.core.arguments import check_positive_int

__all__ = [
    "conv_params",
    "bn_params",
    "linear_params",
    "conv_macs",
    "linear_macs",
    "conv_output_size",
    "basic_block_params",
    "bottleneck_params",
    "basic_block_macs",
    "bottleneck_macs",
]


def _kernel(kernel_size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(kernel_size, tuple):
        if len(kernel_size) != 2:
            raise ValueError(f"kernel_size must be an int or a pair (kh, kw), got {kernel_size!r}")
        return (check_positive_int("kernel_size", kernel_size[0]), check_positive_int("kernel_size", kernel_size[1]))
    k = check_positive_int("kernel_size", kernel_size)
    return (k, k)


def _projection(projection: bool | None, shape_changes: bool) -> bool:
    if projection is None:
        return shape_changes  # option B: project exactly where the shape changes
    if not isinstance(projection, bool):
        raise TypeError(f"projection must be None, True or False, got {projection!r}")
    return projection


def conv_params(
    in_channels: int, out_channels: int, kernel_size: int | tuple[int, int], bias: bool = False
) -> int:
    """Parameters of a 2-D convolution: ``C_out * C_in * k_h * k_w`` (+ ``C_out`` with bias).

    Args:
        in_channels: input channels ``C_in``.
        out_channels: output channels ``C_out`` (one filter each).
        kernel_size: ``k`` for a square ``k x k`` kernel, or a pair ``(k_h, k_w)``.
        bias: whether the convolution has a bias. ResNets put BatchNorm after every
            convolution, so their convolutions have none (paper section 3.4).
    """
    kh, kw = _kernel(kernel_size)
    c_in = check_positive_int("in_channels", in_channels)
    c_out = check_positive_int("out_channels", out_channels)
    return c_out * c_in * kh * kw + (c_out if bias else 0)


def bn_params(channels: int) -> int:
    """Parameters of a BatchNorm layer: a scale and a shift per channel, ``2C``.

    Args:
        channels: number of channels ``C``. The running mean and variance are
            buffers (not trained by the optimizer) and are not counted.
    """
    return 2 * check_positive_int("channels", channels)


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Parameters of a fully connected layer: ``in * out`` (+ ``out`` with bias).

    Args:
        in_features: input features (512 for ResNet-18's ``fc``, 2048 for ResNet-50's).
        out_features: output features (1000 ImageNet classes, 10 for CIFAR-10).
        bias: whether the layer has a bias (a ResNet's ``fc`` does).
    """
    n_in = check_positive_int("in_features", in_features)
    n_out = check_positive_int("out_features", out_features)
    return n_in * n_out + (n_out if bias else 0)


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Output height (or width) of a convolution: ``floor((size + 2p - k) / s) + 1``.

    Args:
        size: input height or width.
        kernel_size: kernel size along that axis.
        stride: stride along that axis.
        padding: zero padding on each side.
    """
    size = check_positive_int("size", size)
    k = check_positive_int("kernel_size", kernel_size)
    s = check_positive_int("stride", stride)
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be a non-negative int, got {padding!r}")
    if size + 2 * padding < k:
        raise ValueError(f"kernel_size {k} is larger than the padded input {size + 2 * padding}")
    return (size + 2 * padding - k) // s + 1


def conv_macs(
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, int],
    out_h: int,
    out_w: int,
) -> int:
    """Multiply-adds of a convolution: ``C_in * k_h * k_w`` per output value, ``C_out * H_out * W_out`` values.

    Args:
        in_channels: input channels ``C_in``.
        out_channels: output channels ``C_out``.
        kernel_size: ``k`` or ``(k_h, k_w)``.
        out_h: output height ``H_out`` (the stride is already in it).
        out_w: output width ``W_out``.
    """
    kh, kw = _kernel(kernel_size)
    c_in = check_positive_int("in_channels", in_channels)
    c_out = check_positive_int("out_channels", out_channels)
    h = check_positive_int("out_h", out_h)
    w = check_positive_int("out_w", out_w)
    return c_in * kh * kw * c_out * h * w


def linear_macs(in_features: int, out_features: int) -> int:
    """Multiply-adds of a fully connected layer for one input: ``in * out``.

    Args:
        in_features: input features.
        out_features: output features.
    """
    return check_positive_int("in_features", in_features) * check_positive_int("out_features", out_features)


def basic_block_params(
    in_channels: int, channels: int, stride: int = 1, projection: bool | None = None
) -> int:
    """Parameters of a basic block [3x3, c; 3x3, c] with BatchNorm (paper Figure 5, left).

    ``9 C_in c + 2c  +  9 c^2 + 2c  (+ C_in c + 2c for a 1x1 projection shortcut)``.

    Args:
        in_channels: input channels ``C_in``.
        channels: the block's width ``c`` (its output channels; expansion 1).
        stride: stride of the first 3x3 convolution (2 where a stage halves the size).
        projection: ``None`` projects exactly where the shape changes (option B,
            paper section 3.3); ``True`` always projects (option C); ``False`` never
            (identity or option A's parameter-free zero padding).
    """
    c_in = check_positive_int("in_channels", in_channels)
    c = check_positive_int("channels", channels)
    s = check_positive_int("stride", stride)
    residual = conv_params(c_in, c, 3) + bn_params(c) + conv_params(c, c, 3) + bn_params(c)
    if _projection(projection, s != 1 or c_in != c):
        return residual + conv_params(c_in, c, 1) + bn_params(c)
    return residual


def bottleneck_params(
    in_channels: int,
    channels: int,
    stride: int = 1,
    projection: bool | None = None,
    expansion: int = 4,
) -> int:
    """Parameters of a bottleneck block [1x1, c; 3x3, c; 1x1, 4c] (paper Figure 5, right).

    ``C_in c + 2c  +  9 c^2 + 2c  +  4 c^2 + 8c  (+ 4 C_in c + 8c with a projection)``
    for the default expansion 4. Where the stride sits (1x1 or 3x3) changes no count.

    Args:
        in_channels: input channels ``C_in``.
        channels: the bottleneck width ``c``; the block outputs ``expansion * c``.
        stride: stride of the block (2 where a stage halves the size).
        projection: ``None`` projects exactly where the shape changes (option B);
            ``True`` always; ``False`` never.
        expansion: output channels per bottleneck channel (4 in the paper).
    """
    c_in = check_positive_int("in_channels", in_channels)
    c = check_positive_int("channels", channels)
    s = check_positive_int("stride", stride)
    c_out = c * check_positive_int("expansion", expansion)
    residual = (
        conv_params(c_in, c, 1) + bn_params(c)
        + conv_params(c, c, 3) + bn_params(c)
        + conv_params(c, c_out, 1) + bn_params(c_out)
    )
    if _projection(projection, s != 1 or c_in != c_out):
        return residual + conv_params(c_in, c_out, 1) + bn_params(c_out)
    return residual


def basic_block_macs(
    in_channels: int,
    channels: int,
    h: int,
    w: int,
    stride: int = 1,
    projection: bool | None = None,
) -> int:
    """Multiply-adds of a basic block on one ``C_in x h x w`` input.

    Both 3x3 convolutions produce ``h' x w' = ceil(h/s) x ceil(w/s)`` outputs:
    ``9 C_in c h'w' + 9 c^2 h'w'`` (+ ``C_in c h'w'`` for the 1x1 projection).

    Args:
        in_channels: input channels ``C_in``.
        channels: the block's width ``c``.
        h: input height.
        w: input width.
        stride: stride of the first 3x3 convolution and of the projection.
        projection: as in :func:`basic_block_params`.
    """
    c_in = check_positive_int("in_channels", in_channels)
    c = check_positive_int("channels", channels)
    s = check_positive_int("stride", stride)
    ho = conv_output_size(h, 3, s, padding=1)
    wo = conv_output_size(w, 3, s, padding=1)
    macs = conv_macs(c_in, c, 3, ho, wo) + conv_macs(c, c, 3, ho, wo)
    if _projection(projection, s != 1 or c_in != c):
        macs += conv_macs(c_in, c, 1, ho, wo)
    return macs


def bottleneck_macs(
    in_channels: int,
    channels: int,
    h: int,
    w: int,
    stride: int = 1,
    projection: bool | None = None,
    expansion: int = 4,
    stride_in_1x1: bool = False,
) -> int:
    """Multiply-adds of a bottleneck block on one ``C_in x h x w`` input.

    With the stride on the 3x3 (torchvision's "ResNet V1.5", the default) the first
    1x1 runs at the full ``h x w``; with the stride on the first 1x1 (the paper's
    original placement) it runs at ``h' x w'``, which is why the paper's ResNet-50
    needs 3.8 G MACs and torchvision's 4.1 G.

    Args:
        in_channels: input channels ``C_in``.
        channels: the bottleneck width ``c``.
        h: input height.
        w: input width.
        stride: stride of the block.
        projection: as in :func:`bottleneck_params`.
        expansion: output channels per bottleneck channel (4 in the paper).
        stride_in_1x1: put the stride on the first 1x1 (paper) instead of the 3x3.
    """
    c_in = check_positive_int("in_channels", in_channels)
    c = check_positive_int("channels", channels)
    s = check_positive_int("stride", stride)
    c_out = c * check_positive_int("expansion", expansion)
    if not isinstance(stride_in_1x1, bool):
        raise TypeError(f"stride_in_1x1 must be True or False, got {stride_in_1x1!r}")
    ho = conv_output_size(h, 1, s)
    wo = conv_output_size(w, 1, s)
    if stride_in_1x1:
        macs = conv_macs(c_in, c, 1, ho, wo)
    else:
        macs = conv_macs(c_in, c, 1, check_positive_int("h", h), check_positive_int("w", w))
    macs += conv_macs(c, c, 3, ho, wo) + conv_macs(c, c_out, 1, ho, wo)
    if _projection(projection, s != 1 or c_in != c_out):
        macs += conv_macs(c_in, c_out, 1, ho, wo)
    return macs
