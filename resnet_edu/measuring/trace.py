"""Shape traces: what each part of a network does to the shape of its input.

``trace_shapes(model, (1, 224, 224))`` runs one forward pass with forward hooks on the
chosen modules and records, in call order, each module's output shape and parameter
count. It works for any ``nn.Module``, whatever its ``forward`` does, because hooks see
every call. For full per-layer summaries use :func:`summary` (a thin torchinfo wrapper).
Taught in chapter 2 (a trace through each block) and chapter 4 (the seed's ResNet-18 trace).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import torch
from torch import nn

from resnet_edu.core.tabular import html_table, text_table
from resnet_edu.core.running import example_input, model_run
from resnet_edu.core.levels import select_modules



@dataclass(frozen=True)
class TraceRow:
    """One row of a shape trace.

    Attributes:
        path: the module's name inside the model (``"layer1.0"``), ``"conv1..maxpool"``
            for a grouped stem, ``"(forward)"`` for an operation with no module.
        type: the module's class name (``"Stem"``, ``"flatten"`` for the rows above).
        output_shape: the output's shape without the batch dimension, e.g. ``(64, 56, 56)``.
        parameters: the parameters the module holds (all its submodules included).
    """

    path: str
    type: str
    output_shape: tuple[int, ...]
    parameters: int


@dataclass
class ShapeTrace:
    """The result of :func:`trace_shapes`: rows plus what they were traced on.

    Prints as a plain-text table and shows as an HTML table in a notebook.

    Attributes:
        rows: the :class:`TraceRow` records, in call order.
        input_shape: the traced input's shape, without the batch dimension.
        level: ``"top"``, ``"blocks"`` or ``"layers"``.
        total_parameters: ``count_parameters(model)`` (shared tensors counted once).
    """

    rows: list[TraceRow]
    input_shape: tuple[int, ...]
    level: str
    total_parameters: int = field(default=0)

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        """The output shapes, one per row."""
        return [row.output_shape for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[TraceRow]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> TraceRow:
        return self.rows[index]

    def __str__(self) -> str:
        headers, cells = _cells(self.rows)
        footer = f"input {format_shape(self.input_shape)}; total parameters {self.total_parameters:,}"
        return text_table(headers, cells, footer)

    def _repr_html_(self) -> str:
        headers, cells = _cells(self.rows)
        caption = f"input {format_shape(self.input_shape)}; {self.total_parameters:,} parameters"
        return html_table(headers, cells, caption)


def format_shape(shape: Sequence[int]) -> str:
    """Write a shape the way the book does: ``(64, 56, 56)`` -> ``"64x56x56"``, ``(10,)`` -> ``"10"``.

    Args:
        shape: a shape without the batch dimension (``()`` for a scalar per example).
    """
    return "x".join(str(d) for d in shape) if len(shape) else "scalar"


def _cells(rows: Sequence[TraceRow]) -> tuple[list[str], list[list[str]]]:
    headers = ["layer", "type", "output shape", "parameters"]
    cells = [[r.path, r.type, format_shape(r.output_shape), f"{r.parameters:,}"] for r in rows]
    return headers, cells


def trace_shapes(
    model: nn.Module,
    input_shape: Sequence[int],
    level: str = "top",
    *,
    group_stem: bool = True,
    batch_size: int = 1,
) -> ShapeTrace:
    """Run one forward pass and record each module's output shape, in call order.

    Forward hooks on the modules of :func:`select_modules` record every call (a module
    called twice, like a shared ReLU, gives two rows). Operations that live in
    ``forward`` rather than in a module (``torch.flatten``) are invisible to hooks; where
    a module receives a 1-D-per-example input whose size matches the previous output
    (a flatten), a ``(forward) flatten`` row is inserted, as the seed's ``nn.Flatten``.
    The model runs in eval mode under ``torch.no_grad()``; every module's training
    flag is restored afterwards. Taught in chapters 2 and 4.

    For ``resnet18(in_channels=1, num_classes=10)`` on ``(1, 224, 224)``, ``level="top"``
    gives the seed's trace: 64x56x56 (stem), 64x56x56, 128x28x28, 256x14x14, 512x7x7,
    512x1x1, 512, 10.

    Args:
        model: any ``nn.Module`` (a package network, a plain twin, or your own).
        input_shape: the shape of ONE example, without the batch dimension, e.g.
            ``(1, 224, 224)``.
        level: ``"top"`` (the model's children), ``"blocks"`` (every block) or
            ``"layers"`` (every leaf layer); see :func:`select_modules`.
        group_stem: for models with ``stage_names`` (the package's ResNets), merge the
            rows before the first stage into one ``Stem`` row (levels top and blocks).
        batch_size: examples in the traced batch (shapes are reported without it).

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``.
        ValueError: if ``input_shape`` is not a sequence of positive ints, or ``level``
            is not one of ``"top"``, ``"blocks"``, ``"layers"``.
    """
    modules = select_modules(model, level)
    input_shape = _check_shape(input_shape)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    calls: list[tuple[str, nn.Module, Any, Any]] = []
    hooks = [
        module.register_forward_hook(lambda m, inp, out, p=path: calls.append((p, m, inp, out)))
        for path, module in modules
    ]
    try:
        with model_run(model) as where:
            model(example_input(where, (batch_size, *input_shape)))
    finally:
        for hook in hooks:
            hook.remove()
    rows = _rows(calls)
    if group_stem and level != "layers":
        rows = _group_stem(rows, getattr(model, "stage_names", None))
    total = sum(p.numel() for p in model.parameters())
    return ShapeTrace(rows, input_shape, level, total)


def _rows(calls: list[tuple[str, nn.Module, Any, Any]]) -> list[TraceRow]:
    rows: list[TraceRow] = []
    for path, module, inputs, output in calls:
        inp = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
        if rows and inp is not None and inp.dim() == 2 and len(rows[-1].output_shape) > 1:
            previous = rows[-1].output_shape
            if inp.shape[1] == _numel(previous):
                rows.append(TraceRow("(forward)", "flatten", tuple(inp.shape[1:]), 0))
        params = sum(p.numel() for p in module.parameters())
        rows.append(TraceRow(path or type(module).__name__, type(module).__name__, _shape_of(output), params))
    return rows


def _group_stem(rows: list[TraceRow], stage_names: Sequence[str] | None) -> list[TraceRow]:
    if not stage_names:
        return rows
    first_stage = stage_names[0]
    start = next(
        (i for i, r in enumerate(rows) if r.path == first_stage or r.path.startswith(first_stage + ".")),
        None,
    )
    if not start:
        return rows
    stem = rows[:start]
    seen: dict[str, int] = {r.path: r.parameters for r in stem}  # a reused ReLU counts once
    path = f"{stem[0].path}..{stem[-1].path}"
    return [TraceRow(path, "Stem", stem[-1].output_shape, sum(seen.values()))] + rows[start:]


def _shape_of(output: Any) -> tuple[int, ...]:
    if isinstance(output, torch.Tensor):
        return tuple(output.shape[1:])
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return tuple(output[0].shape[1:])  # first tensor of a tuple output
    return ()


def _numel(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _check_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    ok = isinstance(input_shape, (tuple, list, torch.Size)) and len(input_shape) > 0
    ok = ok and all(not isinstance(d, bool) and isinstance(d, int) and d > 0 for d in input_shape)
    if not ok:
        raise ValueError(
            "input_shape must be the shape of one example without the batch dimension, a "
            f"non-empty tuple of positive ints such as (1, 224, 224); got {input_shape!r}"
        )
    return tuple(input_shape)


def summary(model: nn.Module, input_size: Sequence[int], depth: int = 3, **kwargs: Any) -> Any:
    """A full per-layer summary by torchinfo, with the columns the book uses.

    A thin wrapper over ``torchinfo.summary``: output size, parameters and
    multiply-adds per layer, nested ``depth`` deep, nothing printed (the returned
    ``ModelStatistics`` prints itself, with unit letters such as "(G)" on every Python
    version). Taught in chapter 4.

    Args:
        model: the network.
        input_size: the input's shape WITH the batch dimension, e.g. ``(1, 3, 224, 224)``.
        depth: how many levels of nested modules to show.
        **kwargs: passed to ``torchinfo.summary`` (e.g. ``col_names``, ``device``).
    """
    from torchinfo import summary as torchinfo_summary

    options: dict[str, Any] = {
        "col_names": ("output_size", "num_params", "mult_adds"),
        "depth": depth,
        "verbose": 0,
        "row_settings": ("var_names",),
    }
    options.update(kwargs)
    return ModelSummary(torchinfo_summary(model, input_size=tuple(input_size), **options))


class ModelSummary:
    """torchinfo's ``ModelStatistics``, printed with unit letters such as "(G)" on every Python.

    torchinfo 1.8 formats its ``Units`` enum with ``str()``, which Python 3.11 changed to
    "Units.GIGABYTES". This wrapper prints the letters again and passes every attribute
    through to the statistics (``total_params``, ``total_mult_adds``, ``summary_list``, ...).

    Args:
        statistics: what ``torchinfo.summary`` returned.
    """

    def __init__(self, statistics: Any) -> None:
        self.statistics = statistics

    def __getattr__(self, name: str) -> Any:
        return getattr(self.statistics, name)

    def __str__(self) -> str:
        from torchinfo.enums import Units

        text = str(self.statistics)
        return re.sub(r"\(Units\.([A-Z]+)\)", lambda m: f"({Units[m.group(1)].value})", text)

    __repr__ = __str__
