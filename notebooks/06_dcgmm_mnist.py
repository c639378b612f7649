# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · Deep convolutional Gaussian mixtures on MNIST
#
# **What you will see.** A DCGMM (papers 002 and 003; we follow paper 003's MNIST experiments with its
# architecture E of Table VI, and paper 002 §4.3 for clustering; the papers and their short names are in
# [docs/papers.md](../docs/papers.md)) stacks *folding* layers (cut an image into patches,
# a "half-convolution"), optional *max-pooling* layers and *convolutional GMM* layers. Each GMM layer models
# the vectors at every position of its input map and passes its **posteriors** up; each is trained by SGD
# on **its own** likelihood, so no gradient crosses layers. Going down, every GMM layer samples from the
# control signal the layer above sent, which makes the model a generator. You will train a small DCGMM and
# watch each layer anneal, look at the "visual alphabet" every layer learned, draw samples with a top-S
# slider and a sharpening switch, inpaint an erased region, detect zeros as outliers of a model that only saw
# 1–9, and classify digits with a linear layer on top, which can also generate a digit on request.
#
# The heavy models are loaded from small checkpoints shipped with deepmix (`make pretrained` remakes them in
# about 10 minutes each); set `RETRAIN = True` to train them here instead.

# %%
# Parameters: budget(full=..., quick=...) picks the small values when DEEPMIX_QUICK=1 (CI)
# %matplotlib inline
import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from sklearn.mixture import GaussianMixture

from deepmix_core import DCGMM, budget
from deepmix_core.data import load_digits_images, load_mnist_split
from deepmix_core.dcgmm import Sharpening, clustering_scores, outlier_roc
from deepmix_core.pretrained import load_pretrained, pretrained_info
from deepmix_viz import (
    FigureControls,
    inpaint_panel,
    plot_component_mosaic,
    plot_confusion,
    plot_image_grid,
    plot_inpainting,
    plot_layer_objectives,
    plot_outlier_rocs,
    plot_sharpening,
    region_mask,
    sample_panel,
    setup_notebook,
)

SPEC_E = "F(3,1)-G(25)-F(4,2)-G(25)-F(12,1)-G(49)"   # architecture E of paper 003 (Table VI)
LIVE_EPOCHS = budget(full=20, quick=1)                # the live training demo of section 2
N_TEST = budget(full=5000, quick=1000)                # held-out images used for the numbers below
RETRAIN = False                                       # True: train the two big models here (~10 min each)
SEED = 0
setup_notebook(seed=SEED)

# %% [markdown]
# ## 1. Data
#
# The MNIST files kept next to the repository give 10,000 training images (the 5k training subset plus the
# first half of the test set) and 5,000 held-out ones (the second half of the test set) that no model here
# was trained on. A fresh clone without them falls back to scikit-learn's 8×8 digits, with every model
# trained live; to use full MNIST, download it once with `deepmix_core.data.load_torchvision("MNIST",
# download=True)`.

# %%
try:
    split = load_mnist_split()
    DATA = "MNIST"
except FileNotFoundError as missing:
    print(f"MNIST files not found ({missing}); using scikit-learn's 8×8 digits instead")
    images, labels = load_digits_images()
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(SEED))
    images, labels = images[order], labels[order]
    split = {"train_images": images[:1200], "train_labels": labels[:1200],
             "test_images": images[1200:], "test_labels": labels[1200:]}
    DATA = "digits"
train_images, train_labels = split["train_images"], split["train_labels"]
test_images, test_labels = split["test_images"][:N_TEST], split["test_labels"][:N_TEST]
SHAPE = tuple(train_images.shape[1:])
print(f"{DATA}: {len(train_images)} training and {len(test_images)} held-out images of shape {SHAPE}")

# %% [markdown]
# ## 2. The architecture, and training it live
#
# `DCGMM.from_spec` reads the papers' notation. Architecture E is F(3,1)-G(25)-F(4,2)-G(25)-F(12,1)-G(49):
# 3×3 patches at stride 1 give a 26×26 map of 9-vectors, modelled by 25 components; 4×4 blocks of those
# posteriors at stride 2 give a 12×12 map of 400-vectors, modelled by 25 more; the whole 12×12×25 map is then
# one 3,600-vector for the top 49 components. Every GMM layer maximises the annealed max-component objective
#
# $$\mathcal L(\mathbf x) = \max_k \sum_j g_{kj}(\sigma)\,\ell_j(\mathbf x) - \tfrac D2\log 2\pi, \qquad
# \ell_j = \log\pi_j + \sum_d \log s_{jd} - \tfrac12\sum_d s_{jd}^2 (x_d-\mu_{jd})^2,$$
#
# where the components sit on a $\sqrt K\times\sqrt K$ torus and $g(\sigma)$ smooths each score over its
# grid neighbours (a self-organising-map pull). σ starts at $0.25\sqrt{2K}$ and shrinks by 10 % whenever the
# objective stops improving (the SingleExp rule), until $\sigma = 0.01$ makes $\mathcal L$ the plain
# max-component log-likelihood. Higher layers start later (delays 0, 0.1, 0.2 of the steps) so that their
# input has settled. On 8×8 digits we use a two-layer model instead.

# %%
live_spec = SPEC_E if DATA == "MNIST" else "F(3,1)-G(16)-F(6,1)-G(25)"
live = DCGMM.from_spec(live_spec, input_shape=SHAPE, window=50 if DATA == "MNIST" else 20)
print(live)
for index, (token, shape) in enumerate(zip(live.spec.split("-"), live.shapes[1:])):
    print(f"  layer {index + 1}: {token:8s} → map {shape[0]}×{shape[1]}×{shape[2]}")
history = live.fit(train_images, epochs=LIVE_EPOCHS, batch_size=100, seed=SEED)
print(f"{len(history)} steps in {history['time'][-1]:.0f} s "
      f"({len(history) * 100 / history['time'][-1]:.0f} images/s); final σ per layer {history['sigma'][-1]}")

# %%
plot_layer_objectives(history);

# %% [markdown]
# Each panel shows one GMM layer's objective (blue) and its σ (orange, log scale); the dashed line is where
# a delayed layer started learning. The upper layers' objectives *fall* at times although they are learning:
# their input, the posteriors of the layer below, becomes sharper and harder to model as that layer anneals.
# A few thousand steps are not enough for every σ to reach 0.01 (the full-mode run above prints where they
# ended); the checkpoints below trained 6,000 steps.
#
# ## 3. The trained models and their visual alphabet
#
# The rest of the notebook uses the shipped checkpoints of architecture E (60 epochs on the 10,000 training
# images, all three σ annealed to 0.01) — or, on 8×8 digits, models trained here.

# %%
if DATA == "MNIST" and not RETRAIN:
    model, outlier_model = load_pretrained("mnist_dcgmm"), load_pretrained("mnist_no0_dcgmm")
    info = pretrained_info("mnist_dcgmm")
    print(f"loaded {model}\n  trained {info['epochs']} epochs on {info['training_images']} images in "
          f"{info['train_seconds']:.0f} s; final σ {info['final_sigma']}")
else:
    epochs, spec = (60, SPEC_E) if DATA == "MNIST" else (200, live_spec)  # 8×8: an epoch is 12 steps
    options = dict(input_shape=SHAPE, window=50 if DATA == "MNIST" else 20)
    progress = DATA == "MNIST"  # bars for the ten-minute MNIST runs; the 8×8 models take seconds
    model = DCGMM.from_spec(spec, **options)
    model.fit(train_images, epochs=epochs, seed=SEED, progress=progress)
    model.fit_classifier(train_images, train_labels, epochs=30, inputs=2, seed=SEED, progress=progress)
    outlier_model = DCGMM.from_spec(spec, **options)
    outlier_model.fit(train_images[train_labels != 0], epochs=epochs, seed=SEED, progress=progress)

# %% [markdown]
# `component_images` decodes every component down to the pixels of its receptive field: the bottom layer's
# centroids are 3×3 stroke pieces, the middle layer's are 6×6 strokes and corners assembled from them, and
# the top layer's are whole digits (paper 003, Fig. 14).

# %%
plot_component_mosaic(model);

# %% [markdown]
# ## 4. Sampling: top-S and sharpening
#
# Sampling starts at the top with a uniform choice of component, draws that component's 3,600-vector, folds
# it back into a 12×12 map of control signals, lets the middle layer choose a component at each position
# among the **S** largest entries of its control signal, and so on down to pixels. Small S follows the upper
# layers closely; large S adds variety (and mistakes). Folding back averages overlapping patches, which
# blurs; **sharpening** then runs gradient ascent on the sampled image to raise the likelihood the GMM layer
# just above assigns to it (paper 002 §3.2.3, paper 003 §IV-C), which makes the overlapping patches agree.

# %%
fig, axes = plt.subplots(3, 1, figsize=(6, 4.6))
for ax, top_s in zip(axes, (1, 3, 10)):
    plot_image_grid(model.sample(20, top_s=top_s, seed=SEED), nrow=10, ax=ax, title=f"top-S = {top_s}",
                    value_range=(0, 1))

# %%
before = model.sample(10, top_s=3, seed=SEED + 1)
after = model.sample(10, top_s=3, seed=SEED + 1, sharpen=Sharpening(rate=0.5, iterations=100))
plot_sharpening(before, after, n=10)
def bottom(images):  # mean bottom-layer objective: how well the pixels fit the first GMM layer
    return model.layer_log_likelihoods(images)[:, 0].mean().item()


print(f"bottom-layer objective of the samples: {bottom(before):.2f} before, {bottom(after):.2f} after sharpening")

# %% [markdown]
# Try it yourself: the slider sets S, the box switches sharpening on (it takes a second or two on a CPU).
# `FigureControls` passes the controls' values to the plain function `deepmix_viz.sample_panel` and shows the
# figure it returns as a picture. The controls need a live kernel; on GitHub you see the first state.

# %%
sample_controls = FigureControls(
    lambda top_s, sharpen: sample_panel(model, top_s=top_s, sharpen=sharpen, n=30, seed=SEED),
    {"top_s": widgets.IntSlider(value=3, min=1, max=25, description="top-S", continuous_update=False),
     "sharpen": widgets.Checkbox(value=False, description="sharpen")},
)
sample_controls

# %% [markdown]
# ## 5. Inpainting and variants
#
# To inpaint, the image goes up to the top layer with the erased pixels *left out* of the first GMM layer's
# likelihood (a diagonal Gaussian marginalises a missing dimension by dropping it), and the top layer's
# posteriors drive a sample down; the known pixels are kept (paper 003 §IV-E). Starting the same backward
# pass from the posteriors of the image itself gives *variants* of it.

# %%
examples = test_images[:10]
mask = region_mask(SHAPE[1:], "right half")
filled = model.inpaint(examples, mask, seed=SEED)
plot_inpainting(examples, mask, filled)
error = ((filled - examples)[..., mask] ** 2).mean().item()
mean_fill = ((train_images.mean(0) - examples)[..., mask] ** 2).mean().item()
random_fill = ((train_images[:10] - examples)[..., mask] ** 2).mean().item()
print(f"mean squared error on the erased half: inpainted {error:.4f}; blind guesses: the mean image "
      f"{mean_fill:.4f} (the best constant), a random training digit {random_fill:.4f} (a blind sample)")

# %%
# Erase another region of ten other held-out images (deepmix_viz.inpaint_panel draws the three rows)
inpaint_controls = FigureControls(
    lambda region: inpaint_panel(model, test_images[10:20], region=region, seed=SEED),
    {"region": widgets.Dropdown(options=["right half", "left half", "top half", "bottom half", "centre square"],
                                description="erase")},
)
inpaint_controls

# %%
rows = [test_images[:10],
        model.variants(test_images[:10], layer=-1, top_s=3, seed=SEED),      # top-S 3: room to differ
        model.variants(test_images[:10], layer=-1, top_s=3, seed=SEED + 1),
        model.variants(test_images[:10], layer=-2, top_s=3, seed=SEED)]  # the layer below the top: E's middle one
plot_image_grid(torch.cat(rows), nrow=10, value_range=(0, 1),
                 title="images; two variants from the top layer; one from the layer below it");


def gap(variants):  # mean squared pixel distance to the ten source images
    return ((variants - test_images[:10]) ** 2).mean().item()


print(f"mean squared distance to the source: from the top layer {gap(rows[1]):.4f}, "
      f"from the layer below it {gap(rows[3]):.4f}")

# %% [markdown]
# Starting lower keeps more of the image: the middle layer's 12×12 map of posteriors fixes which stroke goes
# where, and only the strokes themselves are drawn again.

# %% [markdown]
# ## 6. Outlier detection: train on 1–9, score zeros
#
# Every GMM layer's mean objective is a likelihood score of the image at its scale: patches at the bottom,
# the whole digit at the top. Paper 003 §VI-B trains on digits 1–9 and asks each layer to tell the held-out
# zeros from held-out 1–9; higher layers should do best. A flat GMM on the pixels is the peer.

# %%
scores = outlier_model.layer_log_likelihoods(test_images)
inliers, outliers = test_labels != 0, test_labels == 0
rocs = {f"GMM layer {layer + 1}": outlier_roc(-scores[inliers, layer], -scores[outliers, layer])
        for layer in range(scores.shape[1])}
flat = GaussianMixture(49, covariance_type="diag", reg_covar=1e-2, random_state=SEED)
flat.fit(train_images[train_labels != 0].flatten(1).numpy())
flat_scores = flat.score_samples(test_images.flatten(1).numpy())
rocs["flat GMM (49, pixels)"] = outlier_roc(-flat_scores[inliers.numpy()], -flat_scores[outliers.numpy()])
best = max(rocs, key=lambda name: rocs[name].auc if name.startswith("GMM") else 0)
print(f"best DCGMM layer: {best}")
for name, roc in rocs.items():
    print(f"  {name:22s} AUC {100 * roc.auc:.1f} %")

# %%
plot_outlier_rocs(rocs, title=f"{DATA}: zeros as outliers of a model of 1–9");

# %% [markdown]
# Paper 003 Table III reports 92.8 % AUC for DCGMM-E trained on all 54,000 training images of 1–9; our
# checkpoints saw 9,040. The flat GMM peer is strong on this task; `benchmarks/bench_dcgmm.py` prints both
# on all 5,000 held-out images.
#
# ## 7. Classification and class-conditional samples
#
# A linear softmax layer on the posteriors of the top two GMM layers is trained with cross-entropy while
# the generative layers stay frozen (paper 003 §III-F, §VI-I). Run backwards, it turns "a 7, please" into a
# control signal for the top GMM layer. Paper 003 (§IV-D) uses the transpose as an approximate inverse,
# $T = W^\top(\log y - b)$ shifted to be non-negative (`class_method="transpose"`); deepmix's default,
# `class_method="prototype"`, asks the classifier instead how likely the class is for each top component's
# prototype and uses those probabilities as the control signal (`DCGMM.class_control`; Exercise 2 compares
# the two).

# %%
predicted = model.predict(test_images)
accuracy = (predicted == test_labels).float().mean().item()
print(f"held-out accuracy: {100 * accuracy:.2f} % on {len(test_images)} images")
plot_confusion(test_labels, predicted, normalize="true", title="rows: true digit");

# %%
classes = torch.arange(10).repeat(3)
plain = model.sample(30, classes=classes, top_s=3, seed=SEED)
sharp = model.sample(30, classes=classes, top_s=3, seed=SEED, sharpen=True)
fig, axes = plt.subplots(1, 2, figsize=(11, 2.4))
plot_image_grid(plain, nrow=10, ax=axes[0], title="asked for 0–9 (three rows)", value_range=(0, 1))
plot_image_grid(sharp, nrow=10, ax=axes[1], title="the same, sharpened", value_range=(0, 1))
read_back = (model.predict(plain) == classes).float().mean().item()
print(f"the DCGMM's classifier reads back the class asked for in {100 * read_back:.0f} % of the unsharpened "
      "samples; benchmarks/bench_dcgmm.py scores them with an independent pixel classifier")

# %% [markdown]
# ## 8. Clustering quality
#
# Paper 002 §4.3 scores the clusters "best component of a layer with one position" with the Dunn index
# (higher is better; our own implementation, scikit-learn has none) and the Davies–Bouldin score (lower is
# better; scikit-learn's).

# %%
clusters = clustering_scores(model, test_images[:2000])
print(f"top layer: Dunn {clusters['dunn']:.3f}, Davies–Bouldin {clusters['davies_bouldin']:.2f}, "
      f"{clusters['clusters']} of {model.gmm_layers[-1].n_components} components used")

# %% [markdown]
# ## Exercise 1
#
# *Predict, then run.* Section 5 scored one inpainting of ten images. Take 100 held-out images and erase, in
# turn, the left, right, top and bottom halves and the centre square. Before running, predict: which region is
# hardest to fill? Does the inpainting always beat a *blind sample* (a sample of the same model that never saw
# the image)? And does it beat the mean training image, the best constant guess?

# %% jupyter={"source_hidden": true} tags=["solution"]
originals = test_images[:100]
blind = model.sample(len(originals), top_s=1, seed=SEED)  # the model's guess without the evidence


def erased_error(guess, erased):  # mean squared error on the erased pixels only
    return ((guess - originals)[..., erased] ** 2).mean().item()


errors_by_region = {}
print(f"{'erased':<14}{'inpainted':>10}{'blind sample':>14}{'mean image':>12}")
for region in ("left half", "right half", "top half", "bottom half", "centre square"):
    erased = region_mask(SHAPE[1:], region)
    filled = model.inpaint(originals, erased, seed=SEED)
    errors_by_region[region] = [erased_error(guess, erased) for guess in (filled, blind, train_images.mean(0))]
    print(f"{region:<14}" + "".join(f"{value:>{width}.4f}" for value, width in
                                     zip(errors_by_region[region], (10, 14, 12))))
    assert errors_by_region[region][0] < errors_by_region[region][1]  # the visible part informs the erased one
hardest = max(errors_by_region, key=lambda region: errors_by_region[region][0])
beats_mean = [region for region, values in errors_by_region.items() if values[0] < values[2]]
print(f"hardest: {hardest}; the inpainting beats the mean image on {len(beats_mean)} of 5 regions")

erased = region_mask(SHAPE[1:], "right half")
completions = torch.stack([model.inpaint(originals, erased, top_s=3, seed=SEED + draw) for draw in range(8)])
one_at_a_time = sum(erased_error(completion, erased) for completion in completions) / len(completions)
averaged = erased_error(completions.mean(0), erased)
print(f"right half, top-S 3: one completion {one_at_a_time:.4f} on average, the mean of eight {averaged:.4f}")
assert averaged <= one_at_a_time  # the square is convex: averaging guesses never raises the mean squared error
# The centre square is hardest per pixel because it holds most of the ink; each half also covers background
# that any guess gets right. Every region is filled far better than by a blind sample, so the visible pixels
# do steer the top layer's choice. Against the mean image the contest is closer, and on MNIST the mean image
# usually wins: squared error rewards hedging. A completion commits to one stroke in one place and pays
# in full where the truth differs, while the blurred mean pays a little everywhere. Averaging eight
# completions hedges in the same way and lowers the error. For judging a *sample*, the blind sample is the
# fair yardstick; a blurred average is never a plausible digit.

# %% [markdown]
# ## Exercise 2
#
# *Change a parameter and explain.* Class-conditional sampling uses `class_method="prototype"` unless told
# otherwise. Switch to `class_method="transpose"`, paper 003's approximate inverse $T = W^\top(\log y - b)$ of
# section 7, draw ten samples of every digit at top-S 1 and 3, and let the model's classifier read them back.
# Which method delivers the digit asked for, and why does the other one often fail?

# %% jupyter={"source_hidden": true} tags=["solution"]
wanted = torch.arange(10).repeat(10)
read_back = {}
for method in ("prototype", "transpose"):
    for top_s in (1, 3):
        drawn = model.sample(len(wanted), classes=wanted, top_s=top_s, class_method=method, seed=SEED)
        read_back[method, top_s] = (model.predict(drawn) == wanted).float().mean().item()
        print(f"{method:>9}, top-S {top_s}: the classifier reads back the digit asked for in "
              f"{100 * read_back[method, top_s]:.0f} % of the samples")
assert read_back["prototype", 1] > read_back["transpose", 1]
# W maps the posteriors of the top two GMM layers (3,649 numbers for architecture E) to ten logits, and its
# transpose is not its inverse: Wᵀ(log y − b) raises every top component in proportion to its weight for the
# class, and it uses only the weights that read the top layer, although the classifier decides with the layer
# below as well. A component with a large weight for "7" may stand for a 7 only together with a certain lower
# map, so top-S picks components that draw other digits. The prototype method runs the classifier forwards
# instead: for each top component it builds the input that component stands for (a one-hot top posterior and
# the lower map decoded from its centroid) and asks p(class | component), the question the read-back asks of
# the finished image. A larger S lets the top layer take weaker candidates, so both usually lose some.

# %% [markdown]
# ## Exercise 3
#
# *Implement a small piece.* Compute the bottom GMM layer's objective $\mathcal L$ of section 2 for ten
# held-out images yourself, from the learned state: `model.weights_[0]`, `model.means_[0]` and
# `model.precisions_[0]` (a shared layer has one parameter set, index 0), and the torus smoothing
# `model.gmm_layers[0].smoothing()` (the identity once σ has annealed to 0.01). Average it over the positions
# and compare with `model.layer_log_likelihoods(images)[:, 0]`. `torch.nn.functional.unfold` cuts the patches.

# %% jupyter={"source_hidden": true} tags=["solution"]
def bottom_objective(images):
    weights, means, precisions = (torch.as_tensor(state[0]) for state in
                                  (model.weights_[0], model.means_[0], model.precisions_[0]))  # (K,), (K, D), (K, D)
    fold = model.stack[0]
    patches = torch.nn.functional.unfold(images, fold.kernel, stride=fold.stride).transpose(1, 2)  # (N, P, D)
    # ℓ_k = log π_k + Σ_d log s_kd − ½ Σ_d s_kd² (x_d − μ_kd)², at every position
    scores = (weights.log() + precisions.log().sum(1)
              - 0.5 * (((patches[:, :, None, :] - means) * precisions) ** 2).sum(-1))  # (N, P, K)
    smoothed = scores @ model.gmm_layers[0].smoothing().cpu().T  # Σ_j g_kj ℓ_j
    dim = means.shape[1]
    return (smoothed.max(-1).values - 0.5 * dim * torch.log(torch.tensor(2 * torch.pi))).mean(1)


mine, theirs = bottom_objective(test_images[:10]), model.layer_log_likelihoods(test_images[:10])[:, 0]
print("by hand:", [round(value, 3) for value in mine.tolist()])
print("model:  ", [round(value, 3) for value in theirs.tolist()])
torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-4)
# A GMM layer's objective needs nothing but its input and its own parameters: the patches of this image and
# π, μ, s of the bottom layer, with no term from the layers above. That locality is why every layer can be
# trained on its own likelihood (section 2) and why each layer's score can be read separately, as the outlier
# test of section 6 does. (For one grey channel, unfold's patch order is the fold's; in colour it differs.)
