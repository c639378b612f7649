"""EM seconds per iteration: deepmix ``GMM`` against ``sklearn.mixture.GaussianMixture``, same run, same data.

What it measures
----------------
For each data set (the 2-D Swiss roll and the 64-D scikit-learn digits scaled to [0, 1]), each number of
components K and each covariance type (our ``isotropic`` = scikit-learn ``spherical``; ``diag`` = ``diag``)
both models run exactly the same number of EM iterations: early stopping is switched off on both sides
(``tol=0``; scikit-learn also gets ``n_init=1`` and k-means++ seeding, like ours). The time of the whole
``fit`` call (seeding included) is divided by the number of iterations actually run (``n_iter_``). Each fit
is warmed up once and then timed ``--repeats`` times; the fastest run is reported.

How to read it
--------------
``ratio`` = scikit-learn s/iter ÷ ours s/iter, so 4.0 means our EM iteration is four times faster. The
target is ratio ≥ 3. ``ll`` columns are the final mean log-likelihood per point on the training data
(ours: ``log_prob(x).mean()``, scikit-learn: ``score(x)``); they should agree to within a few hundredths
(both reach a local optimum from different k-means++ seeds), which shows that the work compared is equal.
Note the precision: scikit-learn computes in float64, ours in float32 here (``GMM.fit`` keeps float64 data in
float64, which this script does not time).

Run ``python benchmarks/bench_gmm_em.py`` (≈1–2 minutes on 2 CPU cores) or ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import torch
from _common import add_common_arguments, best_time, start
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from deepmix_core import GMM
from deepmix_core.data import swiss_roll

TARGET_RATIO = 3.0
SKLEARN_COVARIANCE = {"isotropic": "spherical", "diag": "diag"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a smoke run (a few seconds)")
    parser.add_argument("--n", type=int, default=20_000, help="Swiss roll points")
    parser.add_argument("--iterations", type=int, default=50, help="EM iterations for both libraries")
    parser.add_argument("--repeats", type=int, default=3, help="timed fits per configuration (fastest kept)")
    add_common_arguments(parser, "device for our GMM (scikit-learn always runs on CPU)")
    args = parser.parse_args()
    if args.quick:
        args.n, args.iterations, args.repeats = 2_000, 5, 1
    return args


def datasets(n_swiss: int, quick: bool) -> dict[str, np.ndarray]:
    """The 2-D Swiss roll and the 64-D digits (pixel values 0..16 scaled to [0, 1]), both float32."""
    digits = load_digits().data.astype(np.float32) / 16.0
    if quick:
        digits = digits[:500]
    return {"swiss roll 2-D": swiss_roll(n=n_swiss, seed=0).numpy(), "digits 64-D": digits}


def time_ours(x: np.ndarray, k: int, covariance: str, args: argparse.Namespace) -> tuple[float, float]:
    """(seconds per EM iteration, final mean log-likelihood) of deepmix's GMM."""
    model = GMM(k, covariance=covariance, init="kmeans++").to(args.device)
    data = torch.as_tensor(x, device=args.device)

    def fit() -> None:
        model.fit(data, epochs=args.iterations, tol=0.0, seed=args.seed, progress=False)

    seconds = best_time(fit, args.repeats)
    if model.n_iter_ != args.iterations:
        raise RuntimeError(f"our GMM stopped after {model.n_iter_} of {args.iterations} iterations")
    return seconds / model.n_iter_, model.log_prob(data).mean().item()


def time_sklearn(x: np.ndarray, k: int, covariance: str, args: argparse.Namespace) -> tuple[float, float]:
    """(seconds per EM iteration, final mean log-likelihood) of scikit-learn's GaussianMixture (float64)."""
    model = GaussianMixture(
        k,
        covariance_type=SKLEARN_COVARIANCE[covariance],
        max_iter=args.iterations,
        tol=0.0,
        n_init=1,
        init_params="k-means++",
        random_state=args.seed,
    )

    def fit() -> None:
        with warnings.catch_warnings(), threadpool_limits(limits=args.threads):
            warnings.simplefilter("ignore", ConvergenceWarning)  # expected: tol=0 never converges
            model.fit(x)

    seconds = best_time(fit, args.repeats)
    if model.n_iter_ != args.iterations:
        raise RuntimeError(f"scikit-learn stopped after {model.n_iter_} of {args.iterations} iterations")
    return seconds / model.n_iter_, float(model.score(x))


def main() -> None:
    args = parse_args()
    start(args)
    print(f"GMM EM: {args.iterations} iterations each (tol=0, no early stop), fastest of {args.repeats} timed fits")
    print(f"ours: deepmix GMM, float32, device={args.device}, torch threads={torch.get_num_threads()}")
    print(f"sklearn: GaussianMixture, float64, CPU, BLAS threads={args.threads}, n_init=1, init_params='k-means++'")
    print("(our GMM computes in float64 when given float64 data; that variant is not timed here)\n")
    header = (
        f"{'data':<15} {'N':>6} {'K':>3} {'covariance':<20} {'ours ms/it':>10} {'sk ms/it':>9} "
        f"{'ratio':>6} {'ours ll':>8} {'sk ll':>8}"
    )
    print(header)
    print("-" * len(header))
    ratios = []
    for name, x in datasets(args.n, args.quick).items():
        for k in (16, 64):
            for covariance in ("isotropic", "diag"):
                ours_s, ours_ll = time_ours(x, k, covariance, args)
                sk_s, sk_ll = time_sklearn(x, k, covariance, args)
                ratios.append(sk_s / ours_s)
                label = f"{covariance}/{SKLEARN_COVARIANCE[covariance]}"
                print(
                    f"{name:<15} {x.shape[0]:>6} {k:>3} {label:<20} {1e3 * ours_s:>10.2f} {1e3 * sk_s:>9.2f} "
                    f"{ratios[-1]:>5.1f}x {ours_ll:>8.3f} {sk_ll:>8.3f}",
                    flush=True,
                )
    print("-" * len(header))
    print(
        f"ratio = sklearn s/iter ÷ ours s/iter; target ≥ {TARGET_RATIO:.0f}x; "
        f"measured min {min(ratios):.1f}x, geometric mean {np.exp(np.mean(np.log(ratios))):.1f}x"
    )


if __name__ == "__main__":
    main()
