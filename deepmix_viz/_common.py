"""Small helpers shared by the plotting modules (not part of the public API)."""

from __future__ import annotations

import numpy as np
import torch

from deepmix_core.drmm import DRMM
from deepmix_core.scaled import ColumnScaled

DEFAULT_EXTENT = (-1.1, 1.1, -1.1, 1.1)


def unwrapped(model):
    """The model itself, or the one inside a :class:`~deepmix_core.scaled.ColumnScaled` wrapper."""
    return model.model if isinstance(model, ColumnScaled) else model


def is_drmm(model) -> bool:
    """True for a DRMM (also inside ``ColumnScaled``): decided by the model's type, not by its attributes."""
    return isinstance(unwrapped(model), DRMM)


def to_numpy(values) -> np.ndarray:
    """A float numpy array from a tensor, list or array (tensors are detached and moved to the CPU)."""
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values, dtype=float)


def style_axes(ax, extent=None, title: str | None = None, equal: bool = True) -> None:
    """Axis labels, optional limits and title, and equal aspect for 2-D data."""
    if extent is not None:
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
    if equal:
        ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)


def subsample(x: np.ndarray, max_points: int, seed: int = 0) -> np.ndarray:
    """At most ``max_points`` rows of ``x``, chosen at random without replacement (seeded)."""
    if len(x) <= max_points:
        return x
    rows = np.random.default_rng(seed).choice(len(x), size=max_points, replace=False)
    return x[rows]
