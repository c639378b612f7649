"""Figures for flow mixtures (paper 004) and image models: NLL curves, image grids, per-component samples,
interpolation strips, confusion matrices and responsibilities. Everything here draws; nothing trains.

Images are (N, C, H, W) tensors or arrays with C = 1 (drawn grey) or C = 3 (RGB). Float images are mapped
from ``value_range`` to black…white — the flows' pixel range (−0.5, 0.5) by default, ``None`` for the
images' own min…max; uint8 images are always drawn on their 0–255 scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.lines import Line2D

from ._common import to_numpy

__all__ = [
    "make_image_grid",
    "plot_confusion",
    "plot_image_grid",
    "plot_interpolation",
    "plot_nll_curves",
    "plot_responsibilities",
    "plot_samples_per_component",
]

FLOW_PIXEL_RANGE = (-0.5, 0.5)
_NLL_COLUMNS = ("nll", "nll_per_dim", "train_nll", "loss")


# ---------------------------------------------------------------------------------------------- image grids
def _images_as_unit_array(images, value_range: tuple[float, float] | None) -> np.ndarray:
    """(N, C, H, W) images as a float numpy array in [0, 1] (clipped)."""
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu()
    array = np.asarray(images)
    if array.ndim == 3:  # one image (C, H, W)
        array = array[None]
    if array.ndim != 4 or array.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape (N, C, H, W) with C = 1 or 3, got {array.shape}")
    if array.dtype == np.uint8:
        return array.astype(float) / 255.0
    array = array.astype(float)
    if value_range is None:
        low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 1.0)
    else:
        low, high = (float(v) for v in value_range)
    if high <= low:
        high = low + 1.0
    return np.clip((array - low) / (high - low), 0.0, 1.0)


def make_image_grid(
    images,
    nrow: int = 8,
    value_range: tuple[float, float] | None = FLOW_PIXEL_RANGE,
    padding: int = 1,
    pad_value: float = 1.0,
) -> np.ndarray:
    """Tile (N, C, H, W) images into one picture, ``nrow`` images per row, row by row.

    Returns
    -------
    float array in [0, 1]: (rows·(H+p)+p, nrow·(W+p)+p) for grey images, with a trailing 3 for RGB, where
    rows = ⌈N / nrow⌉ and p = ``padding``. Image i sits at row i // nrow, column i % nrow; the padding and
    unused cells hold ``pad_value``.
    """
    unit = _images_as_unit_array(images, value_range)
    n, channels, height, width = unit.shape
    rows = max(1, math.ceil(n / nrow))
    grid = np.full((rows * (height + padding) + padding, nrow * (width + padding) + padding, channels), pad_value)
    for i, image in enumerate(unit):
        top = padding + (i // nrow) * (height + padding)
        left = padding + (i % nrow) * (width + padding)
        grid[top : top + height, left : left + width] = image.transpose(1, 2, 0)
    return grid[..., 0] if channels == 1 else grid


def _show_grid(ax, grid: np.ndarray) -> None:
    """Draw a grid from :func:`make_image_grid` without smoothing, grey for one channel."""
    ax.imshow(grid, cmap="gray" if grid.ndim == 2 else None, vmin=0.0, vmax=1.0, interpolation="nearest")


def _bare(ax) -> None:
    """No ticks and no frame (labels stay visible, unlike ``ax.axis('off')``)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def plot_image_grid(
    images,
    nrow: int = 8,
    ax=None,
    title: str | None = None,
    value_range: tuple[float, float] | None = FLOW_PIXEL_RANGE,
    padding: int = 1,
):
    """Draw (N, C, H, W) images as a grid, ``nrow`` per row (C = 1 grey, C = 3 RGB).

    Parameters
    ----------
    images : tensor or array (N, C, H, W)
    nrow : images per row
    ax : matplotlib Axes to draw into (a new figure if None)
    title : axis title
    value_range : (low, high) drawn as black…white for float images; None for the images' own min…max
    padding : pixels of white between images

    Returns
    -------
    the matplotlib Axes
    """
    grid = make_image_grid(images, nrow=nrow, value_range=value_range, padding=padding)
    if ax is None:
        rows, cols = grid.shape[:2]
        _, ax = plt.subplots(figsize=(min(12.0, 0.09 * cols + 0.5), min(12.0, 0.09 * rows + 0.5)))
    _show_grid(ax, grid)
    _bare(ax)
    if title:
        ax.set_title(title)
    return ax


def plot_samples_per_component(
    samples_by_component,
    weights=None,
    value_range: tuple[float, float] | None = FLOW_PIXEL_RANGE,
    title: str | None = None,
    padding: int = 1,
):
    """One row of samples per mixture component, labelled with the component and its weight π_k.

    Parameters
    ----------
    samples_by_component : dict {k: (n, C, H, W)} or a list whose k-th entry holds component k's samples
    weights : mixture weights π (length K, indexed by component); omitted from the labels if None
    value_range : see :func:`plot_image_grid`
    title : figure title

    Returns
    -------
    matplotlib Figure with one Axes per component (top to bottom in key order)
    """
    if not isinstance(samples_by_component, Mapping):
        samples_by_component = dict(enumerate(samples_by_component))
    pi = None if weights is None else to_numpy(weights).reshape(-1)
    components = list(samples_by_component)
    n_cols = max(len(samples) for samples in samples_by_component.values())
    fig, axes = plt.subplots(len(components), 1, figsize=(min(12.0, 0.75 * n_cols + 1.0), 0.9 * len(components) + 0.4))
    for ax, k in zip(np.atleast_1d(axes), components):
        samples = samples_by_component[k]
        _show_grid(ax, make_image_grid(samples, nrow=n_cols, value_range=value_range, padding=padding))
        _bare(ax)
        label = f"k = {k}" if pi is None else f"k = {k}\nπ = {pi[int(k)]:.2f}"
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_interpolation(
    strips,
    ax=None,
    title: str | None = None,
    value_range: tuple[float, float] | None = FLOW_PIXEL_RANGE,
    row_labels: Sequence[str] | None = None,
    padding: int = 1,
):
    """Latent interpolation strips: one row per pair, from x₁ (left) to x₂ (right).

    Parameters
    ----------
    strips : (R, steps, C, H, W) — or (steps, C, H, W) for one strip — e.g. from ``model.interpolate``
    ax : matplotlib Axes (a new figure if None)
    title : axis title
    value_range : see :func:`plot_image_grid`
    row_labels : optional label per strip (drawn left of each row)

    Returns
    -------
    the matplotlib Axes (the end columns are ticked x₁ and x₂)
    """
    array = strips.detach().cpu() if isinstance(strips, torch.Tensor) else np.asarray(strips)
    if array.ndim == 4:
        array = array[None]
    if array.ndim != 5:
        raise ValueError(f"strips must have shape (R, steps, C, H, W), got {tuple(array.shape)}")
    n_rows, steps, channels, height, width = array.shape
    grid = make_image_grid(
        array.reshape(n_rows * steps, channels, height, width), nrow=steps, value_range=value_range, padding=padding
    )
    if ax is None:
        _, ax = plt.subplots(figsize=(min(12.0, 0.7 * steps + 1.0), 0.75 * n_rows + 0.6))
    _show_grid(ax, grid)
    _bare(ax)
    centre = padding + (width - 1) / 2
    ax.set_xticks([centre, centre + (steps - 1) * (width + padding)], ["$x_1$", "$x_2$"])
    if row_labels is not None:
        ax.set_yticks([padding + (height - 1) / 2 + r * (height + padding) for r in range(n_rows)], list(row_labels))
    if title:
        ax.set_title(title)
    return ax


# ------------------------------------------------------------------------------------------- training curves
def _nll_by_epoch(record, column: str | None) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Epochs, NLL per epoch and EM refresh epochs from a History, or from a list of per-epoch values."""
    if not hasattr(record, "rows"):  # a plain list / array: one value per epoch, epochs 0, 1, …
        values = to_numpy(record).reshape(-1)
        return np.arange(len(values)), values, []
    name = column or next((c for c in _NLL_COLUMNS if c in record), None)
    if name is None:
        raise KeyError(f"History has none of the columns {_NLL_COLUMNS}; pass column=… (it has {record.columns})")
    values = np.asarray(record[name], dtype=float)
    if "epoch" in record:  # per-step rows are averaged over each epoch
        epoch_of_row = np.asarray(record["epoch"])
        epochs = np.unique(epoch_of_row)
        values = np.array([values[epoch_of_row == e].mean() for e in epochs])
    else:
        epochs = np.arange(len(values))
    notes = getattr(record, "notes", {}) or {}
    if "em_epochs" in notes:
        refresh = [int(e) for e in notes["em_epochs"]]
    elif notes.get("t_em"):
        t_em = int(notes["t_em"])
        # end of epoch t with t > 0 and t mod t_EM = 0, as in the reference (docs/notes/flow-mixtures.md §2.5)
        refresh = [int(e) for e in epochs if e > 0 and e % t_em == 0]
    else:
        refresh = []
    return epochs, values, refresh


def plot_nll_curves(histories: Mapping, ax=None, unit: str = "nats/dim", column: str | None = None, title=None):
    """NLL against epoch, one curve per model (e.g. per number of components K).

    Parameters
    ----------
    histories : dict {label: History or list of per-epoch NLLs}. Integer labels are shown as "K = label".
        From a History the NLL column is ``column``, or the first of "nll", "nll_per_dim", "train_nll", "loss";
        rows with the same "epoch" are averaged. If ``history.notes`` has ``t_em`` (or a list ``em_epochs``),
        the EM refresh epochs (π update and new old-model copy; epochs t > 0 with t mod t_EM = 0) are marked
        with open circles.
    ax : matplotlib Axes (a new figure if None)
    unit : "nats/dim" (values as recorded, assumed nats per dimension) or "bits/dim" (divided by ln 2)
    column : History column to plot (default: see above)
    title : axis title

    Returns
    -------
    the matplotlib Axes; curve i is ``ax.lines`` with ``gid="nll:<label>"``, refresh markers ``gid="em_refresh"``
    """
    if unit not in ("nats/dim", "bits/dim"):
        raise ValueError(f"unit must be 'nats/dim' or 'bits/dim', got {unit!r}")
    scale = 1.0 / math.log(2.0) if unit == "bits/dim" else 1.0
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.8))
    any_refresh = False
    for index, (label, record) in enumerate(histories.items()):
        epochs, values, refresh = _nll_by_epoch(record, column)
        name = f"K = {label}" if isinstance(label, int | np.integer) else str(label)
        color = f"C{index % 10}"
        ax.plot(epochs, values * scale, color=color, linewidth=1.6, label=name, gid=f"nll:{label}")
        marked = np.isin(epochs, refresh)
        if marked.any():
            any_refresh = True
            ax.plot(epochs[marked], values[marked] * scale, "o", mfc="none", mec=color, markersize=6, gid="em_refresh")
    handles, _ = ax.get_legend_handles_labels()
    handles = [h for h in handles if h.get_gid() != "em_refresh"]
    if any_refresh:
        refresh_label = "EM refresh (π, old model)"
        handles.append(Line2D([], [], marker="o", linestyle="", mfc="none", mec="0.3", label=refresh_label))
    ax.legend(handles=handles, fontsize=8)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"NLL ({unit})")
    ax.set_title(title or "Negative log-likelihood per epoch")
    return ax


# ---------------------------------------------------------------------------------------- classification
def _as_label_array(values) -> np.ndarray:
    """Labels as a 1-D numpy array (tensors are moved to the CPU; integers stay integers)."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values).reshape(-1)


def plot_confusion(y_true, y_pred, labels=None, ax=None, normalize: str | None = None, title: str | None = None):
    """Confusion matrix (rows: true class, columns: predicted) via scikit-learn's ``ConfusionMatrixDisplay``.

    Parameters
    ----------
    y_true, y_pred : class labels (tensors, arrays or lists)
    labels : classes to show, in order (default: those present in either)
    ax : matplotlib Axes (a new figure if None)
    normalize : None (counts), "true" (rows sum to 1), "pred" (columns) or "all"
    title : axis title (default: the accuracy)

    Returns
    -------
    the matplotlib Axes; the matrix is ``ax.images[0].get_array()``
    """
    from sklearn.metrics import ConfusionMatrixDisplay  # imported here: scikit-learn is slow to import

    y_true, y_pred = _as_label_array(y_true), _as_label_array(y_pred)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 4.6))
    ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=labels,
        normalize=normalize,
        ax=ax,
        cmap="Blues",
        colorbar=False,
        values_format=".2f" if normalize else "d",
    )
    ax.set_title(title or f"accuracy {np.mean(y_true == y_pred):.1%}")
    return ax


def plot_responsibilities(gamma, labels=None, ax=None, class_names: Sequence[str] | None = None, title=None):
    """Mean responsibility γ_ik of each component per class, as a heatmap (rows: classes, columns: k).

    Row c is the average of γ_i· over the points of class c, so it sums to one: it shows which components
    a class uses. Without ``labels`` there is one row, the mean over all points (the E-step's estimate of π).

    Parameters
    ----------
    gamma : (N, K) responsibilities (rows sum to 1)
    labels : (N,) class labels, or None
    ax : matplotlib Axes (a new figure if None)
    class_names : names for the rows (default: the sorted class labels)
    title : axis title

    Returns
    -------
    the matplotlib Axes; the (classes, K) matrix is ``ax.images[0].get_array()``
    """
    gamma = to_numpy(gamma)
    if gamma.ndim != 2:
        raise ValueError(f"gamma must have shape (N, K), got {gamma.shape}")
    if labels is None:
        classes, table = ["all"], gamma.mean(axis=0, keepdims=True)
    else:
        labels = _as_label_array(labels)
        if len(labels) != len(gamma):
            raise ValueError(f"{len(labels)} labels for {len(gamma)} rows of gamma")
        classes = list(np.unique(labels))
        table = np.stack([gamma[labels == c].mean(axis=0) for c in classes])
    names = [str(c) for c in (class_names if class_names is not None else classes)]
    n_classes, n_components = table.shape
    if ax is None:
        _, ax = plt.subplots(figsize=(min(12.0, 0.55 * n_components + 2.0), min(10.0, 0.4 * n_classes + 1.5)))
    image = ax.imshow(table, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    if n_classes * n_components <= 200:
        for (row, col), value in np.ndenumerate(table):
            ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=7, color="w" if value < 0.6 else "k")
    ax.set_xticks(range(n_components), [str(k) for k in range(n_components)])
    ax.set_yticks(range(n_classes), names)
    ax.set_xlabel("component k")
    ax.set_ylabel("class" if labels is not None else "")
    ax.figure.colorbar(image, ax=ax, label="mean responsibility γ")
    ax.set_title(title or "Mean responsibility per class")
    return ax
