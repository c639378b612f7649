"""Figures for the side-by-side comparison of notebook 09 (records of ``deepmix_core.compare``).

They read the plain numbers a comparison record holds (lists, not models), so a notebook can draw them from a
saved results file without training anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from deepmix_core.compare import summarise

from .flow_plots import _bare, plot_image_grid

__all__ = ["plot_density_grids", "plot_quality_by_size", "plot_sample_rows"]

FAMILY_COLORS = {"GMM": "black", "DRMM": "tab:blue", "DCGMM": "tab:purple", "GenMM": "tab:red",
                 "LatMM": "tab:orange"}


def plot_density_grids(densities: Mapping[str, Mapping], points: Mapping[str, np.ndarray] | None = None,
                       window: float = 8.0):
    """One row per dataset, one column per model: log p(x) on the grid each model's record holds.

    ``densities[dataset]`` = ``{"low": [x, y], "high": [x, y], "grids": {label: size×size log p}}``, as in
    ``run_comparison``'s record. Each panel shows the top ``window`` nats of its own log-density (dark: e^−8 of
    the peak or less); a linear scale would show only the few sharpest components of a large mixture.
    ``points[dataset]``, if given, is drawn as faint dots on an extra first column.
    """
    datasets = list(densities)
    labels = list(densities[datasets[0]]["grids"])
    columns = len(labels) + (1 if points else 0)
    fig, axes = plt.subplots(len(datasets), columns, figsize=(2.6 * columns, 2.6 * len(datasets)), squeeze=False)
    for row, dataset in enumerate(datasets):
        entry = densities[dataset]
        extent = (entry["low"][0], entry["high"][0], entry["low"][1], entry["high"][1])
        panels = list(axes[row])
        if points:
            ax = panels.pop(0)
            data = np.asarray(points[dataset])
            ax.scatter(data[:, 0], data[:, 1], s=1, color="0.3", alpha=0.4)
            ax.set(xlim=extent[:2], ylim=extent[2:], aspect="equal")
            ax.set_title("held-out data" if row == 0 else "")
            ax.set_ylabel(dataset)
            _bare(ax)
        for ax, label in zip(panels, labels):
            log_p = np.asarray(entry["grids"][label], dtype=float)
            ax.imshow(np.clip(log_p, log_p.max() - window, None), extent=extent, origin="lower", cmap="viridis")
            _bare(ax)
            if row == 0:
                ax.set_title(label, fontsize=9)
            if not points and ax is panels[0]:
                ax.set_ylabel(dataset)
    fig.tight_layout()
    return fig


def plot_sample_rows(samples: Mapping[str, Sequence], title: str | None = None):
    """One row of sample images per model: ``samples[label]`` is (n, H, W) grey levels 0–255."""
    labels = list(samples)
    fig, axes = plt.subplots(len(labels), 1, figsize=(7, 0.75 * len(labels) + 0.4), squeeze=False)
    for ax, label in zip(axes[:, 0], labels):
        images = np.asarray(samples[label], dtype=np.uint8)[:, None]  # uint8: drawn on the 0–255 scale
        plot_image_grid(images, nrow=len(images), ax=ax)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_quality_by_size(rows: Sequence[Mapping], metric: str = "f1", ylabel: str = "sample F1"):
    """``metric`` against parameter count, one panel per dataset, one line per family; bars: ± 1 sd over seeds."""
    datasets = list(dict.fromkeys(row["dataset"] for row in rows))
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.2), squeeze=False)
    summary = summarise(rows, [metric], by=("dataset", "family", "budget"))  # mean and sd over seeds
    for ax, dataset in zip(axes[0], datasets):
        chosen = sorted((e for e in summary if e["dataset"] == dataset and e[metric] is not None),
                        key=lambda e: e["budget"])
        for family in dict.fromkeys(entry["family"] for entry in chosen):
            line = [entry for entry in chosen if entry["family"] == family]
            ax.errorbar([e["parameters"] for e in line], [e[metric] for e in line],
                        yerr=[e[f"{metric}_sd"] or 0.0 for e in line], marker="o", capsize=3,
                        color=FAMILY_COLORS.get(family), label=family)
        ax.set(xscale="log", title=dataset, xlabel="parameters (log scale)")
        targets = sorted({entry["budget"] for entry in chosen})  # each family lands a little above its target
        ax.set_xticks(targets, [f"~{target:,}" for target in targets])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(ylabel)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig
