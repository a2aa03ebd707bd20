"""Weight initialisation: torchvision's, PyTorch's default, and zero-init of residual branches.

Taught in chapter 5 (default versus He init) and chapter 7 (zero_init_residual_).
"""

from __future__ import annotations

from torch import nn


def he_init_(model: nn.Module) -> nn.Module:
    """Initialise ``model`` in place as torchvision's ResNet does, and return it.

    Every ``Conv2d``: ``kaiming_normal_(mode="fan_out", nonlinearity="relu")``, i.e.
    N(0, 2 / (out_channels * k * k)) (He et al. 2015b, "Delving Deep into Rectifiers",
    the init the ResNet paper cites in section 3.4). Every BatchNorm/GroupNorm: weight 1,
    bias 0. Linear layers keep PyTorch's default, as in torchvision. Taught in chapter 5.

    Args:
        model: any module; its submodules are visited in registration order, so a
            seeded call gives the same weights every time.
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
    return model


def default_init_(model: nn.Module) -> nn.Module:
    """Re-initialise ``model`` in place with PyTorch's default init, and return it.

    Calls ``reset_parameters()`` on every submodule that has one (for Conv2d and Linear
    that is kaiming_uniform_ with a=sqrt(5); BN goes back to weight 1, bias 0 and fresh
    running statistics). The baseline for comparing inits in chapter 5.

    Args:
        model: any module.
    """
    for m in model.modules():
        reset = getattr(m, "reset_parameters", None)
        if callable(reset):
            reset()
    return model


def zero_init_residual_(model: nn.Module) -> nn.Module:
    """Set the weight of the last norm layer of every residual branch to 0, and return ``model``.

    Each residual block then starts as the identity, ``relu(0 + x)`` or ``0 + x``, so a
    deep network behaves like a shallow one at step 0. Goyal et al. 2017, "Accurate,
    Large Minibatch SGD", section 5.1 (the option torchvision calls
    ``zero_init_residual``). Blocks without a shortcut (:class:`PlainBlock`) are left
    alone: zeroing them would cut the signal, not skip a block. Taught in chapter 7.

    Args:
        model: a module containing blocks that expose ``has_shortcut`` and ``last_bn``.

    Raises:
        ValueError: if a residual block's last norm layer has no weight to zero (e.g.
            ``norm_layer=nn.Identity``).
    """
    for m in model.modules():
        if getattr(m, "has_shortcut", False) and hasattr(m, "last_bn"):
            weight = getattr(m.last_bn, "weight", None)
            if weight is None:
                raise ValueError(
                    "zero-init needs a norm layer with a weight (e.g. nn.BatchNorm2d) at the end of "
                    f"each residual branch; {type(m).__name__} has {type(m.last_bn).__name__}"
                )
            nn.init.zeros_(weight)
    return model
