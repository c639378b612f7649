"""Tests for deepmix_core.gmm.GMM: normalisation, agreement with scikit-learn, exact conditional sampling,
seeds, save/load and input validation."""

import math

import numpy as np
import pytest
import torch
from sklearn.mixture import GaussianMixture

from deepmix_core import DRMM, GMM, GaussianPrior, Inequality
from deepmix_core.data import swiss_roll, two_moons

SKLEARN_NAMES = {"isotropic": "spherical", "diag": "diag"}
nan, inf = float("nan"), float("inf")



@pytest.fixture(scope="module")
def moons() -> torch.Tensor:
    return two_moons(n=2000)


@pytest.fixture(scope="module", params=["isotropic", "diag"])
def fitted(request, moons) -> GMM:
    model = GMM(8, covariance=request.param)
    model.fit(moons, epochs=200, tol=1e-5, seed=0, progress=False)
    return model


@pytest.fixture(scope="module")
def diag_moons(moons) -> GMM:
    model = GMM(8, covariance="diag")
    model.fit(moons, epochs=200, tol=1e-5, seed=1, progress=False)
    return model


def conditional_weights(model: GMM, value: float, dim: int) -> np.ndarray:
    """w'_k ∝ w_k N(value | μ_k,dim, v_k,dim), computed in float64."""
    means = model.means_.astype(np.float64)
    variances = np.broadcast_to(model._component_variances().numpy(), means.shape).astype(np.float64)
    log_w = np.log(model.weights_.astype(np.float64))
    log_w += -0.5 * ((value - means[:, dim]) ** 2 / variances[:, dim] + np.log(2 * np.pi * variances[:, dim]))
    w = np.exp(log_w - log_w.max())
    return w / w.sum()


# ---------------------------------------------------------------- density
def test_log_prob_integrates_to_one(fitted, moons):
    sigma = math.sqrt(float(fitted.covariances_.max()))
    low = moons.min(0).values.double() - 5 * sigma
    high = moons.max(0).values.double() + 5 * sigma
    n = 500
    xs = torch.linspace(low[0].item(), high[0].item(), n)
    ys = torch.linspace(low[1].item(), high[1].item(), n)
    grid = torch.cartesian_prod(xs, ys)
    cell = (xs[1] - xs[0]).item() * (ys[1] - ys[0]).item()
    integral = fitted.log_prob(grid).double().exp().sum().item() * cell
    assert abs(integral - 1.0) < 0.02


@pytest.mark.parametrize("covariance", ["isotropic", "diag"])
def test_fit_matches_sklearn_log_likelihood(covariance, moons):
    data = moons.double().numpy()
    reference = GaussianMixture(
        8,
        covariance_type=SKLEARN_NAMES[covariance],
        init_params="k-means++",
        max_iter=200,
        tol=1e-5,
        reg_covar=1e-6,
        n_init=3,
        random_state=0,
    ).fit(data)
    ours = []
    for seed in range(3):  # same number of restarts as sklearn's n_init
        model = GMM(8, covariance=covariance)
        model.fit(moons, epochs=200, tol=1e-5, seed=seed, progress=False)
        ours.append(model.log_prob(moons).mean().item())
    assert max(ours) > reference.score(data) - 0.05


@pytest.mark.parametrize("covariance", ["isotropic", "diag"])
def test_log_prob_equals_sklearn_score_samples_with_copied_parameters(covariance, moons):
    data = moons.double().numpy()
    reference = GaussianMixture(8, covariance_type=SKLEARN_NAMES[covariance], random_state=0).fit(data)
    model = GMM(8, covariance=covariance, n_features=2)
    model.means = torch.tensor(reference.means_, dtype=torch.float32)
    model.variances = torch.tensor(reference.covariances_, dtype=torch.float32)
    model.log_weights = torch.tensor(np.log(reference.weights_), dtype=torch.float32)
    points = np.concatenate([data[:500], np.random.default_rng(0).uniform(-2, 2, size=(200, 2))])
    expected = reference.score_samples(points)
    got = model.log_prob(torch.tensor(points, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-5)


def test_component_log_prob_matches_torch_normal(diag_moons, moons):
    x = moons[:50]
    expected = torch.distributions.Normal(diag_moons.means, diag_moons.variances.sqrt()).log_prob(x[:, None]).sum(-1)
    torch.testing.assert_close(diag_moons.component_log_prob(x), expected, atol=1e-4, rtol=1e-5)


def test_em_history_improves_and_matches_attributes(moons):
    model = GMM(6, covariance="diag")
    history = model.fit(moons, epochs=300, tol=1e-6, seed=0, progress=False)
    ll = history["log_likelihood"]
    assert len(ll) == model.n_iter_
    assert np.all(np.diff(ll) > -1e-4)  # EM never decreases the likelihood (up to float32 noise)
    np.testing.assert_allclose(history["loss"], -ll)
    assert model.lower_bound_ == pytest.approx(ll[-1])
    assert model.converged_ is True and model.n_iter_ < 300
    assert model.log_prob(moons).mean().item() == pytest.approx(ll[-1], abs=1e-3)


# ---------------------------------------------------------------- conditional sampling
def test_known_value_gives_the_exact_conditional(diag_moons):
    n = 20_000
    samples = diag_moons.sample(n, known=[0.3, nan], seed=0)
    assert samples.shape == (n, 2)
    assert torch.equal(samples[:, 0], torch.full((n,), 0.3))
    weights = conditional_weights(diag_moons, 0.3, dim=0)
    mu_y = diag_moons.means_[:, 1].astype(np.float64)
    var_y = diag_moons.covariances_[:, 1].astype(np.float64)
    mean = weights @ mu_y
    variance = weights @ (var_y + mu_y**2) - mean**2
    y = samples[:, 1].double().numpy()
    assert abs(y.mean() - mean) < 4 * math.sqrt(variance / n)
    assert y.var() == pytest.approx(variance, rel=0.05)


def test_known_rows_per_sample(diag_moons):
    known = torch.tensor([[0.1, nan], [nan, -0.2], [0.5, 0.25]])
    samples = diag_moons.sample(3, known=known, seed=0)
    assert samples[0, 0] == known[0, 0] and samples[1, 1] == known[1, 1]
    assert torch.equal(samples[2], known[2])


def test_gaussian_prior_gives_the_exact_posterior(diag_moons):
    n = 20_000
    m, s = 0.2, 0.05
    unconditional = diag_moons.sample(n, seed=0)
    samples = diag_moons.sample(n, priors=[GaussianPrior([m, nan], [s, inf])], seed=0)
    assert samples[:, 0].std() < 0.5 * unconditional[:, 0].std()
    # posterior: w'_k ∝ w_k N(m | μ_kx, v_kx + s²); inside a component x ~ N(μ', v') (product of Gaussians)
    means = diag_moons.means_.astype(np.float64)
    variances = diag_moons.covariances_.astype(np.float64)
    total = variances[:, 0] + s**2
    log_w = np.log(diag_moons.weights_) - 0.5 * ((m - means[:, 0]) ** 2 / total + np.log(total))
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    post_var = 1 / (1 / variances[:, 0] + 1 / s**2)
    post_mean = post_var * (means[:, 0] / variances[:, 0] + m / s**2)
    mean_x = w @ post_mean
    var_x = w @ (post_var + post_mean**2) - mean_x**2
    x = samples[:, 0].double().numpy()
    assert abs(x.mean() - mean_x) < 4 * math.sqrt(var_x / n)
    mean_y = w @ means[:, 1]
    var_y = w @ (variances[:, 1] + means[:, 1] ** 2) - mean_y**2
    assert abs(samples[:, 1].double().mean().item() - mean_y) < 4 * math.sqrt(var_y / n)


def test_inequality_constraint_is_mostly_satisfied():
    model = GMM(32, covariance="diag")
    model.fit(swiss_roll(), epochs=100, seed=0, progress=False)
    constraint = Inequality([1.0, 0.2], 0.0)
    free = constraint.holds(model.sample(5000, seed=0)).float().mean().item()
    rate = constraint.holds(model.sample(5000, constraints=[constraint], seed=0)).float().mean().item()
    assert free < 0.7  # the constraint does cut the distribution
    assert rate >= 0.95


@pytest.mark.parametrize(
    "wish",
    [
        {"constraints": [Inequality([1.0, 0.2], 0.0, weight=0.0)]},
        {"known": [0.3, nan], "weight": [0.0, 0.0]},
        {"priors": [GaussianPrior([0.2, nan], [0.05, inf], weight=0.0)]},
    ],
    ids=["inequality", "known", "prior"],
)
def test_weight_zero_switches_a_wish_off(diag_moons, wish):
    """The conditioning module promises: weight 0 switches a wish off, so samples equal the unconditional ones."""
    torch.testing.assert_close(diag_moons.sample(500, seed=3, **wish), diag_moons.sample(500, seed=3))


# ---------------------------------------------------------------- seeds and persistence
def test_same_seed_same_samples(fitted):
    torch.testing.assert_close(fitted.sample(300, seed=7), fitted.sample(300, seed=7), rtol=0, atol=0)
    assert not torch.equal(fitted.sample(300, seed=7), fitted.sample(300, seed=8))


def test_save_load_round_trip(fitted, moons, tmp_path):
    path = fitted.save(tmp_path / "gmm.pt")
    loaded = GMM.load(path)
    assert loaded.covariance == fitted.covariance and loaded.n_components == 8 and loaded.n_features == 2
    torch.testing.assert_close(loaded.sample(300, seed=5), fitted.sample(300, seed=5), rtol=0, atol=0)
    torch.testing.assert_close(loaded.log_prob(moons), fitted.log_prob(moons), rtol=0, atol=0)
    constraint = Inequality([1.0, 0.0], 0.0)
    torch.testing.assert_close(
        loaded.sample(100, constraints=constraint, seed=1), fitted.sample(100, constraints=constraint, seed=1)
    )


def test_loading_a_drmm_file_as_gmm_fails(tmp_path):
    path = DRMM(2, 4, n_features=2).save(tmp_path / "drmm.pt")
    with pytest.raises(ValueError, match="DRMM"):
        GMM.load(path)


# ---------------------------------------------------------------- errors
def test_unfitted_model_raises_runtime_error():
    model = GMM(3)
    with pytest.raises(RuntimeError, match="fit"):
        model.sample(10)
    with pytest.raises(RuntimeError, match="fit"):
        model.log_prob(torch.zeros(4, 2))
    with pytest.raises(RuntimeError, match="fit"):
        model.n_parameters()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_components": 0}, "n_components"),
        ({"n_components": 2.5}, "n_components"),
        ({"n_components": 3, "covariance": "full"}, "covariance"),
        ({"n_components": 3, "init": "random"}, "init"),
        ({"n_components": 3, "reg_covar": -1.0}, "reg_covar"),
    ],
)
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GMM(**kwargs)


def test_bad_data_raises_value_error(fitted):
    data = torch.randn(50, 2)
    data[3, 1] = nan
    with pytest.raises(ValueError, match="nan"):
        GMM(3).fit(data, progress=False)
    with pytest.raises(ValueError, match="inf"):
        GMM(3).fit(torch.full((20, 2), inf), progress=False)
    with pytest.raises(ValueError, match="matrix"):
        GMM(3).fit(torch.randn(50), progress=False)
    with pytest.raises(ValueError, match="at least"):
        GMM(10).fit(torch.randn(5, 2), progress=False)
    with pytest.raises(ValueError, match="3 columns"):
        fitted.log_prob(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="positive whole number"):
        fitted.sample(0)
    with pytest.raises(ValueError, match="known has 3 entries but the data has 2 variables"):
        fitted.sample(5, known=[0.1, nan, nan])
    with pytest.raises(ValueError, match="a has 3 entries but the data has 2 variables"):
        fitted.sample(5, constraints=[Inequality([1.0, 0.0, 0.0], 0.0)])


# ---------------------------------------------------------------- sklearn-style attributes
def test_sklearn_style_attributes(fitted):
    k, d = 8, 2
    assert fitted.means_.shape == (k, d)
    assert fitted.weights_.shape == (k,)
    assert fitted.weights_.sum() == pytest.approx(1.0, abs=1e-5)
    assert (fitted.weights_ > 0).all()
    expected_cov_shape = (k,) if fitted.covariance == "isotropic" else (k, d)
    assert fitted.covariances_.shape == expected_cov_shape
    assert (fitted.covariances_ >= fitted.reg_covar).all()
    assert isinstance(fitted.means_, np.ndarray)
    assert fitted.n_iter_ >= 1 and math.isfinite(fitted.lower_bound_)
    variance_count = k if fitted.covariance == "isotropic" else k * d
    assert fitted.n_parameters() == k * d + variance_count + (k - 1)


def test_n_parameters_formula_in_higher_dimension():
    data = torch.randn(200, 5, generator=torch.Generator().manual_seed(0))
    iso, diag = GMM(4), GMM(4, covariance="diag")
    iso.fit(data, epochs=3, progress=False)
    diag.fit(data, epochs=3, progress=False)
    assert iso.n_parameters() == 4 * 5 + 4 + 3
    assert diag.n_parameters() == 4 * 5 + 4 * 5 + 3


def test_float64_data_gives_a_float64_model_that_resolves_far_clusters():
    """Clusters at ±100 with σ = 0.01: float32 expansions lose the variance; float64 keeps it."""
    rng = np.random.default_rng(0)
    centres = rng.choice([-100.0, 100.0], size=4000)
    data = np.stack([centres + 0.01 * rng.standard_normal(4000), 0.01 * rng.standard_normal(4000)], 1)
    model = GMM(2, covariance="diag")
    model.fit(torch.tensor(data, dtype=torch.float64), seed=0, progress=False)
    assert model.means.dtype == torch.float64
    assert np.allclose(np.sqrt(model.covariances_), 0.01, rtol=0.1)
    samples = model.sample(100, known=[100.0, math.nan], seed=0)
    assert samples.dtype == torch.float64 and torch.all(samples[:, 0] == 100.0)


@pytest.mark.parametrize("dtype, tolerance", [(torch.float32, 1e-3), (torch.float64, 1e-9)])
def test_log_prob_is_right_on_data_far_from_the_origin(dtype, tolerance):
    # fit centres the data; log_prob used to expand (x − μ)² around the origin and lost every digit at 1e6
    far = (swiss_roll(2000, seed=0).to(torch.float64) + 1e6).to(dtype)
    model = GMM(n_components=8, covariance="diag")
    model.fit(far, epochs=60, progress=False)
    x, means, variances = far.double(), model.means.double(), model.variances.double()
    direct = -0.5 * (((x[:, None] - means) ** 2 / variances) + torch.log(2 * math.pi * variances)).sum(-1)
    reference = torch.logsumexp(direct + model.log_weights.double(), dim=1)  # (x − μ) formed first: no cancellation
    values = model.log_prob(far).double()
    assert torch.allclose(values, reference, atol=tolerance, rtol=0)
    # and close to what fit reported (in float32, means stored near 1e6 lie on a grid of 0.0625: a small gap)
    assert values.mean().item() == pytest.approx(model.lower_bound_, abs=0.05 if dtype == torch.float32 else 1e-3)
