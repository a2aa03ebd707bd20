"""diagnose(): the seed notes' bugs are found, resnet_edu's own networks are clean."""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

import seed_models as seeds
from resnet_edu import count_parameters
from resnet_edu.models.blocks import BasicBlock, PreActBlock
from resnet_edu.teaching.diagnose import Diagnosis, Finding, diagnose, print_diagnosis
from resnet_edu.models.networks import ResNet, plain20, resnet18, resnet20, resnet50


@pytest.mark.slow
def test_seed000_shared_identical_blocks():
    torch.manual_seed(0)
    broken, repaired = seeds.Seed000Resnet(), seeds.Seed000Resnet(repaired=True)
    assert count_parameters(broken) == 14_732_992  # "14+m" in the seed: shared blocks counted once
    assert count_parameters(repaired) == 24_294_848
    findings = diagnose(broken, input_size=(3, 32, 32))
    shared = [f for f in findings if f.kind == "shared-module"]
    assert [f.where for f in shared] == [
        "stage2.1 = stage2.2",
        "stage3.1 = stage3.2 = stage3.3",
        "stage4.1 = stage4.2 = stage4.3 = stage4.4 = stage4.5",
        "stage5.1 = stage5.2",
    ]
    assert "[Block(...)] * n" in shared[0].message and "Seed000IdenticalBlock" in shared[0].message
    assert findings.kinds() == {"shared-module"}
    assert diagnose(repaired, input_size=(3, 32, 32)) == []


def test_seed002_conv3_on_x_leaves_conv1_conv2_without_gradient():
    torch.manual_seed(0)
    findings = diagnose(seeds.seed002_block(), input_size=(64, 16, 16))
    assert [(f.kind, f.where) for f in findings] == [
        ("no-gradient", "conv1"), ("no-gradient", "bn1"), ("no-gradient", "conv2"), ("no-gradient", "bn2")
    ]
    assert "runs in forward, but its output never reaches" in findings[0].message
    assert "(weight, bias)" in findings[0].message  # seed 002's convs keep their biases


def test_never_called_layer_is_named():
    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.extra = nn.Linear(4, 4)

        def forward(self, x):
            return self.conv(x)

    findings = diagnose(Unused(), input_size=(3, 8, 8))
    assert [(f.kind, f.where) for f in findings] == [("no-gradient", "extra")]
    assert "never called in forward" in findings[0].message


def test_seed001_fixed_avgpool_works_at_224_only():
    torch.manual_seed(0)
    model = ResNet(BasicBlock, [1, 1, 1, 1], (8, 16, 32, 64))  # a narrow ResNet-10, cheap at 224
    model.avgpool = nn.AvgPool2d(7, stride=1)  # seed 001's head (torchvision of 2018)
    findings = diagnose(model)  # default input: 3x224x224, then 256x256
    assert [(f.kind, f.where) for f in findings] == [("fixed-size-pooling", "avgpool")]
    assert "7x7 map of a 224x224 input" in findings[0].message
    assert "on a 256x256 input the forward fails at fc: RuntimeError: mat1 and mat2" in findings[0].message
    assert "nn.AdaptiveAvgPool2d(1)" in findings[0].message
    small = diagnose(model, input_size=(3, 160, 160))  # 5x5 map: the pool itself fails
    assert [(f.kind, f.where) for f in small] == [("fixed-size-pooling", "avgpool")]
    assert "5x5" in small[0].message


def test_seed004_downsample_never_stored():
    findings = diagnose(nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), seeds.Seed004BasicBlock(16, 16)), (3, 8, 8))
    assert [(f.kind, f.where) for f in findings] == [("forward-error", "1")]
    assert "self.downsample" in findings[0].message and "never sets it" in findings[0].message


def test_missing_projection_is_reported_in_plain_words():
    model = resnet18()
    model.layer2[0].downsample = None
    findings = diagnose(model, input_size=(3, 64, 64))
    assert [(f.kind, f.where) for f in findings] == [("shape-mismatch", "layer2.0")]
    assert "an addition in BasicBlock.forward failed" in findings[0].message
    assert "projection" in findings[0].message


def test_nan_output_and_detached_output():
    class Nan(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(x) / 0.0

    assert diagnose(Nan()).kinds() == {"non-finite"}
    detached = nn.Sequential(nn.Linear(4, 2))
    detached.register_forward_hook(lambda m, i, o: o.detach())
    assert [f.kind for f in diagnose(detached)] == ["no-gradient"]


@pytest.mark.parametrize(
    "build, size",
    [
        pytest.param(lambda: resnet18(), (3, 64, 64), marks=pytest.mark.slow, id="resnet18"),
        pytest.param(lambda: resnet50(), (3, 32, 32), marks=pytest.mark.slow, id="resnet50"),
        pytest.param(lambda: resnet20(), (3, 32, 32), id="resnet20"),
        pytest.param(lambda: plain20(), (3, 32, 32), id="plain20"),
        pytest.param(lambda: resnet20(zero_init_residual=True), (3, 32, 32), id="resnet20-zero-init"),
        pytest.param(lambda: ResNet(PreActBlock, [1, 1, 1], (16, 32, 64), stem="cifar", num_classes=10), (3, 32, 32),
                     id="preact"),
    ],
)
def test_resnet_edu_models_have_no_findings(build, size):
    torch.manual_seed(0)
    assert diagnose(build(), input_size=size) == []


def test_diagnose_leaves_the_model_unchanged(capsys):
    torch.manual_seed(0)
    model = resnet20().eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    findings = diagnose(model, input_size=(3, 32, 32))
    assert not model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    print_diagnosis(findings)
    assert capsys.readouterr().out == "no problems found\n"


def modes(model: nn.Module) -> dict[str, bool]:
    return {name: module.training for name, module in model.named_modules()}


class Uncopyable(nn.Module):
    """A small network that ``copy.deepcopy`` refuses (it holds a lock), so diagnose works in place."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn, self.fc = nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Linear(4, 2)
        self.lock = threading.Lock()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.bn(self.conv(x)).mean((2, 3)))


def test_diagnose_gives_back_a_frozen_batchnorm():
    torch.manual_seed(0)
    model = resnet20().train()
    model.layer1[0].bn1.eval()
    before = modes(model)
    diagnose(model, input_size=(3, 32, 32))
    assert modes(model) == before


def test_diagnose_in_place_gives_back_a_frozen_batchnorm():
    torch.manual_seed(0)
    model = Uncopyable().train()
    model.bn.eval()
    before, state = modes(model), {k: v.clone() for k, v in model.state_dict().items()}
    assert diagnose(model, input_size=(3, 8, 8)) == []
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())  # this part holds
    assert modes(model) == before


def test_printer_one_line_per_finding(capsys):
    findings = Diagnosis([Finding("shared-module", "a = b", "shared."), Finding("no-gradient", "c", "dead.")])
    print_diagnosis(findings)
    assert capsys.readouterr().out == "[shared-module] a = b: shared.\n[no-gradient] c: dead.\n"


def test_bad_arguments():
    with pytest.raises(TypeError, match="nn.Module"):
        diagnose("resnet18")
    with pytest.raises(ValueError, match="input_size"):
        diagnose(nn.ReLU())
    with pytest.raises(ValueError, match="positive ints"):
        diagnose(resnet20(), input_size=(3, 0, 32))


def test_long_findings_fold_with_a_hanging_indent():
    message = "one BasicBlock object appears under 3 names, so they share its 73,984 parameters " * 3
    text = str(Finding("shared-module", "layer1.0 = layer1.1 = layer1.2", message.strip()))
    lines = text.splitlines()
    assert len(lines) > 1 and all(len(line) <= 88 for line in lines)
    assert lines[0].startswith("[shared-module] layer1.0 = layer1.1 = layer1.2: one BasicBlock")
    assert all(line.startswith("    ") and not line.startswith("     ") for line in lines[1:])
    assert " ".join(line.strip() for line in lines) == f"[shared-module] layer1.0 = layer1.1 = layer1.2: {message.strip()}"
    assert str(Diagnosis([Finding("no-gradient", "c", "dead.")])) == "[no-gradient] c: dead."


def test_avgpool7_with_its_default_stride_silently_crops_the_map():
    # Issue 13: nn.AvgPool2d(7) (stride 7) runs at 256x256 and averages the 8x8 map's top-left 7x7.
    model = resnet18()
    model.avgpool = nn.AvgPool2d(7)
    findings = diagnose(model)
    assert [(f.kind, f.where) for f in findings] == [("fixed-size-pooling", "avgpool")]
    message = findings[0].message
    assert "256x256" in message and "top-left 7x7 of the 8x8 map" in message and "silently" in message
    assert "nn.AdaptiveAvgPool2d(1)" in message
    at_256 = diagnose(model, input_size=(3, 256, 256))  # cropped already at the first size
    assert at_256.kinds() == {"fixed-size-pooling"} and "on a 256x256 input averages" in at_256[0].message


def test_a_pool_that_leaves_rows_unread_is_flagged_and_padded_pools_are_not():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(4, 2))
    findings = diagnose(net, input_size=(3, 7, 7))  # 7 rows, windows of 2: the last row is never read
    assert [(f.kind, f.where) for f in findings] == [("fixed-size-pooling", "1")]
    assert "reads only its top-left 6x6" in findings[0].message
    assert diagnose(net, input_size=(3, 8, 8)) == []  # 8 and 40 are even: every row is read
    assert diagnose(resnet18(), input_size=(3, 33, 33)) == []  # the stem's max pool pads: it reads everything
