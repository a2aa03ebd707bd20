"""Time the analysis experiments (not a test: pytest does not collect this file).

Run:  python tests/benchmarks/bench_experiments.py [--seeds 0 1 2] [--skip-lesion] ...

Prints, for each experiment, its wall-clock time and the CPU time of this process.
The experiments run on one PyTorch thread (their default), so on an otherwise idle
machine wall time ~ CPU time; on a busy one wall time is larger and CPU time is the
fairer number. Also prints the results the report quotes: the gradient-ratio table,
the final training errors of the degradation experiment per seed, and the lesion study.
"""

from __future__ import annotations

import argparse
import os
import time

from resnet_edu.experiments.degradation import degradation_experiment, train_depths
from resnet_edu.experiments.gradient_sweep import gradient_sweep
from resnet_edu.experiments.lesion import lesion_experiment


def timed(label: str, function, *args, **kwargs):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"[time] {label}: wall {wall:.1f} s, cpu {cpu:.1f} s (load average {os.getloadavg()[0]:.1f})", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--skip-degradation", action="store_true")
    parser.add_argument("--skip-depths", action="store_true")
    parser.add_argument("--skip-lesion", action="store_true")
    args = parser.parse_args()

    if not args.skip_sweep:
        runs = timed("gradient sweep (32 networks)", gradient_sweep)
        print(runs)
        print(runs.table("weight_ratio"))
    if not args.skip_degradation:
        for seed in args.seeds:
            runs = timed(f"degradation experiment, seed {seed}", degradation_experiment, seed=seed)
            print(runs)
    if not args.skip_depths:
        runs = timed("plain nets of depth 8, 20, 56 (chapter 1), seed 0", train_depths)
        print(runs)
    if not args.skip_lesion:
        for seed in args.seeds:
            records = timed(f"lesion experiment, seed {seed}", lesion_experiment, seed=seed)
            print(records)


if __name__ == "__main__":
    main()
