"""PyTorch's tooling works on the package's networks as on torchvision's (FACTS.md, "Added in round 2").

``torch.jit.script``, ``torch.fx.symbolic_trace``, ``torch.export.export`` with a dynamic batch size,
inputs smaller than the network's downsampling (28x28, 16x16, 1x1; eval mode, batch 1), and the
in-place ReLUs and adds never touching a tensor anyone else holds. torchvision's
``create_feature_extractor`` cannot run here (torchvision does not import with this CPU torch, see
ECOSYSTEM.md); it is built on ``torch.fx``, so the fx test below does what it does: trace, keep
the graph up to ``layer4``, and compare with a forward hook.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import resnet_edu
from resnet_edu.models.blocks import BasicBlock, Bottleneck, PlainBlock, PreActBlock
from resnet_edu.models.networks import ResNet


def preact20(**kwargs) -> ResNet:
    return ResNet(PreActBlock, [3, 3, 3], (16, 32, 64), stem="cifar", shortcut="A", num_classes=10, **kwargs)


BUILDERS = {
    "resnet18": resnet_edu.resnet18,
    "resnet50": resnet_edu.resnet50,
    "resnext50_32x4d": resnet_edu.resnext50_32x4d,
    "resnet20": resnet_edu.resnet20,
    "plain20": resnet_edu.plain20,
    "preact20": preact20,
}
# Scripting or exporting an ImageNet network takes 5-20 s on two busy cores, fx and running one a
# few: `make test` runs them all, `make test-unit` one CIFAR network of each kind (about 30 s).
SLOW = {"resnet50", "resnext50_32x4d"}
SLOW_TO_COMPILE = SLOW | {"resnet18", "plain20"}
NAMES = [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in BUILDERS]
COMPILED = [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_TO_COMPILE else n for n in BUILDERS]
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def build(name: str) -> ResNet:
    torch.manual_seed(0)
    return BUILDERS[name]().eval()


def example(model: ResNet, batch: int = 2) -> torch.Tensor:
    size = 64 if model.min_input_size == 32 else 16
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("name", COMPILED)
def test_torch_jit_script(name):
    model = build(name)
    scripted = torch.jit.script(model)
    x = example(model)
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), model(x))


@pytest.mark.parametrize("name", NAMES)
def test_torch_fx_symbolic_trace(name):
    model = build(name)
    traced = torch.fx.symbolic_trace(model)
    targets = [n.target for n in traced.graph.nodes if n.op == "call_module"]
    assert [t for t in targets if t.count(".") == 0 and t.startswith("layer")] == []  # blocks, not stages, are leaves
    assert any(t.startswith(model.stage_names[-1] + ".") for t in targets)
    x = example(model)
    with torch.no_grad():
        torch.testing.assert_close(traced(x), model(x))


@pytest.mark.parametrize("name", COMPILED)
def test_torch_export_with_a_dynamic_batch(name):
    model = build(name)
    batch = torch.export.Dim("batch", min=1, max=64)
    program = torch.export.export(model, (example(model),), dynamic_shapes={"x": {0: batch}})
    for n in (1, 5):
        x = example(model, batch=n)
        with torch.no_grad():
            torch.testing.assert_close(program.module()(x), model(x))


@pytest.mark.parametrize("name", NAMES)
def test_small_inputs_run_in_eval_mode(name):
    model = build(name)
    with torch.no_grad():
        for size in (28, 16, 1):  # torchvision's weights declare min_size (1, 1)
            assert model(torch.randn(1, 3, size, size)).shape == (1, model.num_classes)


def test_fx_feature_extraction_of_the_last_stage():
    """What torchvision's create_feature_extractor(model, {"layer4": "features"}) does, with fx alone."""
    model = build("resnet18")
    traced = torch.fx.symbolic_trace(model)
    last = [n for n in traced.graph.nodes if n.op == "call_module" and str(n.target).startswith("layer4.")][-1]
    output = next(n for n in traced.graph.nodes if n.op == "output")
    output.args = ({"features": last},)
    traced.graph.eliminate_dead_code()
    traced.recompile()
    features = traced(torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(3)))["features"]
    seen = {}
    model.layer4.register_forward_hook(lambda m, i, o: seen.setdefault("layer4", o))
    with torch.no_grad():
        model(torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(3)))
    torch.testing.assert_close(features, seen["layer4"])
    assert features.shape == (2, 512, 2, 2)
    assert not any(n.target == "fc" for n in traced.graph.nodes)  # the head is gone


def test_wrong_channels_still_get_one_clear_message_in_eager_mode():
    model = build("resnet20")
    with pytest.raises(ValueError, match=r"expects 3 input channel\(s\), got 1"):
        model(torch.randn(1, 1, 32, 32))
    with pytest.raises(RuntimeError, match="channels"):  # scripted: conv1 says it
        torch.jit.script(model)(torch.randn(1, 1, 32, 32))


# ----- in place, as torchvision, without touching anyone else's tensor -----------------------


@pytest.mark.parametrize("block", [PlainBlock, BasicBlock, Bottleneck, PreActBlock])
@pytest.mark.parametrize("norm_layer", [nn.BatchNorm2d, nn.Identity])
@pytest.mark.parametrize("shortcut, stride", [("A", 2), ("B", 1), ("B", 2)])
def test_blocks_leave_their_input_and_give_back_a_fresh_output(block, norm_layer, shortcut, stride):
    channels = 8
    kwargs = {} if block is PlainBlock else {"shortcut": shortcut}
    if block is Bottleneck and shortcut == "A":
        kwargs["shortcut"] = "B"
    b = block(channels * block.expansion, channels, stride, norm_layer=norm_layer, **kwargs).train()
    x = torch.randn(2, channels * block.expansion, 8, 8, requires_grad=True)
    before = x.detach().clone()
    out = b(x)
    assert torch.equal(x.detach(), before) and out.data_ptr() != x.data_ptr()
    out.square().sum().backward()  # autograd accepts every in-place operation
    assert x.grad is not None


def test_relus_and_adds_are_in_place_where_torchvision_has_them():
    model = resnet_edu.resnet50()
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    assert relus and all(m.inplace for m in relus)
    preact = preact20(norm_layer=nn.Identity)
    assert not any(m.inplace for m in preact.modules() if isinstance(m, nn.ReLU))  # bn1(x) may be x itself
    x = torch.randn(2, 3, 32, 32)
    seen = {}
    for name, blk in preact.named_blocks()[-1:]:
        blk.register_forward_hook(lambda m, i, o: seen.update(last=(o, o.clone())))
    preact(x)
    kept, copy = seen["last"]
    assert torch.equal(kept, copy)  # the final ReLU did not overwrite the last block's output
