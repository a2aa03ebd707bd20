"""Find common bugs in any network: shared blocks, dead layers, missing shortcuts, fixed pools.

``diagnose(model)`` looks at the module tree, runs one forward and backward pass on a
random batch, then one forward at a second input size, and returns a list of
:class:`Finding`. It works on a copy, so the model's weights, BN statistics, gradients
and training flag are left as they were. Taught in chapter 8 (and used on the seed
notes' buggy networks in its exercises).

What it detects (the ``kind`` of a finding):

- ``shared-module``: one module object reachable under two names, as ``[Block(...)] * n``
  makes; the copies share weights.
- ``no-gradient``: parameters that get no gradient: never called, or their output never
  reaches the model's output (e.g. ``out = self.conv3(x)`` overwriting the branch).
- ``shape-mismatch``: a forward that fails adding two tensors of different shapes: a
  shortcut missing where a block changes the shape.
- ``fixed-size-pooling``: a non-adaptive pool whose windows fit one input size only
  (``nn.AvgPool2d(7)`` before the fc): it fails at another size, or, worse, runs and
  silently pools only part of the map (``nn.AvgPool2d(7)``, stride 7, averages the
  top-left 7x7 of an 8x8 map); any pool whose windows leave rows or columns unread at
  one of the two sizes tried.
- ``forward-error``, ``input-size``, ``non-finite``: any other failure of the forward,
  one that only appears at the second size, and NaN/inf outputs.
"""

from __future__ import annotations

import copy
import textwrap
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import nn

from resnet_edu.teaching.checks.calls import (
    SIZE_MISMATCH,
    explain_size_mismatch,
    gradient_gaps,
    module_paths,
    shared_modules,
)
from resnet_edu.teaching.checks.result import describe_exception

_POOLS = (nn.AvgPool2d, nn.MaxPool2d)

#: Printed findings fold their lines at this width, continuation lines indented by 4.
WIDTH = 88


@dataclass(frozen=True)
class Finding:
    """One problem found by :func:`diagnose`.

    Args:
        kind: a short tag, e.g. ``"shared-module"`` (see the module docstring).
        where: the module's name in the model (``"layer2.0.conv1"``), or ``"model"``.
        message: what is wrong and what to do, in plain words.
    """

    kind: str
    where: str
    message: str

    def __str__(self) -> str:
        text = f"[{self.kind}] {self.where}: {self.message}"
        return "\n".join(textwrap.fill(line, WIDTH, subsequent_indent="    ", break_on_hyphens=False)
                         for line in text.splitlines())


class Diagnosis(list):
    """The findings of :func:`diagnose`: a list that prints one finding per paragraph.

    Each finding starts a new line; long ones fold at :data:`WIDTH` characters with an
    indent of 4, so they fit a notebook's output without scrolling.
    """

    def __str__(self) -> str:
        return "\n".join(str(f) for f in self) if self else "no problems found"

    def __repr__(self) -> str:
        return str(self)

    def kinds(self) -> set[str]:
        """The set of finding kinds, e.g. ``{"shared-module"}``."""
        return {f.kind for f in self}


def print_diagnosis(findings: Sequence[Finding]) -> None:
    """Print each finding (folded at :data:`WIDTH` characters), or "no problems found".

    Args:
        findings: what :func:`diagnose` returned.
    """
    print(Diagnosis(findings))


def _name(path: str) -> str:
    return path or "model"


def _shared_modules(model: nn.Module) -> list[Finding]:
    findings = []
    for module, paths in shared_modules(model):
        count = sum(p.numel() for p in module.parameters())
        findings.append(Finding(
            "shared-module", " = ".join(paths),
            f"one {type(module).__name__} object appears under {len(paths)} names, so they share its "
            f"{count:,} parameters and learn the same weights. `[Block(...)] * n` repeats one object; "
            "create a new module for each position (e.g. in a loop).",
        ))
    return findings


class _Tracker:
    """Hooks that follow the forward: the innermost running module, calls and input shapes."""

    def __init__(self, model: nn.Module) -> None:
        self.paths: dict[int, str] = {}
        for name, module in model.named_modules(remove_duplicate=False):
            self.paths.setdefault(id(module), name)
        self.stack: list[nn.Module] = []
        self.calls: dict[int, int] = {}
        self.inputs: dict[int, tuple[int, ...]] = {}
        self.outputs: dict[int, tuple[int, ...]] = {}
        self.handles = []
        for module in model.modules():
            self.handles.append(module.register_forward_pre_hook(self._enter))
            self.handles.append(module.register_forward_hook(self._leave))

    def _enter(self, module: nn.Module, inputs: tuple) -> None:
        self.stack.append(module)
        self.calls[id(module)] = self.calls.get(id(module), 0) + 1
        if inputs and isinstance(inputs[0], torch.Tensor):
            self.inputs[id(module)] = tuple(inputs[0].shape)

    def _leave(self, module: nn.Module, inputs: tuple, output: Any) -> None:
        if self.stack and self.stack[-1] is module:
            self.stack.pop()
        if isinstance(output, torch.Tensor):
            self.outputs[id(module)] = tuple(output.shape)

    def innermost(self) -> nn.Module | None:
        return self.stack[-1] if self.stack else None

    def where(self, module: nn.Module | None) -> str:
        return _name(self.paths.get(id(module), "")) if module is not None else "model"

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _explain_failure(exc: Exception, tracker: _Tracker, size_text: str) -> Finding:
    module = tracker.innermost()
    where = tracker.where(module)
    label = type(module).__name__ if module is not None else "model"
    text = str(exc)
    match = SIZE_MISMATCH.search(text)
    if match:
        a, b, dim = (int(g) for g in match.groups())
        x_shape = tracker.inputs.get(id(module)) if module is not None else None
        return Finding("shape-mismatch", where, f"on a {size_text} input, an addition in {label}.forward failed: "
                       f"{explain_size_mismatch(a, b, dim, x_shape)}.")
    if isinstance(module, _POOLS):
        got = tracker.inputs.get(id(module))
        seen = f" gets a {got[-2]}x{got[-1]} map and" if got and len(got) == 4 else ""
        return Finding("fixed-size-pooling", where, f"{module!r}{seen} fails on a {size_text} input "
                       f"({describe_exception(exc)}). Use nn.AdaptiveAvgPool2d(1) before the fc so any size works.")
    if isinstance(exc, AttributeError) and module is not None and f"'{type(module).__name__}' object has no attribute" in text:
        attribute = text.rsplit("'", 2)[-2]
        return Finding("forward-error", where, f"{label}.forward uses self.{attribute}, but its __init__ never "
                       f"sets it: assign self.{attribute} in __init__ (None when unused).")
    return Finding("forward-error", where, f"on a {size_text} input, {label} raised {describe_exception(exc)}")


def _default_input(model: nn.Module) -> tuple[int, ...]:
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return (module.in_channels, 224, 224)
        if isinstance(module, nn.Linear):
            return (module.in_features,)
    raise ValueError(
        "cannot guess the input size of a model without Conv2d or Linear layers: pass "
        "input_size=(C, H, W), e.g. diagnose(model, input_size=(3, 32, 32))"
    )


def _size_text(shape: tuple[int, ...]) -> str:
    return f"{shape[-2]}x{shape[-1]}" if len(shape) >= 3 else f"{shape[-1]}-feature"


def _outputs(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [o for o in out if isinstance(o, torch.Tensor)]
    if isinstance(out, dict):
        return [o for o in out.values() if isinstance(o, torch.Tensor)]
    return []


def _gradient_findings(model: nn.Module, outputs: list[torch.Tensor], tracker: _Tracker) -> list[Finding]:
    outputs = [o for o in outputs if o.requires_grad]
    if not outputs:
        return [Finding("no-gradient", "model", "the output does not require grad, so nothing can be trained: "
                        "does forward detach, use torch.no_grad(), or go through numpy?")]
    unused, cut = gradient_gaps(model, outputs[0], tracker.calls)
    layers = {path: layer for layer_id, path in module_paths(model).items()
              for layer in model.modules() if id(layer) == layer_id}
    findings = []
    for paths, message in ((unused, "gets no gradient: it is created in __init__ but never called in forward."),
                           (cut, "gets no gradient: it runs in forward, but its output never reaches the model's "
                                 "output (overwritten or discarded, e.g. `out = self.conv3(x)` instead of "
                                 "`self.conv3(out)`).")):
        for path in paths:
            layer = layers[path]
            dead = [n for n, p in layer.named_parameters(recurse=False) if p.grad is None]
            findings.append(Finding("no-gradient", _name(path.removeprefix("self.")),
                                    f"{type(layer).__name__} ({', '.join(dead)}) {message}"))
    return findings


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _uncovered(pool: nn.Module, shape_in: tuple[int, ...]) -> tuple[int, int]:
    """Rows and columns at the bottom and right of the map that no window of ``pool`` reads."""
    kernel, stride = _pair(pool.kernel_size), _pair(pool.stride if pool.stride is not None else pool.kernel_size)
    padding, dilation = _pair(pool.padding), _pair(getattr(pool, "dilation", 1))
    missed = []
    for size, k, s, p, d in zip(shape_in[-2:], kernel, stride, padding, dilation):
        span = d * (k - 1) + 1
        if size + 2 * p < span:
            missed.append(0)  # the window does not fit at all: the forward fails, reported elsewhere
            continue
        steps = (size + 2 * p - span + (s - 1 if pool.ceil_mode else 0)) // s
        last_end = steps * s + span - p  # one past the last input row the last window reads
        missed.append(max(size - last_end, 0))
    return missed[0], missed[1]


def _pool_findings(model: nn.Module, tracker: _Tracker, tried: list[tuple[str, dict, dict]], failure: str) -> list[Finding]:
    """Fixed-size pools whose windows do not cover the whole map at some tried input size.

    A pool that makes a 1x1 map at the first size is meant to pool globally; it is flagged
    when the forward then fails at the second size (``failure``), and any pool is flagged
    at a size where its windows leave rows or columns of its input unread: silently, since
    the forward runs (``nn.AvgPool2d(7)``, stride 7, on an 8x8 map averages its top-left 7x7).

    Args:
        model: the model (its copy that ran).
        tracker: names the modules.
        tried: ``(size text, inputs, outputs)`` per forward, the shapes seen per module id.
        failure: how the forward failed at the second size, or ``""``.
    """
    findings = []
    first_text, first_in, first_out = tried[0]
    for module in model.modules():
        if not isinstance(module, _POOLS):
            continue
        shape_in, shape_out = first_in.get(id(module)), first_out.get(id(module))
        if not shape_in or not shape_out or len(shape_out) != 4:
            continue
        is_global = shape_out[-2:] == (1, 1) and shape_in[-2:] != (1, 1)
        if is_global and failure:
            findings.append(Finding(
                "fixed-size-pooling", tracker.where(module),
                f"{module!r} turns the {shape_in[-2]}x{shape_in[-1]} map of a {first_text} input into 1x1, "
                f"but only at that size: on a {tried[-1][0]} input the forward fails "
                f"{failure}. Use nn.AdaptiveAvgPool2d(1) so any input size works.",
            ))
            continue
        for size_text, inputs, outputs in tried:
            seen_in, seen_out = inputs.get(id(module)), outputs.get(id(module))
            if not seen_in or not seen_out or len(seen_in) != 4:
                continue
            rows, cols = _uncovered(module, seen_in)
            if not rows and not cols:
                continue
            height, width = seen_in[-2:]
            read = f"{height - rows}x{width - cols}"
            what = "averages" if isinstance(module, nn.AvgPool2d) else "takes the maximum of"
            if is_global:
                advice = ("Use nn.AdaptiveAvgPool2d(1), which pools the whole map at any size." if isinstance(module, nn.AvgPool2d)
                          else "Use nn.AdaptiveMaxPool2d(1), which pools the whole map at any size.")
                fits = (f"pools the whole {shape_in[-2]}x{shape_in[-1]} map of a {first_text} input, but on a "
                        f"{size_text} input it" if size_text != first_text else f"on a {size_text} input")
                message = (f"{module!r} {fits} {what} only the top-left {read} of the {height}x{width} map "
                           f"and ignores the rest, silently (the output is {seen_out[-2]}x{seen_out[-1]} and the "
                           f"forward runs). {advice}")
            else:
                message = (f"{module!r} on the {height}x{width} map of a {size_text} input reads only its top-left "
                           f"{read}: the last {rows} row(s) and {cols} column(s) fall outside every window, silently. "
                           "Add padding, use ceil_mode=True, or an adaptive pool.")
            findings.append(Finding("fixed-size-pooling", tracker.where(module), message))
            break
    return findings


def diagnose(model: nn.Module, input_size: Sequence[int] | None = None) -> Diagnosis:
    """Report shared modules, dead parameters, missing shortcuts and fixed-size pools in ``model``.

    Runs on a deep copy (the model itself is not changed): one forward and backward on a
    random batch of 2 at ``input_size``, then one forward at a size 32 pixels larger.

    Args:
        model: any nn.Module.
        input_size: one example's shape, ``(C, H, W)`` (or ``(features,)``); default: the
            first Conv2d's in_channels at 224x224, or the first Linear's in_features.

    Returns:
        A :class:`Diagnosis` (a list of :class:`Finding`); prints "no problems found" when empty.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"diagnose expects an nn.Module, got {type(model).__name__}")
    shape = tuple(input_size) if input_size is not None else _default_input(model)
    if not shape or any(not isinstance(s, int) or s < 1 for s in shape):
        raise ValueError(f"input_size must be positive ints such as (3, 224, 224), got {input_size!r}")
    findings = Diagnosis(_shared_modules(model))
    try:
        work = copy.deepcopy(model)
    except Exception:  # a model that cannot be copied is diagnosed in place, then restored
        work = model
    saved = {k: v.clone() for k, v in work.state_dict().items()} if work is model else None
    grads = {id(p): p.grad for p in work.parameters()} if work is model else None
    modes = [(module, module.training) for module in work.modules()]  # given back in the finally
    first_text = _size_text(shape)
    tracker = _Tracker(work)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            work.train()
            work.zero_grad(set_to_none=True)
            x = torch.randn(2, *shape)
            try:
                out = work(x)
            except Exception as exc:
                findings.append(_explain_failure(exc, tracker, first_text))
                return findings
            outputs = _outputs(out)
            if not outputs:
                findings.append(Finding("forward-error", "model", f"forward returned a {type(out).__name__}, not a tensor."))
                return findings
            if not all(torch.isfinite(o).all() for o in outputs):
                findings.append(Finding("non-finite", "model", "the output contains NaN or inf on a random input."))
            findings.extend(_gradient_findings(work, outputs, tracker))
            if len(shape) == 3:
                second = (shape[0], shape[1] + 32, shape[2] + 32)
                first_shapes = dict(tracker.inputs), dict(tracker.outputs)
                tracker.inputs, tracker.outputs = {}, {}
                tracker.stack.clear()
                work.eval()
                failure, failure_text = None, ""
                try:
                    with torch.no_grad():
                        work(torch.randn(2, *second))
                except Exception as exc:
                    failure = _explain_failure(exc, tracker, _size_text(second))
                    failure_text = f"at {failure.where}: {describe_exception(exc)}"
                tried = [(first_text, *first_shapes), (_size_text(second), tracker.inputs, tracker.outputs)]
                tracker.inputs, tracker.outputs = first_shapes
                pools = _pool_findings(work, tracker, tried, failure_text)
                if pools:
                    findings.extend(pools)
                elif failure is not None:
                    findings.append(Finding("input-size", failure.where, f"works on a {first_text} input but not "
                                            f"on {_size_text(second)}: {failure.message}"))
    finally:
        tracker.remove()
        if work is model:
            model.load_state_dict(saved)
            for p in model.parameters():
                p.grad = grads.get(id(p))
        for module, mode in modes:
            module.training = mode
    return findings
