"""Cost tables: the parameters and multiply-accumulates of each stage, block or layer.

``cost_table(model, input_size, level)`` counts each module's parameters and its
multiply-accumulates (MACs), the latter by PyTorch's own counter,
``torch.utils.flop_counter.FlopCounterMode`` (per-module FLOPs from
``get_flop_counts()``, halved: one MAC is a multiply and an add). As in the paper
and :func:`~resnet_edu.measuring.counting.count_macs`, only convolutions and matrix products
count; BN, ReLU, pooling and the shortcut additions do not. Taught in chapter 4.
The paper's Table 1 is :mod:`resnet_edu.measuring.table1`; the comparison with published
numbers lives in :mod:`resnet_edu.measuring.comparison`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from resnet_edu.core.tabular import html_table, text_table
from resnet_edu.core.running import example_input, model_run
from resnet_edu.core.levels import select_modules


@dataclass(frozen=True)
class CostRow:
    """One row of a cost table.

    Attributes:
        name: the module's path (``"layer2"``, ``"layer2.0"``), ``"conv1..maxpool"`` for
            a grouped stem, ``"(forward)"`` for work done outside any listed module.
        type: the module's class name (``"Stem"`` for a grouped stem).
        parameters: parameters held by the module and its submodules.
        macs: multiply-accumulates of one forward pass of the whole input batch.
    """

    name: str
    type: str
    parameters: int
    macs: int


@dataclass
class CostTable:
    """The result of :func:`cost_table`; prints as text, shows as HTML in a notebook.

    Attributes:
        rows: one :class:`CostRow` per selected module, in registration order.
        input_size: the counted input's shape, batch included.
        total_parameters: all parameters of the model (shared tensors counted once).
        total_macs: all MACs of one forward pass (equals the sum of the rows).
    """

    rows: list[CostRow]
    input_size: tuple[int, ...]
    total_parameters: int
    total_macs: int

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[CostRow]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> CostRow:
        return self.rows[index]

    def row(self, name: str) -> CostRow:
        """The row called ``name`` (e.g. ``"layer3"``); KeyError if there is none.

        Args:
            name: a row's ``name``.
        """
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no row {name!r}; rows are {[r.name for r in self.rows]}")

    def __str__(self) -> str:
        headers, cells = _cells(self)
        return text_table(headers, cells, f"input {tuple(self.input_size)}; MACs = multiply-accumulates")

    def _repr_html_(self) -> str:
        headers, cells = _cells(self)
        return html_table(headers, cells, f"input {tuple(self.input_size)}")


def _cells(table: CostTable) -> tuple[list[str], list[list[str]]]:
    headers = ["module", "type", "parameters", "% params", "MACs", "% MACs"]
    p_total, m_total = max(table.total_parameters, 1), max(table.total_macs, 1)
    cells = [
        [r.name, r.type, f"{r.parameters:,}", f"{100 * r.parameters / p_total:.1f}%", f"{r.macs:,}",
         f"{100 * r.macs / m_total:.1f}%"]
        for r in table.rows
    ]
    cells.append(["total", "", f"{table.total_parameters:,}", "100.0%", f"{table.total_macs:,}", "100.0%"])
    return headers, cells


def cost_table(
    model: nn.Module,
    input_size: Sequence[int] = (1, 3, 224, 224),
    level: str = "top",
    *,
    group_stem: bool = True,
) -> CostTable:
    """Parameters and MACs of each stage, block or layer of ``model`` for one input size.

    MACs come from ``FlopCounterMode.get_flop_counts()`` (FLOPs / 2), parameters from
    each module's own tensors. The model runs once on zeros in eval mode under
    ``torch.no_grad()``; its modules' training flags are restored. If the model does
    matrix work outside every listed module (e.g. ``F.linear`` in its ``forward``),
    that remainder gets a ``(forward)`` row, so the rows always add up to the totals.
    Tip: build big networks under ``with torch.device("meta"):`` to count them in
    milliseconds without allocating their weights. Taught in chapter 4.

    Args:
        model: any ``nn.Module``.
        input_size: the input's shape WITH the batch dimension, e.g. ``(1, 3, 224, 224)``.
        level: ``"top"`` (stages: the model's children), ``"blocks"`` or ``"layers"``
            (see :func:`resnet_edu.core.levels.select_modules`).
        group_stem: for the package's ResNets (models with ``stage_names``), merge the
            modules before the first stage into one ``Stem`` row (levels top, blocks).

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``.
        ValueError: for a bad ``level`` or ``input_size``.
    """
    modules = select_modules(model, level)
    size = tuple(input_size) if isinstance(input_size, (tuple, list, torch.Size)) else ()
    if len(size) < 2 or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in size):
        raise ValueError(
            f"input_size must be the input's shape with the batch dimension, e.g. (1, 3, 224, 224); got {input_size!r}"
        )
    counts = _flop_counts(model, size)
    root = type(model).__name__
    rows = []
    for path, module in modules:
        key = f"{root}.{path}" if path else root
        flops = sum(counts.get(key, {}).values())
        rows.append(CostRow(path or root, type(module).__name__, sum(p.numel() for p in module.parameters()), flops // 2))
    if group_stem and level != "layers":
        rows = _group_stem(rows, getattr(model, "stage_names", None))
    total_macs = sum(counts.get("Global", {}).values()) // 2
    rest = total_macs - sum(r.macs for r in rows)
    if rest:
        rows.append(CostRow("(forward)", "functional", 0, rest))
    return CostTable(rows, size, sum(p.numel() for p in model.parameters()), total_macs)


def _flop_counts(model: nn.Module, size: tuple[int, ...]) -> dict[str, dict]:
    with model_run(model) as where, FlopCounterMode(display=False) as counter:
        model(example_input(where, size))
    return counter.get_flop_counts()


def _group_stem(rows: list[CostRow], stage_names: Sequence[str] | None) -> list[CostRow]:
    if not stage_names:
        return rows
    start = next((i for i, r in enumerate(rows) if r.name.split(".")[0] == stage_names[0]), None)
    if not start:
        return rows
    stem = rows[:start]
    name = f"{stem[0].name}..{stem[-1].name}"
    return [CostRow(name, "Stem", sum(r.parameters for r in stem), sum(r.macs for r in stem))] + rows[start:]
