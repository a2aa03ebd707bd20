"""resnet_edu: residual networks step by step.

The package behind the resnet-edu book. Every chapter imports what it uses from here
(``from resnet_edu import ...``); nothing in the book redefines it. The layers, each
importing only from the ones above it in this list:

- ``core``: seeding and devices, argument checks, tables, running a model once, downloads.
- ``models``: blocks, shortcuts, the ResNet builder and every network, init, VGG.
- ``measuring``: counting, closed-form formulas, shape traces, cost tables, Table 1,
  gradient norms, the published numbers and the comparisons with them.
- ``experiments``: data, the training recipe and loop, degradation, gradient sweep,
  lesion study, checkpoints.
- ``teaching``: exercise checkers, ``diagnose``, explorers, plots, diagrams.
"""

from resnet_edu.core.version import __version__

# --- setting up a chapter ------------------------------------------------------------
from resnet_edu.core.environment import get_device, seed_everything, setup_chapter
from resnet_edu.core.levels import select_modules
from resnet_edu.core.running import model_run
from resnet_edu.core.tabular import Table

__all__ = ["__version__", "get_device", "seed_everything", "setup_chapter", "select_modules", "model_run", "Table"]

# --- models: blocks, shortcuts, networks, init ---------------------------------------
from resnet_edu.models.blocks import BasicBlock, Bottleneck, PlainBlock, PreActBlock, PreActBottleneck, conv1x1, conv3x3
from resnet_edu.models.init import default_init_, he_init_, zero_init_residual_
from resnet_edu.models.networks import (
    CIFAR_WIDTHS,
    IMAGENET_RESNETS,
    INITS,
    KINDS,
    TORCHVISION_RESNETS,
    ResNet,
    cifar_blocks_per_stage,
    cifar_network,
    cifar_plain,
    cifar_preact_resnet,
    cifar_resnet,
    make_stage,
    plain18,
    plain20,
    plain32,
    plain34,
    plain44,
    plain56,
    plain110,
    preact_resnet110,
    preact_resnet164,
    preact_resnet1001,
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
    resnext50_32x4d,
    resnext101_32x8d,
    resnext101_64x4d,
    wide_resnet50_2,
    wide_resnet101_2,
)
from resnet_edu.models.shortcuts import SHORTCUT_OPTIONS, ZERO_PLACEMENTS, ZeroPadShortcut, make_shortcut
from resnet_edu.models.vgg import VGG, vgg16, vgg19
from resnet_edu.models.toy import TOY_KINDS, ToyBlock, ToyResidual, identity_toy_block, toy_stack

__all__ += ["PlainBlock", "BasicBlock", "Bottleneck", "PreActBlock", "conv1x1", "conv3x3"]
__all__ += ["SHORTCUT_OPTIONS", "ZeroPadShortcut", "make_shortcut", "he_init_", "default_init_", "zero_init_residual_"]
__all__ += ["ResNet", "make_stage", "IMAGENET_RESNETS", "KINDS", "INITS", "CIFAR_WIDTHS", "cifar_blocks_per_stage", "cifar_network"]
__all__ += ["cifar_resnet", "cifar_plain", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
__all__ += ["plain18", "plain34", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110"]
__all__ += ["plain20", "plain32", "plain44", "plain56", "plain110", "VGG", "vgg16", "vgg19"]
__all__ += ["resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2"]
__all__ += ["TORCHVISION_RESNETS", "ZERO_PLACEMENTS"]
__all__ += ["ToyBlock", "ToyResidual", "toy_stack", "identity_toy_block", "TOY_KINDS"]
__all__ += ["PreActBottleneck", "cifar_preact_resnet", "preact_resnet110", "preact_resnet164", "preact_resnet1001"]

# --- measuring: counts, formulas, traces, tables, gradients, published numbers --------
from resnet_edu.measuring import formulas
from resnet_edu.measuring.comparison import cifar_comparison, imagenet_comparison
from resnet_edu.measuring.costs import CostRow, CostTable, cost_table
from resnet_edu.measuring.counting import count_macs, count_parameters, count_weighted_layers
from resnet_edu.measuring.formulas import (
    basic_block_macs,
    basic_block_params,
    bn_params,
    bottleneck_macs,
    bottleneck_params,
    conv_macs,
    conv_output_size,
    conv_params,
    linear_macs,
    linear_params,
)
from resnet_edu.measuring.gradients import GradientNorms, gradient_norms
from resnet_edu.measuring.identity_twin import identity_twin
from resnet_edu.measuring.published import PUBLISHED_CIFAR, PUBLISHED_IMAGENET, PUBLISHED_TABLE3_TOP1
from resnet_edu.measuring.published import IMAGENET_MEAN, IMAGENET_STD
from resnet_edu.measuring.published import PUBLISHED_CIFAR_CHECKPOINTS, PUBLISHED_TORCHVISION_WEIGHTS
from resnet_edu.measuring.published import PUBLISHED_PREACT_CIFAR
from resnet_edu.measuring.table1 import Table1, table1
from resnet_edu.measuring.trace import ShapeTrace, TraceRow, format_shape, summary, trace_shapes

__all__ += ["count_parameters", "count_macs", "count_weighted_layers", "formulas", "conv_output_size"]
__all__ += ["basic_block_macs", "basic_block_params", "bn_params", "bottleneck_macs", "bottleneck_params"]
__all__ += ["conv_macs", "conv_params", "linear_macs", "linear_params"]
__all__ += ["ShapeTrace", "TraceRow", "format_shape", "summary", "trace_shapes", "CostRow", "CostTable", "cost_table"]
__all__ += ["Table1", "table1", "GradientNorms", "gradient_norms", "identity_twin"]
__all__ += ["PUBLISHED_IMAGENET", "PUBLISHED_TABLE3_TOP1", "PUBLISHED_CIFAR", "imagenet_comparison", "cifar_comparison"]
__all__ += ["PUBLISHED_CIFAR_CHECKPOINTS", "PUBLISHED_TORCHVISION_WEIGHTS", "IMAGENET_MEAN", "IMAGENET_STD"]
__all__ += ["PUBLISHED_PREACT_CIFAR"]

# --- experiments: data, recipe, training, degradation, sweep, lesion, checkpoints -------
from resnet_edu.experiments.checkpoints import (
    CheckpointError,
    file_sha256,
    hash_prefix_from_name,
    load_checkpoint,
    save_checkpoint,
)
from resnet_edu.experiments.checkpoints import load_training_state, save_training_state
from resnet_edu.experiments.data import (
    CIFAR10,
    CIFAR10_MEAN,
    CIFAR10_STD,
    DatasetUnavailableError,
    cifar10_loaders,
    digits_batch,
    digits_loaders,
    download_cifar10,
    load_cifar10,
    load_digits_tensors,
    random_crop_flip,
)
from resnet_edu.experiments.degradation import DepthRun, DepthRuns, degradation_experiment, train_depths
from resnet_edu.experiments.degradation import degradation_spread_config
from resnet_edu.experiments.distributed import CPUSyncBatchNorm, distributed_digits_loaders, distributed_loaders
from resnet_edu.experiments.distributed import init_distributed, is_main_process, one_step
from resnet_edu.experiments.gradient_sweep import GradientRun, GradientSweep, gradient_sweep
from resnet_edu.experiments.toy_fit import ToyExperiment, fit_toy, near_identity_task, toy_experiment, toy_signals
from resnet_edu.experiments.lesion import LesionRecord, LesionStudy, deletable_blocks, lesion_experiment, lesion_study
from resnet_edu.experiments.lesion import lesion_spread_config, lesion_summary
from resnet_edu.experiments.pretrained import cifar_checkpoint_inputs, cifar_checkpoint_url, load_cifar_checkpoint
from resnet_edu.experiments.pretrained import load_torchvision_weights, make_synthetic_cifar_checkpoint
from resnet_edu.experiments.pretrained import synthetic_cifar_images
from resnet_edu.experiments.recipe import DIGITS_RECIPE, PAPER_CIFAR_RECIPE, Recipe
from resnet_edu.experiments.training import EpochRecord, History, evaluate, train
from resnet_edu.experiments.training import predict
from resnet_edu.experiments.spread import Spread, load_spread, spread_path

__all__ += ["load_digits_tensors", "digits_loaders", "digits_batch", "CIFAR10", "CIFAR10_MEAN", "CIFAR10_STD"]
__all__ += ["DatasetUnavailableError", "cifar10_loaders", "download_cifar10", "load_cifar10", "random_crop_flip"]
__all__ += ["Recipe", "DIGITS_RECIPE", "PAPER_CIFAR_RECIPE", "train", "evaluate", "EpochRecord", "History"]
__all__ += ["train_depths", "degradation_experiment", "DepthRun", "DepthRuns"]
__all__ += ["degradation_spread_config", "predict", "Spread", "load_spread", "spread_path"]
__all__ += ["gradient_sweep", "GradientRun", "GradientSweep"]
__all__ += ["near_identity_task", "toy_experiment", "ToyExperiment", "toy_signals", "fit_toy"]
__all__ += ["lesion_study", "lesion_experiment", "deletable_blocks", "LesionRecord", "LesionStudy"]
__all__ += ["lesion_summary", "lesion_spread_config"]
__all__ += ["CheckpointError", "file_sha256", "hash_prefix_from_name", "load_checkpoint", "save_checkpoint"]
__all__ += ["save_training_state", "load_training_state", "init_distributed", "is_main_process", "one_step"]
__all__ += ["load_cifar_checkpoint", "cifar_checkpoint_url", "cifar_checkpoint_inputs", "load_torchvision_weights"]
__all__ += ["make_synthetic_cifar_checkpoint", "synthetic_cifar_images"]
__all__ += ["distributed_loaders", "distributed_digits_loaders", "CPUSyncBatchNorm"]

# --- teaching: checkers, diagnose, explorers, plots, diagrams ---------------------------
from resnet_edu.teaching.checks import (
    CheckResult,
    check_answer,
    check_basic_block,
    check_bottleneck,
    check_cifar_depth,
    check_make_stage,
    check_param_count,
    check_plain_block,
    check_preact_block,
    check_resnet,
    check_zero_pad_shortcut,
    describe_exception,
    set_time_limit,
)
from resnet_edu.teaching.diagnose import Diagnosis, diagnose
from resnet_edu.teaching.diagram_concepts import draw_function_classes, draw_path_lengths, draw_unrolled
from resnet_edu.teaching.diagram_networks import draw_network, draw_networks, draw_stages
from resnet_edu.teaching.diagram_shortcuts import draw_shortcut_options
from resnet_edu.teaching.diagrams import Diagram, draw_block, draw_blocks, show_diagram
from resnet_edu.teaching.plots import plot_gradient_norms, plot_gradient_sweep, plot_histories, plot_lesion, plot_sweep_run
from resnet_edu.teaching.widgets import explorer, figure_to_png, live_explorer
from resnet_edu.teaching.results import confusion_matrix, plot_confusion, plot_degradation, plot_depth_run
from resnet_edu.teaching.results import plot_predictions

__all__ += ["check_plain_block", "check_basic_block", "check_bottleneck", "check_preact_block"]
__all__ += ["check_zero_pad_shortcut", "check_make_stage", "check_cifar_depth", "check_answer", "check_param_count"]
__all__ += ["CheckResult", "describe_exception", "diagnose", "Diagnosis"]
__all__ += ["check_resnet", "set_time_limit"]
__all__ += ["plot_gradient_norms", "plot_gradient_sweep", "plot_histories", "plot_lesion", "plot_sweep_run"]
__all__ += ["explorer", "live_explorer", "figure_to_png"]
__all__ += ["plot_degradation", "plot_depth_run", "plot_predictions", "plot_confusion", "confusion_matrix"]
__all__ += ["draw_block", "draw_blocks", "draw_shortcut_options", "draw_network", "draw_networks", "draw_stages"]
__all__ += ["draw_function_classes", "draw_unrolled", "draw_path_lengths", "show_diagram", "Diagram"]
