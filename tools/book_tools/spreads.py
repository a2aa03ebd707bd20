"""Measure the spreads the chapters print beside their single runs (``make spreads``).

Each chapter that prints one has a module ``book_tools.spreads_chN`` with

* ``PATH``: where its spreads are stored (``spread_path("chN")``, inside the package);
* ``measure(seeds, spreads)``: runs the chapter's experiment once per seed in this environment,
  adds the runs to the stored ``spreads`` (a dict name -> Spread) and returns them.

The chapter loads them with :func:`resnet_edu.experiments.spread.load_spread`, passing the
configuration it runs, so a stale spread fails the chapter instead of being printed.

Usage (from the repository root)::

    python -m book_tools.spreads ch6 --seeds 0-9
    # the same in a second environment (Colab's versions), adding its runs to the same file:
    PYTHONPATH=tools /path/to/colab-venv/bin/python -m book_tools.spreads ch6 --seeds 0-9
"""

from __future__ import annotations

import argparse
import importlib
import sys

from resnet_edu.experiments.spread import environment_name, load_spreads, save_spreads

CHAPTERS = ("ch1", "ch6", "ch7")


def _seeds(text: str) -> list[int]:
    if "-" in text:
        low, high = text.split("-", 1)
        return list(range(int(low), int(high) + 1))
    return [int(part) for part in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book_tools.spreads", description=__doc__.split("\n")[0])
    parser.add_argument("chapters", nargs="*", default=list(CHAPTERS), help=f"default: {' '.join(CHAPTERS)}")
    parser.add_argument("--seeds", type=_seeds, default=list(range(10)), help="e.g. 0-9 or 0,1,2 (default 0-9)")
    args = parser.parse_args(argv)
    for chapter in args.chapters:
        module = importlib.import_module(f"book_tools.spreads_{chapter}")
        print(f"{chapter}: measuring seeds {args.seeds} in {environment_name()}", flush=True)
        spreads = module.measure(args.seeds, load_spreads(module.PATH))
        save_spreads(module.PATH, spreads.values())
        for spread in spreads.values():
            print(f"  {spread}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
