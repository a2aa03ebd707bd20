"""Checkers for the block exercises: plain, basic, bottleneck and pre-activation blocks.

Each builds the learner's class on several (in_channels, channels, stride) configurations
and compares it with the package's own block: output shape, what follows the add, the
identity path, parameter count, gradients, and independent instances.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from resnet_edu.teaching.checks.calls import (
    attribute_path,
    backward_problems,
    construct,
    inspect_module,
    require_module_class,
    reused_layers,
    run_forward,
)
from resnet_edu.teaching.checks.result import CheckResult, Problem, run_check

Config = tuple[int, int, int]  # (in_channels, channels, stride)
SIZE = 8  # input height and width used by every block check
BATCH = 2


@dataclass(frozen=True)
class BlockSpec:
    """What a block exercise expects.

    Args:
        checker: the checker's name.
        reference: builds the package's block for a config (imported lazily).
        configs: configurations to try; the first identity one drives the identity test.
        expansion: output channels / channels.
        after_add: ``"relu"`` (post-activation), ``"nothing"`` (pre-activation) or
            ``"plain"`` (no shortcut at all).
        signature: how the learner's class is called, for messages.
        success: the phrase listing what passed.
    """

    checker: str
    reference: Callable[[int, int, int], nn.Module]
    configs: tuple[Config, ...]
    expansion: int
    after_add: str
    signature: str
    success: str


def _label(cls: type, config: Config) -> str:
    cin, c, s = config
    return f"{cls.__name__}({cin}, {c}, stride={s})"


def _input(config: Config) -> torch.Tensor:
    seed = 1000 * config[0] + 10 * config[1] + config[2]
    return torch.randn(BATCH, config[0], SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


def _check_shape(out: torch.Tensor, config: Config, spec: BlockSpec, label: str) -> None:
    cin, c, s = config
    size = math.ceil(SIZE / s)
    expected = (BATCH, c * spec.expansion, size, size)
    got = tuple(out.shape)
    if got == expected:
        return
    if len(got) != 4:
        raise Problem(f"{label}: the output has shape {got}, expected {expected} (N, C, H, W).")
    if got[1] != expected[1]:
        why = (
            f"the last 1x1 convolution should expand to expansion * channels = {spec.expansion} x {c}"
            if spec.expansion != 1
            else "the block's convolutions should output `channels` channels (the second argument)"
        )
        raise Problem(f"{label}: the output has {got[1]} channels, expected {expected[1]}: {why}.")
    if got[2:] != expected[2:]:
        if got[2] == SIZE and s != 1:
            advice = "your block ignores stride: the first 3x3 convolution (and the shortcut) should use stride=stride."
        elif got[2] < expected[2]:
            advice = "the output shrank: every 3x3 convolution needs padding=1 to keep the size."
        else:
            advice = "check the stride and padding of each convolution."
        raise Problem(
            f"{label}: on a {SIZE}x{SIZE} input the output is {got[2]}x{got[3]}, "
            f"expected {expected[2]}x{expected[3]}: {advice}"
        )
    raise Problem(f"{label}: the output has shape {got}, expected {expected}.")


def _check_values(out: torch.Tensor, spec: BlockSpec, label: str) -> None:
    if not torch.isfinite(out).all():
        raise Problem(
            f"{label}: the output contains NaN or inf. Look for a division, log or sqrt that can hit "
            "zero, or a tensor created with torch.empty."
        )
    lowest = out.min().item()
    if spec.after_add == "relu" and lowest < 0:
        raise Problem(
            f"{label}: the output has negative values (min {lowest:.3f}), so the last step is not a ReLU. "
            "Apply ReLU after the addition: `return self.relu(out + identity)`."
        )
    if spec.after_add == "plain" and lowest < 0:
        raise Problem(
            f"{label}: the output has negative values (min {lowest:.3f}): end the block with "
            "conv-BN-ReLU, i.e. apply ReLU after bn2."
        )
    if spec.after_add == "nothing" and lowest >= 0:
        raise Problem(
            f"{label}: the output is never negative, so something like a ReLU comes after the addition. "
            "In a pre-activation block nothing follows the add: `return out + identity`."
        )


def _shape_text(weight_shape: tuple[int, ...]) -> str:
    out_c, in_c, kh, kw = weight_shape
    return f"{kh}x{kw} conv {in_c}->{out_c}"


def _convs(module: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    return [(attribute_path(n), m) for n, m in module.named_modules() if isinstance(m, nn.Conv2d)]


def _norm_sizes(module: nn.Module) -> list[int]:
    return sorted(m.num_features for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))


def _explain_count(block: nn.Module, reference: nn.Module, config: Config, label: str) -> None:
    """Raise a Problem naming why the parameter counts differ (nothing if they agree)."""
    ours = sum(p.numel() for p in block.parameters())
    theirs = sum(p.numel() for p in reference.parameters())
    if ours == theirs:
        return
    cin, c, s = config
    mine = Counter(tuple(m.weight.shape) for _, m in _convs(block))
    ref = Counter(tuple(m.weight.shape) for _, m in _convs(reference))
    missing, extra = ref - mine, mine - ref
    cout = reference.out_channels
    projection = (cout, cin, 1, 1)
    head = f"{label} has {ours:,} parameters, expected {theirs:,}"
    if list(missing.elements()) == [projection] and not extra:
        raise Problem(
            f"{head}: the 1x1 projection on the shortcut is missing. When the shape changes "
            f"({cin}->{cout} channels, stride {s}) this exercise asks for option B: "
            "nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False) followed by nn.BatchNorm2d."
        )
    if list(extra.elements()) == [projection] and not missing:
        raise Problem(
            f"{head}: you project the shortcut although the shape does not change. Option B keeps the "
            "identity when in and out channels match and stride is 1; project only where the shape changes."
        )
    if missing or extra:
        want = ", ".join(_shape_text(s) for s in sorted(missing.elements())) or "none"
        have = ", ".join(_shape_text(s) for s in sorted(extra.elements())) or "none"
        raise Problem(
            f"{head}. Convolutions the exercise expects but yours lacks: {want}; yours has instead: {have}. "
            "Check each layer's kernel size and channel counts."
        )
    biased = [path for path, m in _convs(block) if m.bias is not None]
    if biased:
        raise Problem(
            f"{head}: {', '.join(biased)} {'has a bias' if len(biased) == 1 else 'have biases'}. Use "
            "bias=False: the BatchNorm after a convolution has its own shift (beta)."
        )
    if _norm_sizes(block) != _norm_sizes(reference):
        raise Problem(
            f"{head}: expected BatchNorm2d layers for {_norm_sizes(reference)} channels, yours are for "
            f"{_norm_sizes(block)}. Every convolution (also the projection's) is followed by its own BatchNorm."
        )
    raise Problem(f"{head} ({ours - theirs:+,}). Compare your layers with the exercise's description.")


def _check_identity(cls: type, spec: BlockSpec) -> None:
    config = next((c for c in spec.configs if c[0] == c[1] * spec.expansion and c[2] == 1), None)
    if config is None:
        return
    label = _label(cls, config)
    block = construct(cls, config[:2], {"stride": config[2]}, label, spec.signature)
    with torch.no_grad():
        for parameter in block.parameters():
            parameter.zero_()
    x = _input(config)
    with torch.no_grad():
        out, _ = run_forward(block, x, label)
    if spec.after_add == "plain":
        if not torch.allclose(out, torch.zeros_like(out)):
            raise Problem(
                f"{label}: with every weight set to zero a plain block must output zeros, but yours "
                "passes the input through. A plain block has no shortcut: remove the `+ x`."
            )
        return
    expected, should = (x.relu(), "relu(x)") if spec.after_add == "relu" else (x, "x unchanged")
    if torch.allclose(out, expected, atol=1e-5):
        return
    if torch.allclose(out, torch.zeros_like(out)):
        found = "zeros: the input never reaches the output"
    else:
        found = "something else"
    after = "only the final ReLU" if spec.after_add == "relu" else "nothing"
    raise Problem(
        f"{label}: with every weight set to zero the residual branch gives 0, so the block should "
        f"return {should}; yours returns {found}. Add the input to the branch output "
        f"(`out = out + identity`, with `identity = x` when the shape does not change), with {after} after the add."
    )


def _check_independent(cls: type, spec: BlockSpec) -> None:
    config = spec.configs[0]
    label = _label(cls, config)
    first = construct(cls, config[:2], {"stride": config[2]}, label, spec.signature)
    second = construct(cls, config[:2], {"stride": config[2]}, label, spec.signature)
    shared = {id(p) for p in first.parameters()} & {id(p) for p in second.parameters()}
    if shared:
        names = [attribute_path(n.rsplit(".", 1)[0]) for n, p in first.named_parameters() if id(p) in shared]
        raise Problem(
            f"two {cls.__name__} objects share {names[0]}: every instance must create its own layers in "
            f"__init__ (`self.conv1 = nn.Conv2d(...)`), not reuse a layer made at class level or as a default."
        )


def check_block(cls: Any, spec: BlockSpec) -> str:
    """Run every check of ``spec`` on the learner's class; return the success line or raise Problem.

    Args:
        cls: the learner's class.
        spec: what the exercise expects.
    """
    require_module_class(cls, spec.signature.replace("MyBlock", getattr(cls, "__name__", "MyBlock")))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for config in spec.configs:
            label = _label(cls, config)
            block = construct(cls, config[:2], {"stride": config[2]}, label, spec.signature)
            inspect_module(block, label)
            block.train()
            x = _input(config)
            x_before = x.clone()
            out, calls = run_forward(block, x, label)
            if not torch.equal(x, x_before):
                raise Problem(
                    f"{label}: forward changed its input tensor in place (an in-place ReLU or `x += ...` on x). "
                    "Leave x untouched: the shortcut needs it."
                )
            _check_shape(out, config, spec, label)
            _check_values(out, spec, label)
            reused = reused_layers(block, calls)
            if reused:
                raise Problem(
                    f"{label}: {reused[0]} is used more than once in forward. Each layer needs its own "
                    "module (bn1 and bn2, conv1 and conv2), since each learns its own weights."
                )
            backward_problems(block, out, calls, label)
            _explain_count(block, spec.reference(*config), config, label)
        _check_identity(cls, spec)
        _check_independent(cls, spec)
    expansion = getattr(cls, "expansion", None)
    if spec.expansion != 1 and expansion != spec.expansion:
        raise Problem(
            f"give {cls.__name__} the class attribute `expansion = {spec.expansion}` "
            "(out_channels = expansion * channels; building a stage reads it)."
        )
    if spec.expansion == 1 and expansion not in (None, 1):
        raise Problem(f"{cls.__name__}.expansion is {expansion!r}; for this block it should be 1.")
    return f"{cls.__name__}: {spec.success} on {len(spec.configs)} configurations."


def _plain(cin: int, c: int, s: int) -> nn.Module:
    from resnet_edu.models.blocks import PlainBlock

    return PlainBlock(cin, c, s)


def _basic(cin: int, c: int, s: int) -> nn.Module:
    from resnet_edu.models.blocks import BasicBlock

    return BasicBlock(cin, c, s, shortcut="B")


def _bottleneck(cin: int, c: int, s: int) -> nn.Module:
    from resnet_edu.models.blocks import Bottleneck

    return Bottleneck(cin, c, s, shortcut="B")


def _preact(cin: int, c: int, s: int) -> nn.Module:
    from resnet_edu.models.blocks import PreActBlock

    return PreActBlock(cin, c, s, shortcut="B")


_STANDARD = ((16, 16, 1), (16, 32, 2), (32, 32, 1), (16, 32, 1), (16, 16, 2))

PLAIN = BlockSpec(
    "check_plain_block", _plain, ((16, 16, 1), (16, 32, 2), (32, 32, 1)), 1, "plain",
    "MyBlock(in_channels, out_channels, stride=1)",
    "output shapes, final ReLU, no shortcut, parameter count and gradients all match",
)
BASIC = BlockSpec(
    "check_basic_block", _basic, _STANDARD, 1, "relu",
    "MyBlock(in_channels, out_channels, stride=1)",
    "output shapes, final ReLU, identity path, projection shortcut, parameter count, "
    "gradients and independent instances all match",
)
BOTTLENECK = BlockSpec(
    "check_bottleneck", _bottleneck, ((16, 16, 1), (64, 16, 1), (64, 32, 2), (64, 16, 2)), 4, "relu",
    "MyBlock(in_channels, channels, stride=1)",
    "output shapes (4 x channels), final ReLU, identity path, projection shortcut, "
    "parameter count, gradients and independent instances all match",
)
PREACT = BlockSpec(
    "check_preact_block", _preact, _STANDARD, 1, "nothing",
    "MyBlock(in_channels, out_channels, stride=1)",
    "output shapes, nothing after the add, clean identity path, projection shortcut, "
    "parameter count, gradients and independent instances all match",
)


def check_plain_block(cls: Any, *, verbose: bool = True, raise_on_failure: bool = False) -> CheckResult:
    """Check a plain block: two 3x3 conv-BN-ReLU layers and no shortcut.

    Built as ``cls(in_channels, out_channels, stride=1)``; compared with
    :class:`resnet_edu.models.blocks.PlainBlock`. Taught in chapter 2.

    Args:
        cls: the learner's class (not an instance).
        verbose: print the result line.
        raise_on_failure: raise AssertionError with the hint instead of returning a failure.
    """
    return run_check(PLAIN.checker, lambda: check_block(cls, PLAIN), verbose, raise_on_failure)


def check_basic_block(cls: Any, *, verbose: bool = True, raise_on_failure: bool = False) -> CheckResult:
    """Check a basic residual block: ``relu(F(x) + shortcut(x))`` with two 3x3 layers in F.

    Built as ``cls(in_channels, out_channels, stride=1)``; compared with
    :class:`resnet_edu.models.blocks.BasicBlock` with shortcut option B (1x1 conv + BN projection
    only where the shape changes). Taught in chapter 2.

    Args:
        cls: the learner's class (not an instance).
        verbose: print the result line.
        raise_on_failure: raise AssertionError with the hint instead of returning a failure.
    """
    return run_check(BASIC.checker, lambda: check_block(cls, BASIC), verbose, raise_on_failure)


def check_bottleneck(cls: Any, *, verbose: bool = True, raise_on_failure: bool = False) -> CheckResult:
    """Check a bottleneck block: 1x1 reduce, 3x3, 1x1 expand to ``4 * channels``, shortcut.

    Built as ``cls(in_channels, channels, stride=1)`` with class attribute ``expansion = 4``;
    compared with :class:`resnet_edu.models.blocks.Bottleneck`, option B. The stride may sit on the
    3x3 or on the first 1x1 (same parameters). Taught in chapter 3.

    Args:
        cls: the learner's class (not an instance).
        verbose: print the result line.
        raise_on_failure: raise AssertionError with the hint instead of returning a failure.
    """
    return run_check(BOTTLENECK.checker, lambda: check_block(cls, BOTTLENECK), verbose, raise_on_failure)


def check_preact_block(cls: Any, *, verbose: bool = True, raise_on_failure: bool = False) -> CheckResult:
    """Check a full pre-activation block: ``x + F(x)`` with BN-ReLU before each conv.

    Built as ``cls(in_channels, out_channels, stride=1)``; compared with
    :class:`resnet_edu.models.blocks.PreActBlock`, option B. Taught in chapter 7.

    Args:
        cls: the learner's class (not an instance).
        verbose: print the result line.
        raise_on_failure: raise AssertionError with the hint instead of returning a failure.
    """
    return run_check(PREACT.checker, lambda: check_block(cls, PREACT), verbose, raise_on_failure)
