"""check_resnet, the capstone checker: whole networks in any style pass, broken ones get their hint."""

from __future__ import annotations

import pytest
import torch

import broken_networks as nets
from resnet_edu import check_resnet, resnet18, resnet34
from resnet_edu.teaching import checks
from resnet_edu.teaching.checks import CheckResult, calls

# The cases that get past the structure and compare outputs at 224x224 and 256x256 run two
# ResNet forwards per size: a few seconds each on two cores, so they are marked slow.
_COMPARES_OUTPUTS = {"StrideOnWrongStage", "NoMaxPool", "StemWithoutRelu", "NoAvgPool", "NoFlatten", "FixedAvgPool",
                     "BlockWithoutFinalRelu", "DetachedOutput"}


def _id(build) -> str:
    return build.__name__.removeprefix("build_with_").removeprefix("build_")


def _cases():
    for depth, build, phrase in nets.CORPUS:
        marks = [pytest.mark.slow] if _id(build) in _COMPARES_OUTPUTS else []
        yield pytest.param(depth, build, phrase, marks=marks, id=f"{_id(build)}-{depth}")


@pytest.mark.slow
@pytest.mark.parametrize("depth, build", [(18, nets.good_resnet18), (34, nets.good_resnet34), (18, resnet18),
                                          (34, resnet34), (18, nets.FunctionalStyle)],
                         ids=["learner-18", "learner-34", "resnet_edu-18", "resnet_edu-34", "functional-style"])
def test_torchvision_style_networks_pass(depth, build, capsys):
    result = check_resnet(build, depth)
    printed = capsys.readouterr().out
    assert result.passed, result.message
    assert printed.startswith("check_resnet passed: ") and f"ResNet-{depth}" in printed
    assert "strict=True" in result.message and "224x224 and 256x256" in result.message


@pytest.mark.slow
def test_a_network_class_is_built_with_the_block_and_layers():
    assert check_resnet(nets.GoodResNet, 18, block=nets.Block, verbose=False)
    assert check_resnet(nets.GoodResNet, 34, block=nets.Block, verbose=False)


def test_the_corpus_has_at_least_eight_distinct_bugs():
    assert len(nets.CORPUS) >= 8
    assert len({phrase for _, _, phrase in nets.CORPUS}) == len(nets.CORPUS)  # a specific hint each


@pytest.mark.parametrize("depth, build, phrase", list(_cases()))
def test_broken_network_gets_its_hint(depth, build, phrase, capsys):
    result = check_resnet(build, depth)
    printed = capsys.readouterr().out
    assert not result.passed
    assert phrase in result.message, result.message
    assert printed.count("\n") == 1 and printed.startswith("check_resnet not yet: ")
    with pytest.raises(AssertionError, match="not yet"):
        result.assert_ok()


def test_an_instance_instead_of_the_builder():
    result = check_resnet(nets.good_resnet18(), verbose=False)
    assert not result and "not check_resnet(my_resnet18())" in result.message


@pytest.mark.parametrize("garbage", [None, 42, "resnet18", lambda: None, object(), torch.nn.Linear])
def test_never_crashes_on_garbage(garbage):
    result = check_resnet(garbage, verbose=False)
    assert isinstance(result, CheckResult) and not result.passed and result.message


def test_a_builder_without_num_classes():
    def my_resnet18():
        return nets.good_resnet18()

    result = check_resnet(my_resnet18, verbose=False)
    assert "give it a num_classes=1000 parameter" in result.message


def test_unknown_depth():
    assert "depth must be one of [18, 34, 50, 101, 152]" in check_resnet(nets.good_resnet18, 20, verbose=False).message


def test_a_forward_that_never_returns_is_stopped():
    previous = calls.set_time_limit(0.5)
    try:
        result = check_resnet(nets.builder(nets.EndlessForward), verbose=False)
    finally:
        calls.set_time_limit(None if previous == calls.DEFAULT_TIME_LIMIT else previous)
    assert result.message.startswith("build_EndlessForward(num_classes=1000): forward did not return within 0.5 s")
    assert "`x = x + 0`" in result.message or "`while x.dim() == 4:`" in result.message


def test_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_resnet(nets.builder(nets.TupleLoop), verbose=False)
    assert torch.equal(torch.rand(3), expected)


def test_exported_with_the_other_checkers():
    assert checks.check_resnet is check_resnet
    assert "check_resnet" in checks.__all__
