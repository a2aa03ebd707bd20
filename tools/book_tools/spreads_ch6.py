"""Chapter 6's spreads: the degradation experiment (plain-20/56, ResNet-20/56) repeated per seed.

The chapter trains the four networks once (``degradation_experiment(seed=0)``) and prints each
final error beside its spread over seeds and environments, measured here with exactly the
chapter's configuration (``degradation_spread_config()``), and three differences whose sign is
what the chapter claims (degradation, its cure, and depth not paying on the digits).

Usage: ``python -m book_tools.spreads ch6 --seeds 0-9`` (about a minute per seed on one free core).
"""

from __future__ import annotations

from resnet_edu import DIGITS_RECIPE, degradation_experiment
from resnet_edu.experiments.degradation import degradation_spread_config
from resnet_edu.experiments.spread import Spread, measure_spread, spread_path

PATH = spread_path("ch6")
NETWORKS = ("plain-20", "plain-56", "resnet-20", "resnet-56")


def measure(seeds: list[int], spreads: dict[str, Spread]) -> dict[str, Spread]:
    """Train the chapter's four networks once per seed; add the runs to ``spreads``."""
    values: dict[str, dict[int, float]] = {}
    for seed in seeds:
        runs = {run.name: run for run in degradation_experiment(seed=seed)}
        for name, run in runs.items():
            values.setdefault(f"{name} train error", {})[seed] = run.train_error
            values.setdefault(f"{name} test error", {})[seed] = run.test_error
        # the directions the chapter claims, per seed
        values.setdefault("plain-56 minus plain-20 train error", {})[seed] = (
            runs["plain-56"].train_error - runs["plain-20"].train_error)
        values.setdefault("plain-56 minus resnet-56 train error", {})[seed] = (
            runs["plain-56"].train_error - runs["resnet-56"].train_error)
        values.setdefault("resnet-56 minus resnet-20 test error", {})[seed] = (
            runs["resnet-56"].test_error - runs["resnet-20"].test_error)
        print(f"    seed {seed}: " + ", ".join(f"{k} {v[seed]:.1%}" for k, v in values.items()
                                             if k.endswith("train error") and "minus" not in k), flush=True)
    result = dict(spreads)
    settings = degradation_spread_config(DIGITS_RECIPE, NETWORKS)
    for name, by_seed in values.items():
        result[name] = measure_spread(name, settings, by_seed.__getitem__, seeds, spread=spreads.get(name))
    return result
