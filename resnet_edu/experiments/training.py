"""A short training loop: SGD with momentum, step decay with optional warm-up, a history.

The recipe is the paper's (section 4.2): SGD, momentum 0.9, weight decay 1e-4, the
learning rate divided by 10 at fixed points, and, for very deep nets, a warm-up at a
tenth of the rate. The paper counts iterations; this loop counts epochs, which is
how small experiments in the book are sized.

Taught in chapter 1 (plain nets of growing depth) and chapter 6 (plain versus residual).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from resnet_edu.core.environment import get_device

__all__ = ["EpochRecord", "learning_rate_at", "evaluate", "train", "history_table"]


@dataclass
class EpochRecord:
    """What one epoch of :func:`train` measured. Errors are fractions in 0..1.

    Args:
        epoch: the epoch's number, counted from 1.
        lr: the learning rate used during the epoch.
        train_loss: mean cross-entropy over the epoch's training batches (in training mode).
        train_error: share of training images misclassified during the epoch.
        test_loss: mean cross-entropy on the test set after the epoch (in eval mode).
        test_error: share of test images misclassified after the epoch.
    """

    epoch: int
    lr: float
    train_loss: float
    train_error: float
    test_loss: float
    test_error: float


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def learning_rate_at(
    epoch: int,
    lr: float,
    milestones: Sequence[int] = (),
    gamma: float = 0.1,
    warmup_epochs: int = 0,
    warmup_lr: float | None = None,
) -> float:
    """The learning rate of epoch ``epoch`` (counted from 0) under step decay with warm-up.

    During the first ``warmup_epochs`` epochs the rate is ``warmup_lr`` (the paper's
    ResNet-110 trains at 0.01 before going up to 0.1). After that it is ``lr`` times
    ``gamma`` for every milestone already passed: with milestones ``(30, 45)`` epochs
    0..29 use ``lr``, 30..44 ``lr * gamma`` and 45.. ``lr * gamma**2``, exactly like
    ``torch.optim.lr_scheduler.MultiStepLR``.

    Args:
        epoch: the epoch, counted from 0.
        lr: the base learning rate.
        milestones: epochs at which the rate is multiplied by ``gamma``.
        gamma: the factor applied at each milestone (0.1 in the paper).
        warmup_epochs: epochs trained at ``warmup_lr`` first.
        warmup_lr: the warm-up rate; ``None`` means ``lr / 10``.
    """
    _check(_is_int(epoch) and epoch >= 0, f"epoch must be a non-negative int, got {epoch!r}")
    if epoch < warmup_epochs:
        return lr / 10 if warmup_lr is None else warmup_lr
    passed = sum(1 for m in milestones if epoch >= m)
    return lr * gamma**passed


def _validate(
    epochs, lr, momentum, weight_decay, milestones, gamma, warmup_epochs, warmup_lr, seed
) -> tuple[int, ...]:
    _check(_is_int(epochs) and epochs >= 1, f"epochs must be an int >= 1, got {epochs!r}")
    _check(isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0, f"lr must be a positive number, got {lr!r}")
    _check(isinstance(momentum, (int, float)) and 0 <= momentum < 1, f"momentum must be in [0, 1), got {momentum!r}")
    _check(
        isinstance(weight_decay, (int, float)) and weight_decay >= 0,
        f"weight_decay must be a number >= 0, got {weight_decay!r}",
    )
    milestones = tuple(milestones)
    _check(
        all(_is_int(m) and m >= 1 for m in milestones) and list(milestones) == sorted(set(milestones)),
        f"milestones must be strictly increasing positive ints (epochs), got {milestones!r}",
    )
    _check(isinstance(gamma, (int, float)) and 0 < gamma <= 1, f"gamma must be in (0, 1], got {gamma!r}")
    _check(
        _is_int(warmup_epochs) and 0 <= warmup_epochs < epochs,
        f"warmup_epochs must be an int in [0, epochs), got {warmup_epochs!r}",
    )
    _check(
        warmup_lr is None or (isinstance(warmup_lr, (int, float)) and warmup_lr > 0),
        f"warmup_lr must be None or a positive number, got {warmup_lr!r}",
    )
    _check(_is_int(seed) and seed >= 0, f"seed must be a non-negative int, got {seed!r}")
    return milestones


def _batches(loader: Iterable, name: str) -> Iterable:
    if not isinstance(loader, Iterable):
        raise TypeError(f"{name} must be an iterable of (images, labels) batches, e.g. a DataLoader")
    return loader


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, device: torch.device | str | None = None) -> tuple[float, float]:
    """Mean cross-entropy and error (a fraction in 0..1) of ``model`` over ``loader``.

    The model runs in eval mode (BatchNorm uses its running statistics) and is put
    back into the mode it was in.

    Args:
        model: a classifier returning logits ``(N, classes)``.
        loader: batches of ``(images, labels)``.
        device: where to run; ``None`` means the device the model's parameters are on.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    total_loss, wrong, seen = 0.0, 0, 0
    for images, labels in _batches(loader, "loader"):
        images, labels = images.to(device), labels.to(device)
        logits = model(images)  # (N, classes)
        total_loss += F.cross_entropy(logits, labels, reduction="sum").item()
        wrong += (logits.argmax(dim=1) != labels).sum().item()
        seen += len(labels)
    model.train(was_training)
    if seen == 0:
        raise ValueError("loader yielded no examples")
    return total_loss / seen, wrong / seen


def _train_one_epoch(model, loader, optimizer, device) -> tuple[float, float]:
    model.train()
    total_loss, wrong, seen = 0.0, 0, 0
    for images, labels in _batches(loader, "train_loader"):
        images, labels = images.to(device), labels.to(device)
        logits = model(images)  # (N, classes)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(labels)
        wrong += (logits.argmax(dim=1) != labels).sum().item()
        seen += len(labels)
    if seen == 0:
        raise ValueError("train_loader yielded no examples")
    return total_loss / seen, wrong / seen


def train(
    model: nn.Module,
    train_loader: Iterable,
    test_loader: Iterable,
    *,
    epochs: int,
    lr: float = 0.1,
    momentum: float = 0.9,
    weight_decay: float = 1e-4,
    milestones: Sequence[int] = (),
    gamma: float = 0.1,
    warmup_epochs: int = 0,
    warmup_lr: float | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    progress: bool = True,
) -> list[EpochRecord]:
    """Train ``model`` with SGD and return one :class:`EpochRecord` per epoch.

    The model is trained in place and left on ``device``. ``seed`` seeds PyTorch's
    global generator before the first epoch (dropout, and loaders without a generator
    of their own); build the model and the loaders after seeding too, and the run is
    repeatable on the CPU. Weight decay applies to every parameter, as in the paper.

    Args:
        model: a classifier returning logits ``(N, classes)``.
        train_loader: batches of ``(images, labels)`` to train on.
        test_loader: batches of ``(images, labels)`` to evaluate on after each epoch.
        epochs: number of passes over ``train_loader`` (>= 1).
        lr: base learning rate (0.1 in the paper).
        momentum: SGD momentum (0.9 in the paper).
        weight_decay: L2 penalty (1e-4 in the paper).
        milestones: epochs at which the rate is multiplied by ``gamma``
            (see :func:`learning_rate_at`).
        gamma: the factor at each milestone.
        warmup_epochs: epochs at ``warmup_lr`` before the base rate (paper section 4.2).
        warmup_lr: the warm-up rate; ``None`` means ``lr / 10``.
        device: ``"cuda"``, ``"mps"``, ``"cpu"``; ``None`` picks the best available.
        seed: seed of PyTorch's global generator.
        progress: show a ``tqdm`` progress bar over the epochs.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    milestones = _validate(epochs, lr, momentum, weight_decay, milestones, gamma, warmup_epochs, warmup_lr, seed)
    device = torch.device(device) if device is not None else get_device()
    torch.manual_seed(seed)
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)

    history: list[EpochRecord] = []
    bar = tqdm(range(epochs), desc="epochs", unit="epoch", disable=not progress)
    for epoch in bar:
        rate = learning_rate_at(epoch, lr, milestones, gamma, warmup_epochs, warmup_lr)
        for group in optimizer.param_groups:
            group["lr"] = rate
        train_loss, train_error = _train_one_epoch(model, train_loader, optimizer, device)
        test_loss, test_error = evaluate(model, test_loader, device)
        history.append(EpochRecord(epoch + 1, rate, train_loss, train_error, test_loss, test_error))
        bar.set_postfix(lr=f"{rate:.3g}", train_err=f"{train_error:.1%}", test_err=f"{test_error:.1%}")
    bar.close()
    return history


def history_table(history: Sequence[EpochRecord]) -> str:
    """A fixed-width text table of a training history, one line per epoch, errors in %.

    Args:
        history: the list :func:`train` returned.
    """
    if not all(isinstance(r, EpochRecord) for r in history):
        raise TypeError("history must be a sequence of EpochRecord (what train() returns)")
    lines = [
        f"{'epoch':>5}  {'lr':>8}  {'train loss':>10}  {'train err':>9}  {'test loss':>9}  {'test err':>8}"
    ]
    for r in history:
        lines.append(
            f"{r.epoch:>5}  {r.lr:>8.4g}  {r.train_loss:>10.4f}  {r.train_error:>9.2%}"
            f"  {r.test_loss:>9.4f}  {r.test_error:>8.2%}"
        )
    return "\n".join(lines)
