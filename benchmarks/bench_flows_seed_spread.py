"""Seed spread of flow-mixture NLLs: 16×16 MNIST (K = 1, init only) and 8×8 digits (K = 1, 2, 4, three seeds).

What it measures
----------------
The setting of table 1 of ``bench_flows.py`` (MNIST t10k → 16×16, 9,000 train / 1,000 held-out, uniform
dequantisation, image flow levels=2 steps=4 hidden=32, batch 64, t_EM=5, ``--epochs`` 10) with K = 1 and
only the model seed changed (``--seeds``, default 0 1 2): the data split and minibatch order stay the same.

Then, on scikit-learn's 8×8 digits (the setting of notebook 08: stratified 60/40 split, levels dequantised
with levels=17, vector flow 4 layers × 32 hidden, 30 epochs), GenMM and LatMM with K = 1, 2, 4 for each seed:
held-out NLL per seed, so that a K trend can be read seed by seed (paired), and its mean.

How to read it
--------------
If the held-out NLL of one flow already varies by tenths of a nat per pixel between seeds, then single-seed
differences between K rows of ``bench_flows.py`` are not evidence for or against a K trend. It also explains
why a mixture can look much better than K = 1 after a short run: log Σ_k π_k p_k(x) is dominated, image by
image, by its best component (D = 256 dimensions), so K differently initialised flows behave like the best
of K initialisations. The MNIST part needs the IDX files in ``$DEEPMIX_DATA/mnist``. About 3 minutes on one core.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _common import add_common_arguments, start
from sklearn.model_selection import train_test_split

from deepmix_core import GenMM, LatMM
from deepmix_core.data.images import load_digits_images, load_shared_mnist, resize_images
from deepmix_core.flows import dequantize


def digits_seeds(args) -> None:
    levels, labels = load_digits_images(as_levels=True)
    x = dequantize(levels, levels=17, seed=0).flatten(1)
    train, test = train_test_split(np.arange(len(labels)), test_size=0.4, stratify=labels.numpy(), random_state=0)
    flow = {"kind": "vector", "dim": 64, "n_layers": 4, "hidden": 32}
    print(f"\n8×8 digits (notebook 08 setting), held-out NLL, nats/pixel incl. + ln 17, 30 epochs, seeds {args.seeds}")
    for name, model_class in [("GenMM", GenMM), ("LatMM", LatMM)]:
        for k in (1, 2, 4):
            values = []
            for seed in args.seeds:
                model = model_class(n_components=k, flow=flow, seed=seed).to(args.device)
                model.fit(x[train], epochs=30, batch_size=64, t_em=5, seed=seed, progress=False)
                values.append(model.nll(x[test], discrete_levels=17))
            per_seed = "  ".join(f"{v:.3f}" for v in values)
            print(f"   {name} K={k}: {per_seed}   mean {np.mean(values):.3f}  median {np.median(values):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="model seeds")
    parser.add_argument("--epochs", type=int, default=10)
    add_common_arguments(parser)
    args = parser.parse_args()
    start(args)
    mnist_spread(args)
    digits_seeds(args)


def mnist_spread(args) -> None:
    try:
        images, _ = load_shared_mnist("test")
    except FileNotFoundError as error:  # a user without the files: say so and leave make bench running
        print(f"skipped: {error}")
        return
    images = resize_images(images, 16)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(args.seed))
    x = dequantize(images, levels=256, seed=args.seed)
    train, held_out = x[order[:9000]], x[order[9000:]]
    flow = {"kind": "image", "shape": (1, 16, 16), "levels": 2, "steps": 4, "hidden": 32}
    print(f"GenMM K=1, MNIST 16×16, 9000 train / 1000 held-out, {args.epochs} epochs; only the model seed changes")
    results = []
    for seed in args.seeds:
        model = GenMM(n_components=1, flow=flow, seed=seed).to(args.device)
        model.fit(train, epochs=args.epochs, batch_size=64, t_em=5, seed=args.seed, progress=False)
        results.append(model.nll(held_out, discrete_levels=256))
        print(f"   model seed {seed}: held-out NLL {results[-1]:.4f} nats/pixel (incl. + ln 256)")
    print(f"   spread (max − min) over {len(results)} seeds: {max(results) - min(results):.4f} nats/pixel")


if __name__ == "__main__":
    main()
