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
# # 00 · Start here: deep mixture models in eight notebooks
#
# **What you will see.** What a *deep* mixture model is and why anyone would want one; the map of this
# course (which notebook answers which question); four of the five model families training side by side
# through the one set of verbs they share; and the practical bits: quick mode, the pretrained checkpoints,
# running on a GPU, and how the exercises work. The papers are listed, with the short names (000–004) used
# everywhere in the course, in [docs/papers.md](../docs/papers.md).
#
# ## Why mixtures, and why deep ones
#
# A Gaussian mixture model (GMM) describes data as a weighted sum of bell curves,
# $p(\mathbf x) = \sum_k w_k\,\mathcal N(\mathbf x \mid \boldsymbol\mu_k, \mathbf C_k)$. It has a rare
# property among generative models: after training, you can **condition on anything** — fix some
# variables, add a Gaussian wish, demand $\mathbf a^\top\mathbf x + b > 0$ — and sample, without retraining,
# because every wish only re-weights the components (paper 001, Fig. 1). Its weakness is capacity: to trace a
# thin curve, a fractal or an image, a flat mixture needs a huge number of components.
#
# The three families in this course make mixtures *deep* in three different ways:
#
# * **DRMM** (deep residual mixture model, papers 000/001): a stack of small mixtures, each modelling what
#   the layers before it left unexplained (the *residual*). $L$ layers of $K$ components combine into up to
#   $K^L$ modes, and the conditioning of a GMM still works.
# * **DCGMM** (deep convolutional GMM, papers 002/003): mixtures over image patches, stacked like the layers
#   of a CNN; sampling runs top-down from whole digits to strokes to pixels.
# * **GenMM / LatMM** (paper 004): mixtures whose components are normalizing flows, trained by
#   expectation-maximisation; their likelihoods are exact.

# %%
# Parameters: budget(full=..., quick=...) picks the small values when DEEPMIX_QUICK=1 (CI)
# %matplotlib inline
import matplotlib.pyplot as plt
import torch

from deepmix_core import DCGMM, DRMM, GMM, GenMM, Inequality, LatMM, budget, quick_mode
from deepmix_core.data import load_digits_images, swiss_roll
from deepmix_core.pretrained import available, pretrained_info
from deepmix_viz import plot_image_grid, setup_notebook

EPOCHS = budget(full=40, quick=4)  # passes over the Swiss roll for every family below
SEED = 0
setup_notebook(seed=SEED)  # seeds torch and numpy, one CPU thread (tiny models), compact 80-dpi figures

# %% [markdown]
# ## The map
#
# | notebook | the question it answers | paper |
# |---|---|---|
# | `01_gmm_conditioning` | How does a trained GMM condition on wishes, and why does it need many components? | 001 §1 |
# | `02_drmm_swiss_roll` | What does a DRMM learn layer by layer, and how does the curriculum train it? | 001 §3.3–3.5 |
# | `03_drmm_sierpinski` | Why do modes multiply as $K^L$ with depth? | 000, 001 |
# | `04_depth_vs_parameters` | At an equal parameter budget, when does depth pay? | 001 Fig. 7 |
# | `05_inverse_kinematics` | Can one model, trained once, answer any inverse-kinematics query? | 001 Fig. 6 |
# | `06_dcgmm_mnist` | How does a convolutional mixture sample, inpaint, spot outliers and classify images? | 002, 003 |
# | `07_dcgmm_svhn` | The same for colour images | 003 |
# | `08_flow_mixtures` | What do flows add to mixtures (exact likelihoods), and how do they classify? | 004 |
# | `09_which_model` | Which family should I use, for what, and what does each cost? | all |
#
# The path runs GMM → DRMM → inverse kinematics → image models → flows → comparison. Notebook 09 puts every
# family side by side on the same data; the cell below gives a first taste.
#
# ## One set of verbs for every family
#
# Every model in `deepmix_core` derives from one base class and answers the same verbs:
#
# * `fit(data, epochs=…)` or `fit(data, steps=…)`, with `batch_size`, `seed`, `progress`, and `warm_start`
#   (continue training instead of starting afresh); it returns a `History` of the training;
# * `sample(n, known=…, weight=…, priors=…, constraints=…, classes=…, seed=…)` — a family that cannot honour
#   a condition says so with `NotImplementedError` instead of ignoring it;
# * `log_prob(x)`, whose class attribute `log_prob_kind` says whether it is `"exact"`, an `"estimate"` or a
#   `"score"`;
# * learned state in attributes ending with an underscore (`weights_`, `means_`), and `save` / `load`.
#
# So one loop trains four families on the Swiss roll (the fifth, the DCGMM, models images):

# %%
data = swiss_roll(n=3000, seed=SEED)
models = {
    "GMM": GMM(n_components=32),
    "DRMM": DRMM(n_layers=3, n_components=8),
    "GenMM": GenMM(n_components=2, flow={"kind": "vector", "dim": 2, "n_layers": 4, "hidden": 32}, seed=SEED),
    "LatMM": LatMM(n_components=4, flow={"kind": "vector", "dim": 2, "n_layers": 4, "hidden": 32}, seed=SEED,
                   mean_init_std=1.0),
}
histories = {name: model.fit(data, epochs=EPOCHS, batch_size=128, seed=SEED, progress=False)
             for name, model in models.items()}
# a DRMM sample is a sum of one component mean per layer; noise=True adds the last layer's spread, as a GMM's does
sample_options = {"DRMM": {"noise": True}}

fig, axes = plt.subplots(1, len(models), figsize=(13, 3.4))
for ax, (name, model) in zip(axes, models.items()):
    samples = model.sample(1500, seed=SEED, **sample_options.get(name, {}))
    ax.scatter(*data.T, s=1, c="0.8")
    ax.scatter(*samples.T, s=1, c="C3")
    history = histories[name]
    ax.set_title(f"{name}: {history.notes['steps']} steps\n({history.notes['step_unit']})", fontsize=8)
    ax.set_xlim(-1.3, 1.3)
    ax.set_ylim(-1.3, 1.3)
    ax.set_aspect("equal")
fig.tight_layout()

# %% [markdown]
# The same `epochs` means a different amount of work per family, and each `History` says what one step was:
# an EM iteration over all the data (GMM), or one gradient update on a mini-batch (the others). Forty epochs
# are plenty for EM, but for the DRMM they are 960 of the 20,000 steps it gets by default, and for the flows a
# short run too, so their samples are still rough; each notebook sets budgets that suit its family. The next
# cell reads what each model can do from the models themselves: how to read `log_prob`, and which conditions
# `sample` honours. (The contract tests in `tests/test_model_contract.py` check that every model does exactly
# what it declares.)

# %%
# NBVAL_CHECK_OUTPUT
every_family = {**models, "DCGMM": DCGMM.from_spec("F(2,2)-G(4)-F(4,1)-G(9)", input_shape=(1, 8, 8))}
print(f"{'family':<7} {'log_prob is':<10} sample() honours")
for name, model in every_family.items():
    honours = ", ".join(sorted(model.supported_conditions)) or "no conditions"
    print(f"{name:<7} {model.log_prob_kind:<10} {honours}")

# %% [markdown]
# Asking a family for something it cannot do gives a clear error rather than a silently unconditioned sample:

# %%
try:
    models["GenMM"].sample(10, constraints=[Inequality([1.0, 0.0], 0.0)])
except NotImplementedError as refusal:
    print(refusal)

# %% [markdown]
# ## Quick mode, full mode
#
# Each notebook starts with a parameters cell where every training budget is written as
# `budget(full=…, quick=…)`. You get the **full** budgets: what the text describes and the saved outputs
# show. The continuous-integration tests set the environment variable `DEEPMIX_QUICK=1` and get the tiny
# ones, which only check that every cell runs; their numbers are not meant to be read.

# %%
print(f"quick mode is {'on' if quick_mode() else 'off'}: EPOCHS = {EPOCHS}")

# %% [markdown]
# ## Pretrained checkpoints
#
# The inverse-kinematics and MNIST notebooks load small trained models that ship with the package
# (`deepmix_core/pretrained/`), so they open in seconds; each notebook also shows how to retrain its model,
# and `make pretrained` retrains them all. Every checkpoint carries a record of how it was made:

# %%
for name in available():
    info = pretrained_info(name)
    what = info.get("spec") or f"DRMM {info['layers']}×{info['components']} on {info['rig']} poses"
    print(f"{name:<16} {what}; trained in {info['train_seconds']:.0f} s")

# %% [markdown]
# ## Running on a GPU
#
# Everything is plain PyTorch and follows the device of the model. The course runs on a laptop CPU; with a
# CUDA GPU, move the model and the data there and keep the rest of the code unchanged:

# %%
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
model = GMM(n_components=16).to(device)
model.fit(data.to(device), epochs=EPOCHS, progress=False)
print(f"trained on {model.device}; samples come back on {model.sample(5, seed=SEED).device}")

# %% [markdown]
# ## How the exercises work
#
# Every notebook ends with a few exercises: *predict, then run*; *change a parameter and explain*; *implement a
# small piece*. Each is followed by a worked solution in a collapsed cell (the "…" under the exercise;
# click it to expand), which runs with the rest of the notebook, so the solutions stay correct as the code
# changes. Try first, then compare. Here is a warm-up.

# %% [markdown]
# ## Exercise 1
#
# scikit-learn ships 1,797 handwritten digits of 8×8 pixels with the library, so they need no download. Load
# them with `load_digits_images()`, print their shape and value range, and show the first 20 as a grid with
# `plot_image_grid`. Which model family of this course is built for such data?

# %% jupyter={"source_hidden": true} tags=["solution"]
images, labels = load_digits_images()
print(f"{tuple(images.shape)} images, values in [{images.min():.1f}, {images.max():.1f}], "
      f"labels {labels[:20].tolist()}")
assert tuple(images.shape) == (1797, 1, 8, 8) and images.min() == 0 and images.max() == 1
plot_image_grid(images[:20], nrow=10, value_range=(0, 1), title="the first 20 digits")
plt.show()
# Images (N, C, H, W) in [0, 1] are what the DCGMM of notebooks 06 and 07 is built for: its layers work on image
# patches. Notebook 08 models these very digits with GenMM and LatMM, dequantised and flattened to 64-vectors.
