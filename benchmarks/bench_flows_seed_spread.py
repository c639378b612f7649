"""How much a flow's random initialisation alone moves the 10-epoch NLL of bench_flows.py (GenMM, K = 1).

What it measures
----------------
The setting of table 1 of ``bench_flows.py`` (MNIST t10k → 16×16, 9,000 train / 1,000 held-out, uniform
dequantisation, image flow levels=2 steps=4 hidden=32, batch 64, t_EM=5, ``--epochs`` 10) with K = 1 and
only the model seed changed (``--seeds``, default 0 1 2): the data split and minibatch order stay the same.

How to read it
--------------
If the held-out NLL of one flow already varies by tenths of a nat per pixel between seeds, then single-seed
differences between K rows of ``bench_flows.py`` are not evidence for or against a K trend. It also explains
why a mixture can look much better than K = 1 after a short run: log Σ_k π_k p_k(x) is dominated, image by
image, by its best component (D = 256 dimensions), so K differently initialised flows behave like the best
of K initialisations. Needs ``../shared/data/mnist``. About 2 minutes on one core.
"""

from __future__ import annotations

import argparse

import torch
from _common import add_common_arguments, start

from deepmix_core import GenMM
from deepmix_core.data.images import load_shared_mnist, resize_images
from deepmix_core.flows import dequantize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="model seeds")
    parser.add_argument("--epochs", type=int, default=10)
    add_common_arguments(parser)
    args = parser.parse_args()
    start(args)
    try:
        images, _ = load_shared_mnist("test")
    except FileNotFoundError as error:  # a user's clone has no ../shared: say so and leave make bench running
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
        model = GenMM(components=1, flow=flow, seed=seed).to(args.device)
        model.fit(train, epochs=args.epochs, batch_size=64, t_em=5, seed=args.seed, progress=False)
        results.append(model.nll(held_out, discrete_levels=256))
        print(f"   model seed {seed}: held-out NLL {results[-1]:.4f} nats/pixel (incl. + ln 256)")
    print(f"   spread (max − min) over {len(results)} seeds: {max(results) - min(results):.4f} nats/pixel")


if __name__ == "__main__":
    main()
