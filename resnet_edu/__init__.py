"""resnet_edu: residual networks step by step.

The package behind the resnet-edu book. Every chapter imports it; nothing in the
book redefines what lives here.
"""

__version__ = "0.1.0"

from resnet_edu.core.environment import get_device, seed_everything, setup_chapter
from resnet_edu.models.blocks import BasicBlock, Bottleneck, PlainBlock, PreActBlock
from resnet_edu.measuring.counting import count_macs, count_parameters, count_weighted_layers
from resnet_edu.models.networks import (
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
__all__ += ["count_weighted_layers"]

# data, training, checkpoints and closed-form formulas (data/training helper)
from resnet_edu.experiments.checkpoints import CheckpointError, file_sha256, load_checkpoint, save_checkpoint
from resnet_edu.experiments.data import (
    CIFAR10,
    CIFAR10_MEAN,
    CIFAR10_STD,
    DatasetUnavailableError,
    cifar10_loaders,
    digits_loaders,
    download_cifar10,
    load_cifar10,
    load_digits_tensors,
    random_crop_flip,
)
from resnet_edu.measuring import formulas
from resnet_edu.measuring.formulas import (
    basic_block_macs,
    basic_block_params,
    bn_params,
    bottleneck_macs,
    bottleneck_params,
    conv_macs,
    conv_params,
    linear_macs,
    linear_params,
)
from resnet_edu.experiments.training import EpochRecord, evaluate, history_table, learning_rate_at, train

__all__ += ["CheckpointError", "file_sha256", "load_checkpoint", "save_checkpoint"]
__all__ += ["CIFAR10", "CIFAR10_MEAN", "CIFAR10_STD", "DatasetUnavailableError", "cifar10_loaders"]
__all__ += ["digits_loaders", "download_cifar10", "load_cifar10", "load_digits_tensors", "random_crop_flip"]
__all__ += ["basic_block_macs", "basic_block_params", "bn_params", "bottleneck_macs", "bottleneck_params"]
__all__ += ["conv_macs", "conv_params", "linear_macs", "linear_params", "formulas"]
__all__ += ["EpochRecord", "evaluate", "history_table", "learning_rate_at", "train"]

# shape traces, cost tables, gradient flow and experiments (analysis helper)
from resnet_edu.measuring.comparison import PUBLISHED, format_comparison, imagenet_comparison
from resnet_edu.measuring.comparison import PUBLISHED_CIFAR, PUBLISHED_TABLE3_TOP1, cifar_comparison
from resnet_edu.experiments.degradation import DepthRun, degradation_experiment, format_runs, lesion_experiment, train_depths
from resnet_edu.experiments.gradient_sweep import GradientRun, digits_batch, format_ratio_table, gradient_sweep
from resnet_edu.measuring.gradients import GradientNorms, gradient_norms
from resnet_edu.experiments.lesion import LesionRecord, format_lesion, lesion_study
from resnet_edu.teaching.plots import plot_gradient_norms, plot_gradient_sweep, plot_histories, plot_lesion
from resnet_edu.measuring.costs import CostRow, CostTable, cost_table, format_cost_table
from resnet_edu.measuring.costs import Table1, table1
from resnet_edu.measuring.trace import ShapeTrace, TraceRow, format_trace, summary, trace_shapes
from resnet_edu.models.vgg import VGG, vgg16

__all__ += ["PUBLISHED", "format_comparison", "imagenet_comparison"]
__all__ += ["PUBLISHED_CIFAR", "PUBLISHED_TABLE3_TOP1", "cifar_comparison"]
__all__ += ["DepthRun", "degradation_experiment", "format_runs", "lesion_experiment", "train_depths"]
__all__ += ["GradientRun", "digits_batch", "format_ratio_table", "gradient_sweep", "GradientNorms", "gradient_norms"]
__all__ += ["LesionRecord", "format_lesion", "lesion_study"]
__all__ += ["plot_gradient_norms", "plot_gradient_sweep", "plot_histories", "plot_lesion"]
__all__ += ["CostRow", "CostTable", "cost_table", "format_cost_table"]
__all__ += ["Table1", "table1"]
__all__ += ["ShapeTrace", "TraceRow", "format_trace", "summary", "trace_shapes", "VGG", "vgg16"]
