"""The exercise checkers: correct solutions pass, every broken one gets its own hint."""

from __future__ import annotations

import inspect

import pytest
import torch

import broken_impls as impls
from resnet_edu.teaching import checks
from resnet_edu.models.blocks import BasicBlock, Bottleneck, PlainBlock, PreActBlock
from resnet_edu.teaching.checks import CheckResult


@pytest.mark.parametrize(
    "checker, solution",
    [
        ("check_plain_block", impls.GoodPlain),
        ("check_plain_block", PlainBlock),
        ("check_basic_block", impls.GoodBasic),
        ("check_basic_block", BasicBlock),
        ("check_bottleneck", impls.GoodBottleneck),
        ("check_bottleneck", Bottleneck),
        ("check_preact_block", impls.GoodPreAct),
        ("check_preact_block", PreActBlock),
        ("check_zero_pad_shortcut", impls.good_zero_pad),
        ("check_zero_pad_shortcut", impls.good_zero_pad_both_sides),
        ("check_zero_pad_shortcut", impls.good_zero_pad_front),
        ("check_make_stage", impls.good_make_stage),
        ("check_cifar_depth", impls.good_cifar_depth),
    ],
)
def test_correct_solutions_pass(checker, solution, capsys):
    result = getattr(checks, checker)(solution)
    printed = capsys.readouterr().out
    assert result.passed, result.message
    assert bool(result) and result.assert_ok() is result
    assert printed.strip() == str(result) and printed.startswith(f"{checker} passed: ")


def test_corpus_covers_every_exercise_checker():
    # every check_* of the package, less the two that take numbers rather than code
    exercises = {name for name in checks.__all__ if name.startswith("check_")} - {"check_answer", "check_param_count"}
    assert {name for name, _, _ in impls.CORPUS} == exercises


@pytest.mark.parametrize(
    "checker, broken, phrase", impls.CORPUS, ids=[f"{c}-{getattr(b, '__name__', type(b).__name__)}" for c, b, _ in impls.CORPUS]
)
def test_broken_implementation_gets_its_hint(checker, broken, phrase, capsys):
    result = getattr(checks, checker)(broken)
    printed = capsys.readouterr().out
    assert not result.passed
    assert phrase in result.message, result.message
    assert printed.count("\n") == 1 and f"{checker} not yet: " in printed
    with pytest.raises(AssertionError, match="not yet"):
        result.assert_ok()


def test_hints_name_the_learner_line():
    result = checks.check_basic_block(impls.ForwardBug, verbose=False)
    lines, first = inspect.getsourcelines(impls.ForwardBug.forward)
    raising = first + next(i for i, line in enumerate(lines) if "return self.bn1(out)" in line)
    assert f"(line {raising}: `return self.bn1(out)`)" in result.message  # the learner's line that raised


def test_notebook_display_does_not_repeat_the_printed_line(capsys):
    loud = checks.check_answer("n", 5, 5)
    quiet = checks.check_answer("n", 5, 5, verbose=False)
    assert capsys.readouterr().out == "check_answer passed: n = 5 is right.\n"
    loud._ipython_display_()  # what Jupyter calls when a cell ends with the checker call
    assert capsys.readouterr().out == ""
    quiet._ipython_display_()
    assert capsys.readouterr().out == "check_answer passed: n = 5 is right.\n"


def test_raise_on_failure_and_quiet(capsys):
    with pytest.raises(AssertionError, match="forget `return out`"):
        checks.check_basic_block(impls.ReturnsNone, raise_on_failure=True, verbose=False)
    assert capsys.readouterr().out == ""
    assert checks.check_basic_block(impls.GoodBasic, raise_on_failure=True, verbose=False)


@pytest.mark.parametrize("garbage", [None, 42, "BasicBlock", lambda *a: None, object()])
@pytest.mark.parametrize("checker", sorted({name for name, _, _ in impls.CORPUS}))
def test_checkers_never_crash_on_garbage(checker, garbage):
    result = getattr(checks, checker)(garbage, verbose=False)
    assert isinstance(result, CheckResult) and not result.passed and result.message


def test_checkers_leave_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    checks.check_basic_block(impls.GoodBasic, verbose=False)
    checks.check_make_stage(impls.good_make_stage, verbose=False)
    assert torch.equal(torch.rand(3), expected)


def test_check_answer_directions_and_tolerance():
    assert checks.check_answer("n", 100, 100, verbose=False)
    high = checks.check_answer("n", 1_200, 1_000, verbose=False)
    assert not high and "1,200 is too high by 200 (20.0%)" in high.message
    low = checks.check_answer("n", 990, 1_000, verbose=False)
    assert "too low by 10" in low.message
    assert checks.check_answer("GMACs", 1.80, 1.814, tolerance=0.01, relative=True, verbose=False)
    assert not checks.check_answer("GMACs", 1.70, 1.814, tolerance=0.01, relative=True, verbose=False)
    assert "twice" in checks.check_answer("FLOPs", 3.628, 1.814, verbose=False).message
    assert "1,000 times" in checks.check_answer("n", 11_689_512_000, 11_689_512, verbose=False).message
    assert "placeholder" in checks.check_answer("n", ..., 5, verbose=False).message
    assert "expected a number" in checks.check_answer("n", "12", 5, verbose=False).message
    assert checks.check_answer("n", torch.tensor(5), 5, verbose=False)
    with pytest.raises(TypeError, match="computed from the package"):
        checks.check_answer("n", 5, "5")


def test_check_answer_known_mistakes():
    result = checks.check_answer("n", 7, 5, mistakes={7: "You counted the biases."}, verbose=False)
    assert result.message.endswith("You counted the biases.")


def test_check_param_count_uses_the_model():
    block = BasicBlock(64, 128, stride=2)
    # 3x3 64->128, 3x3 128->128, 1x1 64->128 projection, three BNs of 128 channels (weight + bias)
    by_hand = 9 * 64 * 128 + 9 * 128 * 128 + 64 * 128 + 3 * 2 * 128
    assert checks.check_param_count(by_hand, block, verbose=False)
    result = checks.check_param_count(by_hand - 64 * 128 - 256, block, verbose=False)
    assert "too low by 8,448" in result.message
