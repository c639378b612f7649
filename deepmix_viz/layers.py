"""Inside a DRMM: what each layer sees and passes on, its centroids, and the training curves."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.lines import Line2D

from ._common import is_drmm, style_axes, subsample, to_numpy

__all__ = ["plot_centroids", "plot_residual_maps", "plot_training"]


def _component_colors(n_components: int) -> np.ndarray:
    """One distinct RGBA colour per component (tab20 for up to 20, hsv beyond)."""
    cmap = plt.get_cmap("tab20" if n_components <= 20 else "hsv")
    return cmap(np.linspace(0, 1, n_components, endpoint=n_components <= 20))


def plot_residual_maps(model, data, n_arrows: int = 25, max_points: int = 3000, seed: int = 0):
    """One panel per layer: its input points, centroids and the residuals it passes on (paper 000 Fig. 3).

    Layer l receives ``r_{l−1}`` (grey), picks a component k for each point and passes on
    ``r_l = r_{l−1} − μ_k`` (blue). Arrows join ``n_arrows`` random inputs to their residuals; the
    centroids are drawn large, one colour per component.

    Parameters
    ----------
    model : fitted 2-D DRMM
    data : (N, 2) points to push through the layers (at most ``max_points`` random rows are used)
    n_arrows : number of input → residual arrows per panel
    seed : seed for the subsample, the arrows and the latent draws of ``model.trace``

    Returns
    -------
    matplotlib Figure with one axis per layer
    """
    points = subsample(to_numpy(data), max_points, seed)
    traces = model.trace(torch.as_tensor(points, dtype=torch.float32), seed=seed)
    fig, axes = plt.subplots(1, len(traces), figsize=(3.6 * len(traces), 3.9), squeeze=False)
    rng = np.random.default_rng(seed)
    for ax, trace in zip(axes[0], traces):
        inputs, residuals = to_numpy(trace.inputs), to_numpy(trace.residuals)
        centroids = to_numpy(trace.centroids)
        ax.scatter(*inputs.T, s=2, c="0.6", linewidths=0, label="input")
        ax.scatter(*residuals.T, s=2, c="tab:blue", alpha=0.6, linewidths=0, label="residual")
        chosen = rng.choice(len(inputs), size=min(n_arrows, len(inputs)), replace=False)
        ax.quiver(
            inputs[chosen, 0],
            inputs[chosen, 1],
            residuals[chosen, 0] - inputs[chosen, 0],
            residuals[chosen, 1] - inputs[chosen, 1],
            angles="xy",
            scale_units="xy",
            scale=1.0,
            width=0.004,
            color="0.25",
            alpha=0.7,
        )
        ax.scatter(
            *centroids.T,
            s=60,
            c=_component_colors(len(centroids)),
            edgecolors="black",
            linewidths=0.6,
            zorder=5,
            label="centroids",
        )
        style_axes(ax, title=f"layer {trace.layer + 1}: input → residual (σ={trace.sigma:.3f})")
    handles = [
        Line2D([], [], marker="o", linestyle="", markersize=4, color="0.6", label="input"),
        Line2D([], [], marker="o", linestyle="", markersize=4, color="tab:blue", label="residual"),
        Line2D([], [], marker="o", linestyle="", markersize=7, color="w", mec="k", label="centroid"),
    ]
    axes[0, 0].legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.8)
    fig.tight_layout()
    return fig


def plot_centroids(model, data=None):
    """Each layer's centroids in its own residual space, plus the sums μ¹_i + μ²_j of the first two layers.

    The last panel (for 2 or more layers) shows all K² sums coloured by the first-layer component i:
    every first-layer mode is copied K times by the second layer's pattern, which is how depth
    multiplies the number of modes.

    Parameters
    ----------
    model : fitted 2-D DRMM (a GMM gives one panel with its means)
    data : (N, 2) data drawn faintly under the first layer and under the sums, optional

    Returns
    -------
    matplotlib Figure with L axes (+1 for the sums when L ≥ 2)
    """
    centroids = [to_numpy(c) for c in model.centroids] if is_drmm(model) else [to_numpy(model.means)]
    n_panels = len(centroids) + (1 if len(centroids) >= 2 else 0)
    fig, axes = plt.subplots(1, n_panels, figsize=(3.4 * n_panels, 3.7), squeeze=False)
    faint = None if data is None else subsample(to_numpy(data), 4000)
    for index, (ax, means) in enumerate(zip(axes[0], centroids)):
        if index == 0 and faint is not None:
            ax.scatter(*faint.T, s=1, c="0.75", linewidths=0)
        ax.scatter(*means.T, s=45, c=_component_colors(len(means)), edgecolors="black", linewidths=0.5, zorder=3)
        ax.axhline(0, color="0.85", linewidth=0.8, zorder=0)
        ax.axvline(0, color="0.85", linewidth=0.8, zorder=0)
        space = "data space" if index == 0 else f"residual space {index}"
        style_axes(ax, title=f"layer {index + 1} centroids ({space})")
    if len(centroids) >= 2:
        ax = axes[0, -1]
        first, second = centroids[0], centroids[1]
        sums = first[:, None, :] + second[None, :, :]  # (K1, K2, 2): μ¹_i + μ²_j
        colors = np.repeat(_component_colors(len(first)), len(second), axis=0)
        if faint is not None:
            ax.scatter(*faint.T, s=1, c="0.75", linewidths=0)
        ax.scatter(*sums.reshape(-1, 2).T, s=12, c=colors, linewidths=0, zorder=3)
        style_axes(ax, title=f"μ¹ᵢ + μ²ⱼ: {len(first)}×{len(second)} = {sums.shape[0] * sums.shape[1]} modes")
    fig.tight_layout()
    return fig


def _moving_average(values: np.ndarray, window: int) -> tuple[np.ndarray, int]:
    """Trailing moving average; returns the smoothed values and the number of leading steps dropped."""
    window = max(1, min(int(window), len(values)))
    kernel = np.ones(window) / window
    if values.ndim == 1:
        return np.convolve(values, kernel, mode="valid"), window - 1
    smoothed = np.stack([np.convolve(column, kernel, mode="valid") for column in values.T], axis=1)
    return smoothed, window - 1


def plot_training(history, ax=None, smooth: int = 50, title: str | None = None):
    """Training curves: total loss and (for a DRMM) per-layer losses, with curriculum stage boundaries.

    Parameters
    ----------
    history : History returned by ``fit`` (GMM: only ``loss`` is drawn)
    ax : matplotlib Axes to draw into (a new figure if None)
    smooth : moving-average window in steps (1 = raw)
    title : axis title

    Returns
    -------
    matplotlib Figure. Stage boundaries are dashed vertical lines with ``gid="stage_boundary"``.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.8))
    fig = ax.figure
    steps = history["step"] if "step" in history else np.arange(len(history))
    loss, dropped = _moving_average(np.asarray(history["loss"], dtype=float), smooth)
    ax.plot(steps[dropped:], loss, color="black", linewidth=1.6, label="total loss")
    if "layer_losses" in history:
        layer_losses, dropped = _moving_average(np.asarray(history["layer_losses"], dtype=float), smooth)
        for layer in range(layer_losses.shape[1]):
            ax.plot(steps[dropped:], layer_losses[:, layer], linewidth=1.0, alpha=0.8, label=f"layer {layer + 1}")
    for number, boundary in enumerate(history.stage_boundaries(), start=2):
        ax.axvline(boundary, color="0.4", linestyle="--", linewidth=1.0, gid="stage_boundary")
        ax.text(boundary, 0.98, f" stage {number}", transform=ax.get_xaxis_transform(), va="top", fontsize=8)
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss" if smooth <= 1 else f"training loss (moving average of {smooth})")
    ax.set_title(title or "Training")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig
