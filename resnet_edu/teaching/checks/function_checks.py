"""Checkers for the function exercises (option A shortcut, building a stage, CIFAR depth)
and for answers a learner types as a number.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from resnet_edu.teaching.checks.calls import TimeLimitExceeded, describe_exception, run_forward, time_limit, timeout_hint
from resnet_edu.teaching.checks.result import CheckResult, Problem, run_check


def _require_function(fn: Any, signature: str) -> None:
    if isinstance(fn, type):
        raise Problem(f"expected a function called as {signature}, got the class {fn.__name__}.")
    if not callable(fn):
        raise Problem(f"expected a function called as {signature}, got {fn!r}.")


def _call(fn: Callable, args: tuple, label: str) -> Any:
    try:
        with time_limit():
            return fn(*args)
    except TimeLimitExceeded as exc:
        raise Problem(timeout_hint(exc, label)) from None
    except NotImplementedError:
        raise Problem(f"{label}: your function is not written yet (it raises NotImplementedError).") from None
    except TypeError as exc:
        if "positional argument" in str(exc) or "unexpected keyword" in str(exc):
            raise Problem(f"{label} raised TypeError: {exc}. Check your function's parameters.") from None
        raise Problem(f"{label} raised {describe_exception(exc)}") from None
    except Exception as exc:
        raise Problem(f"{label} raised {describe_exception(exc)}") from None


# ---------------------------------------------------------------- option A shortcut

def _zero_pad_body(fn: Any) -> str:
    signature = "fn(x, out_channels, stride)"
    _require_function(fn, signature)
    cases = ((16, 32, 2, 8), (16, 16, 1, 8), (8, 16, 2, 7), (16, 64, 2, 8))
    for cin, cout, stride, size in cases:
        x = torch.randn(2, cin, size, size, generator=torch.Generator().manual_seed(cin + size))
        x_before = x.clone()
        label = f"{getattr(fn, '__name__', 'fn')}(x of shape {tuple(x.shape)}, {cout}, {stride})"
        out = _call(fn, (x, cout, stride), label)
        if out is None:
            raise Problem(f"{label} returned None. Did you forget `return`?")
        if not isinstance(out, torch.Tensor):
            raise Problem(f"{label} returned a {type(out).__name__}; it should return one tensor.")
        if not torch.equal(x, x_before):
            raise Problem(f"{label} changed x in place; build a new tensor and leave x untouched.")
        side = math.ceil(size / stride)
        expected = (2, cout, side, side)
        if tuple(out.shape) != expected:
            got = tuple(out.shape)
            if len(got) == 4 and got[1] != cout:
                hint = (f"the output has {got[1]} channels, expected {cout}: add extra = out_channels - in_channels "
                        "zero channels, e.g. F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2)) (half before "
                        "the input's channels and half after, as ZeroPadShortcut) or F.pad(x, (0, 0, 0, 0, 0, extra)).")
            elif len(got) == 4 and got[2] == size and stride != 1:
                hint = (f"the output is {got[2]}x{got[3]}, expected {side}x{side}: subsample by the stride, "
                        "x[:, :, ::stride, ::stride].")
            else:
                hint = (f"the output has shape {got}, expected {expected}. On a {size}x{size} input, "
                        f"x[:, :, ::{stride}, ::{stride}] keeps {side} rows and columns.")
            raise Problem(f"{label}: {hint}")
        if out.requires_grad:
            raise Problem(
                f"{label}: the output requires grad although x does not, so your shortcut has learnable "
                "parameters. Option A has none: subsample and pad with zeros, nothing else."
            )
        kept = x[:, :, ::stride, ::stride]
        if not torch.isfinite(out).all():
            raise Problem(f"{label}: the output contains NaN or inf.")
        # The paper does not say where the zero channels go: any placement passes, as long as
        # the input's channels come through unchanged, in order, and every other channel is zero.
        placed = _passed_through(out, kept)
        if placed is None:
            nonzero = [c for c in range(cout) if out[:, c].abs().sum() != 0]
            if len(nonzero) == cin and stride > 1 and torch.allclose(
                    out[:, nonzero], F.avg_pool2d(x, stride, ceil_mode=True), atol=1e-5):
                raise Problem(f"{label}: you average-pool; option A keeps every stride-th pixel: x[:, :, ::stride, ::stride].")
            if len(nonzero) > cin:
                raise Problem(
                    f"{label}: {len(nonzero)} output channels are nonzero, but only the input's {cin} should be: "
                    f"the {cout - cin} added channels should hold zeros."
                )
            raise Problem(
                f"{label}: the output should hold the input's {cin} channels subsampled as "
                f"x[:, :, ::{stride}, ::{stride}] (pixels 0, {stride}, {2 * stride}, ...), unchanged and in order, "
                f"and {cout - cin} zero channels (before, after or both)."
            )
    x = torch.randn(2, 16, 8, 8, requires_grad=True)
    out = _call(fn, (x, 32, 2), "fn(x that requires grad, 32, 2)")
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        raise Problem(
            "the output does not carry gradients back to x: avoid .detach(), .data, numpy and "
            "torch.no_grad(); indexing and F.pad are differentiable."
        )
    return "the shortcut subsamples by the stride, adds zero channels and has no parameters (4 cases)."


def _passed_through(out: torch.Tensor, kept: torch.Tensor) -> list[int] | None:
    """The output channels that carry the input's, in order, if every other channel is zero; else None."""
    matched: list[int] = []
    for c in range(out.shape[1]):
        channel = out[:, c]
        if len(matched) < kept.shape[1] and torch.allclose(channel, kept[:, len(matched)]):
            matched.append(c)
        elif channel.abs().sum() != 0:
            return None
    return matched if len(matched) == kept.shape[1] else None


def check_zero_pad_shortcut(fn: Any, *, verbose: bool = True, raise_on_failure: bool = False) -> CheckResult:
    """Check an option-A shortcut function ``fn(x, out_channels, stride) -> tensor``.

    Expected: ``x[:, :, ::stride, ::stride]`` with ``out_channels - C`` zero channels added.
    The paper does not say where they go, so any placement passes (before, after, or half on
    each side as :class:`resnet_edu.models.shortcuts.ZeroPadShortcut` does by default) as long
    as the input's channels come through unchanged and in order; no parameters.
    He et al. 2015, section 3.3. Taught in chapter 2.

    Args:
        fn: the learner's function.
        verbose: print the result line.
        raise_on_failure: raise AssertionError with the hint instead of returning a failure.
    """
    return run_check("check_zero_pad_shortcut", lambda: _zero_pad_body(fn), verbose, raise_on_failure)


# ---------------------------------------------------------------- building a stage

def _recording(block_cls: type) -> type:
    """A subclass of ``block_cls`` that remembers the arguments it was built with."""

    class Recorded(block_cls):  # type: ignore[misc, valid-type]
        def __init__(self, in_channels: int, channels: int, stride: int = 1, *args: Any, **kwargs: Any) -> None:
            super().__init__(in_channels, channels, stride, *args, **kwargs)
            self.built_with = (in_channels, channels, stride)

    Recorded.__name__ = Recorded.__qualname__ = block_cls.__name__
    return Recorded


def _make_stage_body(fn: Any) -> str:
    from resnet_edu.models.blocks import BasicBlock, Bottleneck

    signature = "fn(block_cls, in_channels, channels, num_blocks, stride)"
    _require_function(fn, signature)
    cases = ((BasicBlock, 16, 32, 2, 2), (BasicBlock, 16, 16, 1, 1), (Bottleneck, 16, 8, 4, 2), (BasicBlock, 32, 32, 5, 1))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for block_cls, cin, c, n, stride in cases:
            block = _recording(block_cls)
            label = f"{getattr(fn, '__name__', 'fn')}({block_cls.__name__}, {cin}, {c}, {n}, {stride})"
            stage = _call(fn, (block, cin, c, n, stride), label)
            if stage is None:
                raise Problem(f"{label} returned None. Did you forget `return nn.Sequential(*blocks)`?")
            if isinstance(stage, (list, tuple)):
                raise Problem(f"{label} returned a {type(stage).__name__}: wrap the blocks as nn.Sequential(*blocks).")
            if isinstance(stage, nn.ModuleList):
                raise Problem(f"{label} returned an nn.ModuleList, which has no forward: use nn.Sequential(*blocks).")
            if not isinstance(stage, nn.Sequential):
                raise Problem(f"{label} returned a {type(stage).__name__}; expected nn.Sequential(*blocks).")
            blocks = list(stage)
            if len(blocks) != n:
                why = (
                    " Does your loop read `for _ in (1, num_blocks)`? That is a tuple of two numbers, "
                    "so it always adds 2 blocks: write `range(1, num_blocks)`."
                    if len(blocks) == 3 and n != 3 else
                    " Build one first block, then num_blocks - 1 more."
                )
                raise Problem(f"{label} has {len(blocks)} blocks, expected {n}.{why}")
            for i, b in enumerate(blocks):
                for j in range(i):
                    if blocks[j] is b:
                        raise Problem(
                            f"{label}: blocks {j} and {i} are the same object, so they share weights. "
                            "`[Block(...)] * n` repeats one block n times; create a new block in each loop "
                            "iteration (`for _ in range(1, num_blocks): blocks.append(block_cls(...))`)."
                        )
            for i, b in enumerate(blocks):
                if not isinstance(b, block):
                    raise Problem(f"{label}: block {i} is a {type(b).__name__}; build every block with block_cls.")
            out_c = c * block.expansion
            for i, b in enumerate(blocks):
                want = (cin, c, stride) if i == 0 else (out_c, c, 1)
                got = b.built_with
                if got[0] != want[0]:
                    why = (" The first block takes the stage's in_channels." if i == 0 else
                           f" After the first block the tensor has channels * block_cls.expansion = {out_c} channels.")
                    raise Problem(f"{label}: block {i} was built with in_channels={got[0]}, expected {want[0]}.{why}")
                if got[1] != want[1]:
                    raise Problem(f"{label}: block {i} was built with channels={got[1]}, expected {want[1]} (every block gets `channels`).")
                if got[2] != want[2]:
                    why = ("Only the first block downsamples; the others use stride 1." if i else
                           "The first block takes the stage's stride.")
                    raise Problem(f"{label}: block {i} was built with stride={got[2]}, expected {want[2]}. {why}")
            x = torch.randn(2, cin, 8, 8, generator=torch.Generator().manual_seed(n))
            out, _ = run_forward(stage, x, label)
            side = math.ceil(8 / stride)
            if tuple(out.shape) != (2, out_c, side, side):
                raise Problem(f"{label}: the stage maps (2, {cin}, 8, 8) to {tuple(out.shape)}, expected (2, {out_c}, {side}, {side}).")
    return "every stage has num_blocks distinct blocks, the right channels and strides, and runs (4 cases)."


def check_make_stage(fn: Any, *, verbose: bool = True, raise_on_failure: bool = False) -> CheckResult:
    """Check ``fn(block_cls, in_channels, channels, num_blocks, stride) -> nn.Sequential``.

    Expected: block 0 is ``block_cls(in_channels, channels, stride)``, blocks 1.. are
    ``block_cls(channels * block_cls.expansion, channels, 1)``, each a new object.
    Tried with :class:`~resnet_edu.models.blocks.BasicBlock` and :class:`~resnet_edu.models.blocks.Bottleneck`.
    Taught in chapter 4.

    Args:
        fn: the learner's function.
        verbose: print the result line.
        raise_on_failure: raise AssertionError with the hint instead of returning a failure.
    """
    return run_check("check_make_stage", lambda: _make_stage_body(fn), verbose, raise_on_failure)


# ---------------------------------------------------------------- CIFAR depth

def _cifar_depth_body(fn: Any) -> str:
    _require_function(fn, "fn(depth)")
    name = getattr(fn, "__name__", "fn")
    for depth in (8, 20, 32, 44, 56, 110, 1202):
        n = _call(fn, (depth,), f"{name}({depth})")
        expected = (depth - 2) // 6
        if isinstance(n, float) and n == expected:
            raise Problem(f"{name}({depth}) returned the float {n}; return an int: (depth - 2) // 6.")
        if isinstance(n, bool) or not isinstance(n, int):
            raise Problem(f"{name}({depth}) returned {n!r}; it should return an int, the blocks per stage.")
        if n != expected:
            raise Problem(
                f"{name}({depth}) returned {n}, expected {expected}: a CIFAR ResNet has 6n + 2 layers "
                "(the first conv, 3 stages of n blocks of 2 convs, the fc), so n = (depth - 2) / 6."
            )
    for depth in (21, 18, 0, -4):
        label = f"{name}({depth})"
        try:
            n = fn(depth)
        except ValueError:
            continue
        except Exception as exc:
            raise Problem(
                f"{label} raised {type(exc).__name__}; raise ValueError with a message saying which depths "
                "are allowed (6n + 2), not assert or another error type."
            ) from None
        raise Problem(f"{label} returned {n!r}, but {depth} is not of the form 6n + 2 (n >= 1): raise ValueError.")
    return "depths 8, 20, 32, 44, 56, 110, 1202 give the right n, and invalid depths raise ValueError."


def check_cifar_depth(fn: Any, *, verbose: bool = True, raise_on_failure: bool = False) -> CheckResult:
    """Check ``fn(depth) -> n``, the blocks per stage of a 6n+2-layer CIFAR ResNet.

    Expected: ``(depth - 2) // 6`` as an int for valid depths; ValueError for depths not of
    the form 6n + 2 with n >= 1. He et al. 2015, section 4.2. Taught in chapter 4.

    Args:
        fn: the learner's function.
        verbose: print the result line.
        raise_on_failure: raise AssertionError with the hint instead of returning a failure.
    """
    return run_check("check_cifar_depth", lambda: _cifar_depth_body(fn), verbose, raise_on_failure)


# ---------------------------------------------------------------- typed answers

def _fmt(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.4g}"


def _answer_body(name: str, value: Any, expected: float, tolerance: float, relative: bool,
                 mistakes: Mapping[float, str] | None) -> str:
    if value is ... or value is None:
        raise Problem(f"{name}: replace the placeholder with your answer (a number).")
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        raise Problem(f"{name}: expected a number, got {value!r} ({type(value).__name__}).")
    value = float(value)
    if not math.isfinite(value):
        raise Problem(f"{name}: {value} is not a finite number.")
    allowed = tolerance * abs(expected) if relative else tolerance
    diff = value - float(expected)
    if abs(diff) <= allowed:
        return f"{name} = {_fmt(value)} is right."
    for wrong, why in (mistakes or {}).items():
        if math.isclose(value, float(wrong), rel_tol=1e-9, abs_tol=max(allowed, 1e-12)):
            raise Problem(f"{name}: {_fmt(value)} is not right. {why}")
    if expected != 0:
        ratio = value / float(expected)
        for factor, words in ((2, "twice"), (0.5, "half"), (1e3, "1,000 times"), (1e-3, "1/1,000 of"),
                              (1e6, "a million times"), (1e-6, "a millionth of")):
            if math.isclose(ratio, factor, rel_tol=1e-3):
                raise Problem(f"{name}: {_fmt(value)} is {words} the expected value: check the units or a factor of 2 (e.g. FLOPs = 2 x MACs).")
    direction = "too high" if diff > 0 else "too low"
    return_text = f"{name}: {_fmt(value)} is {direction} by {_fmt(abs(diff))}"
    if expected != 0:
        return_text += f" ({abs(diff) / abs(float(expected)):.1%})"
    raise Problem(return_text + ".")


def check_answer(
    name: str,
    value: Any,
    expected: float,
    tolerance: float = 0.0,
    *,
    relative: bool = False,
    mistakes: Mapping[float, str] | None = None,
    verbose: bool = True,
    raise_on_failure: bool = False,
) -> CheckResult:
    """Check a number the learner computed by hand against one computed by the package.

    The hint says "too high by X (Y %)", names a factor (twice, 1,000 times) when the
    ratio is one, or gives the caller's explanation of a known wrong value.

    Args:
        name: what the number is, e.g. ``"parameters of BasicBlock(64, 128, stride=2)"``.
        value: the learner's answer (``...`` or None counts as "not answered yet").
        expected: the right value, computed by the caller from the package, never typed.
        tolerance: allowed absolute difference (or fraction of ``expected`` if ``relative``).
        relative: read ``tolerance`` as a fraction of ``expected``.
        mistakes: known wrong values mapped to an explanation, e.g. ``{with_bias: "..."}``.
        verbose: print the result line.
        raise_on_failure: raise AssertionError with the hint instead of returning a failure.
    """
    if isinstance(expected, bool) or not isinstance(expected, Real):
        raise TypeError(f"expected must be a number computed from the package, got {expected!r}")
    return run_check(
        "check_answer",
        lambda: _answer_body(name, value, expected, tolerance, relative, mistakes),
        verbose,
        raise_on_failure,
    )


def check_param_count(
    value: Any,
    model: nn.Module,
    *,
    name: str | None = None,
    mistakes: Mapping[float, str] | None = None,
    verbose: bool = True,
    raise_on_failure: bool = False,
) -> CheckResult:
    """Check a hand-computed parameter count against ``model``'s real one.

    Args:
        value: the learner's count.
        model: the module whose parameters are counted (each shared tensor once).
        name: what is counted, for the message (default "parameters of <class name>").
        mistakes: known wrong values mapped to an explanation.
        verbose: print the result line.
        raise_on_failure: raise AssertionError with the hint instead of returning a failure.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    expected = sum(p.numel() for p in model.parameters())
    name = name or f"parameters of {type(model).__name__}"
    return check_answer(name, value, expected, mistakes=mistakes, verbose=verbose, raise_on_failure=raise_on_failure)
