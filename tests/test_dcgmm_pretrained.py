"""The shipped DCGMM checkpoints on held-out MNIST (t10k[5000:], never trained on): classifier accuracy,
outlier AUC of the top layer, and that class-conditional samples look like the class asked for.
Skips with the reason when the offline MNIST files ($DEEPMIX_DATA/mnist) are absent, as in a fresh clone."""

import pytest
import torch
from sklearn.linear_model import LogisticRegression

from deepmix_core.data import load_mnist_split
from deepmix_core.dcgmm import outlier_roc
from deepmix_core.pretrained import load_pretrained, pretrained_info


@pytest.fixture(scope="module")
def held_out():
    try:
        split = load_mnist_split()
    except FileNotFoundError as err:
        pytest.skip(f"offline MNIST files absent: {err}")
    return split["test_images"][:1500], split["test_labels"][:1500]


def test_checkpoints_record_how_they_were_made():
    info = pretrained_info("mnist_dcgmm")
    assert info["spec"] == "F(3,1)-G(25)-F(4,2)-G(25)-F(12,1)-G(49)" and info["final_sigma"] == [0.01] * 3
    assert pretrained_info("mnist_no0_dcgmm")["digits"] == list(range(1, 10))


def test_classifier_on_held_out_mnist(held_out):
    images, labels = held_out
    model = load_pretrained("mnist_dcgmm")
    accuracy = (model.predict(images) == labels).float().mean().item()
    assert accuracy > 0.95  # bench_dcgmm.py section b: 97.64 % on all 5,000


def test_class_conditional_samples_are_recognised_by_an_independent_classifier(held_out):
    images, labels = held_out
    judge = LogisticRegression(max_iter=200).fit(images.flatten(1).numpy(), labels.numpy())  # pixels only
    model = load_pretrained("mnist_dcgmm")
    classes = torch.arange(10).repeat(10)
    recognised = {
        method: judge.score(model.sample(100, classes=classes, top_s=3, seed=0, class_method=method)
                            .flatten(1).numpy(), classes.numpy())
        for method in ("prototype", "transpose")
    }
    assert recognised["prototype"] > 0.85  # bench_dcgmm.py section e: 94.6 % at top-S 3 (judge trained on 10k images)
    assert recognised["transpose"] < recognised["prototype"]  # section e: 38.6 % for paper 003 Eq. 13


def test_zeros_are_outliers_for_the_model_of_one_to_nine(held_out):
    images, labels = held_out
    model = load_pretrained("mnist_no0_dcgmm")
    scores = model.outlier_scores(images)
    roc = outlier_roc(scores[labels != 0], scores[labels == 0])
    assert roc.auc > 0.88  # bench_dcgmm.py section a: 93.1 % on all 5,000 (paper 003: 92.8 %)
