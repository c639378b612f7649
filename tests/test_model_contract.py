"""One contract, five families: GMM, DRMM, DCGMM, GenMM and LatMM answer the same verbs the same way.

Every test runs over every family (tiny models, a few training steps): constructor and signatures, the
training budget (epochs or steps), fresh starts and warm starts, every sampling condition honoured or
refused with ``NotImplementedError``, ``log_prob`` and its kind, learned state, save/load, and the
maximum-likelihood classifier fed the same fit arguments whatever the family.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from sklearn.datasets import make_moons

from deepmix_core import DCGMM, DRMM, GMM, Box, GaussianPrior, GenMM, Inequality, LatMM, MaxLikelihoodClassifier
from deepmix_core.base import CONDITION_NAMES, LOG_PROB_KINDS, MixtureModel
from deepmix_core.data import load_digits_images, swiss_roll

VECTOR_FLOW = {"kind": "vector", "dim": 2, "n_layers": 2, "hidden": 16}
NAN = math.nan


@dataclass
class Family:
    """How to build, feed and condition one family in these tests."""

    name: str
    build: Callable[[], MixtureModel]
    kind: str  # expected log_prob_kind
    steps: int  # a short training budget, in steps
    batch_size: int
    conditions: dict  # condition name -> a value that makes sense for this family's data
    images: bool = False
    extra_fit: dict = field(default_factory=dict)


def _two_d_conditions() -> dict:
    return {
        "known": torch.tensor([0.3, NAN]),
        "weight": torch.tensor([1.0, 0.0]),
        "priors": [GaussianPrior([0.0, 0.0], [0.3, 0.3])],
        "constraints": [Inequality([1.0, 0.0], 0.0), Box([-1.0, -1.0], [1.0, 1.0])],
        "classes": 1,
    }


def _image_conditions() -> dict:
    image = torch.rand(1, 8, 8)
    image[:, :, 4:] = NAN  # right half unknown: inpainting
    return {
        "known": image,
        "weight": torch.ones(1, 8, 8),
        "priors": [GaussianPrior(torch.zeros(64), torch.ones(64))],
        "constraints": [Inequality(torch.ones(64), -10.0)],
        "classes": 3,
    }


FAMILIES = [
    Family("GMM", lambda: GMM(n_components=6), "exact", steps=15, batch_size=128, conditions=_two_d_conditions()),
    Family("DRMM", lambda: DRMM(n_layers=2, n_components=4), "estimate", steps=40, batch_size=32,
           conditions=_two_d_conditions()),
    Family("DCGMM", lambda: DCGMM.from_spec("F(2,2)-G(4)-F(4,1)-G(9)", input_shape=(1, 8, 8), window=10),
           "score", steps=12, batch_size=50, conditions=_image_conditions(), images=True),
    Family("GenMM", lambda: GenMM(n_components=2, flow=VECTOR_FLOW, seed=0), "exact", steps=12, batch_size=64,
           conditions=_two_d_conditions()),
    Family("LatMM", lambda: LatMM(n_components=2, flow=VECTOR_FLOW, seed=0, mean_init_std=1.0), "exact", steps=12,
           batch_size=64, conditions=_two_d_conditions()),
]
IDS = [family.name for family in FAMILIES]


@pytest.fixture(scope="module")
def points() -> torch.Tensor:
    return swiss_roll(n=600, seed=0)


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = load_digits_images()
    return images[:400], labels[:400]


def data_for(family: Family, points, digits) -> torch.Tensor:
    return digits[0] if family.images else points


def fit_short(family: Family, model: MixtureModel, data, **overrides):
    options = dict(steps=family.steps, batch_size=family.batch_size, seed=0, progress=False, **family.extra_fit)
    options.update(overrides)
    return model.fit(data, **options)


@pytest.fixture(scope="module")
def trained(points, digits) -> dict[str, MixtureModel]:
    """One trained model per family (the DCGMM also gets its classifier, so classes= can be honoured)."""
    models = {}
    for family in FAMILIES:
        model = family.build()
        fit_short(family, model, data_for(family, points, digits))
        if family.name == "DCGMM":
            model.fit_classifier(*digits, epochs=2, progress=False)
        models[family.name] = model
    return models


def tensors_of(model: MixtureModel) -> list[torch.Tensor]:
    return [value for value in model.state_dict().values() if torch.is_tensor(value)]


def same_state(a: MixtureModel, b: MixtureModel) -> bool:
    return all(torch.equal(x, y) for x, y in zip(tensors_of(a), tensors_of(b), strict=True))


# ---------------------------------------------------------------- construction and signatures
@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_every_family_derives_from_the_base_and_declares_its_kinds(family):
    model = family.build()
    assert isinstance(model, MixtureModel)
    assert model.family == family.name
    assert model.log_prob_kind == family.kind and model.log_prob_kind in LOG_PROB_KINDS
    assert set(model.supported_conditions) <= set(CONDITION_NAMES)
    if family.name != "DCGMM":  # a DCGMM names its components in its spec string
        assert "n_components" in inspect.signature(type(model)).parameters
        assert model.n_components >= 1


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_fit_and_sample_take_the_shared_keywords(family):
    model = family.build()
    fit = inspect.signature(model.fit).parameters
    for name, default in (("epochs", None), ("steps", None), ("progress", True), ("warm_start", False)):
        assert fit[name].kind is inspect.Parameter.KEYWORD_ONLY and fit[name].default == default, name
    assert fit["batch_size"].kind is inspect.Parameter.KEYWORD_ONLY
    assert fit["seed"].kind is inspect.Parameter.KEYWORD_ONLY
    sample = inspect.signature(model.sample).parameters
    for name in (*CONDITION_NAMES, "seed"):
        assert sample[name].kind is inspect.Parameter.KEYWORD_ONLY and sample[name].default is None, name


# ---------------------------------------------------------------- training budget and starts
@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_fit_counts_steps_or_epochs_and_refuses_both(family, points, digits):
    data = data_for(family, points, digits)
    model = family.build()
    assert not model.is_fitted
    history = fit_short(family, model, data)
    assert model.is_fitted and len(history) > 0
    taken = history.notes["steps"]
    assert taken == family.steps or (family.name == "GMM" and model.converged_ and taken < family.steps), taken
    assert isinstance(history.notes["step_unit"], str)
    one_epoch = fit_short(family, model, data, steps=None, epochs=1)
    assert one_epoch.notes["epochs"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not both"):
        fit_short(family, model, data, epochs=1)
    with pytest.raises(ValueError, match="positive whole number"):
        fit_short(family, model, data, steps=0)


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_fit_without_warm_start_forgets_everything_before_it(family, points, digits):
    data = data_for(family, points, digits)
    first, second = family.build(), family.build()
    fit_short(family, first, data, seed=1)  # two different histories ...
    fit_short(family, second, data, seed=2)
    fit_short(family, second, data, seed=3, warm_start=True)
    fit_short(family, first, data)  # ... then the same plain fit must give the same model
    fit_short(family, second, data)
    assert same_state(first, second)
    assert torch.equal(first.sample(16, seed=3), second.sample(16, seed=3))


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_warm_start_continues_from_the_current_parameters(family, points, digits):
    data = data_for(family, points, digits)
    continued, fresh = family.build(), family.build()
    fit_short(family, continued, data)
    fit_short(family, continued, data, warm_start=True)
    fit_short(family, fresh, data)
    assert not same_state(continued, fresh), "warm_start=True gave the same parameters as a fresh start"


# ---------------------------------------------------------------- sampling and conditions
@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_sample_is_seeded_and_shaped_like_the_data(family, trained, points, digits):
    model = trained[family.name]
    row_shape = tuple(data_for(family, points, digits).shape[1:])
    samples = model.sample(7, seed=5)
    assert tuple(samples.shape) == (7, *row_shape) and torch.isfinite(samples).all()
    assert torch.equal(samples, model.sample(7, seed=5))
    with pytest.raises(ValueError, match="positive whole number"):
        model.sample(0)


@pytest.mark.parametrize("condition", CONDITION_NAMES)
@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_every_condition_is_honoured_or_refused_by_name(family, condition, trained, points, digits):
    model = trained[family.name]
    asked = {condition: family.conditions[condition]}
    if condition == "weight" and "known" in model.supported_conditions:
        asked["known"] = family.conditions["known"]  # a weight qualifies known values
    row_shape = tuple(data_for(family, points, digits).shape[1:])
    if condition in model.supported_conditions:
        samples = model.sample(5, seed=0, **asked)
        assert tuple(samples.shape) == (5, *row_shape) and torch.isfinite(samples).all()
    else:
        with pytest.raises(NotImplementedError) as refusal:
            model.sample(5, seed=0, **asked)
        message = str(refusal.value)
        assert family.name in message and f"{condition}=" in message, message


def test_the_supported_conditions_are_what_the_papers_give_each_family():
    by_name = {family.name: family.build().supported_conditions for family in FAMILIES}
    assert by_name["GMM"] == by_name["DRMM"] == {"known", "weight", "priors", "constraints"}
    assert by_name["DCGMM"] == {"known", "classes"}
    assert by_name["GenMM"] == by_name["LatMM"] == set()


# ---------------------------------------------------------------- densities, learned state, files
@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_log_prob_gives_one_finite_number_per_row(family, trained, points, digits):
    rows = data_for(family, points, digits)[:30]
    values = trained[family.name].log_prob(rows)
    assert values.shape == (30,) and torch.isfinite(values).all()


@pytest.mark.parametrize("family", [f for f in FAMILIES if f.kind == "exact"], ids=lambda f: f.name)
def test_exact_densities_integrate_to_one(family, trained):
    side = torch.linspace(-6.0, 6.0, 241)
    grid = torch.cartesian_prod(side, side)
    cell = (side[1] - side[0]) ** 2
    with torch.no_grad():
        mass = (trained[family.name].log_prob(grid).exp().sum() * cell).item()
    assert mass == pytest.approx(1.0, abs=0.03)


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_learned_weights_read_as_numpy_and_sum_to_one(family, trained):
    weights = trained[family.name].weights_
    for table in weights if isinstance(weights, list) else [weights]:
        assert isinstance(table, np.ndarray)
        assert np.allclose(table.sum(-1), 1.0, atol=1e-5)
    if family.name != "GenMM":  # every other family has means to read
        assert hasattr(trained[family.name], "means_")


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_parameter_count_is_positive_and_all_of_it_is_saved(family, trained):
    model = trained[family.name]
    count = model.n_parameters()
    stored = sum(value.numel() for value in model.state_dict().values()
                 if torch.is_tensor(value) and value.is_floating_point())
    assert isinstance(count, int) and 0 < count <= stored, (count, stored)


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_save_and_load_give_the_same_model(family, trained, points, digits, tmp_path):
    model = trained[family.name]
    path = model.save(tmp_path / f"{family.name}.pt")
    loaded = type(model).load(path)
    assert loaded.is_fitted and same_state(model, loaded)
    assert torch.equal(model.sample(9, seed=2), loaded.sample(9, seed=2))
    if model.log_prob_kind != "estimate":  # a DRMM's estimate draws latent paths at random
        rows = data_for(family, points, digits)[:20]
        assert torch.allclose(model.log_prob(rows), loaded.log_prob(rows))


def test_a_failed_save_leaves_the_earlier_file_intact(trained, tmp_path, monkeypatch):
    model = trained["GMM"]
    path = model.save(tmp_path / "gmm.pt")
    before = path.read_bytes()

    def broken_save(payload, file):
        file.write(b"half a checkpoint")
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="No space"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["gmm.pt"]  # no temporary file left behind


# ---------------------------------------------------------------- one classifier over every family
def test_max_likelihood_classifier_takes_the_same_fit_arguments_for_every_family():
    x, y = make_moons(600, noise=0.1, random_state=0)
    x = torch.tensor(x, dtype=torch.float32)
    train, test = slice(0, 400), slice(400, 600)
    same_arguments = dict(epochs=30, batch_size=32, seed=0, progress=False)
    factories = {
        "GMM": lambda: GMM(n_components=6),
        "DRMM": lambda: DRMM(n_layers=2, n_components=6),
        "GenMM": lambda: GenMM(n_components=2, flow=VECTOR_FLOW, seed=0),
    }
    accuracy = {}
    for name, factory in factories.items():
        classifier = MaxLikelihoodClassifier(factory).fit(x[train], y[train], **same_arguments)
        for history in classifier.histories_:  # EM may stop early once converged; the others run every epoch
            assert history.notes["epochs"] == pytest.approx(30) or (name == "GMM" and history.notes["epochs"] < 30)
        accuracy[name] = classifier.score(x[test], y[test])
    assert min(accuracy.values()) > 0.9, accuracy
