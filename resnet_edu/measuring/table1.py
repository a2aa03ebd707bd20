"""The paper's Table 1, read off built networks.

``table1(networks)`` regenerates He et al. 2015, Table 1 (the output size of each stage at
224x224 and the bracket of convolutions its blocks repeat) from the modules themselves,
so the table can never disagree with the code. Taught in chapter 4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence, Union

from torch import nn

from resnet_edu.core.tabular import text_table
from resnet_edu.measuring.counting import count_weighted_layers
from resnet_edu.measuring.trace import trace_shapes


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
