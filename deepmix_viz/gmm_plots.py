"""Gaussian mixture views: component ellipses, and component weights after conditioning (paper 001 Fig. 1)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import to_rgba
from matplotlib.patches import Ellipse

from deepmix_core.conditioning import as_condition_list, total_log_multiplier

from ._common import style_axes, to_numpy

__all__ = ["plot_gmm_components", "reweighted_weights"]


def _component_stds(gmm) -> np.ndarray:
    """Standard deviations per component and axis, ``(K, 2)``, for isotropic or diagonal covariances."""
    variances = to_numpy(gmm.variances)
    if variances.ndim == 1:
        variances = np.repeat(variances[:, None], gmm.means.shape[1], axis=1)
    return np.sqrt(variances)


def plot_gmm_components(gmm, ax=None, weights=None, color="C0", data=None):
    """Draw every component as its 2-σ ellipse, more opaque the larger its weight.

    Parameters
    ----------
    gmm : fitted 2-D GMM (isotropic components are circles, diagonal ones axis-aligned ellipses)
    ax : matplotlib Axes to draw into (a new figure if None)
    weights : (K,) weights that set the opacity (default ``gmm.weights_``); pass
        :func:`reweighted_weights` to show a conditioned mixture
    color : colour of the ellipses
    data : (N, 2) data drawn as small grey dots, optional

    Returns
    -------
    matplotlib Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    weights = gmm.weights_ if weights is None else to_numpy(weights)
    means, stds = to_numpy(gmm.means), _component_stds(gmm)
    relative = weights / max(float(weights.max()), 1e-300)  # the heaviest component is fully drawn
    if data is not None:
        ax.scatter(*to_numpy(data).T, s=1, c="0.7", linewidths=0)
    for mean, std, weight in zip(means, stds, relative):
        face = to_rgba(color, 0.02 + 0.5 * float(weight))
        edge = to_rgba(color, 0.15 + 0.85 * float(weight))
        ax.add_patch(Ellipse(mean, 4 * std[0], 4 * std[1], facecolor=face, edgecolor=edge, linewidth=1.2))
    ax.scatter(*means.T, s=6, c="black", alpha=np.clip(relative, 0.15, 1.0), linewidths=0, zorder=3)
    ax.autoscale_view()
    style_axes(ax, title="GMM components (2σ)")
    ax.figure.tight_layout()
    return ax


@torch.no_grad()
def reweighted_weights(gmm, known=None, priors=(), constraints=()) -> np.ndarray:
    """Component weights after conditioning: ``w'_k ∝ w_k · c_k`` (paper 001 §1, Fig. 1).

    ``c_k`` is the mass of component k that satisfies the wishes (see
    :mod:`deepmix_core.conditioning`); a constraint is thus approximated by re-weighting whole
    components, which becomes exact only as components get small.

    Parameters
    ----------
    gmm : fitted GMM
    known : (D,) row with nan for unknown variables, optional
    priors : GaussianPrior or list of them
    constraints : Inequality, Equality, Box or list of them

    Returns
    -------
    (K,) numpy array summing to 1 (``(B, K)`` if ``known`` holds B rows)
    """
    conditions = as_condition_list(gmm.n_features, gmm.device, known=known, priors=priors, constraints=constraints)
    variances = gmm.variances[:, None] if gmm.variances.dim() == 1 else gmm.variances  # (K, 1) or (K, D)
    extra = total_log_multiplier(conditions, gmm.means, variances)
    logits = gmm.log_weights[None] if extra is None else gmm.log_weights + extra  # (B, K)
    weights = torch.softmax(logits, dim=1).cpu().numpy()
    return weights[0] if weights.shape[0] == 1 else weights
