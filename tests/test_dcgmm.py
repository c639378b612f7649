"""DCGMM: layers, the annealed max-component objective and its gradients, annealing, sampling, sharpening,
inpainting, outliers, classification and persistence — each checked with numbers on 8×8 digits."""

import math

import pytest
import torch
from sklearn.linear_model import LogisticRegression

from deepmix_core import DCGMM
from deepmix_core.data import load_digits_images
from deepmix_core.dcgmm import (
    Fold,
    GMMLayer,
    MaxPool,
    Sharpening,
    SingleExpAnnealer,
    clustering_scores,
    dunn_index,
    initial_sigma,
    outlier_roc,
    torus_squared_distances,
)

SPEC = "F(3,1)-G(16)-F(6,1)-G(25)"  # a two-layer DCGMM for 8×8 images
SETTINGS = dict(window=20, gamma=0.8)  # anneal within a few hundred steps (the reference: 100 and 0.9)


@pytest.fixture(scope="module")
def digits():
    images, labels = load_digits_images()
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    images, labels = images[order], labels[order]
    return images[:1200], labels[:1200], images[1200:], labels[1200:]


@pytest.fixture(scope="module")
def model(digits):
    train, train_labels, _, _ = digits
    model = DCGMM.from_spec(SPEC, input_shape=(1, 8, 8), **SETTINGS)
    model.history = model.fit(train, epochs=30, batch_size=50, seed=0, progress=False)
    model.fit_classifier(train, train_labels, epochs=40, inputs=2, seed=0, progress=False)
    return model


@pytest.fixture(scope="module")
def real_digit_classifier(digits):
    train, train_labels, _, _ = digits
    return LogisticRegression(max_iter=2000).fit(train.flatten(1).numpy(), train_labels.numpy())


# ---------------------------------------------------------------- folding and pooling
def test_fold_backward_of_forward_is_the_image_and_channels_are_patch_major():
    torch.manual_seed(0)
    image = torch.rand(2, 9, 9, 3)
    fold = Fold(3, 2)
    assert fold.build((9, 9, 3)) == (4, 4, 27)
    patches = fold(image)
    # output position (1, 2), patch cell (py, px) = (2, 1), channel c = 1 reads pixel (1·2 + 2, 2·2 + 1, 1)
    assert patches[0, 1, 2, (2 * 3 + 1) * 3 + 1] == image[0, 4, 5, 1]
    assert torch.allclose(fold.backward(patches), image, atol=1e-6)


def test_fold_backward_averages_overlapping_patches():
    fold = Fold(2, 1)
    fold.build((3, 3, 1))
    ones = torch.ones(1, 2, 2, 4)
    ones[0, 0, 0] = 5.0  # the top-left patch says 5; the centre pixel is covered by four patches
    back = fold.backward(ones)
    assert back[0, 0, 0, 0] == 5.0 and back[0, 1, 1, 0] == pytest.approx((5 + 1 + 1 + 1) / 4)


def test_fold_that_leaves_pixels_uncovered_is_refused():
    with pytest.raises(ValueError, match="uncovered"):
        DCGMM.from_spec("F(3,2)-G(16)", input_shape=(1, 8, 8))


def test_maxpool_forward_and_upsampling_backward():
    pool = MaxPool(2)
    assert pool.build((5, 5, 1)) == (3, 3, 1)
    x = torch.arange(25.0).reshape(1, 5, 5, 1)
    pooled = pool(x)
    assert pooled[0, 0, 0, 0] == 6 and pooled[0, 2, 2, 0] == 24
    back = pool.backward(pooled)
    assert back.shape == x.shape and back[0, 1, 1, 0] == 6 and back[0, 4, 3, 0] == pooled[0, 2, 1, 0]


# ---------------------------------------------------------------- the GMM layer
def _layer(shared=True, k=9, shape=(3, 3, 4), seed=0):
    torch.manual_seed(seed)
    layer = GMMLayer(k, shared=shared)
    layer.build(shape)
    layer.mu.data.uniform_(-0.5, 0.5)
    layer.precision.data.uniform_(0.5, 3.0)
    layer.logits.data.normal_()
    return layer


@pytest.mark.parametrize("shared", [True, False])
def test_log_scores_match_the_gaussian_densities(shared):
    layer = _layer(shared)
    x = torch.rand(5, 3, 3, 4)
    scores = layer.log_scores(x)
    sets = layer.mu.shape[0]
    for h, w in [(0, 0), (2, 1)]:
        p = 0 if sets == 1 else h * 3 + w
        std = 1 / layer.precision[p]
        normal = torch.distributions.Normal(layer.mu[p], std)
        direct = normal.log_prob(x[:, h, w, None, :]).sum(-1) + torch.log_softmax(layer.logits[p], -1)
        assert torch.allclose(scores[:, h, w] - 0.5 * 4 * math.log(2 * math.pi), direct, atol=1e-4)


def test_objective_at_the_sigma_floor_is_the_max_component_log_likelihood():
    layer = _layer()
    layer.annealer.sigma = 0.01
    x = torch.rand(5, 3, 3, 4)
    normal = torch.distributions.Normal(layer.mu[0], 1 / layer.precision[0])
    log_joint = normal.log_prob(x[..., None, :]).sum(-1) + torch.log_softmax(layer.logits[0], -1)
    assert torch.allclose(layer.objective(layer.log_scores(x)), log_joint.max(-1).values, atol=1e-4)


@pytest.mark.parametrize("shared", [True, False])
def test_analytic_gradients_equal_autograd(shared):
    layer = _layer(shared)
    layer.annealer.sigma = 0.8  # a smoothing that mixes neighbours
    x = torch.rand(6, 3, 3, 4)
    objective, _, grads = layer.gradients(x)
    params = {"mu": layer.mu, "precision": layer.precision, "logits": layer.logits}
    for p in params.values():
        p.requires_grad_(True)
    mean_l = layer.objective(layer.log_scores(x))
    # the reference's loss_mult: the mean over samples *per parameter set* (× H·W in per-position mode)
    mean_l = mean_l.mean() * (1 if shared else 9)
    autograd = torch.autograd.grad(mean_l, list(params.values()))
    for (name, analytic), numeric in zip(grads.items(), autograd):
        assert torch.allclose(analytic, numeric, atol=1e-4, rtol=1e-4), name
    assert objective.item() == pytest.approx(layer.objective(layer.log_scores(x)).mean().item(), abs=1e-4)


def test_smoothing_rows_sum_to_one_and_the_torus_wraps():
    d2 = torus_squared_distances(25)
    assert d2[0, 4] == 1 and d2[0, 24] == 2 and d2[0, 12] == 8  # neighbours across both edges; (2, 2) away
    layer = GMMLayer(25)
    layer.build((1, 1, 3))
    assert torch.allclose(layer.smoothing().sum(1), torch.ones(25))
    layer.annealer.sigma = 0.01
    assert torch.allclose(layer.smoothing(), torch.eye(25), atol=1e-6)


def test_non_square_component_count_is_refused():
    with pytest.raises(ValueError, match="square number"):
        GMMLayer(20)


def test_annealer_needs_fifty_reductions_for_k25_and_starts_after_the_third_window():
    annealer = SingleExpAnnealer(sigma=initial_sigma(25), window=100)
    reduced_at = [step for step in range(1, 6000) if annealer.observe(-1.0 if step <= 100 else -0.7)]
    # window 1 sets l0, window 2 the last mean; then a flat objective (q = 0) shrinks σ after every window
    assert reduced_at[:2] == [300, 400] and len(reduced_at) == 50 and reduced_at[-1] == 300 + 49 * 100
    assert annealer.annealed and annealer.lr == pytest.approx(0.01)


def test_annealer_waits_while_the_objective_still_improves_fast():
    annealer = SingleExpAnnealer(sigma=1.0, window=10)
    for step in range(200):  # linear progress: window t gains 1/(t − 2) of the total so far, ≥ δ up to t = 22
        annealer.observe(0.01 * step)
    assert annealer.reductions == 0
    for step in range(200, 260):  # … and from then on it counts as stationary
        annealer.observe(0.01 * step)
    assert annealer.reductions > 0


def test_sampling_returns_the_mean_where_the_precision_is_at_its_ceiling_and_top1_picks_the_argmax():
    layer = _layer(k=4, shape=(2, 2, 3))
    layer.precision.data[0, 2, 1] = layer.precision_max
    control = torch.zeros(50, 2, 2, 4)
    control[..., 2] = 1.0
    control[..., 0] = 0.9
    draws = layer.sample(control, 50, top_s=1, noise_scale=1.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(draws[..., 1], layer.mu[0, 2, 1].expand(50, 2, 2))  # exact mean on the capped dimension
    assert (draws[..., 0] - layer.mu[0, 2, 0]).abs().max() > 0.01  # a real draw elsewhere
    spread = draws[..., 0].std() * layer.precision[0, 2, 0]
    assert 0.7 < spread < 1.3  # noise_scale = 1 is a true draw from N(μ, 1/s²)


# ---------------------------------------------------------------- the model on 8×8 digits
def test_spec_round_trip_and_errors():
    model = DCGMM.from_spec("F(3,1)-G(16,ind)-F(6,1)-G(25)-C(10)", input_shape=(1, 8, 8))
    assert model.spec == "F(3,1)-G(16,ind)-F(6,1)-G(25)-C(10)"
    assert model.shapes == [(8, 8, 1), (6, 6, 9), (6, 6, 16), (1, 1, 576), (1, 1, 25)]
    assert [layer.wait for layer in model.gmm_layers] == [0.0, 0.1]
    with pytest.raises(ValueError, match="cannot read layer"):
        DCGMM.from_spec("F(3,1)-X(16)", input_shape=(1, 8, 8))
    with pytest.raises(ValueError, match="must be a GMM layer"):
        DCGMM.from_spec("F(3,1)-G(16)-F(6,1)", input_shape=(1, 8, 8))


def test_fit_rejects_bad_images(model):
    with pytest.raises(ValueError, match="uint8"):
        model.fit(torch.zeros(100, 1, 8, 8, dtype=torch.uint8), epochs=1)
    with pytest.raises(ValueError, match=r"shape \(N, 1, 8, 8\)"):
        model.fit(torch.zeros(100, 1, 7, 8), epochs=1)
    with pytest.raises(ValueError, match="nan"):
        model.layer_log_likelihoods(torch.full((3, 1, 8, 8), float("nan")))


def test_training_raises_the_objectives_and_anneals(model, digits, tmp_path):
    _, _, test, _ = digits
    objectives = model.history["layer_objectives"]
    assert objectives[-50:, 0].mean() > objectives[:50, 0].mean() + 5  # the patch layer: −18 → −2 nats
    # the top layer's input (posteriors below) changes during training, so compare with an untrained top
    untrained = DCGMM.load(model.save(tmp_path / "untrained.pt"))
    untrained.gmm_layers[1].reset_parameters(torch.Generator().manual_seed(0))
    trained_score, untrained_score = model.log_prob(test).mean(), untrained.log_prob(test).mean()
    assert trained_score > untrained_score + 100
    assert model.history["sigma"][-1, 0] == pytest.approx(0.01)  # the bottom layer reached the σ floor
    top_waited = model.history["layer_objectives"].shape[0] * 0.1
    assert model.history["sigma"][int(top_waited) - 1, 1] == pytest.approx(initial_sigma(25))  # delay honoured


def test_classifier_accuracy_and_class_conditional_samples(model, digits, real_digit_classifier):
    _, _, test, test_labels = digits
    accuracy = (model.predict(test) == test_labels).float().mean().item()
    assert accuracy > 0.93, f"held-out accuracy {accuracy:.3f}"
    classes = torch.arange(10).repeat(20)
    samples = model.sample(200, classes=classes, top_s=1, seed=0)
    recognised = real_digit_classifier.score(samples.flatten(1).numpy(), classes.numpy())
    assert recognised > 0.75, f"{recognised:.2f} of the samples look like the digit asked for"


def test_unconditional_samples_lie_near_the_data(model, digits):
    _, _, test, _ = digits
    samples = model.sample(200, top_s=3, seed=0)
    assert samples.shape == (200, 1, 8, 8) and samples.min() >= 0 and samples.max() <= 1
    sample_to_data = torch.cdist(samples.flatten(1), test.flatten(1)).min(1).values.mean()
    noise = torch.rand(200, 64) * test.mean() * 2
    noise_to_data = torch.cdist(noise, test.flatten(1)).min(1).values.mean()
    assert sample_to_data < 0.6 * noise_to_data


def test_sharpening_raises_the_bottom_layer_likelihood_of_samples(model):
    plain = model.sample(64, top_s=3, seed=1)
    sharp = model.sample(64, top_s=3, seed=1, sharpen=Sharpening(rate=0.5, iterations=50))
    before = model.layer_log_likelihoods(plain)[:, 0].mean()
    after = model.layer_log_likelihoods(sharp)[:, 0].mean()
    assert after > before + 0.5
    with pytest.raises(TypeError):
        model.sample(4, sharpen="yes")


def test_inpainting_keeps_known_pixels_and_uses_them(model, digits):
    train, _, test, _ = digits
    mask = torch.zeros(8, 8, dtype=torch.bool)
    mask[:, 4:] = True  # the right half is erased
    filled = model.inpaint(test, mask, seed=0)
    assert torch.equal(filled[..., :4], test[..., :4])
    error = ((filled - test)[..., 4:] ** 2).mean()
    random_digit = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[: len(test)]]
    error_random = ((random_digit - test)[..., 4:] ** 2).mean()
    assert error < 0.7 * error_random, f"inpainting error {error:.4f} vs a random digit {error_random:.4f}"
    with pytest.raises(ValueError, match="broadcast"):
        model.inpaint(test[:2], torch.zeros(3, 3, dtype=torch.bool))


def test_variants_from_the_top_layer_resemble_their_source(model, digits):
    _, _, test, test_labels = digits
    variants = model.variants(test[:100], seed=0)
    own = ((variants - test[:100]) ** 2).flatten(1).mean(1)
    other = ((variants - test[100:200]) ** 2).flatten(1).mean(1)
    assert (own < other).float().mean() > 0.8
    from_patches = model.variants(test[:100], layer=0, seed=0)  # from the bottom layer: only patches resampled
    assert ((from_patches - test[:100]) ** 2).mean() < own.mean()


def test_outlier_detection_of_zeros_by_the_top_layer(digits):
    train, train_labels, test, test_labels = digits
    model = DCGMM.from_spec(SPEC, input_shape=(1, 8, 8), **SETTINGS)
    model.fit(train[train_labels != 0], epochs=30, batch_size=50, seed=0, progress=False)
    scores = model.outlier_scores(test)
    roc = outlier_roc(scores[test_labels != 0], scores[test_labels == 0])
    assert roc.auc > 0.85, f"top-layer AUC {roc.auc:.3f}"
    assert roc.inliers_rejected[0] == 0 and roc.outliers_rejected[-1] == 1


def test_clustering_scores_and_dunn_index(model, digits):
    _, _, test, _ = digits
    points = torch.tensor([[0.0, 0], [0, 1], [5, 0], [5, 1]])
    assert dunn_index(points, [0, 0, 1, 1]) == pytest.approx(5.0)  # gap 5 / diameter 1
    scores = clustering_scores(model, test)
    assert scores["clusters"] > 10 and scores["dunn"] > 0 and scores["davies_bouldin"] > 0
    with pytest.raises(ValueError, match="one position"):
        clustering_scores(model, test, layer=0)


def test_save_and_load_keep_scores_samples_and_annealing(model, digits, tmp_path):
    _, _, test, _ = digits
    path = model.save(tmp_path / "dcgmm.pt")
    loaded = DCGMM.load(path)
    assert loaded.spec == model.spec
    assert torch.allclose(loaded.layer_log_likelihoods(test[:20]), model.layer_log_likelihoods(test[:20]))
    assert torch.equal(loaded.predict(test[:20]), model.predict(test[:20]))
    assert torch.equal(loaded.sample(5, seed=3), model.sample(5, seed=3))
    assert [layer.sigma for layer in loaded.gmm_layers] == [layer.sigma for layer in model.gmm_layers]


def test_fit_is_reproducible_with_a_seed(digits):
    train = digits[0][:200]
    first, second = (DCGMM.from_spec(SPEC, input_shape=(1, 8, 8)) for _ in range(2))
    first.fit(train, epochs=2, batch_size=50, seed=5, progress=False)
    second.fit(train, epochs=2, batch_size=50, seed=5, progress=False)
    assert torch.equal(first.gmm_layers[1].mu, second.gmm_layers[1].mu)


def test_component_images_decode_each_centroid_over_its_receptive_field(model):
    assert model.receptive_field(0) == 3 and model.receptive_field(-1) == 8
    patches = model.component_images(0)
    assert patches.shape == (16, 1, 3, 3)
    bottom = model.gmm_layers[0]
    assert torch.allclose(patches.reshape(16, 9), bottom.mu[0].clamp(0, 1), atol=1e-6)  # (py, px) order
    digits = model.component_images(-1)
    assert digits.shape == (25, 1, 8, 8) and digits.std(0).mean() > 0.05  # 25 different pictures


def test_warm_start_continues_training_and_a_plain_fit_starts_over(model, digits, tmp_path):
    train, _, test, _ = digits
    copy = DCGMM.load(model.save(tmp_path / "copy.pt"))
    before = copy.log_prob(test).mean()
    history = copy.fit(train, epochs=1, batch_size=50, seed=1, progress=False, warm_start=True)
    assert history.notes["start_steps"] == [0, 0]  # no delays when continuing
    assert copy.log_prob(test).mean() > before - 5  # the trained parameters were kept
    copy.fit(train[:100], epochs=1, batch_size=50, seed=1, progress=False)
    assert copy.gmm_layers[1].annealer.reductions == 0 and copy.gmm_layers[0].mu.abs().max() <= 0.2


def test_pooling_shapes_follow_torch_for_every_stride():
    for kernel, stride, size in [(2, 2, 5), (1, 2, 4), (1, 3, 5), (3, 2, 7), (2, 3, 8)]:
        pool = MaxPool(kernel, stride)
        shape = pool.build((size, size, 1))
        assert pool(torch.rand(1, size, size, 1)).shape[1:] == shape
        assert pool.backward(torch.rand(1, *shape)).shape == (1, size, size, 1)


def test_a_float64_model_trains_and_samples_in_float64(digits):
    model = DCGMM.from_spec("F(3,1)-G(9)-F(6,1)-G(9)", input_shape=(1, 8, 8)).double()
    model.fit(digits[0][:100], epochs=1, batch_size=50, progress=False)
    assert model.log_prob(digits[2][:5]).dtype == torch.float64
    assert model.sample(3, sharpen=True, seed=0).dtype == torch.float64


def test_clear_errors_for_bad_layer_arguments():
    with pytest.raises(ValueError, match="whole number"):
        DCGMM.from_spec("F(3,ind)-G(9)", input_shape=(1, 8, 8))
    with pytest.raises(ValueError, match="three factors"):
        GMMLayer(4, lr_factors=(1.0, 0.1))
    assert [layer.wait for layer in DCGMM.from_spec("F(3,1)-G(9)-F(6,1)-G(9)", (1, 8, 8), wait=0.5).gmm_layers] \
        == [0.5, 0.5]


def test_sample_with_known_pixels_is_inpainting(model, digits):
    image = digits[2][0].clone()
    image[:, :, 4:] = float("nan")  # right half unknown
    samples = model.sample(6, known=image, seed=0)
    assert samples.shape == (6, 1, 8, 8)
    assert torch.equal(samples[:, :, :, :4], digits[2][0, :, :, :4].expand(6, 1, 8, 4))
    assert torch.isfinite(samples).all() and samples[:, :, :, 4:].std(0).mean() > 0  # the right half varies
    with pytest.raises(ValueError, match="known holds"):
        model.sample(3, known=torch.zeros(2, 1, 8, 8))
