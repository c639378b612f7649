"""One maximum-likelihood classifier over three model families, trained with the same fit arguments.

The model contract (deepmix_core/base.py) gives every family the same ``fit`` keywords, so
``MaxLikelihoodClassifier`` can train one GMM, DRMM or GenMM per class with one call. This prints, on
scikit-learn's two moons (400 training and 200 test points, noise 0.1), each family's test accuracy, the
steps each class model took, and its training time, next to scikit-learn's QuadraticDiscriminantAnalysis
(one Gaussian per class) as a peer. A few seconds on one core.
"""

from __future__ import annotations

import argparse
import time

import torch
from _common import add_common_arguments, start
from sklearn.datasets import make_moons
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis

from deepmix_core import DRMM, GMM, GenMM, MaxLikelihoodClassifier

FLOW = {"kind": "vector", "dim": 2, "n_layers": 2, "hidden": 16}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="3 epochs: a smoke run")
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.epochs = 3
    start(args)
    x, y = make_moons(600, noise=0.1, random_state=args.seed)
    x = torch.tensor(x, dtype=torch.float32)
    train, test = slice(0, 400), slice(400, 600)
    same = dict(epochs=args.epochs, batch_size=32, seed=args.seed, progress=False)
    print(f"fit arguments for every family: {same}")
    factories = {
        "GMM(n_components=6)": lambda: GMM(n_components=6),
        "DRMM(n_layers=2, n_components=6)": lambda: DRMM(n_layers=2, n_components=6),
        "GenMM(n_components=2, vector flow)": lambda: GenMM(n_components=2, flow=FLOW, seed=args.seed),
    }
    print(f"{'model per class':<36}{'accuracy':>9}  {'steps per class model':<22}{'seconds':>8}")
    for name, factory in factories.items():
        begin = time.perf_counter()
        classifier = MaxLikelihoodClassifier(factory).fit(x[train], y[train], **same)
        seconds = time.perf_counter() - begin
        steps = ", ".join(str(history.notes["steps"]) for history in classifier.histories_)
        print(f"{name:<36}{classifier.score(x[test], y[test]):>9.3f}  {steps:<22}{seconds:>8.1f}")
    peer = QuadraticDiscriminantAnalysis().fit(x[train].numpy(), y[train])
    print(f"{'peer: sklearn QDA, 1 Gaussian/class':<36}{peer.score(x[test].numpy(), y[test]):>9.3f}")


if __name__ == "__main__":
    main()
