"""The training loop on the real digits, with tiny models so it runs in seconds."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from resnet_edu.experiments.data import digits_loaders, load_digits_tensors
from resnet_edu.core.environment import seed_everything
from resnet_edu.experiments.training import EpochRecord, evaluate, history_table, learning_rate_at, train


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models train fastest on one thread, and CI's two cores are shared by other tests."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_convnet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10),
    )


def run(seed: int = 0, epochs: int = 2, **kwargs) -> list[EpochRecord]:
    seed_everything(seed)
    model = tiny_convnet()
    train_loader, test_loader = digits_loaders(batch_size=64, seed=seed)
    kwargs = {"progress": False, "device": "cpu"} | kwargs
    return train(model, train_loader, test_loader, epochs=epochs, seed=seed, **kwargs)


def test_same_seed_gives_identical_histories():
    first, second = run(seed=0), run(seed=0)
    assert first == second  # dataclass equality: every float identical
    assert len(first) == 2 and [r.epoch for r in first] == [1, 2]
    assert run(seed=1) != first


def test_training_learns_the_digits():
    history = run(epochs=5, lr=0.1)
    # chance is 90 % error; this tiny convnet reaches about 11 % in 5 epochs (6-11 % over seeds)
    assert history[-1].test_error < 0.3
    assert history[-1].train_loss < history[0].train_loss
    for r in history:
        assert 0.0 <= r.train_error <= 1.0 and 0.0 <= r.test_error <= 1.0
        assert r.train_loss > 0 and r.test_loss > 0


def test_history_test_numbers_are_evaluate_of_the_final_model():
    seed_everything(0)
    model = tiny_convnet()
    train_loader, test_loader = digits_loaders(seed=0)
    history = train(model, train_loader, test_loader, epochs=1, progress=False, device="cpu")
    loss, error = evaluate(model, test_loader)
    assert (history[-1].test_loss, history[-1].test_error) == pytest.approx((loss, error), abs=1e-6)


def test_one_epoch_is_plain_sgd_with_weight_decay_and_momentum():
    """One full batch, two steps: compare with SGD written out by hand."""
    torch.manual_seed(0)
    x = torch.randn(20, 5)
    y = torch.randint(0, 3, (20,))
    loader = [(x, y)]
    model = nn.Linear(5, 3)
    w, b = model.weight.detach().clone(), model.bias.detach().clone()
    lr, mu, wd = 0.05, 0.9, 1e-2

    train(model, loader, loader, epochs=2, lr=lr, momentum=mu, weight_decay=wd, progress=False, device="cpu")

    velocity = [torch.zeros_like(w), torch.zeros_like(b)]
    params = [w, b]
    for step in range(2):
        p = [t.clone().requires_grad_(True) for t in params]
        loss = F.cross_entropy(x @ p[0].T + p[1], y)
        grads = torch.autograd.grad(loss, p)
        for i in range(2):
            g = grads[i] + wd * params[i]
            velocity[i] = g if step == 0 else mu * velocity[i] + g
            params[i] = params[i] - lr * velocity[i]
    assert torch.allclose(model.weight, params[0], atol=1e-6)
    assert torch.allclose(model.bias, params[1], atol=1e-6)


def test_schedule_matches_multisteplr_and_the_optimizer_uses_it():
    milestones, gamma, lr = (3, 7, 8), 0.2, 0.5
    model = nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(milestones), gamma)
    for epoch in range(12):
        assert learning_rate_at(epoch, lr, milestones, gamma) == pytest.approx(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()

    history = run(epochs=4, lr=0.1, milestones=(2, 3), warmup_epochs=1, warmup_lr=0.02)
    assert [r.lr for r in history] == pytest.approx([0.02, 0.1, 0.01, 0.001])


def test_warmup_defaults_to_a_tenth_of_the_rate():
    assert learning_rate_at(0, 0.1, warmup_epochs=2) == pytest.approx(0.01)
    assert learning_rate_at(1, 0.1, warmup_epochs=2) == pytest.approx(0.01)
    assert learning_rate_at(2, 0.1, warmup_epochs=2) == pytest.approx(0.1)
    assert learning_rate_at(1, 0.1, warmup_epochs=2, warmup_lr=0.03) == pytest.approx(0.03)


def test_evaluate_matches_a_direct_computation_and_restores_the_mode():
    x_train, y_train, x_test, y_test = load_digits_tensors()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10), nn.Dropout(0.5))
    model.train()
    loader = DataLoader(TensorDataset(x_test, y_test), batch_size=50)
    loss, error = evaluate(model, loader)
    assert model.training  # put back
    model.eval()
    with torch.no_grad():
        logits = model(x_test)
    assert loss == pytest.approx(F.cross_entropy(logits, y_test).item(), rel=1e-5)
    assert error == pytest.approx((logits.argmax(1) != y_test).float().mean().item())


def test_progress_bar_can_be_switched_off(capsys):
    run(epochs=1, progress=False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    run(epochs=1, progress=True)
    assert "epochs" in capsys.readouterr().err


def test_model_is_left_on_the_device_and_trained_in_place():
    seed_everything(0)
    model = tiny_convnet()
    before = copy.deepcopy(model.state_dict())
    train_loader, test_loader = digits_loaders(seed=0)
    train(model, train_loader, test_loader, epochs=1, device=torch.device("cpu"), progress=False)
    assert next(model.parameters()).device.type == "cpu"
    assert not torch.equal(before["0.weight"], model.state_dict()["0.weight"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")
def test_trains_on_cuda():
    seed_everything(0)
    model = tiny_convnet()
    train_loader, test_loader = digits_loaders(seed=0)
    history = train(model, train_loader, test_loader, epochs=2, device="cuda", progress=False)
    assert next(model.parameters()).is_cuda
    assert history[-1].test_error < 0.5


def test_history_table():
    history = [EpochRecord(1, 0.1, 2.0, 0.5, 1.5, 0.25), EpochRecord(2, 0.01, 1.0, 0.125, 0.75, 0.0625)]
    lines = history_table(history).splitlines()
    assert len(lines) == 3
    assert lines[0].split() == ["epoch", "lr", "train", "loss", "train", "err", "test", "loss", "test", "err"]
    assert lines[1].split() == ["1", "0.1", "2.0000", "50.00%", "1.5000", "25.00%"]
    assert lines[2].split() == ["2", "0.01", "1.0000", "12.50%", "0.7500", "6.25%"]
    assert len({len(line) for line in lines}) == 1  # columns line up
    with pytest.raises(TypeError, match="EpochRecord"):
        history_table([{"epoch": 1}])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": 1.5}, "epochs"),
        ({"lr": 0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"momentum": 1.0}, "momentum"),
        ({"weight_decay": -1e-4}, "weight_decay"),
        ({"milestones": (5, 3)}, "milestones"),
        ({"milestones": (0,)}, "milestones"),
        ({"gamma": 0}, "gamma"),
        ({"warmup_epochs": 2}, "warmup_epochs"),
        ({"warmup_epochs": 1, "warmup_lr": -0.1}, "warmup_lr"),
        ({"seed": -1}, "seed"),
    ],
)
def test_train_validates_arguments(kwargs, match):
    args = {"epochs": 2} | kwargs
    loader = [(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long))]
    with pytest.raises(ValueError, match=match):
        train(nn.Linear(3, 2), loader, loader, progress=False, **args)


def test_train_rejects_a_non_module_and_empty_loaders():
    loader = [(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long))]
    with pytest.raises(TypeError, match="torch.nn.Module"):
        train(lambda x: x, loader, loader, epochs=1, progress=False)
    with pytest.raises(ValueError, match="train_loader yielded no examples"):
        train(nn.Linear(3, 2), [], loader, epochs=1, progress=False, device="cpu")
    with pytest.raises(TypeError, match="iterable"):
        train(nn.Linear(3, 2), 5, loader, epochs=1, progress=False, device="cpu")
