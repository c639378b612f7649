"""Tests for improved precision/recall (Kynkäänniemi et al., 2019) in deepmix_core.metrics."""

import numpy as np
import pytest
import torch

from deepmix_core.metrics import PrecisionRecall, knn_radii, precision_recall


def brute_force_precision_recall(real: np.ndarray, generated: np.ndarray, k: int = 3):
    """Direct transcription of the definition with full distance matrices (float64)."""
    real = np.asarray(real, dtype=np.float32).astype(np.float64)
    gen = np.asarray(generated, dtype=np.float32).astype(np.float64)

    def dists(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))

    real_radii = np.sort(dists(real, real), axis=1)[:, k]  # column 0 is the point itself
    gen_radii = np.sort(dists(gen, gen), axis=1)[:, k]
    precision = np.mean((dists(gen, real) <= real_radii[None, :]).any(axis=1))
    recall = np.mean((dists(real, gen) <= gen_radii[None, :]).any(axis=1))
    return float(precision), float(recall), real_radii


@pytest.mark.parametrize(
    ("n_real", "n_gen", "dim", "k", "batch_size", "seed"),
    [
        (300, 257, 2, 3, 64, 0),
        (200, 200, 2, 3, 2048, 1),
        (150, 90, 5, 1, 7, 2),
        (120, 333, 3, 5, 50, 3),
        (64, 65, 2, 3, 64, 4),
    ],
)
def test_matches_brute_force(n_real, n_gen, dim, k, batch_size, seed):
    rng = np.random.default_rng(seed)
    real = rng.standard_normal((n_real, dim))
    gen = 1.3 * rng.standard_normal((n_gen, dim)) + 0.3
    p_ref, r_ref, radii_ref = brute_force_precision_recall(real, gen, k=k)

    result = precision_recall(torch.as_tensor(real), gen, k=k, batch_size=batch_size)
    assert result.precision == p_ref
    assert result.recall == r_ref
    assert 0.0 < min(p_ref, r_ref) < 1.0  # a non-trivial case
    radii = knn_radii(real, k=k, batch_size=batch_size)
    np.testing.assert_allclose(radii.numpy(), radii_ref, rtol=1e-5)


def test_result_is_named_tuple_of_floats():
    rng = np.random.default_rng(0)
    result = precision_recall(rng.standard_normal((50, 2)), rng.standard_normal((40, 2)))
    assert isinstance(result, PrecisionRecall)
    p, r, f1 = result
    assert all(isinstance(v, float) for v in (p, r, f1))
    assert f1 == pytest.approx(2 * p * r / (p + r + 1e-8))


def test_identical_sets_give_one():
    x = torch.randn(500, 2, generator=torch.Generator().manual_seed(0))
    p, r, f1 = precision_recall(x, x.clone(), batch_size=128)
    assert p == 1.0 and r == 1.0
    assert f1 == pytest.approx(1.0)


def test_mode_collapse_high_precision_low_recall():
    rng = np.random.default_rng(0)
    cluster_a = rng.normal([-3.0, 0.0], 0.5, size=(500, 2))
    cluster_b = rng.normal([3.0, 0.0], 0.5, size=(500, 2))
    real = np.concatenate([cluster_a, cluster_b])
    generated = rng.normal([-3.0, 0.0], 0.5, size=(1000, 2))  # only one of the two modes
    p, r, _ = precision_recall(real, generated)
    assert p > 0.9
    assert r < 0.6


def test_disjoint_sets_give_zero():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((200, 2))
    generated = rng.standard_normal((200, 2)) + 100.0
    p, r, f1 = precision_recall(real, generated)
    assert p == 0.0 and r == 0.0
    assert f1 == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    ("real", "generated", "kwargs"),
    [
        (np.zeros((10, 2, 1)), np.zeros((10, 2)), {}),  # not 2-D
        (np.zeros(10), np.zeros((10, 1)), {}),  # 1-D
        (np.random.rand(10, 2), np.random.rand(10, 3), {}),  # feature mismatch
        (np.random.rand(3, 2), np.random.rand(10, 2), {"k": 3}),  # too few real points
        (np.random.rand(10, 2), np.random.rand(4, 2), {"k": 4}),  # too few generated points
        (np.random.rand(10, 2), np.random.rand(10, 2), {"k": 0}),
        (np.random.rand(10, 2), np.random.rand(10, 2), {"batch_size": 0}),
        (np.full((10, 2), np.nan), np.random.rand(10, 2), {}),
    ],
)
def test_bad_inputs_raise(real, generated, kwargs):
    with pytest.raises(ValueError):
        precision_recall(real, generated, **kwargs)


def test_knn_radii_bad_inputs_raise():
    with pytest.raises(ValueError):
        knn_radii(np.random.rand(3, 2), k=3)
    with pytest.raises(ValueError):
        knn_radii(np.random.rand(10, 2), k=0)
