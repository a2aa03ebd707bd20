"""The five ImageNet ResNets and VGG-16: our counts next to the published ones.

The published numbers sit in one table of constants, :data:`PUBLISHED`, each with its
source; the package's own numbers are computed by :func:`imagenet_comparison` (networks
built on the ``meta`` device, so counting takes well under a second). Taught in chapter 4.

Two MAC counts per bottleneck network, because the paper and torchvision put the
stride in different places (see :class:`~resnet_edu.blocks.Bottleneck`): the paper's
Table 1 counts the stride on the first 1x1; torchvision's "V1.5" has it on the 3x3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from resnet_edu._tabular import html_table, text_table
from resnet_edu.counting import count_macs, count_parameters
from resnet_edu.resnet import resnet18, resnet34, resnet50, resnet101, resnet152
from resnet_edu.vgg import vgg16


@dataclass(frozen=True)
class Published:
    """Published numbers for one network.

    Attributes:
        torchvision_parameters: torchvision's documented parameter count.
        torchvision_gmacs: torchvision's documented "GFLOPS" at 224x224, which are in
            fact multiply-adds (x10^9); rounded to 2 decimals there.
        paper_gmacs: He et al. 2015, Table 1 "FLOPs" (multiply-adds, x10^9); for VGG-16
            the paper's section 3.3 (15.3).
    """

    torchvision_parameters: int
    torchvision_gmacs: float
    paper_gmacs: float


#: Sources: torchvision model documentation (pytorch.org/vision/stable/models, the
#: ``num_params`` and ``GFLOPS`` of each IMAGENET1K_V1 weight entry) and He et al.
#: 2015, "Deep Residual Learning for Image Recognition", arXiv:1512.03385, Table 1 and
#: section 3.3 (VGG-16: 15.3 billion FLOPs). See also the book's FACTS sheet.
PUBLISHED: dict[str, Published] = {
    "resnet18": Published(11_689_512, 1.81, 1.8),
    "resnet34": Published(21_797_672, 3.66, 3.6),
    "resnet50": Published(25_557_032, 4.09, 3.8),
    "resnet101": Published(44_549_160, 7.80, 7.6),
    "resnet152": Published(60_192_808, 11.51, 11.3),
    "vgg16": Published(138_357_544, 15.47, 15.3),
}

_BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50,
    "resnet101": resnet101, "resnet152": resnet152, "vgg16": vgg16,
}


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


@dataclass
class Comparison:
    """The result of :func:`imagenet_comparison`; prints as text, shows as HTML."""

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
        return format_comparison(self)

    def _repr_html_(self) -> str:
        return html_table(*_cells(self), "224x224 input; GMACs = 10^9 multiply-accumulates")


_HEADERS = [
    "network", "parameters", "torchvision", "difference",
    "GMACs", "torchvision", "GMACs (paper layout)", "paper", "difference",
]


def _cells(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    cells = [
        [r.network, f"{r.parameters:,}", f"{r.published.torchvision_parameters:,}", f"{r.parameter_difference:+,}",
         f"{r.macs / 1e9:.3f}", f"{r.published.torchvision_gmacs:.2f}", f"{r.paper_layout_macs / 1e9:.3f}",
         f"{r.published.paper_gmacs:.1f}", f"{r.paper_gmacs_difference:+.3f}"]
        for r in comparison.rows
    ]
    return _HEADERS, cells


def format_comparison(comparison: Comparison) -> str:
    """The comparison as an aligned plain-text table.

    Args:
        comparison: the result of :func:`imagenet_comparison`.
    """
    return text_table(*_cells(comparison), "224x224 input; GMACs = 10^9 multiply-accumulates")


def imagenet_comparison(networks: tuple[str, ...] = tuple(PUBLISHED)) -> Comparison:
    """Count parameters and MACs of the ImageNet ResNets and VGG-16; pair with the published numbers.

    Every network is built on the ``meta`` device (shapes, no weights) with 1000
    classes and counted at 1x3x224x224 by :func:`~resnet_edu.counting.count_parameters`
    and :func:`~resnet_edu.counting.count_macs`. Taught in chapter 4.

    Args:
        networks: which of ``"resnet18", "resnet34", "resnet50", "resnet101",
            "resnet152", "vgg16"`` to include, in that order of rows.

    Raises:
        ValueError: for an unknown network name.
    """
    unknown = [n for n in networks if n not in PUBLISHED]
    if unknown:
        raise ValueError(f"unknown networks {unknown}; choose from {tuple(PUBLISHED)}")
    rows = []
    for name in networks:
        with torch.device("meta"):
            model = _BUILDERS[name]()
            paper = _BUILDERS[name](stride_in_1x1=True) if name in ("resnet50", "resnet101", "resnet152") else model
        size = (1, 3, 224, 224)
        rows.append(
            ComparisonRow(name, count_parameters(model), count_macs(model, size), count_macs(paper, size), PUBLISHED[name])
        )
    return Comparison(rows)
