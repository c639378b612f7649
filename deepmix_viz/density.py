"""Density heatmaps of 2-D models, and the per-depth figure (paper 001 Fig. 2, paper 000 Fig. 1)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import PowerNorm

from ._common import DEFAULT_EXTENT, is_drmm, style_axes, subsample, to_numpy
from .conditions import condition_kwargs_to_lists, draw_conditions

__all__ = ["density_grid", "plot_density", "plot_depth_row"]

CHUNK_SIZE = 20_000


@torch.no_grad()
def density_grid(
    model, extent=DEFAULT_EXTENT, resolution: int = 150, **log_prob_kwargs
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate ``p(x) = exp(model.log_prob(x))`` on a regular grid over a 2-D region.

    Parameters
    ----------
    model : a fitted 2-D GMM or DRMM
    extent : (x_min, x_max, y_min, y_max)
    resolution : number of grid points per axis (R)
    **log_prob_kwargs : passed to ``model.log_prob``, e.g. ``n_passes``, ``upto_layer``, ``seed`` for a DRMM

    Returns
    -------
    xs : (R,) grid x1 values
    ys : (R,) grid x2 values
    density : (R, R) array with rows indexed by ``ys`` and columns by ``xs`` (ready for ``imshow``
        with ``origin="lower"``)
    """
    if getattr(model, "n_features", 2) != 2:
        raise ValueError(f"density_grid draws 2-D models; this one has {model.n_features} variables")
    xs = np.linspace(extent[0], extent[1], resolution)
    ys = np.linspace(extent[2], extent[3], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)  # rows follow ys
    points = torch.as_tensor(np.stack([grid_x.ravel(), grid_y.ravel()], axis=1), dtype=torch.float32)
    chunks = [model.log_prob(chunk, **log_prob_kwargs) for chunk in torch.split(points, CHUNK_SIZE)]
    density = torch.exp(torch.cat(chunks)).cpu().numpy().reshape(resolution, resolution)
    return xs, ys, density


def _density_kwargs(model, upto_layer: int | None, n_passes: int, seed: int = 0) -> dict:
    """``log_prob`` options: DRMMs estimate the density from passes; a GMM's is exact and needs none."""
    if not is_drmm(model):
        return {}
    return {"upto_layer": upto_layer, "n_passes": n_passes, "seed": seed}


def plot_density(
    model,
    ax=None,
    extent=DEFAULT_EXTENT,
    resolution: int = 150,
    samples=None,
    data=None,
    conditions: dict | None = None,
    upto_layer: int | None = None,
    n_passes: int = 8,
    cmap: str = "viridis",
    title: str | None = None,
    gamma: float = 0.5,
    seed: int = 0,
):
    """Heatmap of the model density, with optional data, samples and conditioning drawn on top.

    Parameters
    ----------
    model : fitted 2-D GMM or DRMM
    ax : matplotlib Axes to draw into (a new figure if None)
    extent, resolution : grid region and points per axis
    samples : (N, 2) samples drawn as small white dots, optional
    data : (N, 2) training data drawn as small grey dots, optional
    conditions : dict with optional keys ``known``, ``priors``, ``constraints`` (drawn, not applied)
    upto_layer, n_passes : DRMM only — density of the first layers, passes of the estimate
    cmap : colour map; gamma : exponent of the power-law colour scale (< 1 shows thin structures)
    seed : DRMM only — seed of the density estimate's passes
    title : axis title

    Returns
    -------
    matplotlib Axes
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
    xs, ys, density = density_grid(model, extent, resolution, **_density_kwargs(model, upto_layer, n_passes, seed))
    ax.imshow(
        density,
        origin="lower",
        extent=extent,
        cmap=cmap,
        norm=PowerNorm(gamma=gamma, vmin=0.0, vmax=max(float(density.max()), 1e-12)),
        interpolation="bilinear",
        aspect="equal",
    )
    if data is not None:
        ax.scatter(*to_numpy(data).T, s=1, c="0.6", alpha=0.5, linewidths=0, label="data")
    if samples is not None:
        ax.scatter(*to_numpy(samples).T, s=2, c="white", alpha=0.8, linewidths=0, label="samples")
    if conditions:
        draw_conditions(ax, extent=extent, **condition_kwargs_to_lists(conditions))
    style_axes(ax, extent, title)
    ax.figure.tight_layout()
    return ax


def _depth_title(j: int) -> str:
    return "1 layer" if j == 1 else f"{j} layers"


def plot_depth_row(
    model,
    data=None,
    n_samples: int = 1000,
    extent=DEFAULT_EXTENT,
    resolution: int = 120,
    conditions: dict | None = None,
    seed: int = 0,
    n_passes: int = 8,
):
    """How depth builds the distribution: samples (top) and density (bottom) of the first j layers.

    Column j uses ``upto_layer=j``: a DRMM truncated after j layers is itself a mixture with K^j
    modes (paper 001 Fig. 2, paper 000 Fig. 1). Samples include the last used layer's noise so
    they match the density below them. A GMM gives a single column.

    Parameters
    ----------
    model : fitted 2-D DRMM (or GMM)
    data : (N, 2) training data shown faintly under the samples, optional
    n_samples : samples per column
    extent, resolution : grid of the density panels
    conditions : dict with optional keys ``known``, ``priors``, ``constraints`` — forwarded to
        ``sample`` and drawn on every panel (the density row stays unconditional)
    seed : sampling and density seed; n_passes : passes of the DRMM density estimate

    Returns
    -------
    matplotlib Figure with 2 × L axes
    """
    n_columns = model.n_layers if is_drmm(model) else 1
    sample_kwargs = condition_kwargs_to_lists(conditions)
    fig, axes = plt.subplots(2, n_columns, figsize=(3.0 * n_columns + 0.5, 6.2), squeeze=False)
    faint_data = None if data is None else subsample(to_numpy(data), 5000, seed)
    for column in range(n_columns):
        depth = column + 1
        top, bottom = axes[0, column], axes[1, column]
        if is_drmm(model):
            samples = model.sample(n_samples, upto_layer=depth, sort=False, noise=True, seed=seed, **sample_kwargs)
        else:
            samples = model.sample(n_samples, seed=seed, **sample_kwargs)
        if faint_data is not None:
            top.scatter(*faint_data.T, s=1, c="0.75", linewidths=0)
        top.scatter(*to_numpy(samples).T, s=2, c="tab:red", alpha=0.7, linewidths=0)
        if sample_kwargs:
            draw_conditions(top, extent=extent, **sample_kwargs)
        style_axes(top, extent, _depth_title(depth) if is_drmm(model) else "GMM samples")
        plot_density(
            model,
            ax=bottom,
            extent=extent,
            resolution=resolution,
            conditions=conditions,
            upto_layer=depth if is_drmm(model) else None,
            n_passes=n_passes,
            seed=seed,
        )
    axes[0, 0].set_ylabel("samples\n$x_2$")
    axes[1, 0].set_ylabel("density\n$x_2$")
    fig.tight_layout()
    return fig
