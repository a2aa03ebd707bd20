"""Our counts next to the published ones: the ImageNet ResNets, VGG-16 and the CIFAR-10 ResNets.

The published numbers sit in tables of constants, each with its source:
:data:`~resnet_edu.measuring.published.PUBLISHED_IMAGENET` (ImageNet parameters and multiply-adds), :data:`PUBLISHED_TABLE3_TOP1`
(ImageNet errors of the shortcut options) and :data:`PUBLISHED_CIFAR` (the paper's
Table 6). The package's own numbers are computed by :func:`imagenet_comparison` and
:func:`cifar_comparison` (networks built on the ``meta`` device, so counting takes well
under a second). Taught in chapters 2 and 4.

Two MAC counts per bottleneck network, because the paper and torchvision put the
stride in different places (see :class:`~resnet_edu.models.blocks.Bottleneck`): the paper's
Table 1 counts the stride on the first 1x1; torchvision's "V1.5" has it on the 3x3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from resnet_edu.core.tabular import html_table, text_table
from resnet_edu.measuring.published import PUBLISHED_CIFAR, PUBLISHED_IMAGENET, Published, PublishedCifar
from resnet_edu.measuring.counting import count_macs, count_parameters
from resnet_edu.models.networks import IMAGENET_RESNETS, cifar_blocks_per_stage, cifar_resnet
from resnet_edu.models.vgg import vgg16


_BUILDERS: dict[str, Callable[..., nn.Module]] = {**IMAGENET_RESNETS, "vgg16": vgg16}


@dataclass(frozen=True)
class ComparisonRow:
    """One network: computed counts and the published ones.

    Attributes:
        network: ``"resnet18"`` ... ``"resnet152"``, ``"vgg16"``.
        parameters: our count.
        macs: our MACs at 224x224 with torchvision's layout (stride on the 3x3).
        paper_layout_macs: our MACs with the paper's layout (stride on the first 1x1
            of each bottleneck); equal to ``macs`` for networks without bottlenecks.
        published: the :class:`Published` numbers.
    """

    network: str
    parameters: int
    macs: int
    paper_layout_macs: int
    published: Published

    @property
    def parameter_difference(self) -> int:
        """Our parameters minus torchvision's."""
        return self.parameters - self.published.torchvision_parameters

    @property
    def paper_gmacs_difference(self) -> float:
        """Our paper-layout GMACs minus the paper's, which gives one decimal (3.858 -> 3.8)."""
        return self.paper_layout_macs / 1e9 - self.published.paper_gmacs


@dataclass(repr=False)
class Comparison:
    """The result of :func:`imagenet_comparison`; prints (and reprs) as text, shows as HTML."""

    rows: list[ComparisonRow]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, network: str) -> ComparisonRow:
        for r in self.rows:
            if r.network == network:
                return r
        raise KeyError(f"no network {network!r}; have {[r.network for r in self.rows]}")

    def __str__(self) -> str:
        return text_table(*_cells(self), "224x224 input; GMACs = 10^9 multiply-accumulates")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return html_table(*_cells(self), "224x224 input; GMACs = 10^9 multiply-accumulates")


_HEADERS = [
    "network", "parameters", "torchvision params", "difference",
    "GMACs", "torchvision GMACs", "GMACs (paper layout)", "paper GMACs", "difference",
]


def _cells(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    cells = [
        [r.network, f"{r.parameters:,}", f"{r.published.torchvision_parameters:,}", f"{r.parameter_difference:+,}",
         f"{r.macs / 1e9:.3f}", f"{r.published.torchvision_gmacs:.2f}", f"{r.paper_layout_macs / 1e9:.3f}",
         f"{r.published.paper_gmacs:.1f}", f"{r.paper_gmacs_difference:+.3f}"]
        for r in comparison.rows
    ]
    return _HEADERS, cells


def imagenet_comparison(networks: tuple[str, ...] = tuple(PUBLISHED_IMAGENET)) -> Comparison:
    """Count parameters and MACs of the ImageNet ResNets and VGG-16; pair with the published numbers.

    Every network is built on the ``meta`` device (shapes, no weights) with 1000
    classes and counted at 1x3x224x224 by :func:`~resnet_edu.measuring.counting.count_parameters`
    and :func:`~resnet_edu.measuring.counting.count_macs`. Taught in chapter 4.

    Args:
        networks: which of ``"resnet18", "resnet34", "resnet50", "resnet101",
            "resnet152", "vgg16"`` to include, in that order of rows.

    Raises:
        ValueError: for an unknown network name.
    """
    unknown = [n for n in networks if n not in PUBLISHED_IMAGENET]
    if unknown:
        raise ValueError(f"unknown networks {unknown}; choose from {tuple(PUBLISHED_IMAGENET)}")
    rows = []
    for name in networks:
        with torch.device("meta"):
            model = _BUILDERS[name]()
            paper = _BUILDERS[name](stride_in_1x1=True) if name in ("resnet50", "resnet101", "resnet152") else model
        size = (1, 3, 224, 224)
        rows.append(
            ComparisonRow(name, count_parameters(model), count_macs(model, size), count_macs(paper, size), PUBLISHED_IMAGENET[name])
        )
    return Comparison(rows)


# --------------------------------------------------------------------------- CIFAR-10


@dataclass(frozen=True)
class CifarComparisonRow:
    """One CIFAR-10 ResNet: our parameter count and the paper's Table 6 numbers.

    Attributes:
        depth: weighted layers, 6n + 2.
        blocks_per_stage: n.
        parameters: our exact count (option A shortcuts).
        published: the :class:`PublishedCifar` numbers.
    """

    depth: int
    blocks_per_stage: int
    parameters: int
    published: PublishedCifar

    @property
    def network(self) -> str:
        """``"ResNet-20"`` etc."""
        return f"ResNet-{self.depth}"

    @property
    def rounded_millions(self) -> float:
        """Our count in millions, rounded to the decimals the paper prints."""
        return round(self.parameters / 1e6, self.published.decimals)

    @property
    def matches_published(self) -> bool:
        """True when our rounded count is the paper's number."""
        return self.rounded_millions == self.published.parameters_millions


@dataclass(repr=False)
class CifarComparison:
    """The result of :func:`cifar_comparison`; prints (and reprs) as text, shows as HTML."""

    rows: list[CifarComparisonRow]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, depth: int) -> CifarComparisonRow:
        for r in self.rows:
            if r.depth == depth:
                return r
        raise KeyError(f"no depth {depth!r}; have {[r.depth for r in self.rows]}")

    def __str__(self) -> str:
        return text_table(*_cifar_cells(self), _CIFAR_FOOTER)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return html_table(*_cifar_cells(self), _CIFAR_FOOTER)


_CIFAR_FOOTER = "option A shortcuts; published: He et al. 2015, Table 6 (CIFAR-10 test error)"


def _cifar_cells(comparison: CifarComparison) -> tuple[list[str], list[list[str]]]:
    headers = ["network", "n", "parameters", "rounded (M)", "paper (M)", "match", "paper error %"]
    cells = []
    for r in comparison.rows:
        p = r.published
        error = f"{p.test_error:.2f}"
        if p.test_error_mean is not None:
            error += f" (mean {p.test_error_mean:.2f} ± {p.test_error_std:.2f})"
        cells.append([
            r.network, str(r.blocks_per_stage), f"{r.parameters:,}", f"{r.rounded_millions:.{p.decimals}f}",
            f"{p.parameters_millions:.{p.decimals}f}", "yes" if r.matches_published else "NO", error,
        ])
    return headers, cells


def cifar_comparison(depths: tuple[int, ...] = tuple(PUBLISHED_CIFAR)) -> CifarComparison:
    """Count the CIFAR-10 ResNets' parameters and pair them with the paper's Table 6.

    Each network is ``cifar_resnet(depth)`` (option A shortcuts, 10 classes, section
    4.2), built on the ``meta`` device and counted by
    :func:`~resnet_edu.measuring.counting.count_parameters`; the row rounds the count to the
    decimals the paper prints. Taught in chapter 4.

    Args:
        depths: which of 20, 32, 44, 56, 110, 1202 to include, in that order of rows.

    Raises:
        ValueError: for a depth the paper's Table 6 does not list.
    """
    unknown = [d for d in depths if d not in PUBLISHED_CIFAR]
    if unknown:
        raise ValueError(f"Table 6 has no depths {unknown}; choose from {tuple(PUBLISHED_CIFAR)}")
    rows = []
    for depth in depths:
        with torch.device("meta"):
            model = cifar_resnet(depth)
        rows.append(CifarComparisonRow(depth, cifar_blocks_per_stage(depth), count_parameters(model),
                                       PUBLISHED_CIFAR[depth]))
    return CifarComparison(rows)
