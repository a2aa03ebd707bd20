"""The capstone checker: a whole ImageNet ResNet built from the learner's own parts.

``check_resnet(my_resnet18)`` builds the learner's network and the package's
:func:`~resnet_edu.models.networks.resnet18` (torchvision's names and layout), loads the
package's weights into the learner's with ``strict=True`` and compares the outputs in eval
mode on seeded 224x224 and 256x256 inputs. Before that it looks at the structure (shared
blocks, blocks per stage, state_dict names and shapes), and when the outputs differ it
follows both forwards module by module and names the first place they part: a stage with
the wrong stride, a stem without its max pool or ReLU, a head that pools a fixed window.
Taught in chapter 4 (the capstone).
"""

from __future__ import annotations

import inspect
import re
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch
from torch import nn

from resnet_edu.teaching.checks.calls import (
    TimeLimitExceeded,
    backward_problems,
    construct,
    explain_forward_error,
    inspect_module,
    reused_layers,
    shared_modules,
    time_limit,
    timeout_hint,
    watch_layers,
)
from resnet_edu.teaching.checks.result import CheckResult, Problem, describe_exception, run_check

SIZES = (224, 256)  # the second size catches a head that only fits the first
GRADIENT_SIZE = 64  # the training-mode forward and backward (batch of 2) runs at this size
NAMES_HINT = (
    "Keep torchvision's names: conv1, bn1, relu, maxpool, layer1..layer4 (each an nn.Sequential of "
    "blocks with conv1, bn1, conv2, bn2 and, where the shape changes, downsample.0 and downsample.1), "
    "avgpool, fc."
)
_MATMUL = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")
_STAGE = re.compile(r"^layer(\d+)(?:\.(\d+))?")


def _reference(depth: int, num_classes: int) -> nn.Module:
    from resnet_edu.models.networks import IMAGENET_RESNETS

    return IMAGENET_RESNETS[f"resnet{depth}"](num_classes=num_classes)


def _takes_block_and_layers(network: Any) -> bool:
    """Whether ``network`` is a class called as ``cls(block, layers, num_classes=...)``.

    A class whose ``__init__`` takes fewer than two positional arguments is a builder
    like any function: ``cls(num_classes=...)``.
    """
    if not isinstance(network, type):
        return False
    try:
        parameters = list(inspect.signature(network).parameters.values())
    except (TypeError, ValueError):
        return True
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in parameters)


def _label(network: Any, num_classes: int, block: type | None, layers: list[int]) -> str:
    name = getattr(network, "__name__", type(network).__name__)
    if _takes_block_and_layers(network):
        return f"{name}({getattr(block, '__name__', block)}, {layers}, num_classes={num_classes})"
    return f"{name}(num_classes={num_classes})"


def _build(network: Any, num_classes: int, block: type | None, layers: list[int]) -> tuple[nn.Module, str]:
    """Call the learner's builder (or class) for ``num_classes`` outputs; any failure is a Problem."""
    label = _label(network, num_classes, block, layers)
    if isinstance(network, nn.Module):
        raise Problem(
            "pass the function (or class) that builds your network, not a network: check_resnet(my_resnet18), "
            "not check_resnet(my_resnet18()). The checker builds it itself, as my_resnet18(num_classes=...)."
        )
    if isinstance(network, type) and not issubclass(network, nn.Module):
        raise Problem(f"{network.__name__} does not inherit from nn.Module: write `class {network.__name__}(nn.Module):`")
    if _takes_block_and_layers(network):
        model = construct(network, (block, list(layers)), {"num_classes": num_classes}, label,
                          f"{network.__name__}(block, layers, num_classes=1000)")
    elif callable(network):
        try:
            with time_limit():
                model = network(num_classes=num_classes)
        except TimeLimitExceeded as exc:
            raise Problem(timeout_hint(exc, label)) from None
        except NotImplementedError:
            raise Problem(f"{label}: your code is not written yet (it raises NotImplementedError).") from None
        except TypeError as exc:
            if "num_classes" in str(exc) or "positional argument" in str(exc):
                raise Problem(f"{label} raised TypeError: {exc}. The checker calls your builder as "
                              "my_resnet18(num_classes=1000): give it a num_classes=1000 parameter.") from None
            raise Problem(f"{label} raised {describe_exception(exc)}") from None
        except Exception as exc:
            raise Problem(f"{label} raised {describe_exception(exc)}") from None
    else:
        raise Problem(f"expected a function that builds your network (my_resnet18) or its class, got {network!r}")
    if not isinstance(model, nn.Module):
        raise Problem(f"{label} returned a {type(model).__name__}; it should return the network (an nn.Module).")
    inspect_module(model, label)
    return model, label


# ------------------------------------------------------------------ structure

def _check_shared(model: nn.Module, label: str) -> None:
    shared = shared_modules(model)
    if shared:
        module, names = shared[0]
        raise Problem(
            f"{label}: {' and '.join(names[:2])} are one {type(module).__name__} object, so they share their "
            "weights (and torchvision's state_dict, which has different weights for each, cannot be loaded into "
            "it). `[Block(...)] * n` repeats one block n times; in your make_stage, create a new block in each "
            "loop iteration."
        )


def _check_stages(model: nn.Module, reference: nn.Module, label: str, depth: int) -> None:
    layers = list(reference.blocks_per_stage)
    for k, expected in enumerate(layers, start=1):
        stage = getattr(model, f"layer{k}", None)
        if not isinstance(stage, nn.Sequential) or len(stage) == expected:
            continue
        why = (" Does a loop read `for _ in (1, num_blocks)`? That is a tuple of two numbers: write "
               "`range(1, num_blocks)`." if len(stage) == 3 and expected != 3 else
               " make_stage builds one first block (with the stride) and num_blocks - 1 more.")
        raise Problem(
            f"{label}: layer{k} has {len(stage)} block{'s' * (len(stage) != 1)}, but ResNet-{depth} has {layers} blocks "
            f"per stage, so layer{k} needs {expected}.{why}"
        )


def _module_of(key: str) -> tuple[str, str]:
    module, _, tensor = key.rpartition(".")
    return module, tensor


def _rename_pairs(missing: list[str], unexpected: list[str], ours: dict, theirs: dict) -> list[tuple[str, str]]:
    """Pair each unexpected key with a missing one of the same tensor name and shape, in order."""
    free = list(missing)
    pairs = []
    for key in unexpected:
        tensor = _module_of(key)[1]
        match = next((m for m in free if _module_of(m)[1] == tensor and theirs[m].shape == ours[key].shape), None)
        if match is not None:
            free.remove(match)
            pairs.append((key, match))
    return pairs


def _explain_extra_or_missing(keys: list[str], have: bool) -> str | None:
    """A structural reason for a downsample that is there (``have``) or missing where it should not be."""
    for key in keys:
        match = re.match(r"^(layer(\d+)\.(\d+))\.downsample\.", key)
        if not match:
            continue
        block, stage, index = match.group(1), int(match.group(2)), int(match.group(3))
        if have:
            where = ("layer1 keeps the max pool's 56x56 map and 64 channels, so it has stride 1 and no projection; "
                     "only the first block of layer2, layer3 and layer4 has stride 2"
                     if stage == 1 else "only the first block of a stage changes the shape")
            return (f"{block} has a projection shortcut (downsample), but torchvision's {block} has none: {where}. "
                    f"Does {block} get a stride of 2 or the wrong in_channels?")
        if index == 0:
            return (f"{block} lacks its projection shortcut: the first block of layer{stage} halves the map and doubles "
                    "the channels, so its shortcut needs downsample = nn.Sequential(1x1 conv with stride 2, BatchNorm) "
                    "(option B), named downsample.0 and downsample.1.")
    return None


def _check_names(model: nn.Module, reference: nn.Module, label: str) -> None:
    ours, theirs = model.state_dict(), reference.state_dict()
    missing = [k for k in theirs if k not in ours]
    unexpected = [k for k in ours if k not in theirs]
    if missing or unexpected:
        reason = _explain_extra_or_missing(unexpected, have=True) or _explain_extra_or_missing(missing, have=False)
        if reason:
            raise Problem(f"{label}: {reason}")
        pairs = _rename_pairs(missing, unexpected, ours, theirs)
        if pairs:
            renames = list(dict.fromkeys(
                (mine.rpartition(".")[0] or mine, want.rpartition(".")[0] or want) for mine, want in pairs
            ))
            shown = ", ".join(f"`{mine}` -> `{want}`" for mine, want in renames[:4])
            more = f" (and {len(renames) - 4} more)" if len(renames) > 4 else ""
            raise Problem(
                f"{label}: the state_dict names differ from torchvision's, so its weights cannot load with "
                f"strict=True. Rename {shown}{more}. {NAMES_HINT}"
            )
        parts = []
        if missing:
            parts.append(f"missing (torchvision has them, yours does not): {', '.join(missing[:3])}"
                         + (f" and {len(missing) - 3} more" if len(missing) > 3 else ""))
        if unexpected:
            parts.append(f"unexpected (yours has them, torchvision does not): {', '.join(unexpected[:3])}"
                         + (f" and {len(unexpected) - 3} more" if len(unexpected) > 3 else ""))
        raise Problem(f"{label}: the state_dict does not match torchvision's; {'; '.join(parts)}. {NAMES_HINT}")
    for key, want in theirs.items():
        got = ours[key]
        if got.shape == want.shape:
            continue
        module = _module_of(key)[0]
        if module == "fc":
            if got.shape[0] != want.shape[0]:
                raise Problem(f"{label}: fc has {got.shape[0]} outputs, expected num_classes = {want.shape[0]}: "
                              "build it as nn.Linear(512 * block.expansion, num_classes).")
            raise Problem(f"{label}: fc takes {got.shape[1]} features, but layer4 outputs {want.shape[1]} "
                          "channels (512 * block.expansion): nn.Linear(512 * block.expansion, num_classes).")
        if got.dim() == 4 and want.dim() == 4:
            raise Problem(
                f"{label}: {module} is a {got.shape[2]}x{got.shape[3]} conv {got.shape[1]}->{got.shape[0]}, "
                f"torchvision's is a {want.shape[2]}x{want.shape[3]} conv {want.shape[1]}->{want.shape[0]}"
                + (": the stem's conv1 is nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)."
                   if module == "conv1" else ". Check the channels each stage gets (64, 128, 256, 512).")
            )
        raise Problem(f"{label}: {key} has shape {tuple(got.shape)}, torchvision's {tuple(want.shape)}.")


def _check_num_classes(network: Any, block: type | None, layers: list[int]) -> None:
    try:
        with torch.device("meta"):  # only the fc's size is read: no weights needed
            model, label = _build(network, 10, block, layers)
    except Problem:
        model, label = _build(network, 10, block, layers)
    fc = getattr(model, "fc", None)
    out = fc.out_features if isinstance(fc, nn.Linear) else None
    if out != 10:
        raise Problem(f"{label} builds an fc with {out} outputs: pass num_classes through to "
                      "nn.Linear(512 * block.expansion, num_classes) instead of a fixed 1000.")


def _randomise_norms(model: nn.Module, generator: torch.Generator) -> None:
    """BN statistics and affine parameters away from (0, 1), so a missing or swapped BN shows."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                c = module.num_features
                module.weight.copy_(0.5 + torch.rand(c, generator=generator))
                module.bias.copy_(0.1 * torch.randn(c, generator=generator))
                module.running_mean.copy_(0.1 * torch.randn(c, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(c, generator=generator))


def _load(model: nn.Module, state: dict, label: str) -> None:
    try:
        model.load_state_dict(state, strict=True)
    except Exception as exc:
        raise Problem(f"{label}: load_state_dict(torchvision's weights, strict=True) failed: "
                      f"{str(exc).strip().splitlines()[0]}") from None


# ------------------------------------------------------------------ following both forwards

class _Recorder:
    """Hooks on every named module: the order of calls, each module's first input and output shape
    and, with ``keep_values``, a copy of the tensors themselves."""

    def __init__(self, model: nn.Module, keep_values: bool) -> None:
        self.keep_values = keep_values
        self.events: list[tuple[str, str]] = []
        self.shapes: dict[tuple[str, str], tuple[int, ...]] = {}
        self.tensors: dict[tuple[str, str], torch.Tensor] = {}
        self.calls: dict[str, int] = {}
        self.stack: list[str] = []
        self.handles = []
        names: dict[int, str] = {}
        for name, module in model.named_modules():
            names.setdefault(id(module), name)
        for module in model.modules():
            name = names[id(module)]
            if not name:
                continue
            self.handles.append(module.register_forward_pre_hook(self._enter(name)))
            self.handles.append(module.register_forward_hook(self._leave(name)))

    def _keep(self, kind: str, name: str, value: Any) -> None:
        if (kind, name) in self.shapes or not isinstance(value, torch.Tensor):
            return
        self.events.append((kind, name))
        self.shapes[(kind, name)] = tuple(value.shape)
        if self.keep_values:
            self.tensors[(kind, name)] = value.detach().clone()  # an in-place op later must not change it

    def _enter(self, name: str) -> Callable:
        def hook(module: nn.Module, inputs: tuple) -> None:
            self.calls[name] = self.calls.get(name, 0) + 1
            self.stack.append(name)
            self._keep("in", name, inputs[0] if inputs else None)
        return hook

    def _leave(self, name: str) -> Callable:
        def hook(module: nn.Module, inputs: tuple, output: Any) -> None:
            if self.stack and self.stack[-1] == name:
                self.stack.pop()
            self._keep("out", name, output)
        return hook

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


@contextmanager
def _recording(model: nn.Module, keep_values: bool) -> Iterator[_Recorder]:
    recorder = _Recorder(model, keep_values)
    try:
        yield recorder
    finally:
        recorder.remove()


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape:
        return False
    scale = float(b.abs().max()) if b.numel() else 0.0
    return bool(torch.allclose(a, b, rtol=1e-4, atol=1e-5 * max(scale, 1.0)))


def _side(shape: tuple[int, ...]) -> str:
    return f"{shape[-2]}x{shape[-1]}" if len(shape) == 4 else str(shape)


def _forward_failure(exc: Exception, model: nn.Module, recorder: _Recorder, label: str, size: int) -> str:
    """The hint for a forward that raised, with the whole network's layout in mind."""
    where = recorder.stack[-1] if recorder.stack else ""
    if where == "fc" or _MATMUL.search(str(exc)):
        got = recorder.shapes.get(("in", "fc"))
        if got is not None and len(got) == 4 and got[-2:] != (1, 1):
            return (f"{label} on a {size}x{size} input: fc receives a {got} map, but it needs one "
                    f"vector per image, (N, {got[1]}): after layer4, average the whole map with "
                    "self.avgpool = nn.AdaptiveAvgPool2d(1) and flatten it, torch.flatten(x, 1), before self.fc.")
        if got is not None and len(got) == 4:
            return (f"{label} on a {size}x{size} input: fc receives a {got} tensor: flatten the pooled "
                    "map first, x = torch.flatten(x, 1), so fc gets (N, channels).")
        if got is not None and len(got) == 2:
            pooled = recorder.shapes.get(("out", "avgpool"))
            fixed = (f" Your avgpool gives a {_side(pooled)} map here: a fixed window fits one input "
                     "size only; nn.AdaptiveAvgPool2d(1) pools the whole map at any size."
                     if pooled is not None and len(pooled) == 4 and pooled[-2:] != (1, 1) else "")
            return (f"{label} on a {size}x{size} input: fc receives {got[1]} features per image, but it was built "
                    f"for {getattr(getattr(model, 'fc', None), 'in_features', '?')}.{fixed}")
    if isinstance(exc, RuntimeError) and "Output size is too small" in str(exc) and "pool" in where:
        return (f"{label} on a {size}x{size} input: {where} fails ({describe_exception(exc)}): its fixed window is "
                "larger than the map. Use nn.AdaptiveAvgPool2d(1), which pools the whole map at any size.")
    module = model.get_submodule(where) if where else model
    return explain_forward_error(exc, module, f"{label}: {where or 'forward'}", None)


def _forward(model: nn.Module, x: torch.Tensor, label: str, size: int,
             keep_values: bool = False, limited: bool = True) -> tuple[torch.Tensor, _Recorder]:
    with _recording(model, keep_values) as recorder, watch_layers(model):
        try:
            with time_limit(None if limited else 0):
                out = model(x)
        except TimeLimitExceeded as exc:
            raise Problem(f"{label}: {timeout_hint(exc, 'forward')}") from None
        except Problem as problem:
            raise Problem(f"{label}: {problem}") from None
        except Exception as exc:
            raise Problem(_forward_failure(exc, model, recorder, label, size)) from None
    if not isinstance(out, torch.Tensor):
        raise Problem(f"{label}: forward returned a {type(out).__name__}; it should return one tensor, the logits.")
    return out, recorder


def _check_output_shape(out: torch.Tensor, expected: tuple[int, ...], label: str, size: int) -> None:
    if tuple(out.shape) == expected:
        return
    if out.dim() == 4:
        raise Problem(f"{label}: on a {size}x{size} input forward returns a {tuple(out.shape)} map, expected the logits "
                      f"{expected}: after layer4 come self.avgpool (nn.AdaptiveAvgPool2d(1)), torch.flatten(x, 1) "
                      "and self.fc.")
    raise Problem(f"{label}: on a {size}x{size} input forward returns shape {tuple(out.shape)}, expected {expected}.")


def _stage_of(name: str) -> int | None:
    match = _STAGE.match(name)
    return int(match.group(1)) if match else None


def _stride_hint(stage: int, mine: _Recorder, theirs: _Recorder, label: str, size: int) -> str | None:
    """If layer``stage`` changes the resolution differently from torchvision's, say how."""
    name = f"layer{stage}"
    key_in, key_out = ("in", name), ("out", name)
    if key_in not in mine.shapes or key_out not in mine.shapes:
        return None
    got_in, got_out = mine.shapes[key_in], mine.shapes[key_out]
    want_in, want_out = theirs.shapes[key_in], theirs.shapes[key_out]
    if got_in[-2:] != want_in[-2:] or got_out[-2:] == want_out[-2:]:
        return None
    keeps = got_out[-2:] == got_in[-2:]
    if stage == 1:
        return (f"{label}: on a {size}x{size} input layer1 turns the {_side(got_in)} map into {_side(got_out)}, but "
                f"torchvision's layer1 keeps it at {_side(want_out)}: layer1 has stride 1 (the max pool has already "
                "halved the map); only layer2, layer3 and layer4 start with a stride-2 block.")
    if keeps:
        return (f"{label}: on a {size}x{size} input layer{stage} keeps the {_side(got_in)} map, but torchvision's "
                f"halves it to {_side(want_out)}: the first block of layer{stage} has stride 2, as in every stage "
                "after layer1.")
    return (f"{label}: on a {size}x{size} input layer{stage} turns the {_side(got_in)} map into {_side(got_out)}, "
            f"torchvision's into {_side(want_out)}: only the first block of the stage has stride 2, the others 1.")


def _explain_difference(event: tuple[str, str], model: nn.Module, mine: _Recorder, theirs: _Recorder, label: str,
                        size: int, first_size: int) -> str:
    kind, name = event
    got, want = mine.tensors[event], theirs.tensors[event]
    stage = _stage_of(name)
    if stage is not None:
        for k in range(1, stage + 1):
            hint = _stride_hint(k, mine, theirs, label, size)
            if hint:
                return hint
    if name in ("layer1", "layer1.0") and kind == "in" or (stage is None and name not in ("avgpool", "fc")):
        if got.shape != want.shape:
            maxpool = " The stem ends with a max pool: self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)."
            return (f"{label}: on a {size}x{size} input the stem gives layer1 a {_side(tuple(got.shape))} map, "
                    f"torchvision's a {_side(tuple(want.shape))} map ({size} -> {size // 2} by conv1 with stride 2, "
                    f"-> {size // 4} by the max pool).{maxpool if got.shape[-1] == 2 * want.shape[-1] else ''}")
        unused = [n for n in ("relu", "maxpool") if isinstance(getattr(model, n, None), nn.Module)
                  and mine.calls.get(n, 0) == 0]
        if unused:
            return (f"{label}: the stem's output differs from torchvision's: self.{unused[0]} is created but never "
                    "called in forward. The stem is conv1 -> bn1 -> ReLU -> max pool.")
        return (f"{label}: the stem's output differs from torchvision's although conv1 and bn1 hold its weights: "
                "the stem is conv1 -> bn1 -> ReLU -> max pool (kernel 3, stride 2, padding 1), in that order.")
    if name == "avgpool" or (name == "fc" and kind == "in"):
        if size != first_size:
            return (f"{label}: the outputs match on a {first_size}x{first_size} input but not on {size}x{size}: "
                    "the pool before fc covers a fixed window, which fits one input size only (on this input it "
                    "pools part of the map). Use nn.AdaptiveAvgPool2d(1), which averages the whole map at any size.")
        return (f"{label}: layer4's output matches torchvision's, but what reaches fc does not: average the whole map "
                "(nn.AdaptiveAvgPool2d(1)), then torch.flatten(x, 1).")
    if stage is not None:
        block = ".".join(name.split(".")[:2]) if name.count(".") >= 1 else name
        return (f"{label}: on a {size}x{size} input {block}'s output differs from torchvision's although its input "
                f"and weights agree (first difference: the {kind}put of {name}). Compare your block with the "
                "chapter 2 BasicBlock: conv1 (with the stride) -> bn1 -> ReLU -> conv2 -> bn2, plus the shortcut "
                "(downsample(x) where the shape changes), then ReLU after the addition.")
    return f"{label}: on a {size}x{size} input the {kind}put of {name} differs from torchvision's."


def _compare(model: nn.Module, reference: nn.Module, label: str, num_classes: int) -> None:
    for size in SIZES:
        x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(size))
        with torch.no_grad():
            want, _ = _forward(reference, x, "torchvision's ResNet", size, limited=False)
            got, _ = _forward(model, x, label, size)
        _check_output_shape(got, tuple(want.shape), label, size)
        if _close(got, want):
            continue
        with torch.no_grad():  # again, keeping every module's input and output, to find where they part
            _, theirs = _forward(reference, x, "torchvision's ResNet", size, keep_values=True, limited=False)
            _, mine = _forward(model, x, label, size, keep_values=True)
        for event in theirs.events:
            if event in mine.tensors and not _close(mine.tensors[event], theirs.tensors[event]):
                raise Problem(_explain_difference(event, model, mine, theirs, label, size, SIZES[0]))
        diff = float((got - want).abs().max())
        raise Problem(f"{label}: on a {size}x{size} input the outputs differ from torchvision's (largest difference "
                      f"{diff:.3g}) although every layer's weights are torchvision's: check the order of the layers "
                      "in forward (stem, layer1..layer4, avgpool, flatten, fc).")


def _check_gradients(model: nn.Module, label: str) -> None:
    model.train()
    x = torch.randn(2, 3, GRADIENT_SIZE, GRADIENT_SIZE, generator=torch.Generator().manual_seed(GRADIENT_SIZE))
    with watch_layers(model) as calls:
        try:
            with time_limit():
                out = model(x)
        except TimeLimitExceeded as exc:
            raise Problem(f"{label}: {timeout_hint(exc, 'forward')}") from None
        except Exception as exc:
            raise Problem(f"{label} in training mode: forward raised {describe_exception(exc)}") from None
    reused = reused_layers(model, calls)
    if reused:
        raise Problem(f"{label}: {reused[0]} runs more than once in one forward; every position needs its own layer.")
    backward_problems(model, out, calls, label)


def _body(network: Any, depth: int, block: type | None) -> str:
    from resnet_edu.models.networks import IMAGENET_RESNETS

    if f"resnet{depth}" not in IMAGENET_RESNETS:
        raise Problem(f"depth must be one of {sorted(int(n[6:]) for n in IMAGENET_RESNETS)}, got {depth!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        reference = _reference(depth, 1000)
        layers = list(reference.blocks_per_stage)
        block = block or type(reference.layer1[0])
        model, label = _build(network, 1000, block, layers)
        _check_shared(model, label)
        _check_stages(model, reference, label, depth)
        _check_names(model, reference, label)
        _check_num_classes(network, block, layers)
        _randomise_norms(reference, torch.Generator().manual_seed(depth))
        reference.eval()
        _load(model, reference.state_dict(), label)
        model.eval()
        _compare(model, reference, label, 1000)
        _check_gradients(model, label)
    name = getattr(network, "__name__", "your network")
    return (f"{name}: torchvision's ResNet-{depth} names and shapes, its weights load with strict=True, the same "
            f"outputs on {SIZES[0]}x{SIZES[0]} and {SIZES[1]}x{SIZES[1]} inputs, fc follows num_classes, and every "
            "layer gets a gradient.")


def check_resnet(
    network: Any,
    depth: int = 18,
    *,
    block: type | None = None,
    verbose: bool = True,
    raise_on_failure: bool = False,
) -> CheckResult:
    """Check a whole ImageNet ResNet against torchvision's layout, weights and outputs.

    ``network`` is a builder called as ``network(num_classes=1000)`` (and ``=10``), or a
    class whose ``__init__`` takes the block and the blocks per stage, called as
    ``network(block, layers, num_classes=1000)``. The package's
    ``resnet{depth}`` (torchvision's names) gives the reference: its state_dict must load
    into the learner's network with ``strict=True``, and the outputs must agree in eval
    mode on 224x224 and 256x256 inputs; hints name shared blocks, blocks per stage, names
    to rename, the stage with the wrong stride, the stem's max pool and ReLU, and the
    head. Taught in chapter 4 (the capstone).

    Args:
        network: the learner's builder (``my_resnet18``) or network class.
        depth: 18, 34 (basic blocks), 50, 101 or 152 (bottlenecks).
        block: for a class only, the block class passed to it (default: the package's).
        verbose: print the result line.
        raise_on_failure: raise AssertionError with the hint instead of returning a failure.
    """
    return run_check("check_resnet", lambda: _body(network, depth, block), verbose, raise_on_failure)
