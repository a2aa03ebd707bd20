"""resnet_edu: residual networks step by step.

The package behind the resnet-edu book. Every chapter imports it; nothing in the
book redefines what lives here.
"""

__version__ = "0.1.0"

from resnet_edu.environment import get_device, seed_everything, setup_chapter
from resnet_edu.blocks import BasicBlock, Bottleneck, PlainBlock, PreActBlock
from resnet_edu.counting import count_macs, count_parameters
from resnet_edu.resnet import (
    ResNet,
    cifar_plain,
    cifar_resnet,
    plain18,
    plain20,
    plain32,
    plain34,
    plain44,
    plain56,
    plain110,
    resnet18,
    resnet20,
    resnet32,
    resnet34,
    resnet44,
    resnet50,
    resnet56,
    resnet101,
    resnet110,
    resnet152,
)

__all__ = ["__version__", "get_device", "seed_everything", "setup_chapter"]
__all__ += ["PlainBlock", "BasicBlock", "Bottleneck", "PreActBlock", "ResNet", "cifar_resnet", "cifar_plain"]
__all__ += ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "plain18", "plain34"]
__all__ += ["resnet20", "resnet32", "resnet44", "resnet56", "resnet110"]
__all__ += ["plain20", "plain32", "plain44", "plain56", "plain110", "count_parameters", "count_macs"]
