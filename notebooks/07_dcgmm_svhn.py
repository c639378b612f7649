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
# # 07 · DCGMMs on colour images (SVHN) and on FashionMNIST
#
# **What you will see.** The same layers handle colour: a folding layer stacks the three channels of every
# patch into one vector, so the first GMM layer's centroids are small colour patches. You will train the
# SVHN architecture of paper 003 (Table VI: big overlapping 12×12 patches at stride 5, then one GMM over the
# whole 5×5 map; sharpened samples as in §VI-G, inpainting as in §IV-E; the papers and their short names are
# in [docs/papers.md](../docs/papers.md)), look at its colour alphabet, sample with and without sharpening,
# and inpaint house numbers. A FashionMNIST section repeats the outlier experiment of notebook 06 (paper 003
# §VI-B) on clothes, where paper 003 found the largest gap between DCGMMs and sum-product networks.
#
# SVHN and FashionMNIST come through torchvision's loaders; the notebook downloads them in full mode
# (`DOWNLOAD`). Without the network, and in CI, SVHN is replaced by a clearly labelled stand-in: MNIST (or
# 8×8) digits painted onto three kinds of coloured "number plates", and the FashionMNIST section says it was
# skipped.

# %%
# Parameters: budget(full=..., quick=...) picks the small values when DEEPMIX_QUICK=1 (CI)
# %matplotlib inline
import torch
import torch.nn.functional as F

from deepmix_core import DCGMM, budget
from deepmix_core.data import load_digits_images, load_mnist_split, load_torchvision, to_unit_range
from deepmix_core.dcgmm import Sharpening, outlier_roc
from deepmix_viz import (
    plot_component_mosaic,
    plot_image_grid,
    plot_inpainting,
    plot_layer_objectives,
    plot_outlier_rocs,
    plot_sharpening,
    region_mask,
    setup_notebook,
)

DOWNLOAD = budget(full=True, quick=False)   # fetch SVHN / FashionMNIST with torchvision if not cached
N_TRAIN = budget(full=20_000, quick=600)
EPOCHS = budget(full=60, quick=1)
SVHN_SPEC = "F(12,5)-G(64)-F(5,5)-G(100)"   # paper 003's SVHN instance, first GMM shared here
SEED = 0
setup_notebook(seed=SEED)

# %% [markdown]
# ## 1. Colour data
#
# `load_torchvision("SVHN")` returns (N, 3, 32, 32) house-number crops. If they cannot be had, we paint
# grey digits into colour on a 32×32 canvas, each on one of three plates: white on blue, black on yellow,
# yellow on red.

# %%
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

# %% [markdown]
# ## 2. Training
#
# F(12,5) cuts 12×12×3 patches at stride 5 (a 5×5 map of 432-vectors, overlapping by 7 pixels); G(64)
# models them; F(5,5) turns the 5×5×64 posterior map into one 1,600-vector for G(100). Paper 003 gives the
# first GMM one parameter set per position; we share it (a convolutional GMM), which needs 25 times fewer
# parameters.

# %%
model = DCGMM.from_spec(SVHN_SPEC, input_shape=(3, 32, 32), window=25)  # short windows: σ anneals sooner
print(model)
history = model.fit(train_colour, epochs=EPOCHS, batch_size=100, seed=SEED)
print(f"{len(history)} steps in {history['time'][-1]:.0f} s; final σ per layer {history['sigma'][-1]}")
plot_layer_objectives(history);

# %%
plot_component_mosaic(model);

# %% [markdown]
# ## 3. Sampling with and without sharpening
#
# The 12×12 patches overlap heavily, so folding back averages up to nine patch samples per pixel;
# sharpening towards the first GMM layer makes the overlapping patches agree (paper 003 §VI-G samples SVHN
# with sharpening on the bottom fold). We sample with top-S = 1: with more choices per position, neighbouring
# patches can pick different plate colours. Expect blurry digits: 64 shared components must cover every
# 12×12 piece of every plate, which is the limit of this shallow instance (paper 003 gives each of its 25
# positions its own 64 components).

# %%
before = model.sample(10, top_s=1, seed=SEED)
after = model.sample(10, top_s=1, seed=SEED, sharpen=Sharpening(rate=0.5, iterations=budget(full=100, quick=30)))
plot_sharpening(before, after, n=10)


def bottom(images):  # mean bottom-layer objective: how well the pixels fit the first GMM layer
    return model.layer_log_likelihoods(images)[:, 0].mean().item()


print(f"bottom-layer objective of the samples: {bottom(before):.1f} before, {bottom(after):.1f} after sharpening")

# %%
mask = region_mask((32, 32), "bottom half")
examples = test_colour[:10]
plot_inpainting(examples, mask, model.inpaint(examples, mask, seed=SEED));

# %% [markdown]
# ## 4. FashionMNIST: outliers among clothes
#
# As in notebook 06 §6, a DCGMM-E is trained without class 0 (T-shirts) and each GMM layer's objective
# scores held-out T-shirts against the other nine classes. Paper 003 Table III: 74.9 % AUC for DCGMM-E.

# %%
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

# %% [markdown]
# ## Exercise 1
#
# *Predict, then run.* The first fold, F(12,5), cuts 12×12 patches every 5 pixels from a 32×32 image, and
# folding back averages every patch sample that lands on a pixel. How many patches cover a corner pixel? How
# many cover the most-covered pixels, and where are they? Predict, then count along one axis, combine the two
# axes, and check your map against the count that `Fold.backward` divides by.

# %% jupyter={"source_hidden": true} tags=["solution"]
fold = model.stack[0]
side = model.input_shape[-1]
starts = torch.arange(0, side - fold.kernel + 1, fold.stride)  # where the patches begin along one axis
pixels = torch.arange(side)
per_axis = ((pixels[:, None] >= starts) & (pixels[:, None] < starts + fold.kernel)).sum(dim=1)
coverage = per_axis[:, None] * per_axis[None, :]  # a patch covers a pixel when it does so along both axes
print("patches covering each row (and column):", per_axis.tolist())
print(f"corner pixel: {coverage[0, 0]}; most covered: {coverage.max()} ({int((coverage == coverage.max()).sum())} "
      f"pixels); mean over the image: {coverage.float().mean():.2f}")
ones = torch.ones(1, fold.kernel**2, len(starts) ** 2)  # one column of ones per patch, as F.fold wants it
counted = F.fold(ones, output_size=(side, side), kernel_size=fold.kernel, stride=fold.stride)[0, 0]
assert torch.equal(counted, coverage.float())
assert coverage.min() == 1 and coverage.max() == 9  # ⌈12/5⌉² = 9, the c in Sharpening's step size
# A 5-pixel strip along every edge belongs to one patch only, so it is drawn by one component and stays sharp.
# Inside, each row and column lies in two or three patches, and where two "three" lines cross, nine patch
# samples are averaged. Each was drawn for its own position, so they disagree in the overlap, and the average
# blurs them, more in some places than in others. Sharpening moves the pixels until the overlapping patches
# agree, and its step is sized for the worst case of nine.

# %% [markdown]
# ## Exercise 2
#
# *Predict, then run.* Erase the bottom half of 100 held-out images and inpaint it. Will the completions get
# the plate (background) colour right? Compare the mean colour of the erased half in the completions, and in
# blind samples of the same model, with the truth.

# %% jupyter={"source_hidden": true} tags=["solution"]
bottom_half = region_mask((32, 32), "bottom half")
held_out = test_colour[:100]
completed = model.inpaint(held_out, bottom_half, top_s=1, seed=SEED)
blind = model.sample(len(held_out), top_s=1, seed=SEED)  # the same model, without the visible half


def colour_error(images):  # distance between the mean RGB colours of the erased half, averaged over images
    return (images[..., bottom_half].mean(-1) - held_out[..., bottom_half].mean(-1)).norm(dim=1).mean().item()


print(f"colour error of the erased half: completions {colour_error(completed):.3f}, "
      f"blind samples {colour_error(blind):.3f}")
print(f"σ per GMM layer: {[round(layer.sigma, 3) for layer in model.gmm_layers]}")
assert torch.equal(completed[..., ~bottom_half], held_out[..., ~bottom_half])  # the visible half comes back untouched
# After full training the completions match the plate far better than blind samples do. The visible half
# reaches the top layer, whose posteriors favour components with the same plate; those send control signals
# down that pick bottom-layer patches of that colour. A blind sample picks a plate at random. One epoch of
# six steps (quick mode) is not enough: σ is still large, the torus smoothing keeps all components of a layer
# almost alike, and the two errors are about the same — a sign of an untrained model, not of the method.

# %% [markdown]
# ## Exercise 3
#
# *Change a parameter and explain.* Sharpening's `rate` is measured against the largest stable step (see the
# docstring of `Sharpening`). Sample 20 images at top-S 1 without sharpening and with rates 0.1, 0.5, 1, 1.9
# and 3 (30 iterations each), and compare the bottom layer's objective. Predict first: where does raising the
# rate stop helping?

# %% jupyter={"source_hidden": true} tags=["solution"]
objective_by_rate = {0.0: bottom(model.sample(20, top_s=1, seed=SEED))}
for rate in (0.1, 0.5, 1.0, 1.9, 3.0):
    sharpened = model.sample(20, top_s=1, seed=SEED, sharpen=Sharpening(rate=rate, iterations=30))
    objective_by_rate[rate] = bottom(sharpened)  # the same seed draws the same samples before sharpening
for rate, value in objective_by_rate.items():
    print(f"rate {rate:3.1f}: bottom-layer objective {value:8.1f}")
assert objective_by_rate[0.5] > objective_by_rate[0.0]
assert objective_by_rate[3.0] < objective_by_rate[0.5]
# At every position the winning component's score is a concave quadratic in the pixels, and a pixel's
# curvature is at most c·s_max² (c = 9 patches, s_max the precision ceiling). A gradient step of
# η = rate / (c·s_max²) multiplies the distance to the optimum along the stiffest direction by |1 − rate|: it
# shrinks for rates below 2 (overshooting but still converging between 1 and 2), and it doubles with every
# step at rate 3, so thirty steps throw the pixels far outside [0, 1] and the clamp leaves noise. Small rates
# are safe but slow; rates near 1 get most of the gain in few iterations.

# %% [markdown]
# ## Exercise 4
#
# *Implement a small piece.* Write `fold_patches(images, kernel, stride)` that turns (N, 3, 32, 32) images into
# the (N, 5, 5, 432) map the first GMM layer models, with each patch's numbers in the layer's order
# o = (py·f + px)·C + c (the channel changes fastest). Check it against the model's own first layer, which
# works on channels-last maps. Then reshape the first layer's centroids into 12×12 colour patches and check
# that they are the pictures `component_images(0)` draws for the mosaic of section 2.

# %% jupyter={"source_hidden": true} tags=["solution"]
def fold_patches(images, kernel, stride):
    patches = images.unfold(2, kernel, stride).unfold(3, kernel, stride)  # (N, C, H', W', f, f)
    return patches.permute(0, 2, 3, 4, 5, 1).flatten(3)  # (N, H', W', f·f·C), channel fastest


fold = model.stack[0]
mine = fold_patches(test_colour[:4], fold.kernel, fold.stride)
print(f"{tuple(test_colour[:4].shape)} → {tuple(mine.shape)}")
assert torch.equal(mine, fold(test_colour[:4].permute(0, 2, 3, 1)))
centroids = torch.as_tensor(model.means_[0][0])  # (64, 432): one shared parameter set
colour_patches = centroids.reshape(-1, fold.kernel, fold.kernel, 3).permute(0, 3, 1, 2).clamp(0, 1)
assert torch.allclose(colour_patches, model.component_images(0).cpu())
# Because a patch is stored pixel by pixel with its three channels side by side, a centroid reshapes straight
# into a 12×12×3 colour patch, and one diagonal Gaussian models colour and position together. Stacking the
# channels in another order (torch's F.unfold puts the channel slowest) would train just as well, but the
# reshape would scramble the pictures, and a checkpoint saved in one order would be read wrongly in the other.
