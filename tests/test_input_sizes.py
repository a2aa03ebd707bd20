"""What ``ResNet.min_input_size`` means, as chapter 4 teaches it: the total downsampling factor.

An input of side ``s`` leaves the last stage with side ``ceil(s / min_input_size)``; inputs smaller
than the factor run too (down to 1x1 final maps); what fails is BatchNorm in training mode on a 1x1
map with a batch of one.
"""

from __future__ import annotations

import math

import pytest
import torch

from resnet_edu import resnet18, resnet20, trace_shapes


@pytest.mark.parametrize("builder", [resnet18, resnet20])
def test_last_stage_side_is_the_input_side_over_the_downsampling_factor(builder):
    with torch.device("meta"):
        model = builder()
    last = model.stage_names[-1]
    for side in (1, 3, 7, 28, 31, 32, 33, 200, 224, 320):
        shapes = {row.path: row.output_shape for row in trace_shapes(model, (3, side, side))}
        assert shapes[last][-1] == math.ceil(side / model.min_input_size), (builder.__name__, side)


def test_inputs_below_the_factor_run_and_only_bn_training_on_one_pixel_with_batch_one_fails():
    torch.manual_seed(0)
    model = resnet18(num_classes=10)
    assert model.min_input_size == 32
    model.eval()
    with torch.no_grad():
        for side in (28, 1):
            assert model(torch.randn(1, 3, side, side)).shape == (1, 10)
    model.train()
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        model(torch.randn(1, 3, 28, 28))  # layer4's map is 1x1: one value per channel
    assert model(torch.randn(2, 3, 28, 28)).shape == (2, 10)
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 10)  # a 2x2 map: four values per channel
