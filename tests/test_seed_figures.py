"""Chapter 8's figure of seed 002's bottleneck: drawn from the modules, it shows the bug.

The block as written applies its last 1x1 convolution to the block's input (`self.conv3(x)`), so
conv1 and conv2 run but never reach the add; a drawing that follows what reaches the add must
leave them out, and must draw them once the line is repaired.
"""

from __future__ import annotations

import seed_models as seeds
import torch
from matplotlib.figure import Figure

from resnet_edu import count_parameters, draw_blocks


def layer_gids(figure: Figure) -> set[str]:
    return {a.get_gid() for a in figure.findobj() if a.get_gid() and ":layer:" in a.get_gid()}


def test_seed_002_as_written_draws_neither_conv1_nor_conv2():
    gids = layer_gids(draw_blocks({"as written": seeds.seed002_block()}))
    assert not {"0:layer:conv1", "0:layer:conv2"} & gids
    assert gids  # something is drawn: the one 1x1 convolution that reaches the add


def test_seed_002_repaired_draws_the_three_layer_branch():
    gids = layer_gids(draw_blocks({"repaired": seeds.seed002_block(repaired=True)}))
    assert {"0:layer:conv1", "0:layer:conv2", "0:layer:conv3"} <= gids


def test_the_repair_changes_what_the_block_computes_not_its_parameters():
    torch.manual_seed(0)
    buggy, fixed = seeds.seed002_block(), seeds.seed002_block(repaired=True)
    fixed.load_state_dict(buggy.state_dict())
    assert count_parameters(buggy) == count_parameters(fixed)
    x = torch.randn(2, 64, 8, 8)
    with torch.no_grad():
        assert buggy(x).shape == fixed(x).shape == (2, 256, 8, 8)
        assert not torch.allclose(buggy.eval()(x), fixed.eval()(x))
