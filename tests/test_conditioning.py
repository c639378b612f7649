"""Numerical tests for deepmix_core.conditioning: closed forms against Monte-Carlo integrals, tails,
residual-space shifts, weights, fuzzing and input validation."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from deepmix_core.conditioning import (
    Box,
    Equality,
    GaussianPrior,
    Inequality,
    Known,
    as_condition_list,
    total_log_multiplier,
)

N_MC = 200_000



# ---------------------------------------------------------------- helpers
def random_components(dim: int, k: int, variance_kind: str, seed: int):
    """Means (K, D) and variances as a scalar, (K, 1) or (K, D) tensor, plus the full (K, D) numpy version."""
    rng = np.random.default_rng(seed)
    means = rng.uniform(-1.0, 1.0, size=(k, dim))
    if variance_kind == "scalar":
        variances = 0.3**2
        full = np.full((k, dim), variances)
    elif variance_kind == "per_component":
        variances = rng.uniform(0.1, 0.6, size=(k, 1)) ** 2
        full = np.broadcast_to(variances, (k, dim)).copy()
    else:
        variances = rng.uniform(0.1, 0.6, size=(k, dim)) ** 2
        full = variances
    as_tensor = torch.tensor(variances, dtype=torch.float32) if not isinstance(variances, float) else variances
    return torch.tensor(means, dtype=torch.float32), as_tensor, means, full


def mc_samples(mean: np.ndarray, variance: np.ndarray, seed: int, n: int = N_MC) -> np.ndarray:
    """n samples of N(mean, diag(variance)) in float64."""
    rng = np.random.default_rng(seed)
    return mean + np.sqrt(variance) * rng.standard_normal((n, mean.shape[0]))


def assert_probability_close(log_multiplier: float, hits: np.ndarray) -> None:
    """exp(log_multiplier) must match the Monte-Carlo fraction within 4 binomial standard errors."""
    p_hat = hits.mean()
    standard_error = math.sqrt(max(p_hat * (1 - p_hat), 1e-12) / hits.size)
    assert math.exp(log_multiplier) == pytest.approx(p_hat, abs=4 * standard_error + 1e-3)


CASES = [(dim, kind) for dim in (2, 3) for kind in ("scalar", "per_component", "diag")]


# ---------------------------------------------------------------- closed forms against Monte Carlo
@pytest.mark.parametrize(("dim", "variance_kind"), CASES)
def test_inequality_matches_monte_carlo(dim, variance_kind):
    means, variances, means_np, var_np = random_components(dim, 3, variance_kind, seed=dim)
    rng = np.random.default_rng(100 + dim)
    a, b = rng.normal(size=dim), 0.3
    result = Inequality(a, b).log_multiplier(means, variances)
    assert result.shape == (1, 3)
    for k in range(3):
        x = mc_samples(means_np[k], var_np[k], seed=k)
        assert_probability_close(result[0, k].item(), x @ a + b > 0)


@pytest.mark.parametrize(("dim", "variance_kind"), CASES)
@pytest.mark.parametrize("open_sides", ["closed", "half_open"])
def test_box_matches_monte_carlo(dim, variance_kind, open_sides):
    means, variances, means_np, var_np = random_components(dim, 3, variance_kind, seed=10 + dim)
    low = np.linspace(-0.8, -0.2, dim)
    high = np.linspace(0.3, 0.9, dim)
    if open_sides == "half_open":
        low[0], high[-1] = -np.inf, np.inf
    result = Box(low, high).log_multiplier(means, variances)
    assert result.shape == (1, 3)
    for k in range(3):
        x = mc_samples(means_np[k], var_np[k], seed=20 + k)
        assert_probability_close(result[0, k].item(), ((x > low) & (x < high)).all(1))


@pytest.mark.parametrize(("dim", "variance_kind"), CASES)
def test_gaussian_prior_matches_monte_carlo(dim, variance_kind):
    means, variances, means_np, var_np = random_components(dim, 3, variance_kind, seed=30 + dim)
    prior_mean = np.linspace(-0.5, 0.5, dim)
    prior_std = np.linspace(0.3, 0.6, dim)
    prior_mean[-1] = np.nan  # the last variable stays free: it must not contribute
    result = GaussianPrior(prior_mean, prior_std).log_multiplier(means, variances)
    constrained = ~np.isnan(prior_mean)
    for k in range(3):
        x = mc_samples(means_np[k], var_np[k], seed=40 + k)[:, constrained]
        m, s = prior_mean[constrained], prior_std[constrained]
        density = np.exp(-0.5 * (((x - m) / s) ** 2).sum(1)) / np.prod(np.sqrt(2 * np.pi) * s)
        assert math.exp(result[0, k].item()) == pytest.approx(density.mean(), rel=0.02)


@pytest.mark.parametrize(("dim", "variance_kind"), CASES)
def test_equality_matches_density_of_projection_at_zero(dim, variance_kind):
    means, variances, means_np, var_np = random_components(dim, 3, variance_kind, seed=50 + dim)
    rng = np.random.default_rng(60 + dim)
    a = rng.normal(size=dim)
    unit_a = a / np.linalg.norm(a)
    for k in range(3):
        # the plane passes 0.15 (in x units) from component k, so that it sees a measurable density
        b = (0.15 - unit_a @ means_np[k]) * np.linalg.norm(a)
        result = Equality(a, b).log_multiplier(means, variances)
        unit_b = b / np.linalg.norm(a)
        x = mc_samples(means_np[k], var_np[k], seed=70 + k, n=400_000)
        projection = x @ unit_a + unit_b
        delta = 0.05 * projection.std()
        hits = np.abs(projection) < delta
        density = hits.mean() / (2 * delta)
        standard_error = math.sqrt(hits.mean() / hits.size) / (2 * delta)
        assert math.exp(result[0, k].item()) == pytest.approx(density, abs=4 * standard_error + 0.005 * density)


def test_equality_tolerance_adds_variance():
    means = torch.tensor([[0.4, -0.2], [1.0, 0.5]])
    variances = torch.tensor([[0.1, 0.2], [0.05, 0.3]])
    tolerance = 0.25
    result = Equality([3.0, 4.0], -1.0, tolerance=tolerance).log_multiplier(means, variances)
    a, b = torch.tensor([0.6, 0.8]), -0.2
    centre = means @ a + b
    variance = (a**2 * variances).sum(1) + tolerance**2
    expected = torch.distributions.Normal(centre, variance.sqrt()).log_prob(torch.zeros(2))
    torch.testing.assert_close(result[0], expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("mask_weight", [None, [1.0, 0.0, 1.0], [0.5, 1.0, 0.25]])
@pytest.mark.parametrize("variance_kind", ["scalar", "per_component", "diag"])
def test_known_equals_masked_normal_log_prob(mask_weight, variance_kind):
    means, variances, _, var_np = random_components(3, 4, variance_kind, seed=80)
    values = torch.tensor([0.3, float("nan"), -0.7])
    result = Known(values, mask_weight).log_multiplier(means, variances)
    per_variable = torch.distributions.Normal(means, torch.tensor(var_np, dtype=torch.float32).sqrt()).log_prob(
        torch.nan_to_num(values)
    )
    weights = torch.tensor(mask_weight if mask_weight is not None else [1.0, 1.0, 1.0])
    weights = weights * (~torch.isnan(values))
    expected = (per_variable * weights).sum(1)
    assert result.shape == (1, 4)
    torch.testing.assert_close(result[0], expected, atol=1e-5, rtol=1e-6)


def test_known_batch_of_rows_gives_one_row_of_multipliers_each():
    means, variances, _, _ = random_components(2, 3, "diag", seed=81)
    rows = torch.tensor([[0.1, float("nan")], [float("nan"), -0.4], [0.2, 0.3]])
    batch = Known(rows).log_multiplier(means, variances)
    assert batch.shape == (3, 3)
    for i in range(3):
        torch.testing.assert_close(batch[i], Known(rows[i]).log_multiplier(means, variances)[0])


# ---------------------------------------------------------------- tails
def test_inequality_far_tails_stay_ordered():
    p = torch.tensor([-6.0, -10.0, -20.0, -40.0])
    means = torch.stack([p, torch.zeros(4)], dim=1)  # a = e_x, σ = 1: standardised distance p
    result = Inequality([1.0, 0.0], 0.0).log_multiplier(means, 1.0)[0]
    assert torch.isfinite(result).all()
    assert (result[1:] < result[:-1]).all(), result
    # asymptotic log Φ(p) ≈ −p²/2 − log(−p) − ½ log 2π (relative error < 1% from p = −10 on)
    asymptotic = -(p**2) / 2 - torch.log(-p) - 0.5 * math.log(2 * math.pi)
    torch.testing.assert_close(result[1:], asymptotic[1:], rtol=1e-2, atol=0)


def test_box_far_tails_stay_ordered_on_both_sides():
    box = Box([5.0, -math.inf], [7.0, math.inf])
    means = torch.tensor([[0.0, 0.0], [-5.0, 0.0], [-20.0, 0.0], [30.0, 0.0], [50.0, 0.0]])
    result = box.log_multiplier(means, 1.0)[0]
    assert torch.isfinite(result).all()
    assert result[0] > result[1] > result[2]
    assert result[3] > result[4]
    # a component far above the box: mass ≈ Φ(7 − 30) − Φ(5 − 30) ≈ Φ(−23)
    assert result[3].item() == pytest.approx(torch.special.log_ndtr(torch.tensor(-23.0, dtype=torch.float64)).item(),
                                             rel=1e-4)


# ---------------------------------------------------------------- residual-space shifts
def make_all_conditions(dim: int):
    nan = float("nan")
    return [
        Known([0.4, nan, -0.3][:dim]),
        GaussianPrior([0.2, -0.1, nan][:dim], [0.3, 0.5, 1.0][:dim]),
        Inequality([1.0, -2.0, 0.5][:dim], 0.3),
        Equality([0.5, 1.0, -1.0][:dim], -0.2),
        Box([-0.5, -math.inf, -1.0][:dim], [0.6, 0.2, math.inf][:dim]),
    ]


@pytest.mark.parametrize("index", range(5), ids=["Known", "GaussianPrior", "Inequality", "Equality", "Box"])
@pytest.mark.parametrize("dim", [2, 3])
def test_shifted_condition_is_invariant_in_residual_space(index, dim):
    condition = make_all_conditions(dim)[index]
    generator = torch.Generator().manual_seed(dim)
    means = torch.randn(5, dim, generator=generator) * 0.5
    variances = torch.rand(5, dim, generator=generator) * 0.2 + 0.05
    x_hat = torch.randn(4, dim, generator=generator) * 0.5
    reference = condition.log_multiplier(means, variances)[0]
    shifted = condition.shifted(x_hat)
    for i in range(4):
        row = shifted.log_multiplier(means - x_hat[i], variances)
        assert row.shape == (4, 5)
        torch.testing.assert_close(row[i], reference, atol=1e-4, rtol=1e-5)


def test_shifted_does_not_modify_the_original():
    condition = Inequality([1.0, 1.0], 0.5)
    before = condition.b.clone()
    condition.shifted(torch.ones(3, 2))
    torch.testing.assert_close(condition.b, before)


# ---------------------------------------------------------------- normalisation and weights
def test_inequality_is_normalised():
    scaled, unit = Inequality([2.0, 0.0], 1.0), Inequality([1.0, 0.0], 0.5)
    torch.testing.assert_close(scaled.a, unit.a)
    torch.testing.assert_close(scaled.b, unit.b)
    means = torch.tensor([[0.3, 0.1], [-1.0, 2.0], [-0.6, 0.0]])
    torch.testing.assert_close(scaled.log_multiplier(means, 0.2), unit.log_multiplier(means, 0.2))
    assert torch.linalg.vector_norm(Equality([3.0, 4.0], 5.0).a).item() == pytest.approx(1.0)
    assert Equality([3.0, 4.0], 5.0).b.item() == pytest.approx(1.0)


@pytest.mark.parametrize("index", range(1, 5), ids=["GaussianPrior", "Inequality", "Equality", "Box"])
def test_weight_scales_the_log_multiplier(index):
    means = torch.tensor([[0.3, 0.1], [-1.0, 2.0], [-0.6, 0.0]])
    condition = make_all_conditions(2)[index]
    base = condition.log_multiplier(means, 0.1)
    assert (base != 0).any()
    condition.weight = 0.0
    torch.testing.assert_close(condition.log_multiplier(means, 0.1), torch.zeros_like(base))
    condition.weight = 2.0
    torch.testing.assert_close(condition.log_multiplier(means, 0.1), 2 * base)


def test_weight_given_to_constructor_is_used():
    means = torch.tensor([[0.3, 0.1], [-1.0, 2.0]])
    one, two = Inequality([1.0, 1.0], 0.0), Inequality([1.0, 1.0], 0.0, weight=2.0)
    torch.testing.assert_close(two.log_multiplier(means, 0.5), 2 * one.log_multiplier(means, 0.5))
    torch.testing.assert_close(Box([0, 0], [1, 1], weight=0).log_multiplier(means, 0.5), torch.zeros(1, 2))


def test_total_log_multiplier_sums_and_handles_empty():
    means = torch.tensor([[0.3, 0.1], [-1.0, 2.0]])
    conditions = make_all_conditions(2)
    expected = sum(c.log_multiplier(means, 0.3) for c in conditions)
    torch.testing.assert_close(total_log_multiplier(conditions, means, 0.3), expected)
    assert total_log_multiplier([], means, 0.3) is None


# ---------------------------------------------------------------- fuzzing
finite = st.floats(-1000.0, 1000.0, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=32)
variance_value = st.floats(1e-4, 1e2)
weight_value = st.floats(0.0, 10.0)


@st.composite
def mixture(draw):
    dim = draw(st.integers(1, 4))
    k = draw(st.integers(1, 4))
    means = torch.tensor(draw(st.lists(st.lists(finite, min_size=dim, max_size=dim), min_size=k, max_size=k)))
    kind = draw(st.sampled_from(["scalar", "per_component", "diag"]))
    if kind == "scalar":
        variances = torch.tensor(draw(variance_value))
    elif kind == "per_component":
        variances = torch.tensor(draw(st.lists(variance_value, min_size=k, max_size=k)))[:, None]
    else:
        variances = torch.tensor(draw(st.lists(st.lists(variance_value, min_size=dim, max_size=dim),
                                                min_size=k, max_size=k)))
    return dim, means, variances


@st.composite
def plane(draw, dim):
    a = draw(st.lists(finite, min_size=dim, max_size=dim).filter(lambda v: max(abs(e) for e in v) > 1e-3))
    return a, draw(finite)


@st.composite
def box_bounds(draw, dim):
    low, high = [], []
    for _ in range(dim):
        lo, hi = sorted(draw(st.lists(finite, min_size=2, max_size=2, unique=True)))
        lo = -math.inf if draw(st.booleans()) else lo
        hi = math.inf if draw(st.booleans()) else hi
        low.append(lo)
        high.append(hi)
    return low, high


@st.composite
def condition_and_mixture(draw):
    dim, means, variances = draw(mixture())
    kind = draw(st.sampled_from(["Inequality", "Equality", "Box", "GaussianPrior", "Known"]))
    weight = draw(weight_value)
    if kind in ("Inequality", "Equality"):
        a, b = draw(plane(dim))
        condition = Inequality(a, b, weight) if kind == "Inequality" else Equality(a, b, weight)
    elif kind == "Box":
        condition = Box(*draw(box_bounds(dim)), weight=weight)
    elif kind == "GaussianPrior":
        mean = draw(st.lists(st.one_of(finite, st.just(math.nan)), min_size=dim, max_size=dim))
        std = draw(st.lists(st.one_of(st.floats(1e-3, 1e2), st.just(math.inf)), min_size=dim, max_size=dim))
        condition = GaussianPrior(mean, std, weight)
    else:
        values = draw(st.lists(st.one_of(finite, st.just(math.nan)), min_size=dim, max_size=dim))
        condition = Known(values, draw(st.lists(weight_value, min_size=dim, max_size=dim)))
    return condition, means, variances


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(condition_and_mixture(), st.lists(finite, min_size=4, max_size=4))
def test_fuzz_log_multiplier_is_never_nan_or_plus_inf(case, shift):
    condition, means, variances = case
    result = condition.log_multiplier(means, variances)
    assert result.shape == (1, means.shape[0])
    assert not torch.isnan(result).any(), (condition, result)
    assert not (result == math.inf).any(), (condition, result)
    if isinstance(condition, (Inequality, Box)):
        assert (result <= 0).all(), (condition, result)
    x_hat = torch.tensor(shift[: means.shape[1]])[None].expand(2, -1)
    shifted = condition.shifted(x_hat).log_multiplier(means, variances)
    assert shifted.shape == (2, means.shape[0])
    assert not torch.isnan(shifted).any() and not (shifted == math.inf).any()


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.data())
def test_fuzz_total_log_multiplier_is_finite(data):
    dim, means, variances = data.draw(mixture())
    conditions = [
        Inequality(*data.draw(plane(dim)), weight=data.draw(weight_value)),
        Box(*data.draw(box_bounds(dim)), weight=data.draw(weight_value)),
        Equality(*data.draw(plane(dim)), weight=data.draw(weight_value)),
        GaussianPrior(data.draw(st.lists(finite, min_size=dim, max_size=dim)), data.draw(st.floats(1e-3, 1e2))),
        Known(data.draw(st.lists(finite, min_size=dim, max_size=dim))),
    ]
    total = total_log_multiplier(conditions, means, variances)
    assert total.shape == (1, means.shape[0])
    assert torch.isfinite(total).all(), (conditions, total)


# ---------------------------------------------------------------- validation
nan, inf = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Inequality([0.0, 0.0], 1.0), "all zeros"),
        (lambda: Equality([0.0, 0.0, 0.0], 0.0), "all zeros"),
        (lambda: Inequality([nan, 1.0], 1.0), "finite"),
        (lambda: Inequality([inf, 1.0], 1.0), "finite"),
        (lambda: Inequality([1.0, 1.0], nan), "finite"),
        (lambda: Equality([1.0, 1.0], -inf), "finite"),
        (lambda: Inequality([1.0, 1.0], 0.0, weight=-1.0), "weight"),
        (lambda: Inequality([1.0, 1.0], 0.0, weight=nan), "weight"),
        (lambda: Equality([1.0, 1.0], 0.0, tolerance=-0.1), "tolerance"),
        (lambda: Box([0.0, 1.0], [1.0, 1.0]), "variable 1"),
        (lambda: Box([2.0, 0.0, 0.0], [1.0, 1.0, 1.0]), "variable 0"),
        (lambda: Box([0.0, 0.0], [1.0, 1.0, 1.0]), "same length"),
        (lambda: Box([0.0, 0.0], [1.0, 1.0], weight=-0.5), "weight"),
        (lambda: GaussianPrior([0.0, 0.0], [1.0, 0.0]), "std must be > 0"),
        (lambda: GaussianPrior([0.0, 0.0], [1.0, -2.0]), "std must be > 0"),
        (lambda: GaussianPrior([0.0, 0.0], [1.0, 1.0, 1.0]), "3 entries but mean has 2"),
        (lambda: GaussianPrior([0.0, inf], 1.0), "finite"),
        (lambda: GaussianPrior([0.0, 0.0], 1.0, weight=-1), "weight"),
        (lambda: Known([0.0, inf]), "inf"),
        (lambda: Known([0.0, 1.0], weight=[1.0, -1.0]), "weight"),
        (lambda: Known([0.0, 1.0], weight=[1.0, 1.0, 1.0]), "weight has 3 entries"),
        (lambda: Inequality("abc", 0.0), "a must be"),
    ],
)
def test_bad_construction_raises_value_error(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("index", range(5), ids=["Known", "GaussianPrior", "Inequality", "Equality", "Box"])
def test_check_dim_detects_wrong_width(index):
    condition = make_all_conditions(2)[index]
    condition.check_dim(2)
    with pytest.raises(ValueError, match="2 entries but the data has 3 variables"):
        condition.check_dim(3)


def test_as_condition_list_validates_width_and_types():
    known = [0.1, nan]
    with pytest.raises(ValueError, match="Known"):
        as_condition_list(3, "cpu", known=known)
    with pytest.raises(ValueError, match="GaussianPrior"):
        as_condition_list(3, "cpu", priors=[GaussianPrior([0.0, 0.0], 1.0)])
    with pytest.raises(ValueError, match="Inequality"):
        as_condition_list(3, "cpu", constraints=Inequality([1.0, 0.0], 0.0))
    with pytest.raises(ValueError, match="Box"):
        as_condition_list(3, "cpu", constraints=[Box([0.0, 0.0], [1.0, 1.0])])
    with pytest.raises(ValueError, match="weight"):
        as_condition_list(2, "cpu", known=known, weight=[1.0, -1.0])
    with pytest.raises(ValueError, match="only makes sense together with known"):
        as_condition_list(2, "cpu", weight=[1.0, 1.0])
    with pytest.raises(TypeError, match="Inequality or Equality or Box"):
        as_condition_list(2, "cpu", constraints=[Inequality([1.0, 0.0], 0.0), "x > 0"])
    with pytest.raises(TypeError, match="GaussianPrior"):
        as_condition_list(2, "cpu", priors=[Inequality([1.0, 0.0], 0.0)])


def test_as_condition_list_gathers_everything():
    conditions = as_condition_list(
        2,
        "cpu",
        known=torch.tensor([0.1, nan]),
        priors=GaussianPrior([nan, 0.0], [inf, 1.0]),
        constraints=[Inequality([1.0, 0.0], 0.0), Box([0.0, 0.0], [1.0, 1.0])],
    )
    assert [type(c).__name__ for c in conditions] == ["Known", "GaussianPrior", "Inequality", "Box"]
    # a known row with nothing known adds no condition
    assert as_condition_list(2, "cpu", known=[nan, nan]) == []


def test_holds_and_residual():
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0], [-1.0, 0.5]])
    torch.testing.assert_close(Inequality([1.0, 1.0], -0.5).holds(x), torch.tensor([False, True, False]))
    torch.testing.assert_close(Box([-0.5, -inf], [2.0, 0.7]).holds(x), torch.tensor([True, False, False]))
    torch.testing.assert_close(Equality([3.0, 4.0], -5.0).residual(x), torch.tensor([-1.0, 0.4, -1.2]))
