"""A short training loop: one :class:`~resnet_edu.experiments.recipe.Recipe`, SGD, a history.

``train(model, train_loader, test_loader, recipe)`` trains with SGD (momentum and
weight decay from the recipe), sets each epoch's learning rate from
``recipe.lr_at(epoch)`` (step decay, optional warm-up), evaluates on the test loader
after every epoch and returns a :class:`History`. The paper's recipe is section 4.2.

Taught in chapter 1 (plain nets of growing depth) and chapter 6 (plain versus residual).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from resnet_edu.core.environment import get_device
from resnet_edu.core.running import model_run
from resnet_edu.core.tabular import Table
from resnet_edu.core.threads import torch_threads
from resnet_edu.experiments.recipe import Recipe

__all__ = ["EpochRecord", "History", "evaluate", "train"]


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


class History(list):
    """The :class:`EpochRecord` of every epoch, in order; prints as a table (errors in %)."""

    def table(self) -> Table:
        """The history as a :class:`~resnet_edu.core.tabular.Table`, one row per epoch."""
        headers = ["epoch", "lr", "train loss", "train err", "test loss", "test err"]
        rows = [
            [f"{r.epoch}", f"{r.lr:.4g}", f"{r.train_loss:.4f}", f"{r.train_error:.2%}",
             f"{r.test_loss:.4f}", f"{r.test_error:.2%}"]
            for r in self
        ]
        return Table(headers, rows)

    def __str__(self) -> str:
        return str(self.table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


def _batches(loader: Iterable, name: str) -> Iterable:
    if not isinstance(loader, Iterable):
        raise TypeError(f"{name} must be an iterable of (images, labels) batches, e.g. a DataLoader")
    return loader


def evaluate(model: nn.Module, loader: Iterable) -> tuple[float, float]:
    """Mean cross-entropy and error (a fraction in 0..1) of ``model`` over ``loader``.

    The model runs in eval mode (BatchNorm uses its running statistics) on the device
    of its weights, and every submodule gets its mode back afterwards, even on an error
    (:func:`~resnet_edu.core.running.model_run`).

    Args:
        model: a classifier returning logits ``(N, classes)``.
        loader: batches of ``(images, labels)``.

    Raises:
        TypeError: if ``model`` is not a module or ``loader`` not iterable.
        ValueError: if the loader yields no example.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    total_loss, wrong, seen = 0.0, 0, 0
    with model_run(model) as where:
        for images, labels in _batches(loader, "loader"):
            images, labels = images.to(where.device), labels.to(where.device)
            logits = model(images)  # (N, classes)
            total_loss += F.cross_entropy(logits, labels, reduction="sum").item()
            wrong += (logits.argmax(dim=1) != labels).sum().item()
            seen += len(labels)
    if seen == 0:
        raise ValueError("loader yielded no examples")
    return total_loss / seen, wrong / seen


def _train_one_epoch(model, loader, optimizer, device) -> tuple[float, float]:  # type: ignore[no-untyped-def]
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


def _check_batch_size(loader: Iterable, recipe: Recipe) -> None:
    batch_size = getattr(loader, "batch_size", None)
    if batch_size is not None and batch_size != recipe.batch_size:
        raise ValueError(
            f"the recipe trains with batch_size={recipe.batch_size} but train_loader gives batches of "
            f"{batch_size}: build the loader with the recipe's batch size, or use "
            f"recipe.replace(batch_size={batch_size})"
        )


def train(
    model: nn.Module,
    train_loader: Iterable,
    test_loader: Iterable,
    recipe: Recipe,
    *,
    device: torch.device | str | None = None,
    seed: int | None = None,
    progress: bool = True,
    num_threads: int | None = None,
) -> History:
    """Train ``model`` with SGD as ``recipe`` says; return one :class:`EpochRecord` per epoch.

    The model is trained in place and left on ``device``. Weight decay applies to every
    parameter, as in the paper. The global random generator is left alone unless
    ``seed`` is given; for a repeatable run, seed before building the model and the
    loaders (``seed_everything``), or pass ``seed``.

    Args:
        model: a classifier returning logits ``(N, classes)``.
        train_loader: batches of ``(images, labels)`` to train on, of ``recipe.batch_size``.
        test_loader: batches of ``(images, labels)`` to evaluate on after each epoch.
        recipe: epochs, learning rate and its schedule, momentum, weight decay, batch size.
        device: ``"cuda"``, ``"mps"``, ``"cpu"``; ``None`` picks the best available.
        seed: if given, ``torch.manual_seed(seed)`` before the first epoch.
        progress: show a ``tqdm`` progress bar over the epochs.
        num_threads: PyTorch CPU threads while training, restored afterwards; ``None``
            leaves the current setting.

    Raises:
        TypeError: if ``model`` is not a module or ``recipe`` not a :class:`Recipe`.
        ValueError: if the loader's batch size differs from the recipe's.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(recipe, Recipe):
        raise TypeError(
            f"recipe must be a resnet_edu Recipe (e.g. DIGITS_RECIPE or Recipe(epochs=10, lr=0.05)), "
            f"got {type(recipe).__name__}"
        )
    _check_batch_size(train_loader, recipe)
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be None or a non-negative int, got {seed!r}")
        torch.manual_seed(seed)
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay
    )
    history = History()
    with torch_threads(num_threads):
        bar = tqdm(range(recipe.epochs), desc="epochs", unit="epoch", disable=not progress)
        for epoch in bar:
            rate = recipe.lr_at(epoch)
            for group in optimizer.param_groups:
                group["lr"] = rate
            train_loss, train_error = _train_one_epoch(model, train_loader, optimizer, device)
            test_loss, test_error = evaluate(model, test_loader)
            history.append(EpochRecord(epoch + 1, rate, train_loss, train_error, test_loss, test_error))
            bar.set_postfix(lr=f"{rate:.3g}", train_err=f"{train_error:.1%}", test_err=f"{test_error:.1%}")
        bar.close()
    return history
