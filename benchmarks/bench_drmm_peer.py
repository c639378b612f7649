"""DRMM training speed and quality next to the authors' reference code, measured in the same run.

What it measures
----------------
The public DRMM reference (TensorFlow 1 graph code, ``../shared/peers/drmm-reference/run.sh``; present in the
project's workplace only) and deepmix train a DRMM 3×16 with batch 64, lr 0.005 and one thread for ``--steps``
steps on the same Swiss roll (saved to ``.npy`` and passed to both). Reported per library: wall-clock ms per
training step (the whole training loop as a user waits for it), held-out log-likelihood (2,000 points, 32
passes averaged in probability space), the share of samples conditioned on x = 0.5 within 0.05 of it (the
reconstruction: deepmix with ``exact_known=False``; its default returns 0.5 exactly) and the share meeting
x + 0.2 y > 0. ``speed-up`` = reference ms/step ÷ deepmix ms/step: issue 15 asks ≥ 1 (must) and 3 (goal).

Without ``../shared`` the script says so and exits.

Run ``python benchmarks/bench_drmm_peer.py`` (about 3 minutes with 5,000 steps; the first call builds the
reference's TensorFlow environment under ~/.cache).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _common import add_common_arguments, start

from deepmix_core import DRMM, Inequality
from deepmix_core.data import swiss_roll

PEER = Path(__file__).resolve().parents[2] / "shared" / "peers" / "drmm-reference" / "run.sh"
TARGET_SPEED_UP, GOAL_SPEED_UP = 1.0, 3.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="500 steps")
    add_common_arguments(parser)
    return parser.parse_args()


def run_peer(train: Path, held_out: Path, steps: int) -> dict[str, float]:
    completed = subprocess.run(
        ["bash", str(PEER), "--steps", str(steps), "--threads", "1", "--data", str(train), "--heldout", str(held_out)],
        capture_output=True, text=True, check=True,
    )
    line = completed.stdout.strip().splitlines()[-1]
    numbers = [float(v) for v in re.findall(r"(-?\d+\.\d+)", line)]
    return {"ms_per_step": numbers[0], "held_out_ll": numbers[1], "known": numbers[2], "inequality": numbers[3]}


def run_ours(train: torch.Tensor, held_out: torch.Tensor, steps: int, seed: int) -> dict[str, float]:
    model = DRMM(3, 16)
    begin = time.perf_counter()
    model.fit(train, steps=steps, batch_size=64, lr=0.005, seed=seed, progress=False)
    ms = 1000 * (time.perf_counter() - begin) / steps
    known = model.sample(1000, known=[0.5, float("nan")], seed=seed, exact_known=False)
    inequality = Inequality([1.0, 0.2], 0.0)
    return {
        "ms_per_step": ms,
        "held_out_ll": model.log_prob(held_out, n_passes=32, seed=seed).mean().item(),
        "known": ((known[:, 0] - 0.5).abs() < 0.05).float().mean().item(),
        "inequality": inequality.holds(model.sample(1000, constraints=[inequality], seed=seed)).float().mean().item(),
    }


def main() -> None:
    args = parse_args()
    start(args)
    if not PEER.exists():
        print(f"the reference peer is not here ({PEER}): nothing to compare with")
        return
    steps = 500 if args.quick else args.steps
    train = swiss_roll(n=10_000, noise=0.01, seed=0)
    held_out = swiss_roll(n=2000, noise=0.01, seed=1)
    with tempfile.TemporaryDirectory() as folder:
        train_file, held_out_file = Path(folder) / "train.npy", Path(folder) / "held_out.npy"
        np.save(train_file, train.numpy())
        np.save(held_out_file, held_out.numpy())
        reference = run_peer(train_file, held_out_file, steps)
    ours = run_ours(train, held_out, steps, args.seed)
    print(f"DRMM 3×16, batch 64, {steps} steps, one thread, same data, same run")
    print(f"{'':<10}{'ms/step':>9}{'held-out ll':>13}{'known ±0.05':>13}{'x+0.2y>0':>10}")
    for name, row in (("reference", reference), ("deepmix", ours)):
        print(f"{name:<10}{row['ms_per_step']:>9.2f}{row['held_out_ll']:>13.3f}{row['known']:>13.3f}"
              f"{row['inequality']:>10.3f}")
    speed_up = reference["ms_per_step"] / ours["ms_per_step"]
    verdict = "met" if speed_up >= TARGET_SPEED_UP else "NOT met"
    print(f"speed-up {speed_up:.2f}× (must ≥ {TARGET_SPEED_UP:g}×: {verdict}; goal {GOAL_SPEED_UP:g}×)")


if __name__ == "__main__":
    main()
