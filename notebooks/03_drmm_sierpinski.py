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
# # 03 · Depth multiplies modes: a DRMM on the Sierpinski triangle
#
# **What you will see.** The Sierpinski triangle is self-similar: it is three half-size copies of itself, each
# of which is three copies, and so on. A DRMM with only $K = 3$ components per layer can exploit this: the
# first layer picks one of 3 big sub-triangles, the second one of 3 within it, and $L$ layers describe
# $3^L$ small triangles (paper 001 Fig. 2). We watch the modes multiply with a depth slider, check that each
# layer's σ roughly halves, and compare with a flat GMM that has the same number of parameters.
#
# The notebook follows paper 001 §3.3, on the up to $K^L$ modes of a DRMM's density, and Fig. 2 (the papers and
# their short names are in [docs/papers.md](../docs/papers.md)). Exercises with worked solutions close it.

# %%
# Parameters: budget(full=..., quick=...) picks the small values when DEEPMIX_QUICK=1 (CI)
# %matplotlib inline
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch

from deepmix_core import DRMM, GMM, budget, quick_mode
from deepmix_core.data import sierpinski
from deepmix_core.metrics import precision_recall
from deepmix_viz import FigureControls, plot_density, plot_depth_row, setup_notebook

N_LAYERS, N_COMPONENTS = 5, 3
STEPS = budget(full=12_000, quick=400)
BATCH_SIZE = 64
N_SAMPLES = 2000
N_PASSES = budget(full=32, quick=8)
SEED = 0
setup_notebook(seed=SEED)  # seeds torch and numpy, one CPU thread (tiny models), compact 80-dpi figures

# %% [markdown]
# ## 1. Data and model
#
# `sierpinski(depth=7)` subdivides a triangle 7 times and keeps the corners of all $3^7$ small triangles:
# $3^8 = 6561$ points (shared corners are kept twice, as in the reference code). The "held-out" set draws
# 2,000 of the same points at random; there is nothing else to hold out for a fixed fractal.

# %%
# NBVAL_CHECK_OUTPUT
data = sierpinski()
held_out = sierpinski(n=2000, seed=123)
model = DRMM(N_LAYERS, N_COMPONENTS, n_features=2)
print(f"points: {data.shape[0]} ({torch.unique(data, dim=0).shape[0]} distinct), held-out draws: {held_out.shape[0]}")
print(f"DRMM {N_LAYERS}×{N_COMPONENTS}: parameters per layer {[layer.n_parameters() for layer in model.layers]}, "
      f"total {model.n_parameters()}")
print(f"distinct sums of one mean per layer: {N_COMPONENTS}^{N_LAYERS} = {N_COMPONENTS ** N_LAYERS}")

# %%
history = model.fit(data, steps=STEPS, batch_size=BATCH_SIZE, seed=SEED, progress=not quick_mode())
print(history)
print(f"training took {history['time'][-1]:.1f} s")

# %% [markdown]
# ## 2. Modes multiply with depth
#
# A DRMM truncated after $j$ layers is a mixture over the $3^j$ sums
# $\boldsymbol\mu^{(1)}_{k_1} + \dots + \boldsymbol\mu^{(j)}_{k_j}$ (paper 001 §3.3: "up to $K^L$ likelihood
# modes"). In a live session, move the slider to add or remove layers one at a time. A saved copy of the
# notebook (on GitHub, for instance) shows the picture of the slider's first state, all five layers.

# %%
def draw_depth(depth):
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    plot_density(model, ax=ax, upto_layer=depth, n_passes=8, title=f"first {depth} layer(s): up to {3 ** depth} modes")
    return fig


depth_panel = FigureControls(
    draw_depth,
    {"depth": widgets.IntSlider(value=N_LAYERS, min=1, max=N_LAYERS, description="layers", continuous_update=False)},
)
depth_panel

# %% [markdown]
# All five depths side by side: samples on top, density below.

# %%
fig = plot_depth_row(model, data=data, n_samples=1500, seed=SEED)
fig.set_size_inches(11.5, 5)
fig.tight_layout()

# %% [markdown]
# ## 3. Each layer works at half the scale
#
# If the first layer has learned the three half-size sub-triangles, the residual it passes on is a
# Sierpinski triangle of half the size, and the next layer faces the same problem at half the scale. The
# learned per-layer $\sigma$ should therefore roughly halve from one layer to the next. A rerun of the reference
# implementation gave σ ≈ 0.244 / 0.123 / 0.062 / 0.032 / 0.017.

# %%
reference_sigmas = [0.244, 0.123, 0.062, 0.032, 0.017]
sigmas = model.sigmas
ratios = [later / earlier for earlier, later in zip(sigmas, sigmas[1:])]
print("learned sigma per layer:  ", [round(s, 3) for s in sigmas])
print("reference rerun:          ", reference_sigmas)
print("ratio to previous layer:  ", [round(r, 2) for r in ratios])

fig, ax = plt.subplots(figsize=(4.5, 3.3))
layers = np.arange(1, N_LAYERS + 1)
ax.semilogy(layers, sigmas, "o-", label="this model")
ax.semilogy(layers, reference_sigmas, "s--", label="reference rerun")
ax.semilogy(layers, sigmas[0] * 0.5 ** (layers - 1), ":", color="0.5", label="exact halving")
ax.set_xticks(layers)
ax.set_xlabel("layer")
ax.set_ylabel("σ (log scale)")
ax.legend(fontsize=8);

# %%
assert all(s > 0 for s in sigmas)
assert sigmas[-1] < 0.75 * sigmas[0], "deeper layers model finer detail"

# %% [markdown]
# ## 4. Against a flat GMM with the same number of parameters
#
# An isotropic GMM with $K$ components has $2K$ means, $K$ variances and $K - 1$ free weights: $4K - 1$
# parameters. We pick $K$ so that it matches the DRMM's count as closely as possible.

# %%
# NBVAL_CHECK_OUTPUT
gmm_components = round((model.n_parameters() + 1) / 4)
gmm = GMM(gmm_components)
gmm.fit(data, epochs=300, seed=SEED, progress=False)
print(f"DRMM {N_LAYERS}×{N_COMPONENTS}: {model.n_parameters()} parameters; "
      f"GMM with K = {gmm_components}: {gmm.n_parameters()} parameters")

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 4.1))
drmm_title = f"DRMM {N_LAYERS}×{N_COMPONENTS} ({model.n_parameters()} params)"
plot_density(model, ax=axes[0], n_passes=N_PASSES, title=drmm_title)
plot_density(gmm, ax=axes[1], title=f"GMM, K={gmm_components} ({gmm.n_parameters()} params)")
fig.tight_layout()

# %% [markdown]
# We score both with precision, recall and F1 (see notebook 01) on 2,000 points against 2,000 samples. The DRMM
# samples include the last layer's noise $\mathcal N(0, \sigma_L^2)$, so that both models are sampled from
# their full density.

# %%
scores = {
    "DRMM": precision_recall(held_out, model.sample(N_SAMPLES, noise=True, seed=SEED + 1)),
    "GMM": precision_recall(held_out, gmm.sample(N_SAMPLES, seed=SEED + 1)),
}
log_likelihoods = {
    "DRMM": model.log_prob(held_out, n_passes=N_PASSES, seed=SEED).mean().item(),
    "GMM": gmm.log_prob(held_out).mean().item(),
}
print(f"{'model':<6}{'precision':>11}{'recall':>8}{'F1':>7}{'mean log-lik':>14}")
for name, score in scores.items():
    print(f"{name:<6}{score.precision:>11.3f}{score.recall:>8.3f}{score.f1:>7.3f}{log_likelihoods[name]:>14.3f}")

# %%
assert all(0.0 <= s.f1 <= 1.0 for s in scores.values())
assert scores["DRMM"].recall > 0.5 and scores["GMM"].recall > 0.5

# %% [markdown]
# With about 140 parameters the GMM can afford some 35 blobs, each blurring several small triangles, while the
# DRMM's 3 components per layer combine into $3^5 = 243$ sharp modes placed where the fractal has them. This
# is the best case for depth: the data are self-similar, so the same residual pattern is useful in every
# sub-triangle. On data without such structure (the Swiss roll, notebook 04) the advantage shrinks.

# %% [markdown]
# ## Exercise 1
#
# *Predict, then run.* Every layer of $K = 3$ multiplies the number of mean sums by 3. How fast does the
# parameter count grow? With the per-layer count $1 + K(D + K(l-1)) + K$ of notebook 02, predict the total for
# $L = 1, \dots, 8$ layers of 3 components on 2-D data, and how many components a flat isotropic GMM
# ($4K - 1$ parameters) could have at each of those budgets. Then check with `DRMM(L, 3, n_features=2)`.

# %% jupyter={"source_hidden": true} tags=["solution"]
def drmm_parameters(n_layers, k=3, dim=2):
    return sum(1 + k * (dim + k * (layer - 1)) + k for layer in range(1, n_layers + 1))


print(f"{'L':>2}{'DRMM parameters':>17}{'mean sums 3^L':>15}{'GMM components':>16}")
for n_layers in range(1, 9):
    count = drmm_parameters(n_layers)
    assert count == DRMM(n_layers, 3, n_features=2).n_parameters()
    print(f"{n_layers:>2}{count:>17}{3 ** n_layers:>15,}{round((count + 1) / 4):>16}")
# Each layer adds 1 + 3·2 + 3 = 10 parameters plus a 3×3 table for every earlier layer, so the total,
# 10 L + 9 L(L − 1)/2, grows with the square of L, while the number of sums grows as 3^L. At L = 7 there are
# 3^7 = 2,187 sums, one for each smallest triangle of the data, for 259 parameters; a flat GMM with those
# 259 parameters has 65 components. The count says nothing yet about whether training puts the sums in the
# right places; on the Sierpinski triangle it does, because each layer can repeat the same pattern at half
# the scale (section 3).

# %% [markdown]
# ## Exercise 2
#
# *Change a parameter and explain.* The fractal splits into 3 half-size copies of itself, and $K = 3$ matches
# that. Change $K$: a DRMM with 2 layers of 9 components has almost the same number of parameters as the 5×3
# model (137 against 140), and one with 5 layers of 4 components has more (225). Predict the ratio
# $\sigma_2 / \sigma_1$ of the 2×9 model, and whether the 5×4 model's σ keeps halving from layer to layer.
# Then train both on a short budget and compare their σ and the F1 of their samples with section 4.

# %% jupyter={"source_hidden": true} tags=["solution"]
VARIANT_STEPS = budget(full=3000, quick=300)
variants = {}
for n_layers, k in ((2, 9), (5, 4)):
    variant = DRMM(n_layers, k)
    variant.fit(data, steps=VARIANT_STEPS, batch_size=BATCH_SIZE, seed=SEED, progress=False)
    variants[n_layers, k] = variant
    sigmas_variant = variant.sigmas
    f1 = precision_recall(held_out, variant.sample(N_SAMPLES, noise=True, seed=SEED + 1)).f1
    print(f"DRMM {n_layers}×{k} ({variant.n_parameters()} parameters, {VARIANT_STEPS} steps): "
          f"σ {[round(sigma, 3) for sigma in sigmas_variant]}, ratios "
          f"{[round(later / earlier, 2) for earlier, later in zip(sigmas_variant, sigmas_variant[1:])]}, F1 {f1:.3f}")
print(f"DRMM {N_LAYERS}×{N_COMPONENTS} of section 1 ({model.n_parameters()} parameters, {STEPS} steps): ratios "
      f"{[round(r, 2) for r in ratios]}, F1 {scores['DRMM'].f1:.3f}")
assert variants[2, 9].sigmas[1] < variants[2, 9].sigmas[0], "the second layer works at a finer scale"
# Nine components can hold the nine quarter-size copies, two levels of the fractal at once, so the second layer
# of the 2×9 model faces the same problem at a quarter of the scale: its σ ratio comes out near 1/4 at the full
# budget, and 9² = 81 sums trace the triangle about as well as the 5×3 model's 243 do. What matters is that K is
# a power of the branching factor. The Sierpinski triangle is made of three copies of itself, not four, so the
# 5×4 model cannot repeat one pattern at half the scale: its σ shrink for a layer or two and then stall, and its
# F1 stays below the 5×3 model's although it has more parameters and 4⁵ = 1,024 paths. (The 5×3 model of
# section 1 trained four times longer; trained for the same 3,000 steps it scored only a little lower, so the
# comparison holds. In quick mode all three models are far from converged.)

# %% [markdown]
# ## Exercise 3
#
# *Implement a small piece.* List all $3^5 = 243$ sums $\boldsymbol\mu^{(1)}_{k_1} + \dots + \boldsymbol\mu^{(5)}_{k_5}$
# of the trained model (`model.centroids[l]` holds layer $l$'s three means; `torch.cartesian_prod` lists the
# paths). Check that every sample drawn without noise is one of them, count how many different sums 2,000 samples
# use, and how many sums lie on the fractal. Colour each sum by its first-layer component: what do you expect
# to see?

# %% jupyter={"source_hidden": true} tags=["solution"]
paths = torch.cartesian_prod(*[torch.arange(N_COMPONENTS)] * N_LAYERS)  # (243, 5): one component per layer
mode_sums = sum(model.centroids[layer][paths[:, layer]] for layer in range(N_LAYERS))  # (243, 2)
bare_samples = model.sample(N_SAMPLES, seed=SEED + 1)  # noise=False: each sample is a sum of means
distances = (bare_samples[:, None, :] - mode_sums[None]).norm(dim=-1)  # exact differences (cdist rounds more)
nearest = distances.min(dim=1)
on_fractal = torch.cdist(mode_sums, data).min(dim=1).values < 0.02  # about the side of the smallest triangles
print(f"{len(mode_sums)} sums; largest distance from a sample to its sum {nearest.values.max().item():.1e}; "
      f"the samples use {nearest.indices.unique().numel()} of them; {int(on_fractal.sum())} lie within 0.02 of "
      f"the data")
assert mode_sums.shape == (N_COMPONENTS**N_LAYERS, 2)
assert nearest.values.max() < 1e-4, "a sample without noise is always one of the sums"

fig, ax = plt.subplots(figsize=(4.5, 4.2))
ax.scatter(*data.T, s=1, c="0.85")
ax.scatter(*mode_sums.T, s=12, c=[f"C{k}" for k in paths[:, 0].tolist()])
ax.set_aspect("equal")
ax.set_title("the 243 sums, coloured by the first layer's choice", fontsize=9)
plt.show()
# Sampling draws one component per layer and adds the means, so every sample is one of the 243 sums exactly
# (up to float rounding). The colours split the triangle into its three half-size copies: the first layer
# picks the copy and the other four layers place the point inside it, with the same residual pattern in every
# copy. After full training almost every sum lies on the fractal and the samples visit almost all of them; a
# sum that the samples never visit is one that the truncation or the tables between layers make rare or rule
# out. In quick mode many sums still lie between the small triangles.
