"""Chapter 7's spread: the lesion study (ResNet-20 and plain-20 on the digits) over seeds.

``measure(seeds, spreads)`` runs :func:`resnet_edu.experiments.lesion.lesion_experiment` once per
seed and stores every number of :func:`~resnet_edu.experiments.lesion.lesion_summary` (the intact
errors and the median, best and worst one-block deletion of each network) as one spread each,
under the configuration :func:`~resnet_edu.experiments.lesion.lesion_spread_config` gives, which is
what chapter 7 passes to ``load_spread``. One seed trains two 20-layer networks for 10 epochs and
evaluates 17 lesioned networks: under a minute on one CPU core.
"""

from __future__ import annotations

from typing import Iterable

from resnet_edu.experiments.lesion import lesion_experiment, lesion_spread_config, lesion_summary
from resnet_edu.experiments.spread import Spread, measure_spread, spread_path

PATH = spread_path("ch7")


def measure(seeds: Iterable[int], spreads: dict[str, Spread]) -> dict[str, Spread]:
    """Run the lesion experiment for every seed and add each summary number to its spread."""
    seeds = list(seeds)
    config = lesion_spread_config()
    summaries = {}
    for seed in seeds:
        summaries[seed] = lesion_summary(lesion_experiment(seed=seed))
        print(f"    seed {seed}: " + ", ".join(f"{k} {v:.1%}" for k, v in summaries[seed].items()), flush=True)
    for name in summaries[seeds[0]]:
        spreads[name] = measure_spread(name, config, lambda seed: summaries[seed][name], seeds,
                                       spread=spreads.get(name))
    return spreads
