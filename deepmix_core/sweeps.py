"""Depth against parameters (paper 001 Fig. 7): DRMMs of 1–4 layers and a flat GMM at matched sizes.

Notebook 04 plots the result of :func:`depth_sweep`; ``scripts/depth_sweep.py`` runs it with the notebook's
full budgets and writes the small results file the notebook reads (its ``RECOMPUTE`` switch runs it live).

Parameter counts (reference formula, docs/notes/drmm.md §1.2): layer ``l`` (from 1) of a DRMM on ``D``-D data
has one σ, ``K`` means of size ``D``, ``K`` tables of size ``K`` for each of the ``l − 1`` earlier layers and
``K`` weights, ``n_l = 1 + K (D + K (l − 1)) + K``. An isotropic GMM has ``K D`` means, ``K`` variances and
``K − 1`` free weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import torch

from .data import sierpinski, swiss_roll
from .data.kinematics import Arm, Humanoid
from .drmm import DRMM
from .gmm import GMM
from .metrics import precision_recall

__all__ = [
    "depth_sweep",
    "drmm_parameter_count",
    "gmm_parameter_count",
    "matched_components",
    "size_plan",
    "sweep_datasets",
]


def sweep_datasets(arm_poses: int = 20_000, humanoid_poses: int = 50_000, n_held_out: int = 2000) -> dict:
    """The four data sets of notebook 04: name → (training data, held-out data drawn with seed 123).

    Swiss roll and Sierpinski triangle (2-D, notebooks 02 and 03), and random poses of the 4-link arm (6-D)
    and of the humanoid (30-D) of notebook 05.
    """
    arm, humanoid = Arm(), Humanoid()
    return {
        "Swiss roll (2-D)": (swiss_roll(), swiss_roll(n=n_held_out, seed=123)),
        "Sierpinski (2-D)": (sierpinski(), sierpinski(n=n_held_out, seed=123)),
        "4-link arm (6-D)": (arm.dataset(arm_poses, seed=0), arm.dataset(n_held_out, seed=123)),
        "Humanoid IK (30-D)": (humanoid.dataset(humanoid_poses, seed=0), humanoid.dataset(n_held_out, seed=123)),
    }


def drmm_parameter_count(n_layers: int, k: int, dim: int) -> int:
    """Σ_l [1 + K (D + K (l − 1)) + K] over layers l = 1 … L (the same as ``DRMM.n_parameters()``)."""
    return sum(1 + k * (dim + k * (layer - 1)) + k for layer in range(1, n_layers + 1))


def gmm_parameter_count(k: int, dim: int) -> int:
    """K·D means + K variances (isotropic) + K − 1 free weights (the same as ``GMM.n_parameters()``)."""
    return k * dim + k + (k - 1)


def matched_components(target: int, count: Callable[[int], int], smallest: int = 4) -> int:
    """The smallest K ≥ ``smallest`` with ``count(K) ≥ target`` (the reference benchmark's matching rule)."""
    k = smallest
    while count(k) < target:
        k += 1
    return k


def size_plan(one_layer_k: int, depths: Iterable[int], dim: int) -> tuple[int, dict]:
    """The parameter count of a 1-layer DRMM with ``one_layer_k`` components, and the K that matches it.

    Returns ``(target, plan)`` where ``plan[depth]`` is the K of a ``depth``-layer DRMM and ``plan["GMM"]``
    the K of the flat GMM.
    """
    target = drmm_parameter_count(1, one_layer_k, dim)
    plan = {depth: matched_components(target, lambda k, d=depth: drmm_parameter_count(d, k, dim)) for depth in depths}
    plan["GMM"] = matched_components(target, lambda k: gmm_parameter_count(k, dim))
    return target, plan


def _drmm_row(model: DRMM, dataset: str, name: str, held_out, n_samples: int, n_passes: int, seed: int) -> dict:
    samples = model.sample(n_samples, noise=True, seed=seed + 1)  # the full density: the last layer's noise too
    return dict(dataset=dataset, model=name, depth=model.n_layers, k=model.n_components,
                params=model.n_parameters(), f1=precision_recall(held_out, samples).f1,
                log_lik=model.log_prob(held_out, n_passes=n_passes, seed=seed).mean().item())


def depth_sweep(
    datasets: dict[str, tuple[torch.Tensor, torch.Tensor]],
    one_layer_sizes: Iterable[int],
    depths: Iterable[int],
    steps: int,
    n_samples: int = 2000,
    n_passes: int = 16,
    gmm_epochs: int = 300,
    seed: int = 0,
    extra_drmms: dict[str, tuple[int, int]] | None = None,
    log: Callable[[str], None] | None = print,
) -> list[dict]:
    """Train and score DRMMs of every depth and a flat GMM at matched parameter counts on every data set.

    Parameters
    ----------
    datasets : name → (training data, held-out data)
    one_layer_sizes : the K of the 1-layer DRMMs; each fixes a parameter budget that the deeper models and
        the GMM match (:func:`size_plan`)
    depths : DRMM depths to train at every size
    steps : Adam steps per DRMM (batch 64), the same for every model and data set
    n_samples, n_passes : samples for precision/recall, importance passes for the DRMM's log-likelihood
    gmm_epochs : EM iterations of the GMM (it stops earlier once converged)
    extra_drmms : name → (data set, (layers, K)) of further DRMMs to score, e.g. notebook 03's 5×3
    log : called with a line of progress per data set (``None``: silent)

    The whole sweep is seeded by ``seed`` (also the global generator, which a new DRMM draws its initial
    latent tables from), so the same arguments give the same rows.

    Returns
    -------
    one dict per model: ``dataset``, ``model``, ``depth`` (0 for the GMM), ``k``, ``target`` (the matched
    budget; absent for the extra DRMMs), ``params``, ``f1`` (held-out data against samples) and ``log_lik``
    (mean held-out log-likelihood: an importance estimate for a DRMM, exact for the GMM).
    """
    with torch.random.fork_rng(devices=[]):  # a DRMM draws its initial latent tables from the global generator
        torch.manual_seed(seed)
        return _sweep(datasets, list(one_layer_sizes), list(depths), steps, n_samples, n_passes, gmm_epochs, seed,
                      extra_drmms or {}, log)


def _sweep(datasets, one_layer_sizes, depths, steps, n_samples, n_passes, gmm_epochs, seed, extra_drmms, log):
    rows, start = [], time.perf_counter()
    for dataset, (train, held_out) in datasets.items():
        dim = train.shape[1]
        for one_layer_k in one_layer_sizes:
            target, plan = size_plan(one_layer_k, depths, dim)
            for depth in depths:
                model = DRMM(depth, plan[depth])
                model.fit(train, steps=steps, seed=seed, progress=False)
                name = f"DRMM, {depth} layer{'s' if depth > 1 else ''}"
                rows.append({**_drmm_row(model, dataset, name, held_out, n_samples, n_passes, seed), "target": target})
            gmm = GMM(plan["GMM"])
            gmm.fit(train, epochs=gmm_epochs, seed=seed, progress=False)
            rows.append(dict(dataset=dataset, model="GMM", depth=0, k=plan["GMM"], target=target,
                             params=gmm.n_parameters(),
                             f1=precision_recall(held_out, gmm.sample(n_samples, seed=seed + 1)).f1,
                             log_lik=gmm.log_prob(held_out).mean().item()))
        if log is not None:
            log(f"{dataset:<18} done after {time.perf_counter() - start:.0f} s")
    for name, (dataset, (layers, k)) in extra_drmms.items():
        train, held_out = datasets[dataset]
        model = DRMM(layers, k)
        model.fit(train, steps=steps, seed=seed, progress=False)
        rows.append(_drmm_row(model, dataset, name, held_out, n_samples, n_passes, seed))
    return rows
