"""A short training loop: one :class:`~resnet_edu.experiments.recipe.Recipe`, SGD, a history.

``train(model, train_loader, test_loader, recipe)`` trains with SGD (momentum and
weight decay from the recipe), sets each epoch's learning rate from
``recipe.lr_at(epoch)`` (step decay, optional warm-up), evaluates on the test loader
after every epoch and returns a :class:`History`. The paper's recipe is section 4.2.

Under ``torchrun`` the same loop trains data-parallel (chapter 9): when a process group
is initialised the model is wrapped in ``DistributedDataParallel`` (optionally with
synchronised BatchNorm), a ``DistributedSampler`` is told the epoch, the epoch's counts
are summed over the processes so every process returns the same global history, and
only rank 0 shows progress and writes the training state (``checkpoint``), from which a
later run continues (``resume_from``).

Taught in chapter 1 (plain nets of growing depth) and chapter 6 (plain versus residual).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DistributedSampler
from tqdm.auto import tqdm

from resnet_edu.core.environment import get_device
from resnet_edu.core.running import model_run
from resnet_edu.core.tabular import Table
from resnet_edu.core.threads import torch_threads
from resnet_edu.experiments import distributed
from resnet_edu.experiments.checkpoints import CheckpointError, load_training_state, save_training_state
from resnet_edu.experiments.recipe import Recipe

__all__ = ["EpochRecord", "History", "evaluate", "predict", "train"]


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
    """The :class:`EpochRecord` of every epoch, in order; prints as a table (errors in %).

    A slice is a History too: ``print(history[-3:])`` prints the last three epochs.
    """

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        item = super().__getitem__(index)
        return History(item) if isinstance(index, slice) else item

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


def _check_model(model: object) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


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
    _check_model(model)
    return _means(*_evaluation_sums(model, loader), "loader")


def predict(model: nn.Module, loader: Iterable) -> torch.Tensor:
    """The predicted class of every example of ``loader``, in order: a ``(N,)`` tensor on the CPU.

    Like :func:`evaluate`, the model runs in eval mode on the device of its weights, and every
    submodule gets its mode back afterwards; the labels of the batches are not used.

    Args:
        model: a classifier returning logits ``(N, classes)``.
        loader: batches of ``(images, labels)``.

    Raises:
        TypeError: if ``model`` is not a module or ``loader`` not iterable.
        ValueError: if the loader yields no example.
    """
    _check_model(model)
    predicted = []
    with model_run(model) as where:
        for images, _ in _batches(loader, "loader"):
            predicted.append(model(images.to(where.device)).argmax(dim=1).cpu())  # (batch,)
    if not predicted:
        raise ValueError("loader yielded no examples")
    return torch.cat(predicted)


def _means(total_loss: float, wrong: float, seen: float, name: str) -> tuple[float, float]:
    if seen == 0:
        raise ValueError(f"{name} yielded no examples")
    return total_loss / seen, wrong / seen


def _evaluation_sums(model: nn.Module, loader: Iterable) -> tuple[float, int, int]:
    total_loss, wrong, seen = 0.0, 0, 0
    with model_run(model) as where:
        for images, labels in _batches(loader, "loader"):
            images, labels = images.to(where.device), labels.to(where.device)
            logits = model(images)  # (N, classes)
            total_loss += F.cross_entropy(logits, labels, reduction="sum").item()
            wrong += (logits.argmax(dim=1) != labels).sum().item()
            seen += len(labels)
    return total_loss, wrong, seen


def _train_one_epoch(model, loader, optimizer, device, rate_at_step=None) -> tuple[float, int, int]:  # type: ignore[no-untyped-def]
    """Sums over the epoch (loss, errors, images); ``rate_at_step(i)`` sets step i's rate if given."""
    model.train()
    total_loss, wrong, seen = 0.0, 0, 0
    for step, (images, labels) in enumerate(_batches(loader, "train_loader")):
        if rate_at_step is not None:
            for group in optimizer.param_groups:
                group["lr"] = rate_at_step(step)
        images, labels = images.to(device), labels.to(device)
        logits = model(images)  # (N, classes)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(labels)
        wrong += (logits.argmax(dim=1) != labels).sum().item()
        seen += len(labels)
    return total_loss, wrong, seen


def _step_schedule(recipe: Recipe, epoch: int, loader: Iterable) -> Callable[[int], float] | None:
    """The per-step rates of a gradual (linear) warm-up epoch; ``None`` when the rate is per epoch."""
    if recipe.warmup != "linear" or epoch >= recipe.warmup_epochs:
        return None
    try:
        steps = len(loader)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError("a linear warm-up needs a train_loader with a length (steps per epoch)") from None
    return lambda step: recipe.lr_at_step(epoch, step, steps)


def _recipe_fields(recipe: Recipe) -> dict[str, object]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(recipe).items()}


def _training_state(model, optimizer, epoch, history, recipe, train_loader) -> dict:  # type: ignore[no-untyped-def]
    """What a later run needs to continue: weights, optimizer (momentum), epoch, history, RNG states."""
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": epoch,
        "history": [dataclasses.asdict(r) for r in history],
        "recipe": _recipe_fields(recipe),
        "world_size": distributed.get_world_size(),
        "torch_rng": torch.get_rng_state(),
    }
    generator = getattr(train_loader, "generator", None)
    if isinstance(generator, torch.Generator):
        state["loader_generator"] = generator.get_state()
    return state


def _resume(state: dict, path, model, optimizer, recipe, train_loader) -> tuple[int, "History"]:  # type: ignore[no-untyped-def]
    saved = state.get("recipe", {})
    mine = _recipe_fields(recipe)
    differ = [k for k in mine if k != "epochs" and saved.get(k) != mine[k]]
    if differ:
        raise CheckpointError(
            f"{path} was trained with another recipe ({', '.join(f'{k}={saved.get(k)!r}' for k in differ)}); "
            "resume with the same recipe (only epochs may change)"
        )
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history = History(EpochRecord(**r) for r in state["history"])
        epoch = int(state["epoch"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path} is not a training state of this model ({err})") from err
    torch.set_rng_state(state["torch_rng"])
    generator = getattr(train_loader, "generator", None)
    if isinstance(generator, torch.Generator) and "loader_generator" in state:
        generator.set_state(state["loader_generator"])
    return epoch, history


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
    sync_batchnorm: bool = False,
    checkpoint: str | os.PathLike | None = None,
    resume_from: str | os.PathLike | None = None,
) -> History:
    """Train ``model`` with SGD as ``recipe`` says; return one :class:`EpochRecord` per epoch.

    The model is trained in place and left on ``device``. Weight decay applies to every
    parameter, as in the paper. The global random generator is left alone unless
    ``seed`` is given; for a repeatable run, seed before building the model and the
    loaders (``seed_everything``), or pass ``seed``.

    Run by ``torchrun`` after :func:`~resnet_edu.experiments.distributed.init_distributed`,
    each process trains its replica on its loader's share (build the loaders with
    :func:`~resnet_edu.experiments.distributed.distributed_loaders`; ``recipe.batch_size``
    is then the batch of one process) inside ``DistributedDataParallel``; the returned
    history is the same in every process and counts every process's images.

    Args:
        model: a classifier returning logits ``(N, classes)``.
        train_loader: batches of ``(images, labels)`` to train on, of ``recipe.batch_size``.
        test_loader: batches of ``(images, labels)`` to evaluate on after each epoch.
        recipe: epochs, learning rate and its schedule, momentum, weight decay, batch size.
        device: ``"cuda"``, ``"mps"``, ``"cpu"``; ``None`` picks the best available.
        seed: if given, ``torch.manual_seed(seed)`` before the first epoch.
        progress: show a ``tqdm`` progress bar over the epochs (rank 0 only).
        num_threads: PyTorch CPU threads while training, restored afterwards; ``None``
            leaves the current setting.
        sync_batchnorm: in a process group, normalise with the statistics of the whole
            batch across processes (``SyncBatchNorm``; the model's BN layers are replaced
            in place, with the same parameters and names); ignored in one process.
        checkpoint: a file to write the training state to after every epoch (rank 0
            only, atomically): weights, optimizer, epoch, history, random states.
        resume_from: a training state written through ``checkpoint``: training
            continues after its epoch with the same recipe (``epochs`` may be larger),
            and the returned history includes its epochs.

    Raises:
        TypeError: if ``model`` is not a module or ``recipe`` not a :class:`Recipe`.
        ValueError: if the loader's batch size differs from the recipe's.
        CheckpointError: if ``resume_from`` cannot be read or was trained with another recipe.
    """
    _check_model(model)
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
    in_group = distributed.is_distributed()
    if device is not None:
        device = torch.device(device)
    else:
        device = distributed.device_for_process() if in_group else get_device()
    model.to(device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay
    )
    history, start = History(), 0
    if resume_from is not None:
        state = load_training_state(resume_from, map_location=device)
        start, history = _resume(state, resume_from, model, optimizer, recipe, train_loader)
    trainee = distributed.wrap_model(model, device, sync_batchnorm)  # the model itself in one process
    sampler = getattr(train_loader, "sampler", None)
    main = distributed.is_main_process()
    with torch_threads(num_threads):
        bar = tqdm(range(start, recipe.epochs), desc="epochs", unit="epoch", disable=not progress or not main)
        for epoch in bar:
            if isinstance(sampler, DistributedSampler):
                sampler.set_epoch(epoch)  # a new shuffle every epoch, the same in every process
            rate = recipe.lr_at(epoch)
            for group in optimizer.param_groups:
                group["lr"] = rate
            sums = _train_one_epoch(trainee, train_loader, optimizer, device, _step_schedule(recipe, epoch, train_loader))
            train_loss, train_error = _means(*distributed.all_reduce_sums(sums, device), "train_loader")
            distributed.broadcast_buffers(model)  # every process evaluates (and saves) rank 0's model
            sums = _evaluation_sums(model, test_loader)
            test_loss, test_error = _means(*distributed.all_reduce_sums(sums, device), "loader")
            history.append(EpochRecord(epoch + 1, rate, train_loss, train_error, test_loss, test_error))
            bar.set_postfix(lr=f"{rate:.3g}", train_err=f"{train_error:.1%}", test_err=f"{test_error:.1%}")
            if checkpoint is not None and main:
                save_training_state(_training_state(model, optimizer, epoch + 1, history, recipe, train_loader), checkpoint)
        bar.close()
    return history
