"""Tests for resnet_edu.measuring.gradients, resnet_edu.experiments.gradient_sweep and the gradient plots."""

from __future__ import annotations

import copy
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from resnet_edu import plain20, resnet20  # noqa: E402
from resnet_edu.core.threads import torch_threads  # noqa: E402
from resnet_edu.experiments.data import digits_batch  # noqa: E402
from resnet_edu.experiments.gradient_sweep import GradientSweep, gradient_sweep  # noqa: E402
from resnet_edu.measuring.gradients import gradient_norms  # noqa: E402
from resnet_edu.measuring.identity_twin import identity_twin  # noqa: E402
from resnet_edu.models.blocks import BasicBlock  # noqa: E402
from resnet_edu.models.networks import cifar_network  # noqa: E402
from resnet_edu.models.shortcuts import ZeroPadShortcut  # noqa: E402
from resnet_edu.teaching.plots import plot_gradient_norms, plot_gradient_sweep  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def batch():
    return digits_batch(64, seed=0)


@pytest.fixture(scope="module")
def full_sweep():
    """The chapter's sweep: 32 networks, up to 110 layers (about 8 s)."""
    return gradient_sweep()


@pytest.fixture(scope="module")
def sweep(full_sweep):
    return {(r.batch_norm, r.init, r.kind, r.depth): r for r in full_sweep}


def test_gradient_norms_agree_with_plain_pytorch(batch):
    torch.manual_seed(0)
    model = resnet20(in_channels=1)
    result = gradient_norms(model, batch)

    reference = copy.deepcopy(model).train()
    outputs = {}
    for name in ("layer1.0", "layer3.2"):
        reference.get_submodule(name).register_forward_hook(lambda m, i, o, n=name: outputs.setdefault(n, o))
    stem = reference.relu(reference.bn1(reference.conv1(batch[0])))
    stem.retain_grad()
    x = stem
    for stage in (reference.layer1, reference.layer2, reference.layer3):
        x = stage(x)
    last = x
    last.retain_grad()
    loss = F.cross_entropy(reference.fc(torch.flatten(reference.avgpool(last), 1)), batch[1])
    loss.backward()

    assert result.loss == pytest.approx(loss.item(), rel=1e-5)
    assert result.weights[0].name == "conv1"
    assert result.weights[0].norm == pytest.approx(reference.conv1.weight.grad.norm().item(), rel=1e-4)
    assert result.weights[-1].name == "fc"
    assert result.weights[-1].norm == pytest.approx(reference.fc.weight.grad.norm().item(), rel=1e-4)
    assert result.signals[0].norm == pytest.approx(stem.grad.norm().item(), rel=1e-4)
    assert result.signals[-1].norm == pytest.approx(last.grad.norm().item(), rel=1e-4)
    assert result.raw_ratio == pytest.approx(stem.grad.norm().item() / last.grad.norm().item(), rel=1e-4)
    twin = gradient_norms(identity_twin(model), batch, reference=False)
    assert result.twin_ratio == twin.raw_ratio
    assert result.first_to_last_ratio == pytest.approx(result.raw_ratio / twin.raw_ratio, rel=1e-12)


def test_records_are_in_call_order(batch):
    result = gradient_norms(plain20(in_channels=1), batch)
    assert [s.name for s in result.signals] == ["stem"] + [f"layer{s}.{i}" for s in (1, 2, 3) for i in range(3)]
    assert [s.index for s in result.signals] == list(range(10))
    assert len(result.weights) == 20  # 19 convs + fc: the "20" of plain-20
    assert [w.index for w in result.weights] == list(range(20))
    assert result.weights[1].name == "layer1.0.conv1" and result.weights[1].numel == 16 * 16 * 9
    convs = [w for w in result.weights if w.type == "Conv2d"]
    assert result.weight_ratio == pytest.approx(convs[0].norm / convs[-1].norm)


def test_the_model_is_left_as_it_was(batch):
    model = resnet20(in_channels=1)
    model.eval()
    state = copy.deepcopy(model.state_dict())
    gradient_norms(model, batch)
    assert not model.training and not model.layer1[0].bn1.training
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())  # BN statistics too
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks for m in model.modules())


def test_any_module_works(batch):
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    result = gradient_norms(model, batch)
    assert [s.name for s in result.signals] == ["1", "2", "3"]
    assert [w.name for w in result.weights] == ["1", "3"]
    assert "raw ratio" in str(result) and "<table>" in result._repr_html_()
    # signals of different sizes and no twin: no reference, and a clear error for the ratio
    assert result.reference_profile is None and "first-to-last" not in str(result)
    with pytest.raises(ValueError, match="raw_ratio"):
        result.first_to_last_ratio
    # signals of one size: the reference is the identity map, whose raw ratio is 1
    same = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32))  # 32 logits
    result = gradient_norms(same, batch)
    assert result.reference_profile == (1.0, 1.0, 1.0)
    assert result.first_to_last_ratio == result.raw_ratio


def _digits_net(depth, kind, bn=True, init="he", seed=0, **kwargs):
    torch.manual_seed(seed)
    norm = nn.BatchNorm2d if bn else nn.Identity
    return cifar_network(depth, kind, in_channels=1, norm_layer=norm, init=init, **kwargs)


@pytest.mark.parametrize("bn", [True, False])
def test_the_identity_twin_scores_exactly_1(batch, bn):
    plain = _digits_net(20, "plain", bn)
    twin = identity_twin(plain)
    result = gradient_norms(twin, batch)
    assert result.first_to_last_ratio == 1.0  # exactly: the twin of a twin computes the same numbers
    assert result.raw_ratio < 0.6  # although its raw ratio is far below 1 (ReLU zeros, padded channels)
    assert result.profile == [1.0] * len(result.signals)
    if bn:  # a zero-initialised option-A ResNet is its own twin
        zero_init = _digits_net(56, "residual", bn, zero_init_residual=True)
        assert gradient_norms(zero_init, batch).first_to_last_ratio == 1.0


def test_the_twin_is_the_shortcuts_alone(batch):
    plain = _digits_net(20, "plain", bn=False, init="default")
    before = copy.deepcopy(plain.state_dict())
    twin = identity_twin(plain)
    assert all(torch.equal(before[k], v) for k, v in plain.state_dict().items())  # the model is untouched
    assert torch.equal(twin.conv1.weight, plain.conv1.weight) and torch.equal(twin.fc.weight, plain.fc.weight)
    blocks = [b for _, b in twin.named_blocks()]
    assert all(isinstance(b, BasicBlock) for b in blocks) and len(blocks) == 9
    assert isinstance(twin.layer2[0].downsample, ZeroPadShortcut)
    x = torch.relu(torch.randn(4, 16, 8, 8))
    assert torch.equal(blocks[0](x), x)  # relu(0 + x) = x for x >= 0
    # projections (option B) are replaced by option A's zero padding
    twin_b = identity_twin(_digits_net(20, "residual", shortcut="B"))
    assert isinstance(twin_b.layer3[0].downsample, ZeroPadShortcut)
    with pytest.raises(TypeError, match="package's networks"):
        identity_twin(nn.Sequential(nn.Linear(2, 2)))


def test_a_plain_network_differs_from_its_twin_and_the_model_changes_the_number(batch):
    plain = gradient_norms(_digits_net(20, "plain", bn=False, init="default"), batch)
    residual = gradient_norms(_digits_net(20, "residual", bn=False, init="default"), batch)
    assert plain.first_to_last_ratio < 1e-6 < residual.first_to_last_ratio
    assert plain.twin_ratio == residual.twin_ratio  # same seed: same stem and head, so the same twin
    assert plain.first_to_last_ratio == pytest.approx(plain.raw_ratio / plain.twin_ratio)
    he = gradient_norms(_digits_net(20, "residual", bn=False, init="he"), batch)
    assert he.first_to_last_ratio != residual.first_to_last_ratio and he.first_to_last_ratio > 1


def test_bad_arguments(batch):
    with pytest.raises(TypeError, match="nn.Module"):
        gradient_norms("model", batch)
    with pytest.raises(TypeError, match="pair"):
        gradient_norms(resnet20(in_channels=1), batch[0])
    with pytest.raises(ValueError, match="batch_size"):
        digits_batch(0)
    with pytest.raises(ValueError, match="kind"):
        gradient_sweep(depths=(8,), kinds=("dense",))
    with pytest.raises(ValueError, match="6n \\+ 2"):
        gradient_sweep(depths=(21,), kinds=("plain",))


def test_sweep_networks_are_what_they_say():
    no_bn = cifar_network(20, "plain", in_channels=1, norm_layer=nn.Identity, init="default")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in no_bn.modules())
    assert cifar_network(20, "residual", in_channels=1).layer2[0].downsample is not None
    torch.manual_seed(3)
    first = cifar_network(8, "plain", in_channels=1, init="default")
    torch.manual_seed(3)
    again = cifar_network(8, "plain", in_channels=1, init="default")
    assert torch.equal(first.conv1.weight, again.conv1.weight)
    torch.manual_seed(3)
    he = cifar_network(8, "plain", in_channels=1)
    assert not torch.equal(first.conv1.weight, he.conv1.weight)  # the init option changes the weights


def test_a_sweep_run_is_gradient_norms_of_the_network_built_from_the_seed():
    runs = gradient_sweep(depths=(8, 14), kinds=("residual",), batch_norms=(False,), inits=("default",),
                          batch_size=32, seed=3)
    assert isinstance(runs, GradientSweep) and [r.depth for r in runs] == [8, 14]
    torch.manual_seed(3)
    model = cifar_network(14, "residual", in_channels=1, norm_layer=nn.Identity, init="default")
    result = gradient_norms(model, digits_batch(32, seed=3))
    assert runs[1].ratio == result.first_to_last_ratio and runs[1].loss == result.loss
    assert runs[1].weight_norms == tuple(w.norm for w in result.weights)


def test_the_sweep_restores_the_number_of_threads():
    threads = torch.get_num_threads()
    gradient_sweep(depths=(8,), kinds=("plain",), batch_norms=(True,), inits=("he",), batch_size=8, num_threads=2)
    assert torch.get_num_threads() == threads


@pytest.mark.slow
def test_sweep_has_one_record_per_network(sweep):
    assert len(sweep) == 4 * 2 * 2 * 2
    run = sweep[(True, "he", "residual", 20)]
    assert len(run.signal_norms) == 1 + 9 and len(run.weight_norms) == 20
    assert run.raw_ratio == pytest.approx(run.signal_norms[0] / run.signal_norms[-1])
    assert run.ratio == pytest.approx(run.raw_ratio / run.reference_profile[0]) and run.profile[0] == run.ratio
    assert run.profile[-1] == 1.0


@pytest.mark.slow
def test_the_sweeps_identity_twins_score_1(full_sweep):
    references = full_sweep.references
    assert len(references) == 4 * 2 * 2 and {r.kind for r in references} == {"identity"}
    assert all(r.ratio == 1.0 and 0.2 < r.raw_ratio < 0.6 for r in references)
    assert all(r.kind in ("plain", "residual") for r in full_sweep)  # the list holds only what was asked for


@pytest.mark.slow
def test_without_bn_the_plain_nets_gradient_vanishes_and_the_residual_nets_does_not(sweep):
    for init in ("default", "he"):
        plain = [sweep[(False, init, "plain", d)].ratio for d in (8, 20, 56, 110)]
        assert all(a > b for a, b in zip(plain, plain[1:])), (init, plain)  # shrinks with depth
        assert plain[-1] < 1e-8, (init, plain)
    default_residual = [sweep[(False, "default", "residual", d)].ratio for d in (8, 20, 56, 110)]
    assert all(0.1 < r < 10 for r in default_residual), default_residual
    assert sweep[(False, "default", "plain", 20)].ratio < 1e-6


@pytest.mark.slow
def test_without_bn_he_init_makes_the_residual_net_explode(sweep):
    # an honest finding: He init and no BN doubles the signal's variance per block
    ratios = [sweep[(False, "he", "residual", d)].ratio for d in (20, 56, 110)]
    assert ratios[0] < ratios[1] < ratios[2] and ratios[2] > 1e3
    assert sweep[(False, "he", "residual", 110)].loss > 100 * math.log(10)


@pytest.mark.slow
def test_with_bn_the_plain_nets_gradient_grows_toward_the_input(sweep):
    for init in ("default", "he"):
        plain = [sweep[(True, init, "plain", d)].ratio for d in (8, 20, 56, 110)]
        assert all(1 < a < b for a, b in zip(plain, plain[1:])), (init, plain)  # no vanishing: it grows
        assert plain[2] > 1e2 and plain[3] > 1e5, (init, plain)
        residual = [sweep[(True, init, "residual", d)].ratio for d in (8, 20, 56, 110)]
        assert all(1 < r < 1e3 for r in residual), (init, residual)
        assert all(sweep[(True, init, "residual", d)].ratio < sweep[(True, init, "plain", d)].ratio for d in (20, 56, 110))


@pytest.mark.slow
def test_weight_ratio_hides_the_vanishing(sweep):
    # dL/dW = input x backward signal: both shrink, in opposite directions, so the ratio stays O(1)
    run = sweep[(False, "he", "plain", 110)]
    assert run.ratio < 1e-8 and 0.1 < run.weight_ratio < 10


@pytest.mark.slow
def test_ratio_table_and_plots(full_sweep):
    runs = full_sweep
    lines = str(runs).splitlines()
    assert lines[0].split()[:3] == ["BN", "init", "network"] and "depth 110" in lines[0]
    assert len(lines) == 2 + 12 + 2 and sum(line.split()[2:4] == ["identity", "twin"] for line in lines) == 4
    assert str(runs.table()) == str(runs) and "depth 110" in runs._repr_html_()
    assert "loss at initialisation" in str(runs.table("loss"))
    assert "||dL/dW_first||" in str(runs.table("weight_ratio"))
    assert "not normalised" in str(runs.table("raw_ratio"))
    with pytest.raises(ValueError, match="field"):
        runs.table("norms")

    fig = plot_gradient_sweep(runs)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 4
    assert all(ax.get_yscale() == "log" for ax in axes)
    assert {ax.get_title() for ax in axes} == {
        "without BN, default init", "without BN, He init", "with BN, default init", "with BN, He init"
    }
    assert all(len(ax.get_lines()) == 8 + 1 and ax.get_legend() is not None for ax in axes)  # + the twin
    assert axes[0].get_ylabel() == "||dL/dx|| / last, / identity twin's"
    twin_line = [line for line in axes[0].get_lines() if line.get_label() == "identity twin"][0]
    assert set(twin_line.get_ydata()) == {1.0}
    plt.close(fig)
    fig = plot_gradient_sweep(runs, relative=False, quantity="weights")
    assert fig.axes[0].get_xlabel() == "layer index (0 = stem conv)" and fig.axes[0].get_ylabel() == "||dL/dW||"
    plt.close(fig)
    with pytest.raises(ValueError, match="quantity"):
        plot_gradient_sweep(runs, quantity="loss")

    fig = plot_gradient_norms(gradient_norms(resnet20(in_channels=1), digits_batch(32)))
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel().startswith("block index")
    assert len(fig.axes[0].get_lines()) == 2  # the network and its identity twin
    plt.close(fig)


def test_torch_threads_restores_the_number_of_threads():
    before = torch.get_num_threads()
    with torch_threads(None):
        assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="num_threads"):
        with torch_threads(0):
            pass
    assert torch.get_num_threads() == before
