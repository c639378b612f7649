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
# # 09 · Which model, for what? Every family side by side
#
# **What you will see.** Notebooks 01–08 each show one family. Here all five meet on the same data: the GMM
# (notebook 01), the DRMM (papers 000/001, notebooks 02–05), the DCGMM (papers 002/003, notebooks 06–07) and the
# flow mixtures GenMM and LatMM (paper 004, notebook 08). You will see, for each of them,
#
# * on three 2-D datasets, at two matched parameter budgets: held-out log-likelihood, sample precision, recall
#   and F1, the learned densities in one grid, and the training time;
# * on 8×8 digits and 16×16 MNIST: held-out likelihood where a family has one, maximum-likelihood
#   classification, outlier detection for a digit the model never saw, samples, and training time;
# * which conditions each family can take (known values, priors, constraints, classes), found by *asking the
#   models*, not typed by hand;
# * and a closing "which model when", written from these numbers and their seed-to-seed spread.
#
# Every number comes from one loop in `deepmix_core.compare` that uses only the shared verbs of notebook 00
# (`fit`, `sample`, `log_prob`, `n_parameters`, `log_prob_kind`); what differs between families — sizes,
# budgets, and a few options such as the DRMM's `noise=True` when sampling or the flows' EM length `t_em` —
# travels with each model's entry in the line-up, not in the loop. The papers and their short names are listed in
# [docs/papers.md](../docs/papers.md).
#
# **How this notebook runs.** The full comparison trains about 250 models, more than half an hour on one CPU
# core. So that the notebook opens in seconds, full mode reads `results/09_which_model.json`, written by
# `python benchmarks/bench_compare.py --save notebooks/results/09_which_model.json` (the same script prints
# every table of this notebook; the file records when, where and how long). Set `RECOMPUTE = True` below to
# train everything live. Quick mode (CI) always trains a tiny version live, so the code keeps working.

# %%
# Parameters: budget(full=..., quick=...) picks the small values when DEEPMIX_QUICK=1 (CI)
# %matplotlib inline
import json
import time
from pathlib import Path

import numpy as np
import torch
from IPython.display import Markdown, display

from deepmix_core import GMM, budget, quick_mode
from deepmix_core.base import CONDITION_NAMES
from deepmix_core.compare import (
    Contender,
    compare_points,
    conditions_table,
    images_table,
    point_contenders,
    point_sets,
    points_table,
    run_comparison,
    summarise,
)
from deepmix_viz import plot_density_grids, plot_quality_by_size, plot_sample_rows, setup_notebook

RECOMPUTE = False  # True: train every model live (about 45 minutes) instead of reading the results file
RESULTS_FILE = Path("results/09_which_model.json")  # written by benchmarks/bench_compare.py --save …
LIVE = dict(  # what quick mode (or RECOMPUTE) trains; the full values are run_comparison's defaults
    point_budgets=budget(full=(300, 3000), quick=(300,)),
    point_seeds=budget(full=(0, 1, 2), quick=(0,)),
    digit_seeds=budget(full=(0, 1), quick=(0,)),
    mnist_seeds=budget(full=(0,), quick=()),  # quick mode skips MNIST
    n_points=budget(full=2000, quick=500),
    grid_size=budget(full=48, quick=16),
)
SEED = 0
setup_notebook(seed=SEED)  # seeds torch and numpy, one CPU thread (tiny models), compact 80-dpi figures

# %% [markdown]
# ## 1. One loop, five families
#
# A *contender* is a label, a way to build a fresh model for a seed, its training budget and — for the DCGMM,
# which reads images rather than flat rows — how to lay out its inputs. The loop never asks which family it
# holds. For the 2-D data each family's size knob is set so that its parameter count (`n_parameters()`, part of
# the contract) reaches a target: the GMM's and the 3-layer DRMM's number of components, the flows' hidden width.
# Here are the two line-ups:

# %%
for target in (300, 3000):
    print(f"about {target:,} parameters:")
    for contender in point_contenders(target, quick=quick_mode()):
        print(f"  {contender.label:<22} {contender.build(SEED).family:<6} trained with {contender.fit_kwargs}")

# %% [markdown]
# The tables below list every model's own count, read after training (a diagonal GMM has $2KD + K - 1$
# parameters, a DRMM the count of notebook 04, a flow mixture every trainable weight plus $K - 1$). The GMM
# runs 200 EM iterations; the families trained by gradient steps get a similar number of Adam steps: 3,000 for
# the DRMM (notebook 04's budget) and 2,400 for the flows (150 epochs of 2,000 points in batches of 128; at
# notebook 08's 40 epochs the flows are far from converged on these thin shapes). The training time column
# shows what each costs.
#
# The DCGMM is an image model: its layers fold image patches. On a 2-D point it would be a single GMM layer
# trained by SGD, so it joins in section 3, on images.
#
# ## 2. Three 2-D datasets
#
# The Swiss roll (a thin curve), three concentric rings (thin and curved, with empty space between) and a
# checkerboard (sharp edges, uniform squares). Each model trains on 2,000 points (seed 0) and is measured on
# 2,000 other points (seed 123); the seeds of the table change the models' initialisation and sampling, not
# the data.

# %%
if RECOMPUTE or quick_mode():
    record = run_comparison(quick=quick_mode(), **LIVE)
else:
    record = json.loads(RESULTS_FILE.read_text())
    print(f"read {RESULTS_FILE}: made by `{record['made_by']}` on {record['date']}, "
          f"{record['seconds']:.0f} s of training on {record['machine']}")
points = record["points"]
datasets = list(record["densities"])
for note in record["notes"]:
    print(note)

# %%
assert all(0.0 <= row["f1"] <= 1.0 for row in points)
assert all(row["nll_kind"] in ("exact", "estimate") and np.isfinite(row["nll"]) for row in points)
for dataset in datasets:
    display(Markdown(f"**{dataset}** — mean ± standard deviation over seeds\n\n" + points_table(points, dataset)))

# %% [markdown]
# **Reading the columns.** *Held-out NLL* is $-\frac1D \log p(\mathbf x)$ averaged over the held-out points
# (nats per dimension; lower is better). It is exact for the GMM and the flows; the DRMM's is an importance
# estimate (notebook 02), marked as such, with the spread between independent estimates next to it. That
# spread only shows the estimator's noise; the estimate also errs towards a *higher* NLL (notebook 02), so a
# DRMM's true NLL is at most a little lower than listed. *Precision* is the fraction of samples that land
# where data are, *recall* the fraction of data that samples reach, F1 their harmonic mean (notebook 01).
#
# The same F1 values against the parameter count, with ± one standard deviation over seeds:

# %%
fig = plot_quality_by_size(points, "f1", "sample F1")

# %% [markdown]
# And the learned densities, for the larger budget (first seed): each panel shows the top 8 nats of its own
# log-density, so dark means less than $e^{-8}$ of that model's peak.

# %%
held_out = {name: make(LIVE["n_points"], seed=123).numpy() for name, make in point_sets().items() if name in datasets}
fig = plot_density_grids(record["densities"], points=held_out)

# %% [markdown]
# ## 3. Images: 8×8 digits and 16×16 MNIST
#
# scikit-learn's 8×8 digits (1,797 images, levels 0–16; 60 % train, 40 % held out) and MNIST shrunk to 16×16
# (the 5,000-image training subset; 2,000 held-out test images). Pixels are dequantised as in notebook 08, so
# adding $\ln L$ per pixel to a continuous NLL gives an upper bound on the discrete one. Each family is trained
# three times through the same verbs:
#
# 1. on all training images: held-out NLL (where the family has a density), samples, training time;
# 2. once per class, as a `MaxLikelihoodClassifier` (notebook 08): the class whose model gives the highest
#    `log_prob` wins;
# 3. on every class except 0: how well `log_prob` tells the held-out zeros from the other digits (ROC AUC;
#    0.5 is chance).
#
# Sizes follow each family's own notebook rather than a matched count; the table lists the counts.

# %%
for dataset, rows in record["images"].items():
    assert all(0.0 <= row["accuracy"] <= 1.0 and 0.0 <= row["outlier_auc"] <= 1.0 for row in rows)
    display(Markdown(f"**{dataset}** — mean ± standard deviation over seeds\n\n" + images_table(rows)))

# %%
for dataset, samples in record["samples"].items():
    fig = plot_sample_rows(samples, title=f"{dataset}: samples of each model trained on every class")

# %% [markdown]
# **Two columns need a warning.** The DCGMM's `log_prob` is a *score* (`log_prob_kind == "score"`): its top
# layer models the posteriors of the layer below, not pixels, so the number ranks images *under one model* but
# does not integrate to one. Hence no NLL, and a maximum-likelihood classifier that compares scores of ten
# different DCGMMs compares numbers on ten different scales — its accuracy says nothing about the DCGMM as a
# classifier. The DCGMM classifies through a linear layer on its posteriors instead (`fit_classifier`,
# notebook 06), which is not a contract verb. Second, the DRMM's NLL is an estimate that errs high (notebook
# 02), so it is a pessimistic number.
#
# ## 4. What each family can be asked: probing the contract
#
# The table below is not typed by hand. For every condition, `probe_conditions` calls `sample` on a trained
# digits model with one example value; a `NotImplementedError` is a "no", a sample is a "yes", and any other
# error is shown with its message (the family supports the condition but this model lacks something).

# %%
answers = record["conditions"]
display(Markdown(conditions_table(answers)))
assert set(answers) == {"GMM", "DRMM", "DCGMM", "GenMM", "LatMM"}
assert all(set(answers[family]) == set(CONDITION_NAMES) for family in answers)

# %% [markdown]
# ## 5. Which model when
#
# These paragraphs were written from the results file (three seeds in 2-D, two on the digits, one on MNIST);
# the tables above are the evidence. "Within noise" means the gap is smaller than the two seed spreads added.
#
# * **Start with a GMM.** On 2-D data it trains in under a second and, at ~300 parameters, gives the best samples on
#   the Swiss roll and the rings (F1 0.63 and 0.91) and nearly the DRMM's on the checkerboard (0.96 against 0.97),
#   with the best likelihood on the roll. On images it has the best held-out likelihood of all five (1.92 nats/pixel
#   on the digits, 3.09 on MNIST), and it takes every condition but classes. Watch its size: at ~3,000 parameters (601
#   components for 2,000 points) its held-out NLL on the rings and the checkerboard gets *worse* (0.22 → 1.29 and 0.46
#   → 1.70) while F1 barely moves — overfitting shows in the likelihood, not in the samples, so choose $K$ on held-out
#   NLL.
# * **Take a DRMM** when you need to condition *and* the data have structure a flat mixture pays dearly for.
#   It is the best model of the checkerboard (F1 0.97 and 0.96, the lowest NLL at both budgets), the best
#   maximum-likelihood classifier (0.990 ± 0.002 on the digits, 0.948 on MNIST, against the GMM's 0.920 and
#   0.843) and, with the DCGMM, the best outlier detector (AUC 0.989 and 0.970). The price: 20–40 s of
#   training where the GMM needs one, and a likelihood that is only an estimate erring high (5.0 nats/pixel
#   on MNIST against the GMM's exact 3.09), so do not rank it against exact models by NLL. On the Swiss roll at
#   3,000 Adam steps it is still far behind the GMM (F1 0.47 against 0.95).
# * **Take a DCGMM** for images when you want outlier scores, inpainting (`known=`) and class-conditional
#   samples (after `fit_classifier`) at low cost: AUC 0.989 on the digits and 0.934 on MNIST in 5–13 s. It has
#   no density — no NLL, and maximum-likelihood classification over ten DCGMMs' scores is meaningless (†) — and
#   takes no priors or constraints.
# * **Take GenMM or LatMM** when you need an exact, smooth density and can pay for training. Per parameter
#   and per second they are the weakest here: on the Swiss roll even 2,400 Adam steps leave them at F1 0.49 ±
#   0.10 (GenMM) and 0.24 (LatMM) at ~3,000 parameters, and on 16×16 MNIST at 20 epochs they trail the GMM in
#   likelihood (3.93 and 4.01 against 3.09) and accuracy (0.77 and 0.74). On the digits GenMM's NLL (1.97) is
#   second only to the GMM's. Neither can be conditioned: every condition is a "no". LatMM, with one shared
#   flow, trains in one half to two thirds of GenMM's time.
#
# **Within noise:** on the Swiss roll at ~3,000 parameters, GenMM (0.49 ± 0.10) and the DRMM (0.47 ± 0.00);
# on the digits, the accuracies of the GMM, GenMM and LatMM (0.920 ± 0.015, 0.930 ± 0.020, 0.922 ± 0.012). MNIST
# has one seed: read its gaps below about 0.02 as ties. **Limits:** one training budget per family (longer
# training helps the DRMM and the flows most), image models not size-matched, 16×16 rather than 28×28 MNIST, and
# no DCGMM in 2-D.

# %% [markdown]
# ## Exercise 1
#
# *Predict, then run.* The GMM of section 2 has diagonal covariances. Add an *isotropic* GMM (one variance per
# component) at the larger budget on the Swiss roll — it can afford more components — and predict whether its
# F1 beats the diagonal one. Use `Contender` and `compare_points` with one seed.

# %% jupyter={"source_hidden": true} tags=["solution"]
train, test = point_sets()["Swiss roll"](2000, seed=0), point_sets()["Swiss roll"](2000, seed=123)
k_iso = 3000 // 4  # isotropic in 2-D: 2K means + K variances + K − 1 weights ≈ 4K parameters
contenders = [
    Contender(f"GMM diag K={3000 // 5}", lambda seed: GMM(n_components=3000 // 5, covariance="diag"),
              {"epochs": budget(full=200, quick=10)}),
    Contender(f"GMM isotropic K={k_iso}", lambda seed: GMM(n_components=k_iso, covariance="isotropic"),
              {"epochs": budget(full=200, quick=10)}),
]
rows, _ = compare_points(contenders, train, test, seeds=(SEED,), log=print)
# Compare the two lines: their F1 comes out about equal, but the diagonal model's held-out NLL is clearly lower.
# Even at 600 components the roll's local pieces are elongated along the curve, so a variance per axis is worth
# more than 150 extra round components.

# %% [markdown]
# ## Exercise 2
#
# *Change a parameter and explain.* The closing section ranks families by their mean F1. Write a small check:
# for each 2-D dataset and budget, is the best family's F1 above the runner-up's by more than the two seed
# spreads added together? Where it is not, the ranking is within noise.

# %% jupyter={"source_hidden": true} tags=["solution"]
summary = summarise(points, ["f1"], by=("dataset", "budget", "label"))
for dataset in datasets:
    for target in sorted({row["budget"] for row in points}):
        ranked = sorted((e for e in summary if e["dataset"] == dataset and e["budget"] == target),
                        key=lambda e: -e["f1"])
        best, second = ranked[0], ranked[1]
        noise = (best["f1_sd"] or 0.0) + (second["f1_sd"] or 0.0)
        verdict = "clear" if best["f1"] - second["f1"] > noise else "within noise"
        print(f"{dataset:<13} ~{target:>5,}: {best['label']} {best['f1']:.2f} vs {second['label']} "
              f"{second['f1']:.2f} → {verdict}")

# %% [markdown]
# ## Exercise 3
#
# *Implement a small piece.* `probe_conditions` treats any `NotImplementedError` as "no". Write a probe of your
# own that also records *how long* a supported condition takes: time `sample(200, known=…)` for the GMM and the
# DRMM on the Swiss roll (train each briefly) and print the milliseconds per sample.

# %% jupyter={"source_hidden": true} tags=["solution"]
known = torch.tensor([0.5, float("nan")])  # x = 0.5 observed, y unknown
for contender in point_contenders(300, quick=True)[:2]:  # the GMM and the DRMM
    model = contender.build(SEED)
    model.fit(train, **contender.fit_kwargs, seed=SEED, progress=False)
    start = time.perf_counter()
    conditioned = model.sample(200, known=known, seed=SEED)
    milliseconds = 1000 * (time.perf_counter() - start) / 200
    off_by = (conditioned[:, 0] - 0.5).abs().max().item()
    print(f"{contender.label:<12} {milliseconds:.3f} ms per conditioned sample; x is off 0.5 by at most {off_by:.3f}")
    assert off_by < 1e-5  # both return known values exactly
# A GMM's conditional keeps known values exactly; a DRMM returns them as given too (its default
# exact_known=True), while exact_known=False shows how its layers' means *reconstruct* them (notebook 02).
