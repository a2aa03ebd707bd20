"""Tables read off built networks: the paper's Table 1, and per-stage or per-block costs.

``table1(networks)`` regenerates He et al. 2015, Table 1 (output size of each stage at
224x224 and the bracket of convolutions its blocks repeat) from the modules themselves.

``cost_table(model, input_size, level)`` counts each module's parameters and its
multiply-accumulates (MACs), the latter by PyTorch's own counter,
``torch.utils.flop_counter.FlopCounterMode`` (per-module FLOPs from
``get_flop_counts()``, halved: one MAC is a multiply and an add). As in the paper
and :func:`~resnet_edu.measuring.counting.count_macs`, only convolutions and matrix products
count; BN, ReLU, pooling and the shortcut additions do not. Taught in chapter 4.
The comparison with published numbers lives in :mod:`resnet_edu.measuring.comparison`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence, Union

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from resnet_edu.core.tabular import html_table, text_table
from resnet_edu.measuring.counting import count_weighted_layers
from resnet_edu.core.levels import select_modules
from resnet_edu.measuring.trace import trace_shapes


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
        return format_cost_table(self)

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


def format_cost_table(table: CostTable) -> str:
    """The cost table as aligned plain text, with shares of the total and a total row.

    Args:
        table: a :class:`CostTable` from :func:`cost_table`.
    """
    headers, cells = _cells(table)
    return text_table(headers, cells, f"input {tuple(table.input_size)}; MACs = multiply-accumulates")


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
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    flags = {m: m.training for m in model.modules()}
    try:
        model.eval()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(size, device=device, dtype=dtype))
    finally:
        for m, flag in flags.items():
            m.training = flag
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


# --------------------------------------------------------------------------- Table 1

#: Table 1's row names for the four stages ``layer1``..``layer4``.
STAGE_KEYS: tuple[str, ...] = ("conv2_x", "conv3_x", "conv4_x", "conv5_x")

#: A Table 1 cell: plain text, or a block bracket ``(["3x3, 64", "3x3, 64"], 2)``.
Table1Entry = Union[str, tuple[list[str], int]]

_BRACKET_STYLE = "display:inline-block; border-left:1px solid; border-right:1px solid; padding:0 6px"


@dataclass(frozen=True)
class Table1:
    """The paper's Table 1 read off built networks; prints as text, shows as HTML.

    Attributes:
        columns: one title per network, its depth: ``"18-layer"``, ``"50-layer"``...
        sizes: row name (``"conv1"``, ``"conv2_x"``.., ``"head"``) -> output size
            (``"56x56"``), the same for every network.
        entries: row name -> one :data:`Table1Entry` per network.
        pool: the stem's max pool (``"3x3 max pool, stride 2"``), shown in ``conv2_x``.
    """

    columns: list[str]
    sizes: dict[str, str]
    entries: dict[str, list[Table1Entry]]
    pool: str

    def bracket(self, row: str, column: int) -> str:
        """One cell as one line: ``"[3x3, 64; 3x3, 64] x 2"`` for a stage, the text otherwise.

        Args:
            row: ``"conv1"``, ``"conv2_x"``..``"conv5_x"`` or ``"head"``.
            column: the network's position in :attr:`columns`.
        """
        if row not in self.entries:
            raise KeyError(f"no row {row!r}; rows are {list(self.entries)}")
        entry = self.entries[row][column]
        if isinstance(entry, str):
            return entry
        lines, count = entry
        return "[" + "; ".join(lines) + f"] x {count}"

    def __str__(self) -> str:
        headers = ["layer name", "output size", *self.columns]
        cells = [[row, self.sizes[row], *(self.bracket(row, i) for i in range(len(self.columns)))]
                 for row in self.entries]
        return text_table(headers, cells, f"conv2_x starts with a {self.pool}")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{c}</th>" for c in ["layer name", "output size", *self.columns])
        body = "".join(
            f"<tr><td>{row}</td><td>{self.sizes[row]}</td>"
            + "".join(f"<td>{self._html_cell(row, e)}</td>" for e in entries) + "</tr>"
            for row, entries in self.entries.items()
        )
        return f'<table style="font-size:90%"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def _html_cell(self, row: str, entry: Table1Entry) -> str:
        if isinstance(entry, str):
            return entry
        lines, count = entry
        text = f'<span style="{_BRACKET_STYLE}">' + "<br>".join(lines) + f"</span><br>&times; {count}"
        return f"{self.pool}<br>{text}" if row == "conv2_x" else text


def _conv_text(conv: nn.Conv2d) -> str:
    kh, kw = conv.kernel_size
    return f"{kh}x{kw}, {conv.out_channels}"


def _block_convs(block: nn.Module) -> list[str]:
    # the block's main-path convolutions, the way Table 1 lists them (no projections)
    return [_conv_text(m) for name, m in block.named_modules()
            if isinstance(m, nn.Conv2d) and "downsample" not in name.split(".")]


def table1(networks: Mapping[str, nn.Module] | Sequence[nn.Module], input_size: int = 224) -> Table1:
    """Regenerate the paper's Table 1 from built ImageNet ResNets, one column per network.

    Output sizes come from one traced forward pass at ``input_size``; each stage's
    bracket lists the main-path convolutions of its blocks (kernel, output channels),
    times the number of blocks; column titles are each network's
    :func:`~resnet_edu.measuring.counting.count_weighted_layers`. Build the networks under
    ``with torch.device("meta"):`` and it takes well under a second. He et al. 2015,
    Table 1; taught in chapter 4.

    Args:
        networks: the package's ImageNet ResNets (four stages, ImageNet stem), as a
            sequence or as a mapping name -> model (the names are not used).
        input_size: the input's height and width (224 in the paper).

    Raises:
        TypeError: if a network is not a 4-stage ResNet with an ImageNet stem.
        ValueError: if the networks disagree on an output size or the max pool, or the
            blocks of a stage differ from each other.
    """
    models = list(networks.values()) if isinstance(networks, Mapping) else list(networks)
    if not models:
        raise ValueError("table1 needs at least one network, e.g. [resnet18(), resnet50()]")
    for net in models:
        if not (isinstance(net, nn.Module) and len(getattr(net, "stage_names", ())) == 4
                and isinstance(getattr(net, "maxpool", None), nn.MaxPool2d)):
            raise TypeError("table1 reads the package's ImageNet ResNets (4 stages, a max pool in the stem), "
                            f"e.g. resnet18()..resnet152(); got {type(net).__name__}")
    entries: dict[str, list[Table1Entry]] = {key: [] for key in ("conv1", *STAGE_KEYS, "head")}
    sizes: dict[str, set[str]] = {key: set() for key in entries}
    pools = set()
    for net in models:
        traced = trace_shapes(net, (net.in_channels, input_size, input_size), group_stem=False)
        side = {row.path: f"{row.output_shape[-2]}x{row.output_shape[-1]}" for row in traced
                if len(row.output_shape) == 3}
        entries["conv1"].append(f"{_conv_text(net.conv1)}, stride {net.conv1.stride[0]}")
        sizes["conv1"].add(side["conv1"])
        pool = net.maxpool
        pools.add(f"{pool.kernel_size}x{pool.kernel_size} max pool, stride {pool.stride}")
        for key, stage_name in zip(STAGE_KEYS, net.stage_names):
            stage = getattr(net, stage_name)
            convs = _block_convs(stage[0])
            if any(_block_convs(b) != convs for b in stage):
                raise ValueError(f"the blocks of {stage_name} differ; Table 1 lists one bracket per stage")
            entries[key].append((convs, len(stage)))
            sizes[key].add(side[stage_name])
        entries["head"].append(f"average pool, {net.fc.out_features}-d fc")
        sizes["head"].add(side["avgpool"])
    if any(len(s) != 1 for s in sizes.values()) or len(pools) != 1:
        raise ValueError("the networks disagree on an output size or on the max pool; "
                         "pass ImageNet ResNets with the same stem")
    columns = [f"{count_weighted_layers(net)}-layer" for net in models]
    return Table1(columns, {key: next(iter(s)) for key, s in sizes.items()}, entries, next(iter(pools)))
