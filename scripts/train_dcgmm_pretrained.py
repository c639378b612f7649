"""Train the two small DCGMM checkpoints shipped in deepmix_core/pretrained/ (part of ``make pretrained``).

Both are architecture E of paper 003, F(3,1)-G(25)-F(4,2)-G(25)-F(12,1)-G(49) with shared (convolutional)
GMM layers, trained on the offline MNIST split of ``deepmix_core.data.load_mnist_split`` (train5k plus the
first half of the test set; the second half is never seen):

* ``mnist_dcgmm.pt`` — all ten digits, plus a linear classifier on the top two GMM layers;
* ``mnist_no0_dcgmm.pt`` — digits 1–9 only, for the outlier protocol of paper 003 §VI-B (0 = outlier).

The paper trains 80 epochs on 60,000 images with a 100-step SingleExp window; with 10,000 images we use
a 50-step window so that σ can reach its floor within the budget (each reduction needs a window).

    python scripts/train_pretrained.py --only mnist_dcgmm        # one of them (train_pretrained.py runs these)
    python scripts/train_pretrained.py --only mnist_no0_dcgmm
"""

from __future__ import annotations

import platform
import time

import torch

from deepmix_core.data import load_mnist_split
from deepmix_core.dcgmm import DCGMM
from deepmix_core.pretrained import pretrained_path

SPEC = "F(3,1)-G(25)-F(4,2)-G(25)-F(12,1)-G(49)"
SETTINGS = dict(epochs=60, batch_size=100, window=50, classifier_epochs=30)
MODELS = {"mnist_dcgmm": list(range(10)), "mnist_no0_dcgmm": list(range(1, 10))}


def train(name: str, threads: int) -> tuple:
    """Train checkpoint ``name``; returns the saved path and its training record."""
    split = load_mnist_split()
    keep = torch.isin(split["train_labels"], torch.tensor(MODELS[name]))
    images, labels = split["train_images"][keep], split["train_labels"][keep]
    model = DCGMM.from_spec(SPEC, input_shape=(1, 28, 28), window=SETTINGS["window"])
    print(f"{name}: {model} on {len(images)} images")
    begin = time.perf_counter()
    history = model.fit(images, epochs=SETTINGS["epochs"], batch_size=SETTINGS["batch_size"], seed=0)
    seconds = time.perf_counter() - begin
    record = {
        "spec": model.spec,
        "parameters": model.n_parameters(),
        "digits": MODELS[name],
        "training_images": len(images),
        "data": "load_mnist_split(): train5k + t10k[:5000] (t10k[5000:] held out)",
        **SETTINGS,
        "steps": len(history),
        "final_layer_objectives": [round(v, 3) for v in history["layer_objectives"][-1].tolist()],
        "final_sigma": [round(v, 4) for v in history["sigma"][-1].tolist()],
        "train_seconds": round(seconds, 1),
        "images_per_second": round(len(history) * SETTINGS["batch_size"] / seconds, 1),
        "torch_threads": threads,
        "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}",
        "made_by": "scripts/train_pretrained.py (make pretrained) → train_dcgmm_pretrained.train",
    }
    if name == "mnist_dcgmm":
        model.fit_classifier(images, labels, epochs=SETTINGS["classifier_epochs"], inputs=2, seed=0)
        test_accuracy = (model.predict(split["test_images"]) == split["test_labels"]).float().mean().item()
        record["classifier"] = {"inputs": "top two GMM layers", "held_out_accuracy": round(test_accuracy, 4)}
    return model.save(pretrained_path(name)), record
