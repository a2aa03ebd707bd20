"""How much a training result moves across seeds and machines: measured once, stored, printed.

A chapter can train each network once in its minute of CPU time. Which numbers of that one run
would come out differently on another seed or another machine? A training run on the CPU is
deterministic on one machine, but a different CPU (or another PyTorch) sums in another order, and
a network near the edge of trainability (plain-56) turns those last-bit differences into a
different run. So the book prints each single run beside its **spread**: the same experiment
repeated over several seeds and in two environments (the pinned one and Colab's versions).

Repeating it takes many minutes, more than a chapter may take, so the repeats run outside the
chapters (``tools/book_tools/spreads.py``, ``make spreads``) and are stored as JSON inside the
package (``resnet_edu/experiments/spreads/``), so that a chapter finds them in Colab too.
Each stored spread carries the *configuration* it was measured with (depths, recipe, ...); the
chapter passes its own configuration to :func:`load_spread`, which refuses a spread measured
with a different one, so a changed recipe can never sit beside a stale spread.
"""

from __future__ import annotations

import json
import platform
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import torch


def environment_name() -> str:
    """A short name of this environment: Python, PyTorch and the CPU architecture."""
    python = ".".join(platform.python_version_tuple()[:2])
    return f"Python {python}, torch {torch.__version__.split('+')[0]}, {platform.machine()}"


@dataclass
class Spread:
    """One result measured over several seeds, in one or more environments.

    Args:
        name: what was measured, e.g. ``"plain-56 test error"``.
        config: the experiment's settings, as plain JSON values (checked by :func:`load_spread`).
        runs: one ``{"seed": int, "environment": str, "value": float}`` per repeat.
        percent: print the values as percentages.
    """

    name: str
    config: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)
    percent: bool = True

    @property
    def values(self) -> list[float]:
        return [float(run["value"]) for run in self.runs]

    @property
    def environments(self) -> list[str]:
        return sorted({run["environment"] for run in self.runs})

    @property
    def seeds(self) -> list[int]:
        return sorted({int(run["seed"]) for run in self.runs})

    def _format(self, value: float) -> str:
        return f"{value:.1%}" if self.percent else f"{value:.3g}"

    def __str__(self) -> str:
        if not self.runs:
            return f"{self.name}: no runs"
        low, high, mid = min(self.values), max(self.values), statistics.median(self.values)
        return (
            f"{self.name}: {self._format(low)} to {self._format(high)} "
            f"(median {self._format(mid)}; {len(self.seeds)} seeds x {len(self.environments)} environments)"
        )

    def __repr__(self) -> str:
        return str(self)

    def contains(self, value: float, margin: float = 0.0) -> bool:
        """Whether ``value`` lies within the measured range, widened by ``margin`` on each side."""
        return min(self.values) - margin <= value <= max(self.values) + margin


def measure_spread(
    name: str,
    config: Mapping[str, Any],
    run: Callable[[int], float],
    seeds: Iterable[int],
    percent: bool = True,
    spread: Spread | None = None,
) -> Spread:
    """Run ``run(seed)`` for every seed in this environment and add the results to ``spread``.

    Args:
        name: what is measured.
        config: the experiment's settings (JSON values); must equal ``spread.config`` if given.
        run: trains and returns the measured value for one seed.
        seeds: the seeds to run.
        percent: print as percentages.
        spread: an earlier spread (another environment's runs) to add to; its runs from this
            environment are replaced.
    """
    config = json.loads(json.dumps(dict(config)))
    if spread is None:
        spread = Spread(name, config, [], percent)
    elif spread.config != config:
        raise ValueError(f"{name}: the stored spread was measured with {spread.config}, not {config}")
    here = environment_name()
    spread.runs = [r for r in spread.runs if r["environment"] != here]
    for seed in seeds:
        spread.runs.append({"seed": int(seed), "environment": here, "value": float(run(int(seed)))})
    return spread


def save_spreads(path: str | Path, spreads: Iterable[Spread]) -> None:
    """Write spreads to a JSON file, one entry per name (sorted, so the file diffs cleanly)."""
    data = {s.name: asdict(s) for s in spreads}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(dict(sorted(data.items())), indent=1) + "\n", encoding="utf-8")


def load_spreads(path: str | Path) -> dict[str, Spread]:
    """Every spread stored in ``path`` (an empty dict if the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return {}
    return {name: Spread(**entry) for name, entry in json.loads(path.read_text(encoding="utf-8")).items()}


SPREADS_DIR = Path(__file__).parent / "spreads"


def spread_path(chapter: str) -> Path:
    """Where the spreads of ``chapter`` (e.g. ``"ch6"``) are stored, inside the package."""
    return SPREADS_DIR / f"spreads-{chapter}.json"


def load_spread(path: str | Path, name: str, config: Mapping[str, Any]) -> Spread:
    """The spread ``name`` from ``path``, checked against the configuration the caller runs.

    ``path`` is usually ``spread_path("ch6")``.

    Raises:
        LookupError: no spread of that name is stored (run ``make spreads``).
        ValueError: it was measured with another configuration (run ``make spreads`` again).
    """
    spreads = load_spreads(path)
    if name not in spreads:
        raise LookupError(f"no spread named {name!r} in {path}: run `make spreads` to measure it")
    spread = spreads[name]
    config = json.loads(json.dumps(dict(config)))
    if spread.config != config:
        raise ValueError(
            f"the spread {name!r} in {path} was measured with {spread.config}, but this run uses {config}: "
            "run `make spreads` to measure it again"
        )
    return spread
