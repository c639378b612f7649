"""Latency of one conditional resample of 1,000 points, as the 2-D conditioning explorer does on every slider move.

What it measures
----------------
A ``DRMM(3, 16)`` (briefly trained, ``--iterations`` steps) and a ``GMM(32)`` (EM) are fitted to the Swiss roll.
Then ``model.sample(1000, ...)`` is timed exactly as the explorer widget calls it (DRMM: ``sort=False``, all
layers; a fixed seed) under four sets of wishes:

* none — unconditional sampling;
* known x=0.5 — ``known=[0.5, nan]``;
* ineq+box+prior — an inequality ``cos θ·x + sin θ·y + b > 0``, a box and a Gaussian prior together;
* all four — the three above plus the known value (the explorer's worst case).

Each case is warmed up, then called ``--calls`` times (default 50).

How to read it
--------------
``median`` and ``p90`` are wall-clock milliseconds per call; the explorer stays fluid when one resample takes
≤ 10 ms (the target column; ``met`` compares the median). Drawing the figure is not included. Times depend on
what else runs on the machine (the load average is printed; torch gets ``--threads``, default 2); p90 shows
the jitter.

Run ``python benchmarks/bench_explorer_latency.py`` (≈15 s on 2 CPU cores) or ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import functools
import math
import time

import numpy as np
import torch
from _common import add_common_arguments, start

from deepmix_core import DRMM, GMM, Box, GaussianPrior, Inequality
from deepmix_core.data import swiss_roll

TARGET_MS = 10.0
N_SAMPLES = 1_000
WARM_UP_CALLS = 5


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny training and few calls for a smoke run")
    parser.add_argument("--iterations", type=int, default=1_500, help="DRMM training steps")
    parser.add_argument("--calls", type=int, default=50, help="timed calls per case")
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.iterations, args.calls = 100, 10
    return args


def wish_sets(device: str) -> dict[str, dict]:
    """Keyword arguments for ``sample`` per case, shaped like ``ConditioningExplorer.conditions()``."""
    angle = math.radians(30.0)
    inequality = Inequality([math.cos(angle), math.sin(angle)], 0.1)
    box = Box([-0.6, -0.6], [0.7, 0.7])
    prior = GaussianPrior([0.2, -0.3], [0.3, 0.3])
    known = torch.tensor([0.5, math.nan], device=device)
    return {
        "none": {},
        "known x=0.5": {"known": known},
        "ineq+box+prior": {"priors": [prior], "constraints": [inequality, box]},
        "all four": {"known": known, "priors": [prior], "constraints": [inequality, box]},
    }


def latencies_ms(sample, calls: int) -> np.ndarray:
    """Wall-clock milliseconds of ``calls`` calls of ``sample()`` after a few untimed warm-up calls."""
    for _ in range(WARM_UP_CALLS):
        sample()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        sample()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(1e3 * (time.perf_counter() - start))
    return np.asarray(times)


def main() -> None:
    args = parse_args()
    start(args)
    data = swiss_roll(seed=0).to(args.device)
    drmm = DRMM(3, 16).to(args.device)
    drmm.fit(data, steps=args.iterations, seed=args.seed, progress=False)
    gmm = GMM(32).to(args.device)
    gmm.fit(data, seed=args.seed, progress=False)
    samplers = {
        "DRMM 3x16": lambda wishes: drmm.sample(N_SAMPLES, sort=False, seed=args.seed, **wishes),
        "GMM 32": lambda wishes: gmm.sample(N_SAMPLES, seed=args.seed, **wishes),
    }

    print(f"one resample of {N_SAMPLES} points; {args.calls} timed calls per case after {WARM_UP_CALLS} warm-up calls")
    print(f"device={args.device}, torch threads={torch.get_num_threads()}, DRMM trained {args.iterations} steps\n")
    header = f"{'model':<10} {'wishes':<15} {'median ms':>9} {'p90 ms':>7} {'target ms':>9} {'met':>4}"
    print(header)
    print("-" * len(header))
    for model_name, sample in samplers.items():
        for case, wishes in wish_sets(args.device).items():
            times = latencies_ms(functools.partial(sample, wishes), args.calls)
            median, p90 = np.median(times), np.percentile(times, 90)
            met = "yes" if median <= TARGET_MS else "no"
            print(f"{model_name:<10} {case:<15} {median:>9.2f} {p90:>7.2f} {TARGET_MS:>9.0f} {met:>4}", flush=True)
    print("-" * len(header))
    print(f"met = median ≤ {TARGET_MS:.0f} ms (drawing the figure not included)")


if __name__ == "__main__":
    main()
