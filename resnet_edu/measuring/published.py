"""The published numbers the book checks itself against, each with its source.

- :data:`PUBLISHED_IMAGENET`: the ImageNet networks' parameters and multiply-adds
  (torchvision's documentation and He et al. 2015, Table 1).
- :data:`PUBLISHED_TABLE3_TOP1`: ImageNet top-1 errors of plain-34 and the shortcut
  options A, B, C (He et al. 2015, Table 3).
- :data:`PUBLISHED_CIFAR`: the CIFAR-10 ResNets of He et al. 2015, Table 6.

Constants only: :mod:`resnet_edu.measuring.comparison` computes the package's own
numbers and sets them side by side. Taught in chapters 2, 4 and 6.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Published", "PUBLISHED_IMAGENET", "PUBLISHED_TABLE3_TOP1", "PublishedCifar", "PUBLISHED_CIFAR"]


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
PUBLISHED_IMAGENET: dict[str, Published] = {
    "resnet18": Published(11_689_512, 1.81, 1.8),
    "resnet34": Published(21_797_672, 3.66, 3.6),
    "resnet50": Published(25_557_032, 4.09, 3.8),
    "resnet101": Published(44_549_160, 7.80, 7.6),
    "resnet152": Published(60_192_808, 11.51, 11.3),
    "vgg16": Published(138_357_544, 15.47, 15.3),
}


#: He et al. 2015, "Deep Residual Learning for Image Recognition", arXiv:1512.03385,
#: Table 3: top-1 error (%) on ImageNet validation, 10-crop testing, of plain-34 and of
#: ResNet-34 with shortcut options A, B and C (section 3.3). Taught in chapter 2.
PUBLISHED_TABLE3_TOP1: dict[str, float] = {
    "plain-34": 28.54,
    "ResNet-34 A": 25.03,
    "ResNet-34 B": 24.52,
    "ResNet-34 C": 24.19,
}


@dataclass(frozen=True)
class PublishedCifar:
    """The paper's Table 6 numbers for one CIFAR-10 ResNet.

    Attributes:
        parameters_millions: parameters as printed, in millions (0.27 for "0.27M").
        decimals: how many decimals the paper prints for them (2 for 0.27, 1 for 1.7).
        test_error: test error (%) on CIFAR-10; for ResNet-110 the best of 5 runs.
        test_error_mean: the mean of 5 runs where the paper gives one (ResNet-110), else None.
        test_error_std: its standard deviation, or None.
    """

    parameters_millions: float
    decimals: int
    test_error: float
    test_error_mean: float | None = None
    test_error_std: float | None = None


#: He et al. 2015, "Deep Residual Learning for Image Recognition", arXiv:1512.03385,
#: Table 6: CIFAR-10 ResNets (option A shortcuts) by depth, their parameters as printed
#: there and their test error (%). ResNet-110: best of 5 runs 6.43, mean 6.61 +- 0.16.
PUBLISHED_CIFAR: dict[int, PublishedCifar] = {
    20: PublishedCifar(0.27, 2, 8.75),
    32: PublishedCifar(0.46, 2, 7.51),
    44: PublishedCifar(0.66, 2, 7.17),
    56: PublishedCifar(0.85, 2, 6.97),
    110: PublishedCifar(1.7, 1, 6.43, 6.61, 0.16),
    1202: PublishedCifar(19.4, 1, 7.93),
}
