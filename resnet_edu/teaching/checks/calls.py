"""Calling a learner's code safely: every way it can fail becomes one :class:`Problem`.

:func:`construct` builds an instance, :func:`inspect_module` looks at what ``__init__``
made, :func:`run_forward` calls it under hooks that catch a layer fed the wrong number of
channels, and :func:`backward_problems` finds parameters the output does not depend on.

A learner's ``__init__`` or ``forward`` that never returns (an endless loop) is stopped
after :func:`get_time_limit` seconds (default 10; :func:`set_time_limit` changes it) and
becomes a hint instead of a hung notebook. The limit uses ``SIGALRM`` (``signal.setitimer``),
so it works in the main thread on Linux and macOS, which is where a Jupyter kernel, and
``nbgrader autograde``'s kernel, run a cell. Where ``SIGALRM`` does not exist (Windows) or
off the main thread, the code runs without a limit.
"""

from __future__ import annotations

import math
import os
import re
import signal
import threading
import traceback
from contextlib import contextmanager
from typing import Any, Iterator

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin

from resnet_edu.teaching.checks.result import Problem, describe_exception

SIZE_MISMATCH = re.compile(
    r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) at non-singleton dimension (\d+)"
)
_NO_ATTRIBUTE = re.compile(r"'(\w+)' object has no attribute '(\w+)'")
_AXIS = {1: "channels", 2: "rows (height)", 3: "columns (width)"}

#: Seconds a learner's ``__init__`` or ``forward`` may run before the checker stops it;
#: the environment variable ``RESNET_EDU_CHECK_TIME_LIMIT`` overrides it (0: no limit).
DEFAULT_TIME_LIMIT = 10.0
_time_limit: float | None = None  # None: DEFAULT_TIME_LIMIT or the environment's


class TimeLimitExceeded(Exception):
    """Raised inside the learner's code when the time limit of :func:`time_limit` runs out."""


def get_time_limit() -> float:
    """The limit, in seconds, on one call of a learner's ``__init__`` or ``forward`` (0: none)."""
    if _time_limit is not None:
        return _time_limit
    text = os.environ.get("RESNET_EDU_CHECK_TIME_LIMIT", "")
    try:
        return max(float(text), 0.0) if text else DEFAULT_TIME_LIMIT
    except ValueError:
        return DEFAULT_TIME_LIMIT


def set_time_limit(seconds: float | None) -> float:
    """Set the limit on one call of a learner's code; return the previous one.

    Args:
        seconds: positive seconds; ``0`` for no limit; ``None`` for the default (10 s,
            or the environment variable ``RESNET_EDU_CHECK_TIME_LIMIT``).

    Raises:
        ValueError: for a negative or non-numeric limit.
    """
    global _time_limit
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0):
        raise ValueError(f"the time limit must be seconds >= 0 (0: no limit) or None (the default), got {seconds!r}")
    previous = get_time_limit()
    _time_limit = None if seconds is None else float(seconds)
    return previous


def limit_available() -> bool:
    """Whether a time limit can be enforced here: SIGALRM exists and this is the main thread."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(seconds: float | None = None) -> Iterator[None]:
    """Raise :class:`TimeLimitExceeded` inside the block once ``seconds`` have passed.

    Uses ``SIGALRM``; a limit already running outside (a nested call) is restored with the
    time it had left. Without ``SIGALRM`` or off the main thread, the block runs unlimited.

    Args:
        seconds: the limit; ``None`` reads :func:`get_time_limit`; ``0`` means none.
    """
    seconds = get_time_limit() if seconds is None else seconds
    if not seconds or not limit_available():
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise TimeLimitExceeded(f"stopped after {seconds:g} s")

    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    outer_left, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if outer_left:  # an enclosing limit keeps running (at least a moment, so it still fires)
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - seconds, 0.001))


def timeout_hint(exc: TimeLimitExceeded, what: str) -> str:
    """The hint for code stopped by the time limit: what ran too long and the line it was on.

    Args:
        exc: the exception raised by the alarm (its traceback names the learner's line).
        what: e.g. ``"MyBlock(16, 32, stride=2).forward"``.
    """
    line = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        name = frame.filename.replace("\\", "/")
        if "/torch/" in name or "/resnet_edu/" in name:  # the alarm's handler, hooks, nn.Module.__call__
            continue
        code = (frame.line or "").strip()
        line = f" It was at line {frame.lineno}" + (f": `{code}`" if code else "") + " when it was stopped."
        break
    return (
        f"{what} did not return within {get_time_limit():g} s, so the checker stopped it.{line} "
        "Is there a loop that never ends, e.g. a `while` whose condition never becomes false, or a "
        "forward that calls itself?"
    )


def attribute_path(name: str) -> str:
    """``"downsample.0"`` -> ``"self.downsample[0]"``: a module's name as forward writes it.

    Args:
        name: a dotted name from ``named_modules`` or ``named_parameters``.
    """
    if not name:
        return "self"
    path = "self"
    for part in name.split("."):
        path += f"[{part}]" if part.isdigit() else f".{part}"
    return path


def module_paths(module: nn.Module) -> dict[int, str]:
    """Map ``id(submodule)`` to its first attribute path (shared modules keep the first)."""
    paths: dict[int, str] = {}
    for name, sub in module.named_modules(remove_duplicate=False):
        paths.setdefault(id(sub), attribute_path(name))
    return paths


def shared_modules(model: nn.Module) -> list[tuple[nn.Module, list[str]]]:
    """Modules with parameters reachable under two or more names (``[Block(...)] * n``).

    Shared by the checkers and :func:`~resnet_edu.teaching.diagnose.diagnose`. Only the
    outermost shared module is listed (not each of its layers again).

    Args:
        model: any module.

    Returns:
        ``(module, names)`` pairs, outermost first; names as ``named_modules`` gives them.
    """
    names: dict[int, list[str]] = {}
    modules: dict[int, nn.Module] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        if any(True for _ in module.parameters()):
            names.setdefault(id(module), []).append(name)
            modules[id(module)] = module
    found, reported = [], []
    for key, paths in sorted(names.items(), key=lambda item: min(len(n) for n in item[1])):
        if len(paths) < 2 or all(any(p.startswith(r + ".") for r in reported) for p in paths):
            continue
        reported.extend(paths)
        found.append((modules[key], paths))
    return found


def require_module_class(cls: Any, signature: str) -> None:
    """Raise a Problem unless ``cls`` is a class deriving from nn.Module.

    Args:
        cls: what the learner passed to the checker.
        signature: how the class is called, e.g. ``"MyBlock(in_channels, out_channels, stride=1)"``.
    """
    if isinstance(cls, nn.Module):
        raise Problem(
            f"pass the class itself, not an instance: check(MyBlock), not check(MyBlock(...)). "
            f"The checker builds its own instances as {signature}."
        )
    if not isinstance(cls, type):
        raise Problem(f"expected a class (defined with `class MyBlock(nn.Module):`), got {cls!r}")
    if not issubclass(cls, nn.Module):
        raise Problem(
            f"{cls.__name__} does not inherit from nn.Module: write `class {cls.__name__}(nn.Module):`"
        )


def construct(cls: type, args: tuple, kwargs: dict, label: str, signature: str) -> nn.Module:
    """Call ``cls(*args, **kwargs)``; a failure becomes a Problem naming the cause.

    Args:
        cls: the learner's class.
        args: positional arguments.
        kwargs: keyword arguments.
        label: how the call reads, e.g. ``"MyBlock(16, 32, stride=2)"``.
        signature: the expected signature, quoted when the call does not fit it.
    """
    try:
        with time_limit():
            instance = cls(*args, **kwargs)
    except TimeLimitExceeded as exc:
        raise Problem(timeout_hint(exc, label)) from None
    except NotImplementedError:
        raise Problem(
            f"{cls.__name__}.__init__ is not written yet (it raises NotImplementedError): "
            "replace `raise NotImplementedError()` with your code."
        ) from None
    except AttributeError as exc:
        if "before Module.__init__() call" in str(exc):
            raise Problem(
                f"{label} failed: {exc}. Call `super().__init__()` as the first line of "
                f"{cls.__name__}.__init__, before creating any layer."
            ) from None
        raise Problem(f"{label} raised {describe_exception(exc)}") from None
    except TypeError as exc:
        text = str(exc)
        if "__init__()" in text and ("argument" in text or "positional" in text) and "Conv" not in text:
            raise Problem(
                f"{label} raised TypeError: {text}. The checker calls {signature}: "
                "does your __init__ take these arguments?"
            ) from None
        raise Problem(f"{label} raised {describe_exception(exc)}") from None
    except Exception as exc:
        raise Problem(f"{label} raised {describe_exception(exc)}") from None
    if "_modules" not in vars(instance):
        raise Problem(
            f"{label} was built without nn.Module's set-up: call `super().__init__()` as the "
            f"first line of {cls.__name__}.__init__."
        )
    return instance


def inspect_module(module: nn.Module, label: str) -> None:
    """Raise a Problem for layers PyTorch cannot see or cannot count yet.

    Args:
        module: the learner's freshly built module.
        label: how it was built, for the message.
    """
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
        if any(isinstance(item, nn.Module) for item in items):
            raise Problem(
                f"{label}: self.{name} is a plain Python {type(value).__name__} of layers, so PyTorch "
                "does not register them (no parameters, not moved by .to(), not saved). "
                f"Use nn.ModuleList or nn.Sequential: self.{name} = nn.ModuleList([...])."
            )
    for path_name, sub in module.named_modules():
        if isinstance(sub, LazyModuleMixin):
            raise Problem(
                f"{label}: {attribute_path(path_name)} is a lazy layer ({type(sub).__name__}), whose "
                "weights do not exist until the first forward, so its parameters cannot be counted. "
                "State the input channels explicitly, e.g. nn.Conv2d(in_channels, out_channels, 3, padding=1)."
            )


@contextmanager
def watch_layers(module: nn.Module) -> Iterator[dict[int, int]]:
    """Count calls per layer and stop at the first conv/BN fed the wrong number of channels.

    Yields a dict ``id(layer) -> calls`` for every layer that owns parameters.

    Args:
        module: the learner's module; hooks are removed on exit.
    """
    paths = module_paths(module)
    calls: dict[int, int] = {}

    def pre_hook(layer: nn.Module, inputs: tuple) -> None:
        calls[id(layer)] = calls.get(id(layer), 0) + 1
        x = inputs[0] if inputs else None
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            return
        where = paths.get(id(layer), type(layer).__name__)
        if isinstance(layer, nn.Conv2d) and x.shape[1] != layer.in_channels:
            raise Problem(
                f"{where} was built for {layer.in_channels} input channels but received a tensor with "
                f"{x.shape[1]}. Is every layer applied to the previous layer's output "
                "(e.g. `out = self.conv2(out)`, not `self.conv2(x)`), and does each conv's in_channels "
                "equal the out_channels of the layer before it?"
            )
        if isinstance(layer, nn.modules.batchnorm._BatchNorm) and x.shape[1] != layer.num_features:
            raise Problem(
                f"{where} is nn.BatchNorm2d({layer.num_features}) but received {x.shape[1]} channels: "
                "a BatchNorm's size must equal the out_channels of the conv right before it."
            )

    handles = [
        sub.register_forward_pre_hook(pre_hook)
        for sub in module.modules()
        if isinstance(sub, (nn.Conv2d, nn.modules.batchnorm._BatchNorm))
        or any(True for _ in sub.parameters(recurse=False))
    ]
    try:
        yield calls
    finally:
        for handle in handles:
            handle.remove()


def explain_size_mismatch(a: int, b: int, dim: int, x_shape: tuple[int, ...] | None) -> str:
    """Why two tensors added in a block differ (``a`` vs ``b`` along ``dim``), in plain words.

    Args:
        a: the first tensor's size along ``dim`` (from PyTorch's message).
        b: the second tensor's size.
        dim: the dimension (1 channels, 2 height, 3 width).
        x_shape: the block's input shape, to tell a missing stride from missing padding.
    """
    if dim == 1:
        return (
            f"the two tensors have {a} and {b} channels. When the channel count changes, the shortcut "
            "needs a projection: `identity = self.downsample(x)` with a 1x1 conv (in_channels -> "
            "out_channels, stride=stride) + BN"
        )
    what = _AXIS.get(dim, f"sizes along dimension {dim}")
    size = x_shape[dim] if x_shape is not None and len(x_shape) > dim else None
    small = min(a, b)
    if size is not None and max(a, b) == size and small == math.ceil(size / 2):
        return (
            f"the two tensors have {a} and {b} {what}: one path is downsampled by the stride and the other "
            "is not. With stride 2 the shortcut needs a projection too, a 1x1 conv with stride=stride (+ BN), "
            "and the branch's first conv takes stride=stride"
        )
    if size is not None and small < size and small not in (math.ceil(size / 2), math.ceil(size / 4)):
        return (
            f"the two tensors have {a} and {b} {what}: the residual branch shrank. Every 3x3 convolution "
            "needs padding=1 to keep the size"
        )
    return (
        f"the two tensors have {a} and {b} {what}. The shortcut must have the branch's shape: check the "
        "stride and padding=1 of each convolution, and project the shortcut where the shape changes"
    )


def explain_forward_error(
    exc: Exception, module: nn.Module, label: str, x_shape: tuple[int, ...] | None = None
) -> str:
    """The hint for an exception raised by a learner's forward.

    Args:
        exc: the exception.
        module: the module whose forward raised it.
        label: how the module was built, e.g. ``"MyBlock(16, 32, stride=2)"``.
        x_shape: the input's shape, to tell a missing stride from missing padding.
    """
    text = str(exc)
    name = type(module).__name__
    if isinstance(exc, NotImplementedError):
        if 'missing the required "forward" function' in text:
            return (
                f"{name} has no forward method: define `def forward(self, x):` inside the class "
                "(check its spelling and indentation)."
            )
        return f"{name}.forward is not written yet (it raises NotImplementedError)."
    match = SIZE_MISMATCH.search(text)
    if match:
        a, b, dim = (int(g) for g in match.groups())
        return f"{label}: the addition failed: {explain_size_mismatch(a, b, dim, x_shape)}{_last_line(exc)}."
    match = _NO_ATTRIBUTE.search(text)
    if isinstance(exc, AttributeError) and match and match.group(1) == name:
        attribute = match.group(2)
        extra = " (`self.downsample = None` where no projection is needed)" if attribute == "downsample" else ""
        return (
            f"{label}: forward uses self.{attribute}, but __init__ never sets it. "
            f"Assign self.{attribute} in __init__{extra}."
        )
    if isinstance(exc, TypeError) and "forward()" in text and "positional argument" in text:
        return f"{label}: {text}. forward should take one input: `def forward(self, x):`."
    return f"{label}.forward raised {describe_exception(exc)}"


def _last_line(exc: BaseException) -> str:
    line = describe_exception(exc)
    start = line.rfind(" (line ")
    return line[start:] if start >= 0 else ""


def run_forward(module: nn.Module, x: torch.Tensor, label: str) -> tuple[torch.Tensor, dict[int, int]]:
    """Call ``module(x)`` under :func:`watch_layers`; return the output and the call counts.

    Raises a Problem if forward raises, returns anything but one tensor, or runs longer
    than :func:`get_time_limit` seconds.

    Args:
        module: the learner's module.
        x: the input batch.
        label: how the module was built, for the messages.
    """
    with watch_layers(module) as calls:
        try:
            with time_limit():
                out = module(x)
        except TimeLimitExceeded as exc:
            raise Problem(f"{label}: {timeout_hint(exc, 'forward')}") from None
        except Problem as problem:
            raise Problem(f"{label}: {problem}") from None
        except Exception as exc:
            raise Problem(explain_forward_error(exc, module, label, tuple(x.shape))) from None
    if out is None:
        raise Problem(f"{label}: forward returned None. Did you forget `return out` at its end?")
    if isinstance(out, (tuple, list)):
        raise Problem(
            f"{label}: forward returned a {type(out).__name__} of {len(out)} items; "
            "it should return one tensor, the block's output."
        )
    if not isinstance(out, torch.Tensor):
        raise Problem(f"{label}: forward returned a {type(out).__name__}; it should return a tensor.")
    return out, calls


def reused_layers(module: nn.Module, calls: dict[int, int]) -> list[str]:
    """Paths of layers with parameters that one forward called more than once.

    Args:
        module: the learner's module.
        calls: the counts from :func:`watch_layers`.
    """
    paths = module_paths(module)
    return [
        paths[id(sub)]
        for sub in module.modules()
        if calls.get(id(sub), 0) > 1 and any(True for _ in sub.parameters(recurse=False))
    ]


def backward_problems(module: nn.Module, out: torch.Tensor, calls: dict[int, int], label: str) -> None:
    """Backpropagate a random weighting of ``out``; raise if some parameter gets no gradient.

    Args:
        module: the learner's module (its grads are cleared first).
        out: the output of one forward.
        calls: the counts from :func:`watch_layers`, to tell unused from disconnected layers.
        label: how the module was built, for the message.
    """
    module.zero_grad(set_to_none=True)
    if not out.requires_grad:
        raise Problem(
            f"{label}: the output does not require grad, so nothing can be trained. Does forward "
            "detach the tensor, use torch.no_grad(), or build a new tensor from .data or numpy?"
        )
    try:
        unused, cut = gradient_gaps(module, out, calls)
    except Exception as exc:
        hint = ""
        if "modified by an inplace operation" in str(exc):
            hint = " An in-place operation overwrote a tensor autograd still needed: write `out = out + identity`."
        raise Problem(f"{label}: backward raised {describe_exception(exc)}.{hint}") from None
    if unused:
        raise Problem(
            f"{label}: {', '.join(unused)} {'is' if len(unused) == 1 else 'are'} created in __init__ "
            "but never used in forward."
        )
    if cut:
        raise Problem(
            f"{label}: {', '.join(cut)} run{'s' if len(cut) == 1 else ''} in forward, but the output does "
            "not depend on them (they get no gradient): their result is overwritten or thrown away. "
            "Is each layer applied to the previous layer's output (`out = self.conv3(out)`, not `self.conv3(x)`)?"
        )


def gradient_gaps(module: nn.Module, out: torch.Tensor, calls: dict[int, int]) -> tuple[list[str], list[str]]:
    """Backpropagate a seeded random weighting of ``out``; the layers that got no gradient.

    Shared by the checkers (:func:`backward_problems`) and :func:`~resnet_edu.teaching.diagnose.diagnose`.

    Args:
        module: the module (gradients accumulate into its parameters' ``.grad``).
        out: an output of one forward, requiring grad.
        calls: calls per layer during that forward (``id(layer) -> count``), to tell a layer
            that never ran (first list) from one whose output was thrown away (second list).

    Returns:
        ``(unused, cut)``: paths of the layers never called, and of those called whose
        result does not reach ``out``.
    """
    weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(1), dtype=out.dtype)
    (out * weights).sum().backward()
    paths = module_paths(module)
    owner = {id(p): sub for sub in module.modules() for p in sub.parameters(recurse=False)}
    unused: list[str] = []
    cut: list[str] = []
    for _, parameter in module.named_parameters():
        if not parameter.requires_grad or parameter.grad is not None:
            continue
        layer = owner[id(parameter)]
        path = paths[id(layer)] or type(layer).__name__
        target = unused if calls.get(id(layer), 0) == 0 else cut
        if path not in target:
            target.append(path)
    return unused, cut
