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
    # every check_* of the package, less the two that take numbers rather than code and the
    # whole-network checker, whose own corpus is tests/broken_networks.py
    exercises = {name for name in checks.__all__ if name.startswith("check_")} - {"check_answer", "check_param_count",
                                                                                   "check_resnet"}
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


# ---------------------------------------------------------------- code that never returns

class EndlessForward(BasicBlock):
    def forward(self, x):
        out = x
        while out.shape[1] > 0:
            out = out + 0
        return out


class EndlessInit(torch.nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        blocks = 0
        while blocks >= 0:
            blocks += 1


@pytest.fixture
def tiny_time_limit():
    from resnet_edu.teaching.checks import calls

    previous = calls.set_time_limit(0.3)
    yield 0.3
    calls.set_time_limit(None if previous == calls.DEFAULT_TIME_LIMIT else previous)


@pytest.mark.parametrize("broken, loop", [(EndlessForward, ("while out.shape[1] > 0:", "out = out + 0")),
                                         (EndlessInit, ("while blocks >= 0:", "blocks += 1"))])
def test_code_that_never_returns_gets_a_hint_after_the_time_limit(tiny_time_limit, broken, loop):
    import time

    started = time.perf_counter()
    result = checks.check_basic_block(broken, verbose=False)
    assert time.perf_counter() - started < 5  # stopped after 0.3 s, not hung
    assert not result.passed
    assert "did not return within 0.3 s" in result.message and "loop that never ends" in result.message
    assert any(f"`{line}` when it was stopped" in result.message for line in loop)  # the learner's line
    assert checks.check_basic_block(impls.GoodBasic, verbose=False)  # the alarm is off again


def test_the_time_limit_is_configurable_and_restores_an_outer_alarm(monkeypatch):
    monkeypatch.delenv("RESNET_EDU_CHECK_TIME_LIMIT", raising=False)  # conftest sets 60 s for the rest
    import signal

    from resnet_edu.teaching.checks import calls

    assert calls.DEFAULT_TIME_LIMIT == 10
    previous = calls.set_time_limit(2.5)
    try:
        assert calls.get_time_limit() == 2.5
        with pytest.raises(ValueError, match="seconds >= 0"):
            calls.set_time_limit(-1)
        calls.set_time_limit(0)  # no limit: the block runs unbounded, no alarm is armed
        with calls.time_limit():
            assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        calls.set_time_limit(None)
    assert calls.get_time_limit() == 10
    with calls.time_limit(50):  # an outer limit survives an inner one
        with calls.time_limit(0.2):
            pass
        assert 40 < signal.getitimer(signal.ITIMER_REAL)[0] <= 50
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_without_sigalrm_the_code_runs_unlimited(monkeypatch):
    from resnet_edu.teaching.checks import calls

    monkeypatch.setattr(calls, "limit_available", lambda: False)  # Windows, or not the main thread
    ran = []
    with calls.time_limit(0.01):
        import time

        time.sleep(0.05)
        ran.append(True)
    assert ran == [True]


def test_the_environment_sets_the_default(monkeypatch):
    from resnet_edu.teaching.checks import calls

    monkeypatch.setenv("RESNET_EDU_CHECK_TIME_LIMIT", "3")
    assert calls.get_time_limit() == 3.0
    monkeypatch.setenv("RESNET_EDU_CHECK_TIME_LIMIT", "0")
    assert calls.get_time_limit() == 0.0


@pytest.mark.slow
def test_the_time_limit_works_in_a_jupyter_kernel(tmp_path):
    """A notebook cell runs in the kernel's main thread, where SIGALRM works (as under nbgrader autograde)."""
    import nbformat
    from nbclient import NotebookClient

    cell = '''
import torch
from resnet_edu import BasicBlock, check_basic_block, set_time_limit

class Endless(BasicBlock):
    def forward(self, x):
        while True:
            x = x + 0

set_time_limit(0.5)
result = check_basic_block(Endless, verbose=False)
print(result.passed, "did not return within 0.5 s" in result.message)
'''
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert nb.cells[0].outputs[0]["text"] == "False True\n"


def test_a_learner_function_that_never_returns_gets_a_hint():
    from resnet_edu import check_cifar_depth
    from resnet_edu.teaching.checks import calls

    def blocks(depth):
        while True:
            depth += 1

    previous = calls.set_time_limit(0.3)
    try:
        result = check_cifar_depth(blocks, verbose=False)
    finally:
        calls.set_time_limit(previous)
    assert not result and "did not return within 0.3 s" in result.message and "while True" in result.message
