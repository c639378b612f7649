"""Tests for deepmix_core.flows: the vector flow, GenMM / LatMM trained by EM, dequantisation and the
maximum-likelihood classifier. Tiny flows and short budgets keep the module fast."""

import functools
import math

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from deepmix_core import GenMM, LatMM, MaxLikelihoodClassifier
from deepmix_core.flows import dequantize, make_vector_flow
from deepmix_core.flows.mixtures import noam_factor, standard_normal_log_prob

TOY_SPEC = {"kind": "vector", "dim": 2, "n_layers": 4, "hidden": 32}
TOY_FIT = {"epochs": 20, "batch_size": 128, "progress": False}


def ring_of_gaussians(n: int, seed: int, radius: float = 4.0, std: float = 0.3) -> torch.Tensor:
    """8 Gaussians on a ring (docs/notes/flow-mixtures.md §5.1): equal weights, centres at angles 2πk/8."""
    generator = torch.Generator().manual_seed(seed)
    angle = torch.randint(8, (n,), generator=generator) * (2 * math.pi / 8)
    centres = radius * torch.stack([angle.cos(), angle.sin()], dim=1)
    return centres + std * torch.randn(n, 2, generator=generator)


def parameter_vector(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()] + [model.weights.flatten()])


@pytest.fixture(scope="module")
def ring() -> torch.Tensor:
    return ring_of_gaussians(1000, seed=0)


@pytest.fixture(scope="module")
def ring_test() -> torch.Tensor:
    return ring_of_gaussians(2000, seed=1)


@pytest.fixture(scope="module")
def genmm_runs(ring):
    """GenMM with K = 1 and K = 4 on the ring, same budget; measured test NLL gaps 0.15–0.28 over 4 seeds."""
    runs = {}
    for k in (1, 4):
        model = GenMM(n_components=k, flow=TOY_SPEC, seed=0)
        runs[k] = model, model.fit(ring, seed=0, **TOY_FIT)
    return runs


@pytest.fixture(scope="module")
def latmm(ring):
    model = LatMM(n_components=3, flow=TOY_SPEC, seed=0, mean_init_std=1.0)
    return model, model.fit(ring, epochs=10, batch_size=128, seed=0, progress=False)


# ---------------------------------------------------------------- the vector flow
def test_vector_flow_inverts_and_log_det_matches_brute_force_jacobian():
    flow = make_vector_flow(3, n_layers=4, hidden=8, seed=0).double()
    x = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    flow.initialize(x)
    z, log_det = flow.transform(x)
    assert z.shape == (6, 3) and log_det.shape == (6,)
    assert torch.allclose(flow.inverse(z), x, atol=1e-10)
    for i in range(3):
        jacobian = torch.autograd.functional.jacobian(lambda row: flow.transform(row[None])[0][0], x[i])
        assert torch.linalg.slogdet(jacobian).logabsdet.item() == pytest.approx(log_det[i].item(), abs=1e-8)


def test_vector_flow_seed_and_interface():
    a, b = make_vector_flow(5, seed=3), make_vector_flow(5, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert a.event_shape == (5,) and a.dim == 5
    with pytest.raises(ValueError):
        make_vector_flow(1)
    with pytest.raises(ValueError):
        a.transform(torch.zeros(2, 4))


def test_noam_schedule_warms_up_then_decays_to_the_floor():
    assert noam_factor(0, 10) == pytest.approx(0.1)
    assert noam_factor(9, 10) == pytest.approx(1.0)
    assert noam_factor(39, 10) == pytest.approx(0.5)
    assert noam_factor(10_000, 10) == pytest.approx(0.1)


# ---------------------------------------------------------------- EM training
def test_responsibilities_are_distributions_and_pi_stays_on_the_simplex(genmm_runs, latmm, ring):
    for model, history in (genmm_runs[4], latmm):
        gamma = model.responsibilities(ring[:300])
        assert gamma.shape == (300, model.n_components)
        assert torch.allclose(gamma.sum(1), torch.ones(300), atol=1e-5)
        assert (gamma >= 0).all()
        pi = history["pi"]
        assert pi.shape == (len(history), model.n_components)
        assert (pi >= 0).all() and np.allclose(pi.sum(1), 1.0, atol=1e-5)
        assert np.allclose(model.weights_, pi[-1])


def test_pi_changes_only_at_refreshes(genmm_runs):
    history = genmm_runs[4][1]
    pi, refreshed = history["pi"], history["refreshed"]
    assert refreshed.tolist() == [(epoch + 1) % 5 == 0 for epoch in range(20)]
    assert np.allclose(pi[:4], 0.25)  # uniform until the first refresh
    for epoch in range(1, 20):
        if not refreshed[epoch]:
            assert np.array_equal(pi[epoch], pi[epoch - 1])


def test_nll_decreases_over_training(genmm_runs, latmm):
    for _, history in (*genmm_runs.values(), latmm):
        nll = history["nll"]
        assert nll[-1] < nll[0] - 0.1
        assert history["time"][-1] > 0 and np.all(np.diff(history["time"]) > 0)


def test_four_components_beat_one_on_the_ring(genmm_runs, ring_test):
    # measured (seed 0): K=1 test NLL 2.199, K=4 2.046 nats/dim; over seeds 0-3 the gap was 0.15-0.28
    nll_one, nll_four = genmm_runs[1][0].nll(ring_test), genmm_runs[4][0].nll(ring_test)
    assert nll_four < nll_one - 0.05
    assert 1.26 < nll_four < 2.3  # above the true entropy ≈ 1.26 nats/dim


def test_one_component_mixture_is_the_flow(ring):
    model = GenMM(n_components=1, flow=TOY_SPEC, seed=1)
    model.fit(ring, epochs=2, batch_size=256, progress=False)
    with torch.no_grad():
        z, log_det = model.flows[0].transform(ring)
        flow_log_prob = standard_normal_log_prob(z) + log_det
    assert torch.allclose(model.log_prob(ring), flow_log_prob, atol=1e-5)
    assert model.nll(ring) == pytest.approx(-flow_log_prob.mean().item() / 2, abs=1e-5)
    lat = LatMM(n_components=1, flow=TOY_SPEC, seed=1)
    lat.fit(ring, epochs=1, batch_size=256, progress=False)  # an untrained model refuses log_prob
    with torch.no_grad():
        z, log_det = lat.flow.transform(ring)
        sigma = torch.exp(-lat.log_precisions[0])
        gaussian = torch.distributions.Normal(lat.means[0], sigma).log_prob(z).sum(1)
    assert torch.allclose(lat.log_prob(ring), gaussian + log_det, atol=1e-4)


def test_old_model_stays_frozen_between_refreshes(ring):
    snapshots = []

    def record(epoch, model, old):
        snapshots.append((parameter_vector(model).clone(), parameter_vector(old).clone()))
        assert not any(p.requires_grad for p in old.parameters())

    model = GenMM(n_components=2, flow=TOY_SPEC, seed=0)
    history = model.fit(ring[:256], epochs=4, batch_size=64, t_em=2, progress=False, callback=record)
    (new0, old0), (new1, old1), (new2, old2), (new3, old3) = snapshots
    assert history["refreshed"].tolist() == [False, True, False, True]
    assert not torch.equal(new0, old0)  # NEW trained during epoch 0, OLD did not
    assert torch.equal(old1, new1)  # refresh: OLD ← NEW (flows and π)
    assert torch.equal(old2, old1) and not torch.equal(new2, new1)  # frozen while NEW moves
    assert torch.equal(old3, new3) and not torch.equal(old3, old2)


def test_density_integrates_to_one(genmm_runs):
    model = genmm_runs[4][0]
    xs = torch.linspace(-7.0, 7.0, 281)
    grid = torch.cartesian_prod(xs, xs)
    cell = (xs[1] - xs[0]).item() ** 2
    integral = model.log_prob(grid).double().exp().sum().item() * cell
    assert integral == pytest.approx(1.0, abs=0.02)


def test_tempered_e_step_option(ring):
    model = GenMM(n_components=2, flow=TOY_SPEC, seed=0)
    history = model.fit(ring[:256], epochs=2, batch_size=128, t_em=1, temper_by_dim=True, progress=False)
    assert history.notes["e_step"] == "tempered by 1/D"
    assert np.allclose(history["pi"].sum(1), 1.0, atol=1e-5)


def test_valid_and_discrete_levels_columns(ring, ring_test):
    model = GenMM(n_components=1, flow=TOY_SPEC, seed=0)
    history = model.fit(ring[:256], epochs=1, batch_size=128, valid=ring_test[:256], discrete_levels=256,
                        progress=False)
    assert history["valid_nll"][0] == pytest.approx(model.nll(ring_test[:256], discrete_levels=256))
    assert history["nll"][0] == pytest.approx(model.nll(ring[:256]) + math.log(256), abs=1e-5)


def test_nll_units_and_discrete_levels(genmm_runs, ring_test):
    model = genmm_runs[1][0]
    nats = model.nll(ring_test)
    assert model.nll(ring_test, unit="bits") == pytest.approx(nats / math.log(2))
    assert model.nll(ring_test, discrete_levels=256) == pytest.approx(nats + math.log(256))


# ---------------------------------------------------------------- sampling and interpolation
def test_zero_temperature_samples_are_the_images_of_the_latent_origin(genmm_runs, latmm):
    model = genmm_runs[4][0]
    x, component = model.sample(200, temperature=0.0, seed=0, return_components=True)
    with torch.no_grad():
        for k in range(4):
            centre = model.flows[k].inverse(torch.zeros(1, 2))
            assert torch.allclose(x[component == k], centre.expand(int((component == k).sum()), 2), atol=1e-5)
    lat = latmm[0]
    x, component = lat.sample(50, temperature=0.0, seed=0, return_components=True)
    with torch.no_grad():
        assert torch.allclose(x, lat.flow.inverse(lat.means[component]), atol=1e-5)


def test_samples_follow_pi_and_are_seeded(genmm_runs):
    model = genmm_runs[4][0]
    x, component = model.sample(4000, seed=1, return_components=True)
    assert x.shape == (4000, 2) and torch.isfinite(x).all()
    frequencies = torch.bincount(component, minlength=4).double() / 4000
    assert np.allclose(frequencies.numpy(), model.weights_, atol=0.03)
    assert torch.equal(model.sample(10, seed=5), model.sample(10, seed=5))


def test_interpolation_endpoints_reconstruct_the_inputs(genmm_runs, latmm, ring_test):
    for model in (genmm_runs[4][0], latmm[0]):
        frames = model.interpolate(ring_test[0], ring_test[1], steps=5)
        assert frames.shape == (5, 2)
        assert torch.allclose(frames[0], ring_test[0], atol=1e-4)
        assert torch.allclose(frames[-1], ring_test[1], atol=1e-4)
        batch = model.interpolate(ring_test[:3], ring_test[3:6], steps=4)
        assert batch.shape == (3, 4, 2)
        assert torch.allclose(batch[:, 0], ring_test[:3], atol=1e-4)
        assert torch.allclose(batch[:, -1], ring_test[3:6], atol=1e-4)


# ---------------------------------------------------------------- saving
def test_save_load_round_trip(genmm_runs, latmm, ring_test, tmp_path):
    for model, cls in ((genmm_runs[4][0], GenMM), (latmm[0], LatMM)):
        path = model.save(tmp_path / f"{cls.__name__}.pt")
        loaded = cls.load(path)
        assert loaded.config == model.config
        assert torch.allclose(loaded.log_prob(ring_test[:100]), model.log_prob(ring_test[:100]))
        assert np.array_equal(loaded.weights_, model.weights_)
        assert torch.equal(loaded.sample(5, seed=0), model.sample(5, seed=0))
    with pytest.raises(ValueError):
        LatMM.load(tmp_path / "GenMM.pt")


def test_factories_save_only_when_they_build_deepmix_flows(tmp_path):
    model = GenMM(n_components=2, flow=functools.partial(make_vector_flow, 2, n_layers=2, hidden=4))
    assert model.config["flow"] == {"kind": "vector", "dim": 2, "n_layers": 2, "hidden": 4}
    GenMM.load(model.save(tmp_path / "factory.pt"))

    class Foreign(torch.nn.Module):
        event_shape, dim = (2,), 2

        def __init__(self):
            super().__init__()
            self.shift = torch.nn.Parameter(torch.randn(2))

        def transform(self, x):
            return x + self.shift, x.new_zeros(x.shape[0])

        def inverse(self, z):
            return z - self.shift

        def initialize(self, x):
            pass

    foreign = GenMM(n_components=2, flow=Foreign)
    foreign.fit(torch.randn(64, 2), epochs=1, batch_size=32, progress=False)
    assert foreign.log_prob(torch.zeros(3, 2)).shape == (3,)
    with pytest.raises(ValueError, match="flow spec"):
        foreign.save(tmp_path / "foreign.pt")


def test_mixtures_run_on_the_image_flow(tmp_path):
    images = dequantize(load_digits().images[:128], levels=17, seed=0)[:, None]  # (128, 1, 8, 8)
    spec = {"kind": "image", "shape": (1, 8, 8), "levels": 1, "steps": 1, "hidden": 4}
    for cls in (GenMM, LatMM):
        model = cls(n_components=2, flow=spec, seed=0)
        history = model.fit(images, epochs=2, batch_size=64, t_em=1, progress=False, discrete_levels=17)
        assert np.isfinite(history["nll"]).all() and model.event_shape == (1, 8, 8)
        assert model.sample(3, temperature=0.8, seed=0).shape == (3, 1, 8, 8)
        frames = model.interpolate(images[0], images[1], steps=3)
        assert frames.shape == (3, 1, 8, 8) and torch.allclose(frames[-1], images[1], atol=1e-4)
        loaded = cls.load(model.save(tmp_path / f"{cls.__name__}.pt"))
        assert torch.allclose(loaded.log_prob(images[:8]), model.log_prob(images[:8]))


# ---------------------------------------------------------------- dequantisation and classification
def test_dequantize_maps_levels_into_their_bins():
    levels = torch.arange(256).repeat(4)
    x = dequantize(levels.numpy().astype(np.uint8), seed=0)
    assert x.dtype == torch.float32 and x.min() >= -0.5 and x.max() < 0.5
    assert torch.equal(torch.floor((x.double() + 0.5) * 256).long(), levels)
    assert torch.equal(dequantize(levels, seed=1), dequantize(levels, seed=1))
    with pytest.raises(ValueError):
        dequantize(np.array([0.5]))
    with pytest.raises(ValueError):
        dequantize(np.array([17]), levels=17)


def test_max_likelihood_classifier_on_digits():
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.4, random_state=0, stratify=y)
    x_train, x_test = dequantize(x_train, levels=17, seed=0), dequantize(x_test, levels=17, seed=1)
    spec = {"kind": "vector", "dim": 64, "n_layers": 4, "hidden": 32}
    classifier = MaxLikelihoodClassifier(lambda: GenMM(n_components=2, flow=spec, seed=0))
    classifier.fit(x_train, y_train, epochs=10, batch_size=64, progress=False)
    # measured: 0.897 test accuracy (1078 train / 719 test rows, 10 epochs, about 1.5 s)
    assert classifier.score(x_test, y_test) > 0.85
    assert classifier.classes_.tolist() == list(range(10))
    log_proba = classifier.predict_log_proba(x_test[:20])
    assert log_proba.shape == (20, 10) and np.allclose(np.exp(log_proba).sum(1), 1.0)
    assert classifier.log_likelihoods(x_test[:20]).shape == (20, 10)
    classifier.class_prior = True  # Bayes' rule with the training class frequencies
    scores = classifier.log_likelihoods(x_test[:20]) + classifier.class_log_prior_
    assert np.array_equal(classifier.predict(x_test[:20]), classifier.classes_[scores.argmax(1)])


# ---------------------------------------------------------------- validation
def test_bad_inputs_raise_value_error(genmm_runs, ring):
    model = genmm_runs[1][0]
    bad_calls = [
        lambda: GenMM(n_components=0, flow=TOY_SPEC),
        lambda: GenMM(n_components=2, flow="vector"),
        lambda: GenMM(n_components=2, flow={"kind": "spline", "dim": 2}),
        lambda: GenMM(n_components=2, flow={**TOY_SPEC, "seed": 0}),
        lambda: GenMM(n_components=2, flow={**TOY_SPEC, "width": 3}),
        lambda: GenMM(n_components=2, flow=functools.partial(make_vector_flow, 2, seed=0)),  # identical components
        lambda: LatMM(n_components=2, flow=TOY_SPEC, gamma_prior=(0.0, 1.0)),
        lambda: model.fit(ring[:, :1], progress=False),
        lambda: model.fit(torch.full((10, 2), float("nan")), progress=False),
        lambda: model.fit(ring, epochs=0, progress=False),
        lambda: model.fit(ring, batch_size=0, progress=False),
        lambda: model.fit(ring, lr=0.0, progress=False),
        lambda: model.log_prob(torch.zeros(3, 3)),
        lambda: model.nll(ring, unit="furlongs"),
        lambda: model.nll(ring, discrete_levels=1),
        lambda: model.sample(0),
        lambda: model.sample(5, temperature=-1.0),
        lambda: model.interpolate(ring[0], ring[1], steps=1),
        lambda: model.interpolate(ring[0], ring[:2]),
        lambda: MaxLikelihoodClassifier(model_factory=3),
        lambda: MaxLikelihoodClassifier(lambda: None).fit(np.zeros((4, 2)), np.zeros(3)),
        lambda: MaxLikelihoodClassifier(lambda: None).fit(np.zeros((4, 2)), np.zeros(4)),
    ]
    for call in bad_calls:
        with pytest.raises(ValueError):
            call()
