"""Options and start-up shared by the benchmark scripts (seeding, threads, the load line)."""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch


def add_common_arguments(parser: argparse.ArgumentParser, device_help: str = "torch device") -> None:
    """``--device``, ``--threads`` and ``--seed``, the same in every script."""
    parser.add_argument("--device", default="cpu", help=device_help)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (1: small tensors gain nothing from more)"
    )
    parser.add_argument("--seed", type=int, default=0)


def best_time(fn, repeats: int) -> float:
    """Fastest wall-clock time in seconds of ``repeats`` calls of ``fn`` (after one untimed warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        fn()
        times.append(time.perf_counter() - begin)
    return min(times)


def start(args: argparse.Namespace) -> None:
    """Apply ``--threads`` and ``--seed`` and print the machine load (timings depend on it)."""
    torch.set_num_threads(args.threads)
    print(f"load average before start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other processes slow this)")
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
