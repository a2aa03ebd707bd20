"""Which modules a trace or a table shows: the model's children, its blocks, or its leaf layers.

Shared by :mod:`resnet_edu.measuring.trace`, :mod:`resnet_edu.measuring.costs` and :mod:`resnet_edu.measuring.gradients`,
so that "a block" means the same thing in every tool. Taught in chapter 4.
"""

from __future__ import annotations

from torch import nn

LEVELS: tuple[str, ...] = ("top", "blocks", "layers")
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def select_modules(model: nn.Module, level: str = "top") -> list[tuple[str, nn.Module]]:
    """The modules a trace or a cost table shows at ``level``, as ``(path, module)`` pairs.

    - ``"top"``: the model's direct children (``conv1, ..., layer1, ..., fc``).
    - ``"blocks"``: the same, but containers (``nn.Sequential``, ``nn.ModuleList``,
      ``nn.ModuleDict``) are opened, recursively: a ResNet's stages become its blocks.
    - ``"layers"``: every leaf module (one with no children): convs, norms, ReLUs, ...

    A model with no children is its own only module (path ``""``).

    Args:
        model: any module.
        level: ``"top"``, ``"blocks"`` or ``"layers"``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    if next(model.children(), None) is None:
        return [("", model)]
    if level == "layers":
        return [(p, m) for p, m in model.named_modules() if p and next(m.children(), None) is None]
    selected: list[tuple[str, nn.Module]] = []

    def visit(prefix: str, module: nn.Module) -> None:
        for name, child in module.named_children():
            path = f"{prefix}{name}"
            if level == "blocks" and isinstance(child, _CONTAINERS) and next(child.children(), None):
                visit(f"{path}.", child)
            else:
                selected.append((path, child))

    visit("", model)
    return selected
