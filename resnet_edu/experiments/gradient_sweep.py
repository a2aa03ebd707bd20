"""The gradient-flow sweep: depth x {plain, residual} x {BN, no BN} x {default init, He init}.

One forward and backward pass per network on the same fixed batch of 256 digits,
one tidy :class:`GradientRun` per network. The networks are the CIFAR family
(``cifar_plain``/``cifar_resnet``, 6n + 2 layers, option A shortcuts so the twins
have the same weights) built for 1-channel 8x8 digits; BN is removed with
``norm_layer=nn.Identity``. Taught in chapter 5, with He et al. 2015, section 4.1:
with BN, "neither forward nor backward signals vanish" in the plain nets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from resnet_edu.core.tabular import text_table
from resnet_edu.core.threads import torch_threads
from resnet_edu.experiments.data import load_digits_tensors
from resnet_edu.measuring.gradients import gradient_norms
from resnet_edu.models.init import default_init_, he_init_
from resnet_edu.models.networks import cifar_blocks_per_stage, cifar_plain, cifar_resnet

KINDS: tuple[str, ...] = ("plain", "residual")
INITS: tuple[str, ...] = ("default", "he")


@dataclass(frozen=True)
class GradientRun:
    """One network of the sweep and what its gradients looked like.

    Attributes:
        depth: weighted layers (6n + 2).
        kind: ``"plain"`` or ``"residual"``.
        batch_norm: whether the network has BN.
        init: ``"default"`` (PyTorch's ``reset_parameters``) or ``"he"`` (torchvision's).
        ratio: the first-to-last ratio ``||dL/dx_0|| / ||dL/dx_L||`` (see
            :mod:`resnet_edu.measuring.gradients`).
        weight_ratio: ``||dL/dW||`` of the first conv over the last conv.
        loss: the batch's loss at initialisation (ln 10 = 2.30 is chance).
        signal_norms: ``||dL/dx||`` at the stem and after each block, input to output.
        weight_norms: ``||dL/dW||`` of each conv and the fc, input to output.
    """

    depth: int
    kind: str
    batch_norm: bool
    init: str
    ratio: float
    weight_ratio: float
    loss: float
    signal_norms: tuple[float, ...]
    weight_norms: tuple[float, ...]


def digits_batch(batch_size: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed batch of training digits: the first ``batch_size`` of a seeded shuffle.

    Args:
        batch_size: images in the batch (at most the 1,437 training digits).
        seed: seed of the digits' split and of the shuffle.
    """
    x_train, y_train, _, _ = load_digits_tensors(seed)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= len(x_train):
        raise ValueError(f"batch_size must be an int from 1 to {len(x_train)}, got {batch_size!r}")
    order = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(seed))[:batch_size]
    return x_train[order], y_train[order]  # (B, 1, 8, 8), (B,)


def build_network(depth: int, kind: str, batch_norm: bool, init: str, seed: int = 0) -> nn.Module:
    """One network of the sweep: a 1-channel, 10-class CIFAR-family net for the digits.

    Args:
        depth: 6n + 2 (8, 20, 56, 110, ...).
        kind: ``"plain"`` (no shortcuts) or ``"residual"`` (option A shortcuts).
        batch_norm: ``False`` builds it with ``norm_layer=nn.Identity``.
        init: ``"default"`` or ``"he"``.
        seed: seeds PyTorch before the weights are drawn.
    """
    cifar_blocks_per_stage(depth)  # raises a ValueError naming the allowed depths
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    torch.manual_seed(seed)
    norm = nn.BatchNorm2d if batch_norm else nn.Identity
    build = cifar_plain if kind == "plain" else cifar_resnet
    model = build(depth, in_channels=1, num_classes=10, norm_layer=norm)
    return default_init_(model) if init == "default" else he_init_(model)


def gradient_sweep(
    depths: Sequence[int] = (8, 20, 56, 110),
    kinds: Sequence[str] = KINDS,
    batch_norms: Sequence[bool] = (False, True),
    inits: Sequence[str] = INITS,
    *,
    batch_size: int = 256,
    seed: int = 0,
    num_threads: int | None = 1,
) -> list[GradientRun]:
    """Measure gradient flow at initialisation for every combination; one record per network.

    Every network sees the same :func:`digits_batch` and is built from the same seed.
    The default 32 networks take about 8 s of CPU time. Taught in chapter 5.

    Args:
        depths: 6n + 2 depths.
        kinds: subset of ``("plain", "residual")``.
        batch_norms: subset of ``(False, True)``.
        inits: subset of ``("default", "he")``.
        batch_size: images in the batch.
        seed: seed of the batch and of every network's weights.
        num_threads: PyTorch CPU threads during the sweep (restored afterwards); one is
            as fast for these tiny tensors and robust on a busy machine. ``None``: unchanged.
    """
    batch = digits_batch(batch_size, seed)
    with torch_threads(num_threads):
        return _sweep(batch, depths, kinds, batch_norms, inits, seed)


def _sweep(batch, depths, kinds, batch_norms, inits, seed) -> list[GradientRun]:  # type: ignore[no-untyped-def]
    runs = []
    for batch_norm in batch_norms:
        for init in inits:
            for kind in kinds:
                for depth in depths:
                    model = build_network(depth, kind, batch_norm, init, seed)
                    result = gradient_norms(model, batch)
                    runs.append(GradientRun(
                        depth, kind, bool(batch_norm), init, result.first_to_last_ratio, result.weight_ratio,
                        result.loss, tuple(s.norm for s in result.signals), tuple(w.norm for w in result.weights),
                    ))
    return runs


def format_ratio_table(runs: Sequence[GradientRun], field: str = "ratio") -> str:
    """The sweep as a table: one row per (BN, init, kind), one column per depth.

    Args:
        runs: the records of :func:`gradient_sweep`.
        field: ``"ratio"`` (first-to-last backward signal), ``"weight_ratio"`` or ``"loss"``.
    """
    if field not in ("ratio", "weight_ratio", "loss"):
        raise ValueError(f"field must be 'ratio', 'weight_ratio' or 'loss', got {field!r}")
    depths = sorted({r.depth for r in runs})
    groups: dict[tuple[bool, str, str], dict[int, float]] = {}
    for r in runs:
        groups.setdefault((r.batch_norm, r.init, r.kind), {})[r.depth] = getattr(r, field)
    headers = ["BN", "init", "network"] + [f"depth {d}" for d in depths]
    cells = [
        ["yes" if bn else "no", init, kind] + [f"{values[d]:.2g}" if d in values else "" for d in depths]
        for (bn, init, kind), values in groups.items()
    ]
    names = {"ratio": "||dL/dx_0|| / ||dL/dx_L||", "weight_ratio": "||dL/dW_first|| / ||dL/dW_last conv||",
             "loss": "loss at initialisation"}
    return text_table(headers, cells, names[field])
