"""The published numbers the book checks itself against, each with its source.

- :data:`PUBLISHED_IMAGENET`: the ImageNet networks' parameters and multiply-adds
  (torchvision's documentation and He et al. 2015, Table 1).
- :data:`PUBLISHED_TABLE3_TOP1`: ImageNet top-1 errors of plain-34 and the shortcut
  options A, B, C (He et al. 2015, Table 3).
- :data:`PUBLISHED_CIFAR`: the CIFAR-10 ResNets of He et al. 2015, Table 6.
- :data:`PUBLISHED_PREACT_CIFAR`: original against full pre-activation CIFAR-10 ResNets
  (ResNet-110, -164, -1001) of He et al. 2016, Tables 2 to 4.
- :data:`PUBLISHED_CIFAR_CHECKPOINTS`, :data:`CIFAR_CHECKPOINT_URL`: the most-used published
  CIFAR-10 checkpoints (akamaster/pytorch_resnet_cifar10), with their reported errors.
- :data:`PUBLISHED_TORCHVISION_WEIGHTS`, :data:`TORCHVISION_WEIGHTS_URL`: torchvision's
  IMAGENET1K_V1 weight files of the whole ResNet family; :data:`IMAGENET_MEAN`/:data:`IMAGENET_STD`.

Constants only: :mod:`resnet_edu.measuring.comparison` computes the package's own
numbers and sets them side by side. Taught in chapters 2, 4, 6 and 7.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Published", "PUBLISHED_IMAGENET", "PUBLISHED_TABLE3_TOP1", "PublishedCifar", "PUBLISHED_CIFAR"]
__all__ += ["PublishedCifarCheckpoint", "PUBLISHED_CIFAR_CHECKPOINTS", "CIFAR_CHECKPOINT_URL", "IMAGENET_MEAN"]
__all__ += ["IMAGENET_STD", "PublishedTorchvisionWeights", "PUBLISHED_TORCHVISION_WEIGHTS", "TORCHVISION_WEIGHTS_URL"]
__all__ += ["PublishedPreactCifar", "PUBLISHED_PREACT_CIFAR"]


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


@dataclass(frozen=True)
class PublishedPreactCifar:
    """He et al. 2016's numbers for one CIFAR-10 network, original unit against full pre-activation.

    Attributes:
        parameters_millions: parameters as printed in Table 4 ("1.7M", "10.2M"), in millions.
        original_error: test error (%) with the original Residual Unit (Fig. 4(a)).
        preact_error: test error (%) with the full pre-activation unit (Fig. 4(e)).
        table: where the two errors are printed.
    """

    parameters_millions: float
    original_error: float
    preact_error: float
    table: str


#: He et al. 2016, "Identity Mappings in Deep Residual Networks", arXiv:1603.05027. Errors:
#: Table 2 (ResNet-110 and ResNet-164, "original Residual Unit" against "full pre-activation";
#: the ResNet-110 baseline 6.61 is the 2015 paper's mean of 5 runs) and Table 3 (ResNet-1001).
#: Parameters: Table 4 ("ResNet-110 [1] (1.7M)", "ResNet-164 [ours] (1.7M)", "ResNet-1001
#: [ours] (10.2M)"), printed with one decimal. The paper does not say what it counts: the
#: package's ResNet-1001 has 10.33M parameters in all, 10.18M without its BN scales and shifts.
PUBLISHED_PREACT_CIFAR: dict[str, PublishedPreactCifar] = {
    "ResNet-110": PublishedPreactCifar(1.7, 6.61, 6.37, "Table 2"),
    "ResNet-164": PublishedPreactCifar(1.7, 5.93, 5.46, "Table 2"),
    "ResNet-1001": PublishedPreactCifar(10.2, 7.61, 4.92, "Table 3"),
}


# ----------------------------------------------------------------- published weights


@dataclass(frozen=True)
class PublishedCifarCheckpoint:
    """One CIFAR-10 checkpoint of akamaster/pytorch_resnet_cifar10.

    Attributes:
        file_name: the file's name; the hex digits after ``-`` are the start of its sha256.
        test_error: the CIFAR-10 test error (%) reported for it in the repository's README.
    """

    file_name: str
    test_error: float


#: Source: github.com/akamaster/pytorch_resnet_cifar10 (Yerlan Idelbayev, BSD-2-Clause), README
#: ("Pretrained models for download") and the folder ``pretrained_models/``. Each file holds
#: ``{"state_dict": ..., "best_prec1": ...}`` saved from ``nn.DataParallel`` (names start with
#: ``module.``; the classifier is ``linear``); option A pads ``planes // 4`` zero channels on
#: each side; trained and tested on inputs normalised with the ImageNet mean and std
#: (its ``trainer.py``). Taught in chapter 6.
PUBLISHED_CIFAR_CHECKPOINTS: dict[int, PublishedCifarCheckpoint] = {
    20: PublishedCifarCheckpoint("resnet20-12fca82f.th", 8.27),
    32: PublishedCifarCheckpoint("resnet32-d509ac18.th", 7.37),
    44: PublishedCifarCheckpoint("resnet44-014dd654.th", 6.90),
    56: PublishedCifarCheckpoint("resnet56-4bfd9763.th", 6.61),
    110: PublishedCifarCheckpoint("resnet110-1d1ed7c2.th", 6.32),
    1202: PublishedCifarCheckpoint("resnet1202-f3b1deed.th", 6.18),
}

#: Where those files are published: ``.format(name=...)`` with a ``file_name`` above.
CIFAR_CHECKPOINT_URL = "https://github.com/akamaster/pytorch_resnet_cifar10/raw/master/pretrained_models/{name}"

#: The normalisation ImageNet models (and the CIFAR checkpoints above) expect: per channel
#: (R, G, B) of images in [0, 1]. Source: torchvision's ``ImageClassification`` preset and
#: akamaster's ``trainer.py`` (``transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229,
#: 0.224, 0.225])``).
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class PublishedTorchvisionWeights:
    """torchvision's IMAGENET1K_V1 weights of one network.

    Attributes:
        file_name: the file's name (the hex digits after ``-`` start its sha256).
        parameters: ``num_params`` in torchvision's metadata.
        top1: ImageNet-1K validation accuracy (%), ``acc@1``, single 224x224 crop.
        gmacs: ``_ops``: multiply-adds (x10^9) at 224x224.
    """

    file_name: str
    parameters: int
    top1: float
    gmacs: float


#: Source: torchvision/models/resnet.py (pytorch/vision), the ``IMAGENET1K_V1`` entry of each
#: ``*_Weights`` enum (url, num_params, acc@1, _ops). Only ResNeXt-101 64x4d has no "V1
#: recipe" weights: its IMAGENET1K_V1 file was trained with torchvision's newer recipe.
#: The files live at :data:`TORCHVISION_WEIGHTS_URL`.
PUBLISHED_TORCHVISION_WEIGHTS: dict[str, PublishedTorchvisionWeights] = {
    "resnet18": PublishedTorchvisionWeights("resnet18-f37072fd.pth", 11_689_512, 69.758, 1.814),
    "resnet34": PublishedTorchvisionWeights("resnet34-b627a593.pth", 21_797_672, 73.314, 3.664),
    "resnet50": PublishedTorchvisionWeights("resnet50-0676ba61.pth", 25_557_032, 76.130, 4.089),
    "resnet101": PublishedTorchvisionWeights("resnet101-63fe2227.pth", 44_549_160, 77.374, 7.801),
    "resnet152": PublishedTorchvisionWeights("resnet152-394f9c45.pth", 60_192_808, 78.312, 11.514),
    "resnext50_32x4d": PublishedTorchvisionWeights("resnext50_32x4d-7cdf4587.pth", 25_028_904, 77.618, 4.23),
    "resnext101_32x8d": PublishedTorchvisionWeights("resnext101_32x8d-8ba56ff5.pth", 88_791_336, 79.312, 16.414),
    "resnext101_64x4d": PublishedTorchvisionWeights("resnext101_64x4d-173b62eb.pth", 83_455_272, 83.246, 15.46),
    "wide_resnet50_2": PublishedTorchvisionWeights("wide_resnet50_2-95faca4d.pth", 68_883_240, 78.468, 11.398),
    "wide_resnet101_2": PublishedTorchvisionWeights("wide_resnet101_2-32ee1156.pth", 126_886_696, 78.848, 22.753),
}

#: torchvision's download folder: ``TORCHVISION_WEIGHTS_URL + file_name``.
TORCHVISION_WEIGHTS_URL = "https://download.pytorch.org/models/"
