"""Figures for DCGMMs: the visual alphabet, sample grids, sharpening, inpainting, ROC and training curves.

Every function takes a trained model or tensors and returns a matplotlib figure; nothing here trains.
The sampling and inpainting panels are plain functions that the notebook's widgets call.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from .flow_plots import plot_image_grid
from .layers import _moving_average

__all__ = [
    "inpaint_panel",
    "plot_component_mosaic",
    "plot_inpainting",
    "plot_layer_objectives",
    "plot_outlier_rocs",
    "plot_sharpening",
    "region_mask",
    "sample_panel",
]

UNIT_RANGE = (0.0, 1.0)  # DCGMM images are in [0, 1]; pass it to plot_image_grid as value_range


def _plot_rows(rows: list[tuple], n: int):
    """One grid row per (images, title) pair, ``n`` images each: the layout of the sharpening and inpainting plots."""
    fig, axes = plt.subplots(len(rows), 1, figsize=(0.6 * n + 1.2, 0.75 * len(rows) + 0.6))
    for ax, (images, title) in zip(axes, rows):
        plot_image_grid(images[:n], nrow=n, ax=ax, value_range=UNIT_RANGE)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_component_mosaic(model, layers=None, nrow: int | None = None, stretch: bool | None = None):
    """The "visual alphabet": every component of each GMM layer decoded to pixels (paper 003 Fig. 14).

    ``layers`` lists GMM-layer indices (default: all). Each panel's title gives the layer, K and the
    receptive field in pixels. ``stretch`` scales every grey patch to its own range so that faint
    centroids stay visible (default: on for grey images, off for colour, whose hues it would distort).
    """
    layers = list(range(len(model.gmm_layers))) if layers is None else list(layers)
    stretch = model.input_shape[0] == 1 if stretch is None else stretch
    fig, axes = plt.subplots(1, len(layers), figsize=(3.2 * len(layers), 3.4), squeeze=False)
    for ax, layer in zip(axes[0], layers):
        images = model.component_images(layer)
        per_row = nrow or math.ceil(math.sqrt(len(images)))
        if stretch:
            low = images.flatten(1).min(1).values[:, None, None, None]
            high = images.flatten(1).max(1).values[:, None, None, None]
            images = (images - low) / (high - low).clamp_min(1e-6)
        plot_image_grid(images, nrow=per_row, ax=ax, value_range=UNIT_RANGE)
        gmm = model.gmm_layers[layer]
        side = model.receptive_field(layer)
        ax.set_title(f"GMM layer {layer + 1}: K = {gmm.n_components}, {side}×{side} px", fontsize=9)
    fig.tight_layout()
    return fig


def plot_sharpening(before, after, n: int = 8):
    """Samples without sharpening, the same samples sharpened, and their difference (three rows)."""
    difference = after[:n] - before[:n]
    scale = float(difference.abs().max()) or 1.0
    return _plot_rows([(before, "sampled (no sharpening)"), (after, "after sharpening"),
                       (0.5 + 0.5 * difference / scale, f"difference (grey = 0, ±{scale:.2f})")], n)


def region_mask(shape: tuple[int, int], region: str = "right half") -> torch.Tensor:
    """A bool (H, W) mask, True where pixels are erased: "right half", "left half", "top half",
    "bottom half", "centre square" or "none"."""
    height, width = shape
    mask = torch.zeros(height, width, dtype=torch.bool)
    if region == "right half":
        mask[:, width // 2:] = True
    elif region == "left half":
        mask[:, : width // 2] = True
    elif region == "top half":
        mask[: height // 2] = True
    elif region == "bottom half":
        mask[height // 2:] = True
    elif region == "centre square":
        mask[height // 4: 3 * height // 4, width // 4: 3 * width // 4] = True
    elif region != "none":
        raise ValueError(f"unknown region {region!r}")
    return mask


def plot_inpainting(originals, mask, filled, n: int = 10):
    """Originals, the erased input (erased pixels shown mid-grey) and the completions (three rows)."""
    n = min(n, len(originals))
    erased = torch.where(torch.as_tensor(mask).bool(), torch.full_like(originals, 0.5), originals)
    return _plot_rows([(originals, "original"), (erased, "erased"), (filled, "inpainted")], n)


def plot_outlier_rocs(rocs: dict, ax=None, title: str = "outlier detection"):
    """The papers' "ROC-like" curves: outliers rejected against inliers kept, one curve per detector."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 4))
    for name, roc in rocs.items():
        ax.plot(100 * roc.inliers_kept, 100 * roc.outliers_rejected, label=f"{name} (AUC {100 * roc.auc:.1f}%)")
    ax.plot([0, 100], [100, 0], color="0.7", lw=0.8, ls="--", label="chance")
    ax.set_xlabel("inliers kept (%)")
    ax.set_ylabel("outliers rejected (%)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower left")
    return ax.figure


def plot_layer_objectives(history, smooth: int = 20):
    """Each GMM layer's training objective (moving average) and its σ; a dashed line marks a delayed start."""
    objectives, sigmas = history["layer_objectives"], history["sigma"]
    steps = history["step"]
    n_layers = objectives.shape[1]
    fig, axes = plt.subplots(1, n_layers, figsize=(3.3 * n_layers, 2.8), squeeze=False)
    smoothed, dropped = _moving_average(np.asarray(objectives, dtype=float), smooth)
    for layer, ax in enumerate(axes[0]):
        ax.plot(steps[dropped:], smoothed[:, layer], color="C0")
        ax.set_title(f"GMM layer {layer + 1}", fontsize=9)
        ax.set_xlabel("step")
        if layer == 0:
            ax.set_ylabel("objective L (nats / position)", color="C0")
        start = history.notes.get("start_steps", [0] * n_layers)[layer]
        if start > 0:
            ax.axvline(start, color="0.5", ls="--", lw=0.8)
        twin = ax.twinx()
        twin.semilogy(steps, sigmas[:, layer], color="C1", lw=1)
        if layer == n_layers - 1:
            twin.set_ylabel("σ (torus smoothing)", color="C1")
    fig.tight_layout()
    return fig


def sample_panel(model, top_s: int = 3, sharpen: bool = False, n: int = 30, seed: int = 0, classes=None,
                 nrow: int = 10):
    """Widget callback: draw ``n`` samples with the given top-S and sharpening, as a grid figure."""
    samples = model.sample(n, top_s=top_s, sharpen=sharpen, seed=seed, classes=classes)
    what = "class-conditional " if classes is not None else ""
    title = f"{what}samples, top-S = {top_s}, sharpening {'on' if sharpen else 'off'}"
    return plot_image_grid(samples.cpu(), nrow=nrow, title=title, value_range=UNIT_RANGE).figure


def inpaint_panel(model, images, region: str = "right half", top_s: int = 1, seed: int = 0):
    """Widget callback: erase ``region`` of ``images``, inpaint them, and draw the three rows."""
    mask = region_mask(images.shape[-2:], region)
    filled = model.inpaint(images, mask, top_s=top_s, seed=seed)
    return plot_inpainting(images, mask, filled.cpu(), n=len(images))
