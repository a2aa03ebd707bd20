"""Tests for resnet_edu.measuring.trace (shape traces against seed 003 and any module), and for
resnet_edu.core.running: every measurement runs the model once and puts every submodule's mode back."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_edu import count_parameters, plain20, resnet18, resnet20, resnet50
from resnet_edu.core.levels import select_modules
from resnet_edu.core.running import Placement, example_input, model_run, placement
from resnet_edu.experiments.training import evaluate
from resnet_edu.measuring.costs import cost_table
from resnet_edu.measuring.counting import count_macs
from resnet_edu.measuring.gradients import gradient_norms
from resnet_edu.measuring.trace import ModelSummary, ShapeTrace, TraceRow, format_shape, summary, trace_shapes

SEED_003_SHAPES = [(64, 56, 56), (64, 56, 56), (128, 28, 28), (256, 14, 14), (512, 7, 7), (512, 1, 1), (512,), (10,)]


def seed_003_net() -> nn.Sequential:
    """d2l's ResNet-18 as seed 003 builds it (a Sequential of Sequentials), bugs aside."""

    class Residual(nn.Module):
        def __init__(self, cin: int, c: int, use_1x1conv: bool = False, stride: int = 1) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, c, 3, padding=1, stride=stride)
            self.conv2 = nn.Conv2d(c, c, 3, padding=1)
            self.conv3 = nn.Conv2d(cin, c, 1, stride=stride) if use_1x1conv else None
            self.bn1, self.bn2 = nn.BatchNorm2d(c), nn.BatchNorm2d(c)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = F.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return F.relu(y + (self.conv3(x) if self.conv3 is not None else x))

    def stage(cin: int, c: int, first: bool = False) -> nn.Sequential:
        return nn.Sequential(Residual(cin, c, not first, 1 if first else 2), Residual(c, c))

    b1 = nn.Sequential(nn.Conv2d(1, 64, 7, 2, 3), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
    return nn.Sequential(
        b1, stage(64, 64, True), stage(64, 128), stage(128, 256), stage(256, 512),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(512, 10),
    )


def test_reproduces_seed_003_trace_for_the_package_resnet18():
    model = resnet18(in_channels=1, num_classes=10)
    trace = trace_shapes(model, (1, 224, 224))
    assert trace.shapes == SEED_003_SHAPES
    assert [r.path for r in trace] == [
        "conv1..maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "(forward)", "fc"
    ]
    assert sum(r.parameters for r in trace) == count_parameters(model) == trace.total_parameters


def test_seed_003_own_sequential_net_gives_the_same_shapes():
    trace = trace_shapes(seed_003_net(), (1, 224, 224))
    assert trace.shapes == SEED_003_SHAPES
    assert [r.type for r in trace][-3:] == ["AdaptiveAvgPool2d", "Flatten", "Linear"]


def test_blocks_level_lists_every_block_of_resnet20_and_its_plain_twin():
    for build, block in ((resnet20, "BasicBlock"), (plain20, "PlainBlock")):
        trace = trace_shapes(build(in_channels=1), (1, 8, 8), level="blocks")
        blocks = [r for r in trace if r.type == block]
        assert [r.path for r in blocks] == [f"layer{s}.{i}" for s in (1, 2, 3) for i in range(3)]
        assert [r.output_shape for r in blocks] == [(16, 8, 8)] * 3 + [(32, 4, 4)] * 3 + [(64, 2, 2)] * 3
        assert trace.shapes[-1] == (10,)


def test_layers_level_records_every_leaf_call_in_call_order():
    trace = trace_shapes(resnet20(in_channels=1), (1, 8, 8), level="layers")
    convs = [r for r in trace if r.type == "Conv2d"]
    assert len(convs) == 19  # 1 stem conv + 9 blocks x 2 (option A adds no conv)
    assert [r.path for r in trace][:6] == ["conv1", "bn1", "relu", "maxpool", "layer1.0.conv1", "layer1.0.bn1"]
    # each block's one ReLU module is called twice, so it gives two rows
    assert sum(r.path == "layer1.0.relu" for r in trace) == 2
    pads = [r for r in trace if r.type == "ZeroPadShortcut"]
    assert [(r.path, r.output_shape) for r in pads] == [("layer2.0.downsample", (32, 4, 4)), ("layer3.0.downsample", (64, 2, 2))]


def test_bottleneck_network_blocks():
    trace = trace_shapes(resnet50(num_classes=10), (3, 64, 64), level="blocks")
    assert trace.rows[0].output_shape == (64, 16, 16)
    assert trace.rows[1] == TraceRow("layer1.0", "Bottleneck", (256, 16, 16), trace.rows[1].parameters)
    assert trace.shapes[-3:] == [(2048, 1, 1), (2048,), (10,)]


def test_a_users_module_with_a_branching_functional_forward():
    class TwoBranch(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.left = nn.Conv2d(3, 8, 3, padding=1)
            self.right = nn.Conv2d(3, 8, 1)
            self.head = nn.Linear(8 * 4 * 4, 5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.right(x) + F.relu(self.left(x))  # right is called first
            y = F.max_pool2d(y, 2)
            return self.head(y.reshape(len(y), -1))

    trace = trace_shapes(TwoBranch(), (3, 8, 8))
    assert [(r.path, r.output_shape) for r in trace] == [
        ("right", (8, 8, 8)), ("left", (8, 8, 8)), ("head", (5,))
    ]  # the pool changed the size, so no "(forward) flatten" row is invented
    assert [r.parameters for r in trace] == [32, 224, 645]


def test_training_flags_and_batchnorm_statistics_are_left_alone():
    model = resnet20(in_channels=1)
    model.train()
    model.layer2.eval()  # a mixed state must survive too
    before = model.bn1.running_mean.clone()
    trace_shapes(model, (1, 8, 8), level="layers")
    assert model.training and model.layer1.training and not model.layer2.training
    assert not model.layer2[0].bn1.training
    assert torch.equal(model.bn1.running_mean, before)
    assert all(not m._forward_hooks for m in model.modules())


def test_hooks_are_removed_when_the_forward_fails():
    model = resnet20(in_channels=1)
    with pytest.raises(ValueError, match="input channel"):
        trace_shapes(model, (3, 8, 8))
    assert all(not m._forward_hooks for m in model.modules())


def test_printing_and_html():
    trace = trace_shapes(resnet18(in_channels=1, num_classes=10), (1, 224, 224))
    text = str(trace)
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "type", "output", "shape", "parameters"]
    assert "64x56x56" in lines[2] and "3,264" in lines[2]
    assert "total parameters 11,175,370" in lines[-1]
    page = trace._repr_html_()
    assert page.startswith("<table>") and page.count("<tr>") == 1 + len(trace)
    assert "<td>512x7x7</td>" in page
    assert format_shape((512,)) == "512" and format_shape((3, 2)) == "3x2"
    assert isinstance(trace, ShapeTrace) and len(lines) == 2 + len(trace) + 2  # header, rule, rows, rule, total


def test_select_modules_levels():
    model = resnet20()
    top = [p for p, _ in select_modules(model, "top")]
    assert top == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "avgpool", "fc"]
    blocks = [p for p, _ in select_modules(model, "blocks")]
    assert "layer1.0" in blocks and "layer1" not in blocks
    single = nn.Linear(2, 2)
    assert select_modules(single, "layers") == [("", single)]


@pytest.mark.parametrize(
    "args, error",
    [
        (("not a model", (1, 8, 8)), TypeError),
        ((nn.Linear(2, 2), 2), ValueError),
        ((nn.Linear(2, 2), (0,)), ValueError),
        ((nn.Linear(2, 2), (2.0,)), ValueError),
        ((nn.Linear(2, 2), ()), ValueError),
    ],
)
def test_bad_arguments_raise_clear_errors(args, error):
    with pytest.raises(error):
        trace_shapes(*args)


def test_bad_level_and_batch_size():
    with pytest.raises(ValueError, match="level must be one of"):
        trace_shapes(resnet20(), (3, 32, 32), level="stages")
    with pytest.raises(ValueError, match="batch_size"):
        trace_shapes(resnet20(), (3, 32, 32), batch_size=0)


def test_summary_wraps_torchinfo():
    model = resnet20()
    stats = summary(model, (1, 3, 32, 32), depth=2)
    assert stats.total_params == count_parameters(model) == 269_722
    assert "mult" in str(stats).lower() and "layer1" in str(stats)


def test_summary_prints_unit_letters_not_enum_names():
    # torchinfo 1.8 on Python 3.11+ would print "Total mult-adds (Units.GIGABYTES)"
    from torchinfo.model_statistics import ModelStatistics

    with torch.device("meta"):
        model = resnet18()
    stats = summary(resnet18(), (1, 3, 224, 224), depth=1)
    text = str(stats)
    assert "Units." not in text and "Total mult-adds (G): 1.8" in text
    assert "Params size (MB)" in text and repr(stats) == text
    assert isinstance(stats, ModelSummary) and isinstance(stats.statistics, ModelStatistics)
    assert stats.total_params == count_parameters(model)  # attributes pass through
    assert stats.total_mult_adds == stats.statistics.total_mult_adds
    with pytest.raises(AttributeError):
        stats.no_such_attribute


# ------------------------------------------------------------- running a model once (core.running)


def frozen_bn_model() -> nn.Module:
    """ResNet-20 in training mode with one BatchNorm frozen in eval mode, as a fine-tuner would."""
    torch.manual_seed(0)
    model = resnet20()
    model.train()
    model.layer1[0].bn1.eval()
    return model


def modes(model: nn.Module) -> dict[str, bool]:
    return {name: module.training for name, module in model.named_modules()}


def run_in_model_run(model, x, y):  # type: ignore[no-untyped-def]
    with model_run(model) as where:
        assert not any(m.training for m in model.modules()) and not torch.is_grad_enabled()
        model(x.to(where.device, where.dtype))


MEASUREMENTS = {
    "model_run": run_in_model_run,
    "evaluate": lambda model, x, y: evaluate(model, [(x, y)]),
    "count_macs": lambda model, x, y: count_macs(model, tuple(x.shape)),
    "trace_shapes": lambda model, x, y: trace_shapes(model, tuple(x.shape[1:]), level="layers"),
    "cost_table": lambda model, x, y: cost_table(model, tuple(x.shape), level="blocks"),
    "gradient_norms": lambda model, x, y: gradient_norms(model, (x, y)),
}


@pytest.mark.parametrize("measure", MEASUREMENTS.values(), ids=MEASUREMENTS.keys())
def test_a_measurement_gives_back_a_frozen_batchnorm_and_the_statistics(measure):
    model = frozen_bn_model()
    before, state = modes(model), {k: v.clone() for k, v in model.state_dict().items()}
    measure(model, torch.randn(2, 3, 32, 32), torch.tensor([0, 1]))
    assert modes(model) == before
    assert model.training and not model.layer1[0].bn1.training
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())  # BN statistics too
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


@pytest.mark.parametrize("measure", MEASUREMENTS.values(), ids=MEASUREMENTS.keys())
def test_a_measurement_gives_back_the_modes_when_the_forward_raises(measure):
    model = frozen_bn_model()
    before = modes(model)
    with pytest.raises(ValueError, match="input channel"):
        measure(model, torch.randn(2, 1, 32, 32), torch.tensor([0, 1]))  # ResNet-20 wants 3 channels
    assert modes(model) == before


def test_model_run_sets_the_mode_and_grad_and_gives_them_back():
    model = frozen_bn_model()
    before = modes(model)
    with model_run(model, training=True, grad=True) as where:
        assert all(m.training for m in model.modules()) and torch.is_grad_enabled()
        assert where == Placement(torch.device("cpu"), torch.float32)
    assert modes(model) == before
    with pytest.raises(RuntimeError, match="boom"):
        with model_run(model):
            raise RuntimeError("boom")
    assert modes(model) == before and torch.is_grad_enabled()


def test_placement_follows_the_weights():
    assert placement(nn.ReLU()) == Placement(torch.device("cpu"), torch.float32)  # no weights at all
    double = nn.Linear(3, 2).double()
    assert placement(double).dtype == torch.float64
    assert example_input(placement(double), (4, 3)).dtype == torch.float64
    assert count_macs(double, (4, 3)) == 4 * 3 * 2  # the input is made in the model's dtype
    with torch.device("meta"):
        on_meta = resnet18()
    assert placement(on_meta).device.type == "meta"
    assert example_input(placement(on_meta), (1, 3, 224, 224)).is_meta
    with pytest.raises(TypeError, match="nn.Module"):
        placement("model")
