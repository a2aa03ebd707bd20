"""The training recipe: every choice of an SGD run, in one object that is passed whole.

He et al. 2015, section 4.2 (CIFAR-10): SGD with momentum 0.9, weight decay 1e-4,
mini-batch 128, learning rate 0.1 divided by 10 at 32k and 48k iterations, stop at 64k;
for ResNet-110 a warm-up at 0.01 "until the training error is below 80% (about 400
iterations)". The paper counts iterations; a :class:`Recipe` counts epochs, which is
how the book's small experiments are sized. :data:`PAPER_CIFAR_RECIPE` and
:data:`DIGITS_RECIPE` are two instances. Taught in chapters 1 and 6.

Goyal et al. 2017 ("Accurate, Large Minibatch SGD"), for a mini-batch k times larger:
the linear scaling rule (section 2.1, multiply the rate by k) and the gradual warm-up
(section 2.2, from the small-batch rate to k times it, step by step, over the first
epochs): :meth:`Recipe.scaled_for` and ``warmup="linear"``. Taught in chapter 9.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

__all__ = ["Recipe", "PAPER_CIFAR_RECIPE", "DIGITS_RECIPE", "WARMUPS"]

#: The warm-up shapes: ``"constant"`` (He et al. 2015: a fixed small rate, then the full
#: rate) and ``"linear"`` (Goyal et al. 2017, section 2.2: the gradual warm-up, a ramp
#: that rises by the same amount at every step).
WARMUPS: tuple[str, ...] = ("constant", "linear")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Recipe:
    """How to train: SGD with momentum, step decay, optional warm-up, mini-batch size.

    Args:
        epochs: passes over the training set (>= 1).
        batch_size: images per step (the loaders' batch size).
        lr: the base learning rate, after warm-up.
        milestones: epochs at which the rate is multiplied by ``gamma`` (strictly
            increasing), as ``torch.optim.lr_scheduler.MultiStepLR``.
        gamma: the factor applied at each milestone (0.1 in the paper).
        warmup_epochs: epochs of warm-up at the start.
        warmup_lr: the warm-up rate (with ``warmup="linear"``, the rate the ramp starts
            from); ``None`` means ``lr / 10`` (the paper's ResNet-110).
        momentum: SGD momentum (0.9 in the paper).
        weight_decay: L2 penalty on every parameter (1e-4 in the paper).
        warmup: ``"constant"`` (every warm-up epoch at ``warmup_lr``) or ``"linear"``
            (Goyal et al.'s gradual warm-up: from ``warmup_lr`` up to ``lr`` in equal
            steps, one per SGD step, over ``warmup_epochs``); see :data:`WARMUPS`.

    Raises:
        ValueError: for any value outside its range, naming the field and what it allows.
    """

    epochs: int
    batch_size: int = 128
    lr: float = 0.1
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1
    warmup_epochs: int = 0
    warmup_lr: float | None = None
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup: str = "constant"

    def __post_init__(self) -> None:
        milestones = tuple(self.milestones) if isinstance(self.milestones, (list, tuple)) else self.milestones
        object.__setattr__(self, "milestones", milestones)
        checks = [
            (_is_int(self.epochs) and self.epochs >= 1, f"epochs must be an int >= 1, got {self.epochs!r}"),
            (_is_int(self.batch_size) and self.batch_size >= 1,
             f"batch_size must be an int >= 1, got {self.batch_size!r}"),
            (_is_number(self.lr) and self.lr > 0, f"lr must be a positive number, got {self.lr!r}"),
            (isinstance(milestones, tuple) and all(_is_int(m) and m >= 1 for m in milestones)
             and list(milestones) == sorted(set(milestones)),
             f"milestones must be strictly increasing positive ints (epochs), got {self.milestones!r}"),
            (_is_number(self.gamma) and 0 < self.gamma <= 1, f"gamma must be in (0, 1], got {self.gamma!r}"),
            (_is_int(self.warmup_epochs) and 0 <= self.warmup_epochs < self.epochs,
             f"warmup_epochs must be an int in [0, epochs), got {self.warmup_epochs!r}"),
            (self.warmup_lr is None or (_is_number(self.warmup_lr) and self.warmup_lr > 0),
             f"warmup_lr must be None or a positive number, got {self.warmup_lr!r}"),
            (_is_number(self.momentum) and 0 <= self.momentum < 1,
             f"momentum must be in [0, 1), got {self.momentum!r}"),
            (_is_number(self.weight_decay) and self.weight_decay >= 0,
             f"weight_decay must be a number >= 0, got {self.weight_decay!r}"),
            (self.warmup in WARMUPS, f"warmup must be one of {WARMUPS}, got {self.warmup!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"Recipe: {message}")

    def lr_at(self, epoch: int) -> float:
        """The learning rate of epoch ``epoch`` (counted from 0).

        During the first ``warmup_epochs`` epochs it is ``warmup_lr``; after that ``lr``
        times ``gamma`` for every milestone already passed: with milestones ``(30, 45)``
        epochs 0..29 use ``lr``, 30..44 ``lr * gamma`` and 45.. ``lr * gamma**2``.
        With ``warmup="linear"`` a warm-up epoch's rate changes at every step; this is
        the rate of its first step (see :meth:`lr_at_step`).
        """
        if not (_is_int(epoch) and epoch >= 0):
            raise ValueError(f"epoch must be a non-negative int, got {epoch!r}")
        if epoch < self.warmup_epochs:
            start = self.lr / 10 if self.warmup_lr is None else self.warmup_lr
            if self.warmup == "linear":
                return start + (self.lr - start) * epoch / self.warmup_epochs
            return start
        passed = sum(1 for m in self.milestones if epoch >= m)
        return self.lr * self.gamma**passed

    def lr_at_step(self, epoch: int, step: int, steps_per_epoch: int) -> float:
        """The learning rate of step ``step`` (from 0) of epoch ``epoch`` (from 0).

        The same as :meth:`lr_at` except during a ``warmup="linear"`` warm-up, where the
        rate rises by ``(lr - warmup_lr) / (warmup_epochs * steps_per_epoch)`` at every
        step, so the first step after the warm-up is the first at ``lr`` (Goyal et al.
        2017, section 2.2: "increment it by a constant amount at each iteration").

        Args:
            epoch: the epoch, counted from 0.
            step: the step within the epoch, counted from 0.
            steps_per_epoch: SGD steps in one epoch (``len(train_loader)``).
        """
        if not (_is_int(steps_per_epoch) and steps_per_epoch >= 1):
            raise ValueError(f"steps_per_epoch must be an int >= 1, got {steps_per_epoch!r}")
        if not (_is_int(step) and 0 <= step < steps_per_epoch):
            raise ValueError(f"step must be an int in [0, steps_per_epoch), got {step!r}")
        if self.warmup != "linear" or epoch >= self.warmup_epochs:
            return self.lr_at(epoch)
        start = self.lr / 10 if self.warmup_lr is None else self.warmup_lr
        done = epoch * steps_per_epoch + step
        return start + (self.lr - start) * done / (self.warmup_epochs * steps_per_epoch)

    def scaled_for(self, batch_size: int, *, world_size: int = 1, warmup_epochs: int | None = None) -> "Recipe":
        """This recipe for a larger (or smaller) total mini-batch: Goyal et al.'s linear scaling rule.

        This recipe is the reference: ``self.batch_size`` images per step at ``self.lr``.
        The result takes ``batch_size`` images per process on ``world_size`` processes,
        a total batch ``k = batch_size * world_size / self.batch_size`` times the
        reference, so its rate is ``k * self.lr`` ("when the minibatch size is multiplied
        by k, multiply the learning rate by k", Goyal et al. 2017, section 2.1). When
        ``k > 1`` the warm-up becomes their gradual one (section 2.2): a linear ramp from
        the reference rate ``self.lr`` up to ``k * self.lr``. Everything else is kept.

        Args:
            batch_size: images per step in each process (the loaders' batch size).
            world_size: processes training together (DDP adds their gradients up, so the
                total batch is ``batch_size * world_size``).
            warmup_epochs: epochs of the ramp; ``None`` keeps ``self.warmup_epochs``.

        Example: ``DIGITS_RECIPE.scaled_for(512)`` trains at 0.05 * 512 / 64 = 0.4.
        """
        if not (_is_int(batch_size) and batch_size >= 1):
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        if not (_is_int(world_size) and world_size >= 1):
            raise ValueError(f"world_size must be an int >= 1, got {world_size!r}")
        k = batch_size * world_size / self.batch_size
        changes: dict[str, object] = {"batch_size": batch_size, "lr": self.lr * k}
        if warmup_epochs is not None:
            changes["warmup_epochs"] = warmup_epochs
        if k > 1:
            changes.update(warmup="linear", warmup_lr=self.lr)
        return self.replace(**changes)

    def replace(self, **changes: object) -> "Recipe":
        """A copy with some fields changed, e.g. ``DIGITS_RECIPE.replace(epochs=2)``."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def __str__(self) -> str:
        # ``warmup`` is printed only when it is not the default, so the book's recipes print as before
        shown = [f for f in dataclasses.fields(self) if f.name != "warmup" or self.warmup != "constant"]
        return "\n".join(f"{f.name:>14}: {getattr(self, f.name)}" for f in shown)


#: He et al. 2015, section 4.2, in epochs of 391 steps (50,000 images / 128): 64k
#: iterations = 164 epochs, the rate divided by 10 after 32k (epoch 82) and 48k (123).
PAPER_CIFAR_RECIPE = Recipe(epochs=164, batch_size=128, lr=0.1, milestones=(82, 123))

#: The book's recipe for the 8x8 digits (1,437 training images, 23 steps per epoch): 10
#: epochs, one warm-up epoch at lr / 10, lr 0.05 (not 0.1: measured on seeds 0-4, at 0.1
#: ResNet-56 ends at 0.4-4 % training error instead of 0-0.14 %), divided by 10 after epoch 7.
#: The warm-up matters at lr 0.1 (without it ResNet-56 ended at 7-70 %), much less at 0.05
#: (0-1.6 %). Those measurements were made with option A padding its zeros at the end.
DIGITS_RECIPE = Recipe(epochs=10, batch_size=64, lr=0.05, milestones=(7,), warmup_epochs=1)
