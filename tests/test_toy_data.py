"""Tests for the seeded 2D toy datasets in deepmix_core.data."""

import numpy as np
import pytest
import torch

from deepmix_core.data import checkerboard, rings, sierpinski, swiss_roll, two_moons

ALL_SETS = [swiss_roll, sierpinski, two_moons, rings, checkerboard]
SAMPLED_SETS = [two_moons, rings, checkerboard]


@pytest.mark.parametrize("make", ALL_SETS)
def test_dtype_and_shape(make):
    x = make()
    assert isinstance(x, torch.Tensor)
    assert x.dtype == torch.float32
    assert x.ndim == 2 and x.shape[1] == 2
    assert torch.isfinite(x).all()


@pytest.mark.parametrize("make", ALL_SETS)
def test_n_is_honoured(make):
    assert make(n=123).shape == (123, 2)


def test_swiss_roll_reference_count_and_range():
    for seed in range(3):
        n = swiss_roll(seed=seed).shape[0]
        assert abs(n - 6280) <= 150
    x = swiss_roll(seed=0)
    assert x.abs().max() <= 1.0 + 1e-6
    lo, hi = x.min(dim=0).values, x.max(dim=0).values
    assert torch.allclose(lo, torch.tensor([-0.80, -0.93]), atol=0.03)
    assert torch.allclose(hi, torch.tensor([0.80, 0.93]), atol=0.03)


def test_swiss_roll_scale_independent_of_n():
    raw = swiss_roll(n=500, seed=1, normalize=False).double()
    norm = swiss_roll(n=500, seed=1).double()
    # One affine map (same centre and scale) relates the two for any n, seed.
    raw2 = swiss_roll(n=50, seed=7, normalize=False).double()
    norm2 = swiss_roll(n=50, seed=7).double()
    scale = (raw[:, 0] - raw[0, 0]) / (norm[:, 0] - norm[0, 0])
    scale2 = (raw2[:, 0] - raw2[0, 0]) / (norm2[:, 0] - norm2[0, 0])
    assert torch.allclose(scale[1:].median(), scale2[1:].median(), rtol=1e-4)


def test_sierpinski_counts_and_range():
    x = sierpinski(depth=7)
    assert x.shape == (6561, 2)
    assert len(np.unique(np.round(x.numpy(), 6), axis=0)) == 3282
    assert x.abs().max() <= 1.0 + 1e-6
    assert sierpinski(depth=0).shape == (3, 2)
    assert sierpinski(depth=2).shape == (27, 2)


def test_sierpinski_sampling_uses_points_of_full_set():
    full = {tuple(p) for p in np.round(sierpinski(depth=4).numpy(), 6)}
    sample = np.round(sierpinski(depth=4, n=200, seed=3).numpy(), 6)
    assert all(tuple(p) in full for p in sample)


@pytest.mark.parametrize("make", SAMPLED_SETS)
def test_ranges_roughly_unit_box(make):
    x = make(noise=0.0)
    assert x.abs().max() <= 1.0 + 1e-6
    assert x.abs().max() > 0.4


def test_checkerboard_only_dark_squares():
    x = checkerboard(n=1000, seed=2).numpy()
    col = np.floor((x[:, 0] + 1.0) / 0.5).astype(int)
    row = np.floor((x[:, 1] + 1.0) / 0.5).astype(int)
    assert np.all((col + row) % 2 == 0)


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: swiss_roll(seed=seed),
        lambda seed: swiss_roll(n=300, seed=seed, noise=0.05),
        lambda seed: sierpinski(n=300, seed=seed),
        lambda seed: two_moons(n=300, seed=seed),
        lambda seed: rings(n=300, seed=seed),
        lambda seed: checkerboard(n=300, seed=seed),
    ],
)
def test_determinism_and_seed_dependence(make):
    a, b, c = make(0), make(0), make(1)
    assert torch.equal(a, b)
    assert a.shape != c.shape or not torch.equal(a, c)


def test_sierpinski_full_set_is_deterministic():
    assert torch.equal(sierpinski(seed=0), sierpinski(seed=1))


@pytest.mark.parametrize(
    "call",
    [
        lambda: swiss_roll(n=0),
        lambda: swiss_roll(n=-5),
        lambda: swiss_roll(noise=-0.1),
        lambda: swiss_roll(n=2.5),
        lambda: sierpinski(depth=-1),
        lambda: sierpinski(n=0),
        lambda: two_moons(n=0),
        lambda: two_moons(noise=-1.0),
        lambda: rings(n=-1),
        lambda: rings(n_rings=0),
        lambda: checkerboard(n=0),
        lambda: checkerboard(noise=float("nan")),
    ],
)
def test_bad_arguments_raise(call):
    with pytest.raises(ValueError):
        call()
