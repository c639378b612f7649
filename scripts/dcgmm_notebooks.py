"""Cells of the DCGMM notebooks 06 (MNIST) and 07 (colour images); ``build_notebooks.py`` writes them."""

from __future__ import annotations

from notebook_cells import code, md


# ====================================================================================================
# 06 — DCGMM on MNIST
# ====================================================================================================
def notebook_06() -> list:
    return [
        md(r"""
# 06 · Deep convolutional Gaussian mixtures on MNIST

**What you will see.** A DCGMM (papers 002 and 003) stacks *folding* layers (cut an image into patches,
a "half-convolution"), optional *max-pooling* layers and *convolutional GMM* layers. Each GMM layer models
the vectors at every position of its input map and passes its **posteriors** up; each is trained by SGD
on **its own** likelihood, so no gradient crosses layers. Going down, every GMM layer samples from the
control signal the layer above sent, which makes the model a generator. You will train a small DCGMM and
watch each layer anneal, look at the "visual alphabet" every layer learned, draw samples with a top-S
slider and a sharpening switch, inpaint an erased region, detect zeros as outliers of a model that only saw
1–9, and classify digits with a linear layer on top, which can also generate a digit on request.

The heavy models are loaded from small checkpoints shipped with deepmix (`make pretrained` remakes them in
about 10 minutes each); set `RETRAIN = True` to train them here instead.
"""),
        code(r"""
# Parameters: budget(full=..., quick=...) picks the small values when DEEPMIX_QUICK=1 (CI)
%matplotlib inline
import matplotlib.pyplot as plt
import torch
import ipywidgets as widgets
from sklearn.mixture import GaussianMixture

from deepmix_core import DCGMM, budget
from deepmix_core.data import load_digits_images, load_mnist_split
from deepmix_core.dcgmm import Sharpening, clustering_scores, outlier_roc
from deepmix_core.pretrained import load_pretrained, pretrained_info
from deepmix_viz import (
    inpaint_panel, plot_component_mosaic, plot_confusion, plot_inpainting, plot_layer_objectives,
    plot_image_grid, plot_outlier_rocs, plot_sharpening, region_mask, sample_panel, setup_notebook,
)

SPEC_E = "F(3,1)-G(25)-F(4,2)-G(25)-F(12,1)-G(49)"   # architecture E of paper 003 (Table VI)
LIVE_EPOCHS = budget(full=20, quick=1)                # the live training demo of section 2
N_TEST = budget(full=5000, quick=1000)                # held-out images used for the numbers below
RETRAIN = False                                       # True: train the two big models here (~10 min each)
SEED = 0
setup_notebook(seed=SEED)
"""),
        md(r"""
## 1. Data

The MNIST files kept next to the repository give 10,000 training images (the 5k training subset plus the
first half of the test set) and 5,000 held-out ones (the second half of the test set) that no model here
was trained on. A fresh clone without them falls back to scikit-learn's 8×8 digits, with every model
trained live; to use full MNIST, download it once with `deepmix_core.data.load_torchvision("MNIST",
download=True)`.
"""),
        code(r"""
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
"""),
        md(r"""
## 2. The architecture, and training it live

`DCGMM.from_spec` reads the papers' notation. Architecture E is F(3,1)-G(25)-F(4,2)-G(25)-F(12,1)-G(49):
3×3 patches at stride 1 give a 26×26 map of 9-vectors, modelled by 25 components; 4×4 blocks of those
posteriors at stride 2 give a 12×12 map of 400-vectors, modelled by 25 more; the whole 12×12×25 map is then
one 3,600-vector for the top 49 components. Every GMM layer maximises the annealed max-component objective

$$\mathcal L(\mathbf x) = \max_k \sum_j g_{kj}(\sigma)\,\ell_j(\mathbf x) - \tfrac D2\log 2\pi, \qquad
\ell_j = \log\pi_j + \sum_d \log s_{jd} - \tfrac12\sum_d s_{jd}^2 (x_d-\mu_{jd})^2,$$

where the components sit on a $\sqrt K\times\sqrt K$ torus and $g(\sigma)$ smooths each score over its
grid neighbours (a self-organising-map pull). σ starts at $0.25\sqrt{2K}$ and shrinks by 10 % whenever the
objective stops improving (the SingleExp rule), until $\sigma = 0.01$ makes $\mathcal L$ the plain
max-component log-likelihood. Higher layers start later (delays 0, 0.1, 0.2 of the steps) so that their
input has settled. On 8×8 digits we use a two-layer model instead.
"""),
        code(r"""
live_spec = SPEC_E if DATA == "MNIST" else "F(3,1)-G(16)-F(6,1)-G(25)"
live = DCGMM.from_spec(live_spec, input_shape=SHAPE, window=50 if DATA == "MNIST" else 20)
print(live)
for index, (token, shape) in enumerate(zip(live.spec.split("-"), live.shapes[1:])):
    print(f"  layer {index + 1}: {token:8s} → map {shape[0]}×{shape[1]}×{shape[2]}")
history = live.fit(train_images, epochs=LIVE_EPOCHS, batch_size=100, seed=SEED)
print(f"{len(history)} steps in {history['time'][-1]:.0f} s "
      f"({len(history) * 100 / history['time'][-1]:.0f} images/s); final σ per layer {history['sigma'][-1]}")
"""),
        code(r"""
plot_layer_objectives(history);
"""),
        md(r"""
Each panel shows one GMM layer's objective (blue) and its σ (orange, log scale); the dashed line is where
a delayed layer started learning. The upper layers' objectives *fall* at times although they are learning:
their input, the posteriors of the layer below, becomes sharper and harder to model as that layer anneals.
A few thousand steps are not enough for every σ to reach 0.01 (the full-mode run above prints where they
ended); the checkpoints below trained 6,000 steps.

## 3. The trained models and their visual alphabet

The rest of the notebook uses the shipped checkpoints of architecture E (60 epochs on the 10,000 training
images, all three σ annealed to 0.01) — or, on 8×8 digits, models trained here.
"""),
        code(r"""
if DATA == "MNIST" and not RETRAIN:
    model, outlier_model = load_pretrained("mnist_dcgmm"), load_pretrained("mnist_no0_dcgmm")
    info = pretrained_info("mnist_dcgmm")
    print(f"loaded {model}\n  trained {info['epochs']} epochs on {info['training_images']} images in "
          f"{info['train_seconds']:.0f} s; final σ {info['final_sigma']}")
else:
    epochs, spec = (60, SPEC_E) if DATA == "MNIST" else (30, live_spec)
    options = dict(input_shape=SHAPE, window=50 if DATA == "MNIST" else 20)
    model = DCGMM.from_spec(spec, **options)
    model.fit(train_images, epochs=epochs, seed=SEED)
    model.fit_classifier(train_images, train_labels, epochs=30, inputs=2, seed=SEED)
    outlier_model = DCGMM.from_spec(spec, **options)
    outlier_model.fit(train_images[train_labels != 0], epochs=epochs, seed=SEED)
"""),
        md(r"""
`component_images` decodes every component down to the pixels of its receptive field: the bottom layer's
centroids are 3×3 stroke pieces, the middle layer's are 6×6 strokes and corners assembled from them, and
the top layer's are whole digits (paper 003, Fig. 14).
"""),
        code(r"""
plot_component_mosaic(model);
"""),
        md(r"""
## 4. Sampling: top-S and sharpening

Sampling starts at the top with a uniform choice of component, draws that component's 3,600-vector, folds
it back into a 12×12 map of control signals, lets the middle layer choose a component at each position
among the **S** largest entries of its control signal, and so on down to pixels. Small S follows the upper
layers closely; large S adds variety (and mistakes). Folding back averages overlapping patches, which
blurs; **sharpening** then runs gradient ascent on the sampled image to raise the likelihood the GMM layer
just above assigns to it (paper 002 §3.2.3, paper 003 §IV-C), which makes the overlapping patches agree.
"""),
        code(r"""
fig, axes = plt.subplots(3, 1, figsize=(6, 4.6))
for ax, top_s in zip(axes, (1, 3, 10)):
    plot_image_grid(model.sample(20, top_s=top_s, seed=SEED), nrow=10, ax=ax, title=f"top-S = {top_s}",
                    value_range=(0, 1))
"""),
        code(r"""
before = model.sample(10, top_s=3, seed=SEED + 1)
after = model.sample(10, top_s=3, seed=SEED + 1, sharpen=Sharpening(rate=0.5, iterations=100))
plot_sharpening(before, after, n=10)
bottom = lambda images: model.layer_log_likelihoods(images)[:, 0].mean().item()
print(f"bottom-layer objective of the samples: {bottom(before):.2f} before, {bottom(after):.2f} after sharpening")
"""),
        md(r"""
Try it yourself: the slider sets S, the box switches sharpening on (it takes a second or two on a CPU).
The callback is the plain function `deepmix_viz.sample_panel`.
"""),
        code(r"""
widgets.interactive(
    lambda top_s, sharpen: sample_panel(model, top_s=top_s, sharpen=sharpen, n=30, seed=SEED),
    top_s=widgets.IntSlider(value=3, min=1, max=25, description="top-S", continuous_update=False),
    sharpen=widgets.Checkbox(value=False, description="sharpen"),
)
"""),
        md(r"""
## 5. Inpainting and variants

To inpaint, the image goes up to the top layer with the erased pixels *left out* of the first GMM layer's
likelihood (a diagonal Gaussian marginalises a missing dimension by dropping it), and the top layer's
posteriors drive a sample down; the known pixels are kept (paper 003 §IV-E). Starting the same backward
pass from the posteriors of the image itself gives *variants* of it.
"""),
        code(r"""
examples = test_images[:10]
mask = region_mask(SHAPE[1:], "right half")
filled = model.inpaint(examples, mask, seed=SEED)
plot_inpainting(examples, mask, filled)
error = ((filled - examples)[..., mask] ** 2).mean().item()
mean_fill = ((train_images.mean(0) - examples)[..., mask] ** 2).mean().item()
random_fill = ((train_images[:10] - examples)[..., mask] ** 2).mean().item()
print(f"mean squared error on the erased half: inpainted {error:.4f}; blind guesses: the mean image "
      f"{mean_fill:.4f} (the best constant), a random training digit {random_fill:.4f} (a blind sample)")
"""),
        code(r"""
widgets.interactive(
    lambda region: inpaint_panel(model, test_images[10:20], region=region, seed=SEED),
    region=widgets.Dropdown(options=["right half", "left half", "top half", "bottom half", "centre square"]),
)
"""),
        code(r"""
rows = [test_images[:10],
        model.variants(test_images[:10], layer=-1, top_s=3, seed=SEED),      # top-S 3: room to differ
        model.variants(test_images[:10], layer=-1, top_s=3, seed=SEED + 1),
        model.variants(test_images[:10], layer=1, top_s=3, seed=SEED)]
plot_image_grid(torch.cat(rows), nrow=10, value_range=(0, 1),
                 title="images; two variants from the top layer; one from the middle layer");
gap = lambda variants: ((variants - test_images[:10]) ** 2).mean().item()
print(f"mean squared distance to the source: from the top layer {gap(rows[1]):.4f}, "
      f"from the middle layer {gap(rows[3]):.4f}")
"""),
        md(r"""
Starting lower keeps more of the image: the middle layer's 12×12 map of posteriors fixes which stroke goes
where, and only the strokes themselves are drawn again.
"""),
        md(r"""
## 6. Outlier detection: train on 1–9, score zeros

Every GMM layer's mean objective is a likelihood score of the image at its scale: patches at the bottom,
the whole digit at the top. Paper 003 §VI-B trains on digits 1–9 and asks each layer to tell the held-out
zeros from held-out 1–9; higher layers should do best. A flat GMM on the pixels is the peer.
"""),
        code(r"""
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
"""),
        code(r"""
plot_outlier_rocs(rocs, title=f"{DATA}: zeros as outliers of a model of 1–9");
"""),
        md(r"""
Paper 003 Table III reports 92.8 % AUC for DCGMM-E trained on all 54,000 training images of 1–9; our
checkpoints saw 9,040. The flat GMM peer is strong on this task; `benchmarks/bench_dcgmm.py` prints both
on all 5,000 held-out images.

## 7. Classification and class-conditional samples

A linear softmax layer on the posteriors of the top two GMM layers is trained with cross-entropy while
the generative layers stay frozen (paper 003 §III-F, §VI-I). Run backwards, it turns "a 7, please" into a
control signal for the top GMM layer: $T = W^\top(\log y - b)$, shifted to be non-negative.
"""),
        code(r"""
predicted = model.predict(test_images)
accuracy = (predicted == test_labels).float().mean().item()
print(f"held-out accuracy: {100 * accuracy:.2f} % on {len(test_images)} images")
plot_confusion(test_labels, predicted, normalize="true", title="rows: true digit");
"""),
        code(r"""
classes = torch.arange(10).repeat(3)
plain = model.sample(30, classes=classes, top_s=3, seed=SEED)
sharp = model.sample(30, classes=classes, top_s=3, seed=SEED, sharpen=True)
fig, axes = plt.subplots(1, 2, figsize=(11, 2.4))
plot_image_grid(plain, nrow=10, ax=axes[0], title="asked for 0–9 (three rows)", value_range=(0, 1))
plot_image_grid(sharp, nrow=10, ax=axes[1], title="the same, sharpened", value_range=(0, 1))
read_back = (model.predict(plain) == classes).float().mean().item()
print(f"the DCGMM's classifier reads back the class asked for in {100 * read_back:.0f} % of the unsharpened "
      "samples; benchmarks/bench_dcgmm.py scores them with an independent pixel classifier")
"""),
        md(r"""
## 8. Clustering quality

Paper 002 §4.3 scores the clusters "best component of a layer with one position" with the Dunn index
(higher is better; our own implementation, scikit-learn has none) and the Davies–Bouldin score (lower is
better; scikit-learn's).
"""),
        code(r"""
clusters = clustering_scores(model, test_images[:2000])
print(f"top layer: Dunn {clusters['dunn']:.3f}, Davies–Bouldin {clusters['davies_bouldin']:.2f}, "
      f"{clusters['clusters']} of {model.gmm_layers[-1].n_components} components used")
"""),
    ]


# ====================================================================================================
# 07 — DCGMM on colour images (SVHN) and FashionMNIST
# ====================================================================================================
def notebook_07() -> list:
    return [
        md(r"""
# 07 · DCGMMs on colour images (SVHN) and on FashionMNIST

**What you will see.** The same layers handle colour: a folding layer stacks the three channels of every
patch into one vector, so the first GMM layer's centroids are small colour patches. You will train the
SVHN architecture of paper 003 (big overlapping 12×12 patches at stride 5, then one GMM over the whole
5×5 map), look at its colour alphabet, sample with and without sharpening, and inpaint house numbers. A
FashionMNIST section repeats the outlier experiment of notebook 06 on clothes, where paper 003 found the
largest gap between DCGMMs and sum-product networks.

SVHN and FashionMNIST come through torchvision's loaders; the notebook downloads them in full mode
(`DOWNLOAD`). Without the network, and in CI, SVHN is replaced by a clearly labelled stand-in: MNIST (or
8×8) digits painted onto three kinds of coloured "number plates", and the FashionMNIST section says it was
skipped.
"""),
        code(r"""
# Parameters: budget(full=..., quick=...) picks the small values when DEEPMIX_QUICK=1 (CI)
%matplotlib inline
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from deepmix_core import DCGMM, budget
from deepmix_core.data import load_digits_images, load_mnist_split, load_torchvision, to_unit_range
from deepmix_core.dcgmm import Sharpening, outlier_roc
from deepmix_viz import (
    plot_component_mosaic, plot_inpainting, plot_layer_objectives, plot_image_grid, plot_outlier_rocs,
    plot_sharpening, region_mask, setup_notebook,
)

DOWNLOAD = budget(full=True, quick=False)   # fetch SVHN / FashionMNIST with torchvision if not cached
N_TRAIN = budget(full=20_000, quick=600)
EPOCHS = budget(full=60, quick=1)
SVHN_SPEC = "F(12,5)-G(64)-F(5,5)-G(100)"   # paper 003's SVHN instance, first GMM shared here
SEED = 0
setup_notebook(seed=SEED)
"""),
        md(r"""
## 1. Colour data

`load_torchvision("SVHN")` returns (N, 3, 32, 32) house-number crops. If they cannot be had, we paint
grey digits into colour on a 32×32 canvas, each on one of three plates: white on blue, black on yellow,
yellow on red.
"""),
        code(r"""
PLATES = torch.tensor([[[0.95, 0.95, 0.90], [0.15, 0.35, 0.80]],   # (digit colour, plate colour)
                       [[0.10, 0.10, 0.15], [0.95, 0.80, 0.20]],
                       [[0.95, 0.80, 0.20], [0.85, 0.20, 0.15]]])


def colour_stand_in(n, seed):
    # grey digits painted on coloured plates, 32×32: a stand-in for SVHN when it cannot be downloaded
    try:
        grey = load_mnist_split()["train_images"]
    except FileNotFoundError:
        grey = F.interpolate(load_digits_images()[0], size=28, mode="bilinear")
    generator = torch.Generator().manual_seed(seed)
    grey = F.pad(grey[torch.randperm(len(grey), generator=generator)[:n]], (2, 2, 2, 2))
    plate = PLATES[torch.randint(len(PLATES), (len(grey),), generator=generator)]
    return grey * plate[:, 0, :, None, None] + (1 - grey) * plate[:, 1, :, None, None]


try:
    svhn, _ = load_torchvision("SVHN", "train", download=DOWNLOAD)
    colour = to_unit_range(svhn[torch.randperm(len(svhn), generator=torch.Generator().manual_seed(SEED))[:N_TRAIN]])
    SOURCE = "SVHN"
except (FileNotFoundError, RuntimeError, OSError) as err:
    print(f"SVHN not available ({type(err).__name__}: {str(err)[:120]}…)\n→ using coloured digits as a stand-in")
    colour = colour_stand_in(N_TRAIN + 500, SEED)
    SOURCE = "coloured digits (SVHN stand-in)"
n_test = min(500, len(colour) // 5)  # the last images are held out for inpainting
train_colour, test_colour = colour[:-n_test][:N_TRAIN], colour[-n_test:]
print(f"{SOURCE}: {len(train_colour)} training images of shape {tuple(train_colour.shape[1:])}")
plot_image_grid(train_colour[:20], nrow=10, title=f"{SOURCE}: training images", value_range=(0, 1));
"""),
        md(r"""
## 2. Training

F(12,5) cuts 12×12×3 patches at stride 5 (a 5×5 map of 432-vectors, overlapping by 7 pixels); G(64)
models them; F(5,5) turns the 5×5×64 posterior map into one 1,600-vector for G(100). Paper 003 gives the
first GMM one parameter set per position; we share it (a convolutional GMM), which needs 25 times fewer
parameters.
"""),
        code(r"""
model = DCGMM.from_spec(SVHN_SPEC, input_shape=(3, 32, 32), window=25)  # short windows: σ anneals sooner
print(model)
history = model.fit(train_colour, epochs=EPOCHS, batch_size=100, seed=SEED)
print(f"{len(history)} steps in {history['time'][-1]:.0f} s; final σ per layer {history['sigma'][-1]}")
plot_layer_objectives(history);
"""),
        code(r"""
plot_component_mosaic(model);
"""),
        md(r"""
## 3. Sampling with and without sharpening

The 12×12 patches overlap heavily, so folding back averages up to nine patch samples per pixel;
sharpening towards the first GMM layer makes the overlapping patches agree (paper 003 §VI-G samples SVHN
with sharpening on the bottom fold). We sample with top-S = 1: with more choices per position, neighbouring
patches can pick different plate colours. Expect blurry digits: 64 shared components must cover every
12×12 piece of every plate, which is the limit of this shallow instance (paper 003 gives each of its 25
positions its own 64 components).
"""),
        code(r"""
before = model.sample(10, top_s=1, seed=SEED)
after = model.sample(10, top_s=1, seed=SEED, sharpen=Sharpening(rate=0.5, iterations=budget(full=100, quick=30)))
plot_sharpening(before, after, n=10)
bottom = lambda images: model.layer_log_likelihoods(images)[:, 0].mean().item()
print(f"bottom-layer objective of the samples: {bottom(before):.1f} before, {bottom(after):.1f} after sharpening")
"""),
        code(r"""
mask = region_mask((32, 32), "bottom half")
examples = test_colour[:10]
plot_inpainting(examples, mask, model.inpaint(examples, mask, seed=SEED));
"""),
        md(r"""
## 4. FashionMNIST: outliers among clothes

As in notebook 06 §6, a DCGMM-E is trained without class 0 (T-shirts) and each GMM layer's objective
scores held-out T-shirts against the other nine classes. Paper 003 Table III: 74.9 % AUC for DCGMM-E.
"""),
        code(r"""
try:
    fashion, fashion_labels = load_torchvision("FashionMNIST", "train", download=DOWNLOAD)
    fashion_test, fashion_test_labels = load_torchvision("FashionMNIST", "test", download=DOWNLOAD)
except (FileNotFoundError, RuntimeError, OSError) as err:
    fashion = None
    print(f"FashionMNIST not available ({type(err).__name__}); section skipped. With the network, run "
          "load_torchvision('FashionMNIST', 'train', download=True) once and re-run this notebook.")
if fashion is not None:
    keep = fashion_labels[:N_TRAIN] != 0
    fashion_model = DCGMM.from_spec("F(3,1)-G(25)-F(4,2)-G(25)-F(12,1)-G(49)", input_shape=(1, 28, 28), window=50)
    fashion_model.fit(to_unit_range(fashion[:N_TRAIN][keep]), epochs=EPOCHS, seed=SEED)
    scores = fashion_model.layer_log_likelihoods(to_unit_range(fashion_test[:5000]))
    inliers, outliers = fashion_test_labels[:5000] != 0, fashion_test_labels[:5000] == 0
    rocs = {f"GMM layer {layer + 1}": outlier_roc(-scores[inliers, layer], -scores[outliers, layer])
            for layer in range(scores.shape[1])}
    plot_outlier_rocs(rocs, title="FashionMNIST: T-shirts as outliers")
    plot_image_grid(fashion_model.sample(20, top_s=3, seed=SEED), nrow=10, title="FashionMNIST samples",
                    value_range=(0, 1))
"""),
    ]
