"""ColumnScaled (a model trained on x·s, used in x units) and the shipped pretrained checkpoints."""

import math

import pytest
import torch

from deepmix_core import DRMM, Box, Equality, GaussianPrior, Inequality
from deepmix_core.data import swiss_roll
from deepmix_core.data.kinematics import Arm, Humanoid
from deepmix_core.pretrained import available, load_pretrained, pretrained_info
from deepmix_core.scaled import ColumnScaled, _scaled_condition

SCALE = torch.tensor([1.0, 4.0])


@pytest.fixture(scope="module")
def scaled_model():
    model = ColumnScaled(DRMM(2, 16), SCALE)
    model.fit(swiss_roll(n=3000, seed=0), steps=800, seed=0, progress=False)
    return model


def test_samples_come_back_in_data_units(scaled_model):
    samples = scaled_model.sample(2000, seed=1)
    data = swiss_roll(n=2000, seed=1)
    # the wrapped model works on y = 4·x₂; returned samples must again span the data's own range
    assert torch.allclose(samples.std(0), data.std(0), rtol=0.15)
    assert torch.allclose(samples.mean(0), data.mean(0), atol=0.05)


def test_log_prob_includes_the_jacobian(scaled_model):
    x = swiss_roll(n=50, seed=2)
    inner = scaled_model.model.log_prob(x * SCALE, seed=0)
    assert torch.allclose(scaled_model.log_prob(x, seed=0), inner + math.log(4.0), atol=1e-5)


def test_likelihood_still_integrates_to_about_one(scaled_model):
    grid = torch.linspace(-1.2, 1.2, 121)
    xx, yy = torch.meshgrid(grid, grid, indexing="xy")
    points = torch.stack([xx.flatten(), yy.flatten()], 1)
    density = scaled_model.log_prob(points, n_passes=8, seed=0).exp()
    mass = density.sum().item() * (grid[1] - grid[0]).item() ** 2
    assert 0.8 < mass < 1.1


def test_known_value_and_inequality_are_in_data_units(scaled_model):
    known = scaled_model.sample(500, known=torch.tensor([math.nan, 0.3]), seed=3)
    assert (known[:, 1] - 0.3).abs().median() < 0.05
    wish = Inequality([1.0, 1.0], 0.0, weight=3.0)  # x₁ + x₂ > 0 in the caller's units
    constrained = scaled_model.sample(1000, constraints=[wish], seed=4)
    assert wish.holds(constrained).float().mean() > 0.9


@pytest.mark.parametrize(
    "condition",
    [
        Inequality([1.0, -2.0], 0.3),
        Box([-0.5, -0.2], [0.4, 0.1]),
        Equality([1.0, 1.0], 0.1, tolerance=0.05),
        GaussianPrior([0.1, -0.2], [0.3, 0.05]),
    ],
)
def test_scaled_conditions_describe_the_same_wish(condition):
    scaled = _scaled_condition(condition, SCALE)
    x = torch.rand(500, 2, generator=torch.Generator().manual_seed(0)) * 2 - 1
    if isinstance(condition, (Inequality, Box)):
        assert torch.equal(condition.holds(x), scaled.holds(x * SCALE))
    elif isinstance(condition, Equality):
        # the signed distance rescales by one constant and the tolerance with it
        ratio = scaled.residual(x * SCALE) / condition.residual(x)
        assert torch.allclose(ratio, ratio[0].expand_as(ratio), rtol=1e-4)
        assert scaled.tolerance == pytest.approx(condition.tolerance * ratio[0].item(), rel=1e-4)
    else:
        assert torch.allclose(scaled.mean, condition.mean * SCALE) and torch.allclose(scaled.std, condition.std * SCALE)


def test_save_load_round_trip(tmp_path, scaled_model):
    path = scaled_model.save(tmp_path / "scaled.pt")
    again = ColumnScaled.load(path)
    assert torch.equal(again.scale, SCALE)
    assert torch.allclose(again.sample(100, seed=5), scaled_model.sample(100, seed=5))


def test_bad_scale_is_rejected():
    with pytest.raises(ValueError, match="scale"):
        ColumnScaled(DRMM(2, 4), [1.0, 0.0])
    with pytest.raises(ValueError, match="entries"):
        ColumnScaled(DRMM(2, 4, n_features=3), [1.0, 2.0])


# ---------------------------------------------------------------------- shipped checkpoints
def test_pretrained_models_are_shipped_and_fit_their_rigs():
    assert {"arm", "humanoid"} <= set(available())
    for name, rig in [("arm", Arm()), ("humanoid", Humanoid())]:
        model = load_pretrained(name)
        assert model.n_features == rig.dim
        info = pretrained_info(name)
        assert info["train_seconds"] <= 600, "the issue asks for ≤ 10 minutes of CPU training"
        assert info["parameters"] == model.n_parameters()


def test_missing_pretrained_model_names_the_command():
    with pytest.raises(FileNotFoundError, match="make pretrained"):
        load_pretrained("no-such-rig")
