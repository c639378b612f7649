"""DRMM on the Swiss roll: training speed of 3×16, and training time until samples reach F1 ≥ 0.95.

What it measures
----------------
(a) Milliseconds per Adam step of ``DRMM(3, 16)`` with batch 64 on the normalised Swiss roll
    (``swiss_roll()``, about 6,300 points), read from the ``time`` column of the returned ``History``
    over ``--steps`` steps (default 2,000, full curriculum, no progress bar).
(b) Time to F1 ≥ 0.95: for each shape in ``--models`` (default 3×16 and 3×32) and each budget in
    ``--budgets`` a *fresh* model is trained with the full curriculum
    (batch ``--batch-size``, default 256), then 2,000 samples (``sample(2000, sort=False, noise=True)``) are
    compared with 2,000 held-out points by improved precision/recall (k = 3), on two data sets:
    a Swiss roll with a little thickness (noise sd 0.02, the protocol of ``tests/test_drmm.py``) and the
    noise-free roll of the paper figures. On the noise-free curve the held-out points' 3-NN radii (~0.005)
    are far below any model's σ, so there F1 measures the point spacing more than the model; both are
    printed. Each table also gives F1 of the noiseless samples (``noise=False``: sums of component means)
    and a peer: ``GMM(64, covariance="diag")`` fitted by EM on the same data and scored the same way.

How to read it
--------------
The last line names the first budget whose F1 (with noise) reaches 0.95 and its training time, or says
"not reached" with the best F1 seen. F1 is computed from one draw of 2,000 samples, so it moves by about
±0.01 between seeds; compare rows, not third decimals. Training time depends on what else runs on the
machine: the load average is printed first; torch gets ``--threads`` (default 1).

Run ``python benchmarks/bench_drmm.py`` (≈3 minutes on 2 CPU cores) or ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import time

import torch
from _common import add_common_arguments, start

from deepmix_core import DRMM, GMM
from deepmix_core.data import swiss_roll
from deepmix_core.metrics import precision_recall

TARGET_F1 = 0.95
N_EVAL = 2_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets for a smoke run (a few seconds)")
    parser.add_argument("--steps", type=int, default=2_000, help="steps for the ms/step measurement (a)")
    parser.add_argument("--batch-size", type=int, default=256, help="minibatch size for the F1 budgets (b)")
    parser.add_argument(
        "--models", nargs="+", default=["3x16", "3x32"], help="DRMM shapes LAYERSxCOMPONENTS for the F1 budgets (b)"
    )
    parser.add_argument("--thickness", type=float, default=0.02, help="noise sd of the thick Swiss roll in (b)")
    parser.add_argument(
        "--budgets", type=int, nargs="+", default=[1_000, 3_000, 6_000, 12_000], help="training budgets for (b)"
    )
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.steps, args.budgets = 300, [300, 600]
    args.models = [tuple(int(part) for part in shape.split("x")) for shape in args.models]
    return args


def train(
    data: torch.Tensor, iterations: int, args: argparse.Namespace, batch_size: int = 64, shape: tuple = (3, 16)
) -> tuple[DRMM, float]:
    """A fresh DRMM (layers, components) trained for ``iterations`` steps; returns (model, training seconds)."""
    model = DRMM(*shape).to(args.device)
    history = model.fit(data, steps=iterations, batch_size=batch_size, seed=args.seed, progress=False)
    return model, float(history["time"][-1])


def f1_table(title: str, data: torch.Tensor, real: torch.Tensor, args: argparse.Namespace) -> None:
    """Train a fresh model per budget, print precision / recall / F1 against ``real`` and the first budget ≥ target."""
    print(f"\n{title}")
    header = f"{'model':<17} {'budget':>7} {'train s':>8} {'precision':>9} {'recall':>7} {'F1':>6} {'F1 no-noise':>11}"
    print(header)
    print("-" * len(header))
    reached, best_f1 = None, 0.0
    for shape, budget in [(shape, budget) for shape in args.models for budget in args.budgets]:
        name = f"DRMM {shape[0]}x{shape[1]}"
        model, seconds = train(data, budget, args, batch_size=args.batch_size, shape=shape)
        precision, recall, f1 = precision_recall(real, model.sample(N_EVAL, sort=False, noise=True, seed=1))
        f1_sharp = precision_recall(real, model.sample(N_EVAL, sort=False, noise=False, seed=1)).f1
        best_f1 = max(best_f1, f1)
        if reached is None and f1 >= TARGET_F1:
            reached = (name, budget, seconds)
        print(
            f"{name:<17} {budget:>7} {seconds:>8.1f} {precision:>9.3f} {recall:>7.3f} {f1:>6.3f} "
            f"{f1_sharp:>11.3f}",
            flush=True,
        )
    gmm = GMM(64, covariance="diag").to(args.device)
    start_time = time.perf_counter()
    gmm.fit(data, epochs=200, seed=args.seed, progress=False)
    seconds = time.perf_counter() - start_time
    precision, recall, f1 = precision_recall(real, gmm.sample(N_EVAL, seed=1))
    row = f"{'GMM 64 diag (EM)':<17} {gmm.n_iter_:>7} {seconds:>8.1f} {precision:>9.3f} {recall:>7.3f} {f1:>6.3f}"
    print(f"{row} {'-':>11}")
    print("-" * len(header))
    if reached is not None:
        name, budget, seconds = reached
        print(f"F1 ≥ {TARGET_F1} first reached by {name} at {budget} steps after {seconds:.1f} s of training")
    else:
        print(f"F1 ≥ {TARGET_F1} not reached; best F1 = {best_f1:.3f}")


def main() -> None:
    args = parse_args()
    start(args)
    data = swiss_roll(seed=0).to(args.device)
    print(f"DRMM 3×16, Swiss roll N={data.shape[0]}, device={args.device}, threads={torch.get_num_threads()}")
    train(data, 20, args)  # warm-up (allocator, first-call overheads)
    _, seconds = train(data, args.steps, args)
    print(f"(a) training speed, batch 64: {1e3 * seconds / args.steps:.2f} ms/step over {args.steps} steps")

    print(f"\n(b) time to F1 ≥ {TARGET_F1}: {N_EVAL} held-out points vs {N_EVAL} samples (k=3),")
    print("    a fresh model per budget,")
    print(f"    batch {args.batch_size}; budget = Adam steps for DRMM, EM iterations run for the GMM (tol=1e-4)")
    thick = swiss_roll(n=10_000, noise=args.thickness, seed=0).to(args.device)
    thick_real = swiss_roll(n=N_EVAL, noise=args.thickness, seed=123).to(args.device)
    f1_table(f"Swiss roll with thickness (noise sd {args.thickness}, the protocol of tests/test_drmm.py)", thick,
             thick_real, args)
    f1_table("Noise-free Swiss roll (k-NN radii of held-out points ~0.005: far below any model's σ)", data,
             swiss_roll(n=N_EVAL, seed=123).to(args.device), args)


if __name__ == "__main__":
    main()
