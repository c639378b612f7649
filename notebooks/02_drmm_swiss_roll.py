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
# # 02 · A Deep Residual Mixture Model on the Swiss roll
#
# **What you will see.** We train a 3-layer DRMM with 16 components per layer on the Swiss roll and look
# inside it: the three-stage training curriculum of paper 001 §3.4, how each layer refines the previous
# layers' result (density and samples per depth), the residuals each layer passes on, and the log-likelihood
# estimate with its spread. Then we condition the trained model on a known value, an inequality, a box and a
# prior (paper 001 §3.5, Fig. 2), try the interactive explorer, and save and reload the model.
#
# The notebook follows paper 001 §3.3–3.5: the likelihood view of a DRMM, its training curriculum and its
# conditioning (the papers and their short names are in [docs/papers.md](../docs/papers.md)). Exercises with
# worked solutions close it.

# %%
# Parameters: budget(full=..., quick=...) picks the small values when DEEPMIX_QUICK=1 (CI)
# %matplotlib inline
import math
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from deepmix_core import DRMM, Box, GaussianPrior, Inequality, budget, quick_mode
from deepmix_core.data import swiss_roll
from deepmix_core.metrics import precision_recall
from deepmix_viz import (
    ConditioningExplorer,
    draw_conditions,
    plot_centroids,
    plot_density,
    plot_depth_row,
    plot_residual_maps,
    plot_training,
    setup_notebook,
)

STEPS = budget(full=12_000, quick=400)
BATCH_SIZE = 64
LEARNING_RATE = 0.005
N_PASSES = budget(full=32, quick=8)  # importance-sampling passes of the log-likelihood estimate
SEED = 0
setup_notebook(seed=SEED)  # seeds torch and numpy, one CPU thread (tiny models), compact 80-dpi figures

# %% [markdown]
# ## 1. Data and model
#
# A DRMM layer is a mixture of $K$ isotropic Gaussians with one shared $\sigma$ per layer. Layer $l$ sees the
# *residual* $\mathbf r_{l-1}$ of the data (with $\mathbf r_0 = \mathbf x$) and the component choices
# $h_1,\dots,h_{l-1}$ of the layers before it. It picks a component $k$ and passes on the residual
#
# $$ \mathbf r_l = \mathbf r_{l-1} - \boldsymbol\mu^{(l)}_{k}, $$
#
# together with its own choice, so that the next layer models what is left over. A sample is a sum of means,
# $\sum_l \boldsymbol\mu^{(l)}_{k_l}$. Each layer has $1$ (σ) $+\,K(D + K(l-1))$ (means and tables over the
# earlier choices) $+\,K$ (weights) parameters.

# %%
# NBVAL_CHECK_OUTPUT
data = swiss_roll()
held_out = swiss_roll(n=2000, seed=123)
model = DRMM(3, 16, n_features=2)
print(f"training points: {data.shape[0]}, held-out points: {held_out.shape[0]}")
print(f"parameters per layer: {[layer.n_parameters() for layer in model.layers]}, total {model.n_parameters()}")

# %%
history = model.fit(
    data, steps=STEPS, batch_size=BATCH_SIZE, lr=LEARNING_RATE, seed=SEED, progress=not quick_mode()
)
print(history)
print(f"training took {history['time'][-1]:.1f} s; stage boundaries at steps {history.stage_boundaries()}")

# %% [markdown]
# ## 2. The three-stage curriculum
#
# Maximising the deep model's likelihood directly tends to get stuck, so training follows a curriculum in
# which each stage uses a third of the iterations (paper 001 §3.4):
#
# 1. **Stage 1, layer by layer.** The loss is a *proxy*: the sum over $l$ of the negative log-likelihood
#    of the model made of the first $l$ layers. Gradients are stopped between layers, so each layer
#    learns on its own input. The mixture weights $w_k$ and the terms that tie a layer to the earlier
#    layers' choices are left out (uniform weights). A small regulariser pulls every component towards its
#    closest data point, so that no component is left without data ("orphans").
# 2. **Stage 2, with the latent terms.** Same proxy, but now each layer's likelihood also scores how well a
#    component explains the earlier layers' choices, $\sum_j \mathrm{softmax}(\mathbf h_j)^\top \log \mathbf p_{kj}$.
#    This teaches the model which *combinations* of components are plausible, so it stops producing sums of
#    means that fall between the arms of the spiral.
# 3. **Stage 3, end-to-end.** The gradient stops are removed and the weights $w_k$ are switched on. The loss
#    moves linearly from the proxy to the true log-likelihood of the full model, and the learning rate drops
#    to $0.1\,\mathrm{lr}_0$ and anneals linearly to 0.
#
# The curves below are moving averages of the per-layer losses and of their sum. The jump at the stage-3
# boundary is expected: there the loss itself changes from the sum of per-depth proxies to (gradually) a
# single term.

# %%
fig = plot_training(history, smooth=max(10, STEPS // 200), title="DRMM 3×16 on the Swiss roll")

# %%
stages, lrs = history["stage"], history["lr"]
assert len(history) == STEPS and len(history.stage_boundaries()) == 2
assert set(np.unique(stages)) == {1, 2, 3}
assert lrs[stages == 3].max() <= 0.1 * LEARNING_RATE + 1e-12 and lrs[-1] < 0.01 * LEARNING_RATE
assert history["layer_losses"].shape == (STEPS, 3)

# %% [markdown]
# ## 3. What each layer adds
#
# `upto_layer=j` truncates the model after $j$ layers, which is itself a mixture. The top row shows samples
# (with the last used layer's $\mathcal N(0,\sigma^2)$ noise, so they match the density), the bottom row the
# estimated density $p(\mathbf x)$ of the first $j$ layers. The first layer places 16 blobs along the spiral;
# the second copies a 16-point pattern around each of them; the third refines again.

# %%
fig = plot_depth_row(model, data=data, n_samples=1000, seed=SEED)
fig.set_size_inches(8, 5.3)
fig.tight_layout()

# %% [markdown]
# Each layer only ever sees residuals. The panels below show, for each layer, its input points (grey), its 16
# centroids (coloured) and the residuals $\mathbf r_l = \mathbf r_{l-1} - \boldsymbol\mu_k$ it passes on (blue),
# with arrows from a few inputs to their residuals. Residual spaces are much smaller than the data space: the
# later layers model small corrections.

# %%
fig = plot_residual_maps(model, data, n_arrows=25, seed=SEED)

# %%
fig = plot_centroids(model, data=data)

# %%
print("per-layer sigma:", [round(s, 4) for s in model.sigmas])
traces = model.trace(data[:2000], seed=SEED)
spreads = [t.inputs.std().item() for t in traces]
print("std of each layer's input:", [round(s, 3) for s in spreads])
assert spreads[1] < spreads[0] and spreads[2] < spreads[0], "residuals should be smaller than the data"

# %% [markdown]
# ## 4. How good is the density? An estimate with error bars
#
# The exact likelihood would sum over all $16^3$ paths of components. Instead, `log_prob` draws one path per
# *pass* from each layer's (truncated) posterior $q(h_l)$ and returns the importance estimate
#
# $$ \hat p(\mathbf x) = \frac{p_L(\mathbf r_{L-1}, h_{<L})}{q(h_1)\cdots q(h_{L-1})}, $$
#
# averaging $\hat p$ over passes (paper 001 Eq. 10). `log_prob_passes` returns the single-pass estimates, so we
# can see how much they scatter. The truncation of $q$ drops unlikely paths, so the estimate tends to err low.

# %%
passes = model.log_prob_passes(held_out, n_passes=N_PASSES, seed=SEED)  # (passes, points)
estimate = model.log_prob(held_out, n_passes=N_PASSES, seed=SEED).mean().item()
per_pass = passes.mean(dim=1)
print(f"held-out mean log-likelihood (average of {N_PASSES} passes): {estimate:.3f} nats")
print(f"single-pass means: {per_pass.mean().item():.3f} ± {per_pass.std().item():.3f} (std over passes)")
print(f"typical per-point std over passes: {passes.std(dim=0).median().item():.3f}")
for depth in range(1, model.n_layers + 1):
    ll = model.log_prob(held_out, n_passes=N_PASSES, upto_layer=depth, seed=SEED).mean().item()
    print(f"  first {depth} layer(s): {ll:.3f}")

# %%
assert passes.shape == (N_PASSES, held_out.shape[0]) and torch.isfinite(passes).all()
assert estimate > -1.2, "better than a uniform density on [-1, 1]² (log 1/4 ≈ -1.39)"
assert estimate >= per_pass.mean().item() - 1e-4, "averaging in probability space never lowers the estimate"

# %% [markdown]
# ## 5. Conditioning a trained DRMM
#
# Wishes enter a DRMM exactly as in a GMM (notebook 01): each layer adds $\log c_k$ to its component logits.
# What is new is that the wishes **flow through the network with the data** (paper 001 §3.5). After layer $l$
# picked means $\hat{\mathbf x}$, the next layer receives them in its own residual space: substituting
# $\mathbf x = \mathbf r + \hat{\mathbf x}$ into $\mathbf a^\top\mathbf x + b > 0$ gives
# $\mathbf a^\top\mathbf r + (b + \mathbf a^\top\hat{\mathbf x}) > 0$; a known value $v$ becomes $v - \hat x_d$, a
# prior mean moves by $-\hat{\mathbf x}$. Deeper layers therefore fix the mistakes of earlier ones.
#
# Below: 1,000 samples each with $x_1 = 0.5$ known, the inequality $x_1 + 0.2x_2 > 0$ of paper 001 Fig. 2, a
# box, and a Gaussian prior. Known values come back exactly as given (`exact_known=True`, the default); the
# network's own reconstruction of them is the subject of the cells after the plots.

# %%
known_row = torch.tensor([0.5, math.nan])
inequality = Inequality([1.0, 0.2], 0.0)
box = Box([-0.6, -0.2], [0.1, 0.6])
prior = GaussianPrior([0.3, -0.4], [0.15, 0.15])
wishes = {
    "known $x_1 = 0.5$": {"known": known_row},
    "inequality $x_1 + 0.2x_2 > 0$": {"constraints": [inequality]},
    "box": {"constraints": [box]},
    "Gaussian prior": {"priors": [prior]},
}
conditioned = {name: model.sample(1000, seed=SEED + 1, **wish) for name, wish in wishes.items()}

fig, axes = plt.subplots(2, 2, figsize=(7.5, 7.5))
for ax, (name, wish) in zip(axes.ravel(), wishes.items()):
    plot_density(model, ax=ax, samples=conditioned[name], title=name, n_passes=8)
    draw_conditions(ax, **wish)
fig.tight_layout()

# %%
unconditional = model.sample(1000, seed=SEED + 1)
known_error = (model.sample(1000, seed=SEED + 1, known=known_row, exact_known=False)[:, 0] - 0.5).abs()
ineq_rate = inequality.holds(conditioned["inequality $x_1 + 0.2x_2 > 0$"]).float().mean().item()
box_rate = box.holds(conditioned["box"]).float().mean().item()
prior_shift = conditioned["Gaussian prior"].mean(0)
print(f"known x1 = 0.5, reconstructed: mean |x1 - 0.5| = {known_error.mean().item():.3f} (unconditional: "
      f"{(unconditional[:, 0] - 0.5).abs().mean().item():.3f})")
print(f"inequality satisfied by {100 * ineq_rate:.1f}% "
      f"(unconditional {100 * inequality.holds(unconditional).float().mean().item():.1f}%)")
print(f"box satisfied by {100 * box_rate:.1f}% "
      f"(unconditional {100 * box.holds(unconditional).float().mean().item():.1f}%)")
print(f"prior: sample mean {prior_shift.numpy().round(2)} (prior mean [0.3, -0.4])")

# %% [markdown]
# ### Known values: returned exactly, or reconstructed as in the paper
#
# A DRMM sample is a sum of one mean per layer, $\hat{\mathbf x} = \boldsymbol\mu^{(1)}_{k_1} + \dots +
# \boldsymbol\mu^{(L)}_{k_L}$. The paper reads the known variables back from that sum, so $x_1$ comes out near
# 0.5 rather than at 0.5. deepmix returns the known values as given (as a GMM does) and keeps the unknown ones
# from the same sample; `exact_known=False` shows the reconstruction. Two things set its error: the last
# layer's means are spaced about its $\sigma_L$ apart, so even the best choice misses by a fraction of
# $\sigma_L$; and inference truncation ($\alpha_t = 0.05$: any component whose posterior is at least 5 % of the
# best may be drawn) sometimes picks a worse one. Setting $\alpha_t = 1$ (always the best component)
# separates the two: with full budgets the best choices miss by well under $\sigma_L$ and truncation causes
# most of the gap.

# %%
reconstructed = model.sample(1000, seed=SEED + 1, known=known_row, exact_known=False)
gap = (reconstructed[:, 0] - 0.5).abs()
model.truncation = 1.0  # for this cell only: draw the most probable component in every layer
greedy_gap = (model.sample(1000, seed=SEED + 1, known=known_row, exact_known=False)[:, 0] - 0.5).abs()
model.truncation = 0.05  # back to the default
print(f"exact (default): x1 = 0.5 in {100 * (conditioned['known $x_1 = 0.5$'][:, 0] == 0.5).float().mean():.0f}% "
      "of samples")
print(f"reconstructed:   mean |x1 - 0.5| = {gap.mean():.4f}, within 0.05 in {100 * (gap < 0.05).float().mean():.1f}%")
print(f"  best component in every layer (alpha_t = 1): mean |x1 - 0.5| = {greedy_gap.mean():.4f}")
print(f"  last layer's sigma = {model.sigmas[-1]:.4f}")

# %%
assert (conditioned["known $x_1 = 0.5$"][:, 0] == 0.5).all()
assert greedy_gap.mean() <= gap.mean()  # always picking the best component never does worse here
assert ineq_rate > 0.85
assert box_rate > 0.6
assert torch.linalg.norm(prior_shift - torch.tensor([0.3, -0.4])) < 0.25

# %% [markdown]
# ## 6. The conditioning explorer
#
# Drag the sliders in a live session: the `depth` slider shows how the conditioned samples sharpen as more
# layers join in. A saved copy of the notebook (on GitHub, for instance) shows a picture of the explorer's
# first state instead.

# %%
explorer = ConditioningExplorer(model, data=data, n_samples=500, seed=SEED)
explorer

# %% [markdown]
# The same callbacks, called from code: the inequality of Fig. 2 and a known $x_1$ at once, with all three
# layers.

# %%
samples = explorer.update(ineq_on=True, ineq_angle=math.degrees(math.atan2(0.2, 1.0)), ineq_offset=0.0,
                          known_on=True, known_x=0.5, depth=3)
print(f"{len(samples)} samples; satisfaction: {explorer.satisfaction()}")
assert explorer.satisfaction()["inequality"] > 0.8 and explorer.satisfaction()["known"] < 0.2

# %% [markdown]
# ## 7. Saving and loading
#
# `save` writes the configuration and the parameters to one file; `DRMM.load` rebuilds the model. With the same
# seed, the reloaded model gives exactly the same samples and likelihood estimates.

# %%
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "drmm_swiss_roll.pt"
    model.save(path)
    restored = DRMM.load(path)
    print(f"saved {path.name}: {path.stat().st_size / 1024:.1f} kB")

assert torch.equal(restored.sample(100, seed=5), model.sample(100, seed=5))
assert torch.allclose(restored.log_prob(held_out[:200], seed=5), model.log_prob(held_out[:200], seed=5))
print("round trip OK:", restored)

# %% [markdown]
# ## Exercise 1
#
# *Change a parameter and explain.* `fit` accepts `schedule="none"`: plain end-to-end maximisation of the
# likelihood from the first step, without the curriculum of section 2 (the comparison of paper 001 Fig. 5).
# Train two 3×16 models on a short budget, one with each schedule and otherwise the same settings, and compare
# their held-out log-likelihood estimates, the F1 of their samples (notebook 01, section 5) and their σ per
# layer. Which layers stay coarse without the curriculum, and why?

# %% jupyter={"source_hidden": true} tags=["solution"]
SHORT_STEPS = budget(full=3000, quick=200)
short_runs = {}
for schedule in ("curriculum", "none"):
    short_runs[schedule] = DRMM(3, 16)
    short_runs[schedule].fit(data, steps=SHORT_STEPS, batch_size=BATCH_SIZE, lr=LEARNING_RATE, seed=SEED,
                             schedule=schedule, progress=False)
    ll = short_runs[schedule].log_prob(held_out, n_passes=N_PASSES, seed=SEED).mean().item()
    f1 = precision_recall(held_out, short_runs[schedule].sample(2000, noise=True, seed=SEED + 1)).f1
    print(f"{schedule:>10}, {SHORT_STEPS} steps: held-out log-likelihood {ll:.3f}, F1 {f1:.3f}, "
          f"sigma per layer {[round(sigma, 3) for sigma in short_runs[schedule].sigmas]}")
assert short_runs["curriculum"].sigmas[1] < short_runs["none"].sigmas[1]
# With the curriculum, stages 1 and 2 score every depth on its own, with gradients stopped between layers: the
# first layer alone must already describe the spiral as well as 16 blobs can, and each later layer must explain
# what the earlier ones left over. So σ falls from layer to layer and every layer does a share of the work.
# Trained end to end from the first step, only the full model's likelihood counts, and nothing asks the first
# layers to be good on their own: their σ stay wide and the last layer carries the fine detail almost alone.
# Over a few seeds at the full budget the curriculum usually gave the better F1, but the two schedules'
# log-likelihood estimates came within a few hundredths of a nat of each other and their order changed from
# run to run (the plain schedule may well come out ahead above), so one run's likelihoods cannot rank the two
# schedules. The σ per layer tell the difference reliably. In quick mode neither run has got far and the
# scores are mixed; the middle layer's σ already shows the difference.

# %% [markdown]
# ## Exercise 2
#
# *Implement a small piece.* The data are the sum of one mean per layer plus what the last layer leaves over,
# $\mathbf x = \sum_l \boldsymbol\mu^{(l)}_{k_l} + \mathbf r_L$. Using `model.trace(held_out)` (each entry holds
# the layer's `centroids`, the `components` it chose for every row, its `residuals` and its `sigma`), write
# `reconstruct(traces)`, which adds up the chosen means of all layers, and check the identity. Then compare the
# mean length of each layer's residual with that layer's σ.

# %% jupyter={"source_hidden": true} tags=["solution"]
def reconstruct(traces):
    return sum(trace.centroids[trace.components] for trace in traces)  # Σ_l μ^(l)_{k_l}, one row per point


traces = model.trace(held_out, seed=SEED)
gap = (held_out - reconstruct(traces) - traces[-1].residuals).abs().max().item()
print(f"largest |x − Σ μ − r_L|: {gap:.1e}")
assert gap < 1e-5
for trace in traces:
    length = trace.residuals.norm(dim=1).mean().item()
    print(f"layer {trace.layer + 1}: mean residual length {length:.3f}, σ = {trace.sigma:.3f}, "
          f"ratio {length / trace.sigma:.2f}")
# Each layer subtracts the mean it chose and hands on the rest, so the chosen means and the last residual add up
# to the data exactly (up to float rounding): the DRMM is a coarse-to-fine code of every point. The residual a
# layer passes on is what its Gaussian did not explain, so its typical length is set by that layer's σ. For a
# 2-D Gaussian of width σ the mean length is σ·√(π/2) ≈ 1.25σ, and the printed ratios are of that order: σ
# per layer measures how much detail is still left after that layer.

# %% [markdown]
# ## Exercise 3
#
# *Predict, then run.* Each pass of the likelihood estimate in section 4 draws one path of components from the
# truncated posteriors $q(h_l)$. `model.truncation` is the $\alpha_t$ that decides which components $q$ may
# draw: those whose probability is at least $\alpha_t$ times the largest (0.05 by default). Predict the
# single-pass spread and the estimate for $\alpha_t = 1$ (only the most likely component, every time) and for
# $\alpha_t = 0.001$. Then run it, and restore the default afterwards.

# %% jupyter={"source_hidden": true} tags=["solution"]
default_truncation = model.truncation
by_alpha = {}
try:
    for alpha in (1.0, default_truncation, 0.001):
        model.truncation = alpha
        alpha_passes = model.log_prob_passes(held_out, n_passes=N_PASSES, seed=SEED)
        alpha_estimate = (torch.logsumexp(alpha_passes, dim=0) - math.log(N_PASSES)).mean().item()
        by_alpha[alpha] = (alpha_estimate, alpha_passes.std(dim=0).median().item())
        print(f"α_t = {alpha:<5}: estimate {alpha_estimate:.3f} nats, typical per-point std over passes "
              f"{by_alpha[alpha][1]:.3f}")
finally:
    model.truncation = default_truncation
assert by_alpha[1.0][1] == 0.0, "with α_t = 1 every pass takes the same path"
assert by_alpha[1.0][0] < by_alpha[default_truncation][0]
# With α_t = 1 the proposal keeps only the best component of every layer: q = 1 on one path, each pass takes
# that path, and the spread is exactly zero. The estimate then counts only the paths through the best first-
# and second-layer components (summed over the last layer's 16), a small part of the sum over all 16³ paths,
# so it is too low. Letting q
# draw more components adds the other likely paths to the estimate, weighted by 1/q, so it rises; in exchange
# single passes scatter more, and more passes are needed to average the scatter out. The default 0.05 keeps the
# paths that matter and drops the many that add almost nothing.

# %% [markdown]
# ## Exercise 4
#
# *Predict, then run.* Section 5 says that the wishes flow through the layers and that deeper layers fix the
# mistakes of earlier ones. Predict how the mean error $|x_1 - 0.5|$ of samples conditioned on $x_1 = 0.5$
# changes when only the first 1, 2 or 3 layers are used (`upto_layer`), and how many different points the
# 1-layer samples can contain. Then run it.

# %% jupyter={"source_hidden": true} tags=["solution"]
depth_errors = []
for depth in range(1, model.n_layers + 1):
    depth_samples = model.sample(1000, seed=SEED + 1, known=known_row, upto_layer=depth, exact_known=False)
    depth_errors.append((depth_samples[:, 0] - 0.5).abs().mean().item())
    print(f"first {depth} layer(s): mean |x1 − 0.5| = {depth_errors[-1]:.3f}, "
          f"{len(torch.unique(depth_samples, dim=0))} different points")
assert depth_errors[-1] < depth_errors[0]
# With one layer a sample is one of the 16 first-layer means, so there are at most 16 different points, and the
# error is how far the means that the wish favours lie from x₁ = 0.5. That layer hands the wish on as
# the residual target 0.5 − x̂₁, and the second layer picks the mean that best closes the remaining gap,
# the third one the next: the error shrinks with every layer (in quick mode the layers are too little trained
# to gain much).
