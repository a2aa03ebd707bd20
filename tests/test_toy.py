"""Chapter 1's toy stacks (models/toy.py) and toy experiment (experiments/toy_fit.py)."""

from __future__ import annotations

import pytest
import torch

from resnet_edu import (
    ToyBlock,
    ToyResidual,
    identity_toy_block,
    near_identity_task,
    toy_experiment,
    toy_signals,
    toy_stack,
)


@pytest.fixture(scope="module")
def task() -> tuple[torch.Tensor, torch.Tensor]:
    return near_identity_task()


def test_task_is_close_to_the_identity(task):
    x, y = task
    assert x.shape == y.shape == (256, 8)
    assert 0 < torch.nn.functional.mse_loss(y, x).item() < 0.05
    assert torch.equal(near_identity_task()[0], x)  # seeded by its own generator


def test_plain_and_residual_stacks_share_their_random_draws(task):
    x, _ = task
    plain, residual = toy_stack("plain", 4, x), toy_stack("residual", 4, x)
    assert isinstance(plain[0], ToyBlock) and isinstance(residual[0], ToyResidual)
    for p, r in zip(plain, residual):
        # the same fc1 draws; fc2 differs only by a positive scale
        assert torch.equal(p.fc1.weight, r.f.fc1.weight)
        ratio = r.f.fc2.weight / p.fc2.weight
        assert torch.allclose(ratio, ratio.flatten()[0].expand_as(ratio), rtol=1e-4)


@pytest.mark.parametrize("blocks", [1, 4, 16])
def test_scaled_init_keeps_the_signals_healthy(task, blocks):
    x, _ = task
    std, gradient = toy_signals(toy_stack("plain", blocks, x), x)
    assert std == pytest.approx(1.0, abs=1e-4)  # every plain block's output is scaled to std 1
    assert 0.5 < gradient < 4  # neither vanishing nor exploding
    std, gradient = toy_signals(toy_stack("residual", blocks, x), x)
    assert 1 < std < 2 and 1 < gradient < 2


def test_default_init_would_vanish(task):
    """The contrast: PyTorch's default Linear init shrinks the signal block after block."""
    x, _ = task
    torch.manual_seed(0)
    stack = torch.nn.Sequential(*[torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(),
                                                      torch.nn.Linear(32, 8)) for _ in range(16)])
    std, gradient = toy_signals(stack, x)
    assert std < 0.2 and gradient < 1e-3


def test_identity_of_the_signals_is_one(task):
    x, _ = task
    std, gradient = toy_signals(torch.nn.Identity(), x)
    assert gradient == pytest.approx(1.0)
    assert std == pytest.approx(x.std().item())


def test_identity_block_is_exact(task):
    x, _ = task
    block = identity_toy_block(8)
    assert torch.equal(block(x), x)
    with pytest.raises(ValueError, match=r"hidden must be an int >= 2 \* features = 16"):
        identity_toy_block(8, hidden=10)


def test_bad_arguments_get_clear_errors(task):
    x, _ = task
    with pytest.raises(ValueError, match="kind must be one of"):
        toy_stack("resnet", 2, x)
    with pytest.raises(ValueError, match="inputs must be a 2-D tensor"):
        toy_stack("plain", 2, x[0])
    with pytest.raises(TypeError, match="blocks must be a positive int"):
        toy_stack("plain", 2.0, x)


def test_deeper_plain_stacks_fit_worse_residual_ones_do_not(task):
    """The chapter's claim, on a second seed of the weights (the chapter runs seed 0)."""
    x, y = task
    result = toy_experiment(x, y, depths=(1, 16), seed=1)
    final = result.final
    assert final["plain", 16] > 5 * final["plain", 1]
    assert final["residual", 16] < final["plain", 16] / 10
    assert "input-gradient norm at init" in str(result)
