"""Checkers for the book's code exercises: call one on your class or function.

Every checker tries your code on several configurations, prints one line (``passed: ...``
or ``not yet: <hint>``) and returns a :class:`CheckResult`, truthy when it passed.
It never crashes on broken code: an exception, a wrong return type or shape, NaNs, a
missing ``super().__init__()``, layers shared by mistake, all become one hint.

Block exercises (the checker builds instances itself; pass the class)::

    check_plain_block(MyBlock)     # MyBlock(in_channels, out_channels, stride=1), chapter 2
    check_basic_block(MyBlock)     # MyBlock(in_channels, out_channels, stride=1), chapter 2
    check_bottleneck(MyBlock)      # MyBlock(in_channels, channels, stride=1), out 4*channels,
                                   #   class attribute expansion = 4, chapter 3
    check_preact_block(MyBlock)    # MyBlock(in_channels, out_channels, stride=1), chapter 7

Function exercises::

    check_zero_pad_shortcut(fn)    # fn(x, out_channels, stride) -> tensor (option A)
    check_make_stage(fn)           # fn(block_cls, in_channels, channels, num_blocks, stride)
                                   #   -> nn.Sequential
    check_cifar_depth(fn)          # fn(depth) -> n, ValueError unless depth = 6n + 2

A whole network (the capstone; the checker builds it, pass the builder)::

    check_resnet(my_resnet18)      # my_resnet18(num_classes=1000) -> a ResNet-18 with
    check_resnet(my_resnet34, 34)  #   torchvision's names: weights load strict, same outputs

Numbers typed by hand (the expected value is computed from the package, never typed)::

    check_answer("parameters of conv1", my_answer, count_parameters(model.conv1))
    check_answer("GMACs", my_answer, macs / 1e9, tolerance=0.01, relative=True)
    check_param_count(my_answer, BasicBlock(64, 128, stride=2))

``describe_exception(error)`` names an exception and the learner's line that raised it.

Every checker takes ``verbose=True`` (print the line) and ``raise_on_failure=False``.
A learner's ``__init__`` or ``forward`` that runs longer than 10 s (an endless loop) is
stopped and becomes a hint; ``set_time_limit(seconds)`` changes the limit (0: none), and
the limit needs ``SIGALRM`` (Linux, macOS; on Windows the code runs without one).
In an nbgrader autograder cell write ``assert check_basic_block(MyBlock)`` or
``check_basic_block(MyBlock).assert_ok()`` (AssertionError carrying the hint).
"""

from resnet_edu.teaching.checks.block_checks import (
    check_basic_block,
    check_bottleneck,
    check_plain_block,
    check_preact_block,
)
from resnet_edu.teaching.checks.function_checks import (
    check_answer,
    check_cifar_depth,
    check_make_stage,
    check_param_count,
    check_zero_pad_shortcut,
)
from resnet_edu.teaching.checks.calls import set_time_limit
from resnet_edu.teaching.checks.network_checks import check_resnet
from resnet_edu.teaching.checks.result import CheckResult, describe_exception

__all__ = [
    "CheckResult",
    "check_answer",
    "check_basic_block",
    "check_bottleneck",
    "check_cifar_depth",
    "check_make_stage",
    "check_param_count",
    "check_plain_block",
    "check_preact_block",
    "check_resnet",
    "check_zero_pad_shortcut",
    "describe_exception",
    "set_time_limit",
]
