"""Chapter 1's spreads: plain-8, plain-20 and plain-56 trained on the digits, repeated per seed.

The chapter trains the three plain networks once (``train_depths(("plain",), (8, 20, 56), seed=0)``
with :data:`RECIPE`, the book's recipe cut to 8 epochs to fit the chapter's minute) and prints each final error beside its spread over seeds and environments,
measured here with exactly the chapter's configuration (:func:`config`), and the difference
plain-56 minus plain-20 (the degradation, whose sign is what the chapter claims).

It also measures what the chapter says about plain-20's test-error spike: plain-20 trained for
the recipe's first 7 epochs (those before the decay of the rate, identical to the first 7 epochs
of the full run), then evaluated twice, with BatchNorm's running statistics (as the training loop
evaluates after every epoch) and with the statistics recomputed on the whole training set.

Usage: ``python -m book_tools.spreads ch1 --seeds 0-9`` (about a minute per seed on one free core).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from resnet_edu import DIGITS_RECIPE, cifar_network, digits_loaders, evaluate, train, train_depths
from resnet_edu.experiments.degradation import degradation_spread_config
from resnet_edu.experiments.spread import Spread, measure_spread, spread_path

PATH = spread_path("ch1")
DEPTHS = (8, 20, 56)
NETWORKS = tuple(f"plain-{depth}" for depth in DEPTHS)
#: Chapter 1's recipe: the book's recipe (chapter 6) with its last two epochs cut.
RECIPE = DIGITS_RECIPE.replace(epochs=8)
SPIKE_EPOCHS = 7  # the epochs before the recipe's decay of the rate (milestone 7)


def config() -> dict[str, Any]:
    """The configuration of the depth runs (the chapter passes the same to ``load_spread``)."""
    return degradation_spread_config(RECIPE, NETWORKS)


def spike_config() -> dict[str, Any]:
    """The configuration of the spike measurement: plain-20 trained with the recipe's first 7 epochs."""
    return degradation_spread_config(RECIPE.replace(epochs=SPIKE_EPOCHS), ["plain-20"])


def _recomputed_statistics(model: nn.Module, loader: DataLoader) -> nn.Module:
    """A copy of ``model`` whose BN layers hold the exact mean and variance of ``loader``'s images."""
    model = copy.deepcopy(model)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # a cumulative average over every batch
    model.train()
    with torch.no_grad():
        for images, _ in loader:
            model(images)
    return model.eval()


def _spike(seed: int) -> dict[str, float]:
    torch.manual_seed(seed)  # as train_depths builds and trains each network
    model = cifar_network(20, "plain", in_channels=1)
    train_loader, test_loader = digits_loaders(RECIPE.batch_size, seed)
    train(model, train_loader, test_loader, RECIPE.replace(epochs=SPIKE_EPOCHS), device="cpu",
          seed=seed, progress=False)
    whole_train = DataLoader(train_loader.dataset, batch_size=256, shuffle=False)
    recomputed = _recomputed_statistics(model, whole_train)
    return {
        "plain-20 test error after epoch 7, running BN statistics": evaluate(model, test_loader)[1],
        "plain-20 training-set error after epoch 7, running BN statistics": evaluate(model, whole_train)[1],
        "plain-20 test error after epoch 7, recomputed BN statistics": evaluate(recomputed, test_loader)[1],
    }


def measure(seeds: list[int], spreads: dict[str, Spread]) -> dict[str, Spread]:
    """Train the chapter's three plain networks (and plain-20's first 7 epochs) once per seed."""
    values: dict[str, dict[int, float]] = {}
    spike_names: list[str] = []
    for seed in seeds:
        runs = {run.name: run for run in train_depths(("plain",), DEPTHS, recipe=RECIPE, seed=seed)}
        for name, run in runs.items():
            values.setdefault(f"{name} train error", {})[seed] = run.train_error
            values.setdefault(f"{name} test error", {})[seed] = run.test_error
        values.setdefault("plain-56 minus plain-20 train error", {})[seed] = (
            runs["plain-56"].train_error - runs["plain-20"].train_error)
        for name, value in _spike(seed).items():
            values.setdefault(name, {})[seed] = value
            if name not in spike_names:
                spike_names.append(name)
        print(f"    seed {seed}: " + ", ".join(f"{k} {v[seed]:.1%}" for k, v in values.items()), flush=True)
    result = dict(spreads)
    for name, by_seed in values.items():
        settings = spike_config() if name in spike_names else config()
        result[name] = measure_spread(name, settings, by_seed.__getitem__, seeds, spread=spreads.get(name))
    return result
