"""Drawing conditioning wishes (known values, priors, constraints) on 2-D axes.

The geometry helpers (:func:`line_in_extent`, :func:`invalid_side_polygon`) are plain numpy so that the
matplotlib figures and the plotly widget draw exactly the same shapes.
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Ellipse, Polygon, Rectangle

from deepmix_core.conditioning import Box, Equality, GaussianPrior, Inequality, Known

from ._common import DEFAULT_EXTENT, to_numpy

__all__ = ["condition_kwargs_to_lists", "draw_conditions", "invalid_side_polygon", "line_in_extent"]

KNOWN_COLOR = "tab:red"
CONSTRAINT_COLOR = "tab:red"
INVALID_SHADE = (0.5, 0.5, 0.5, 0.35)


def condition_kwargs_to_lists(conditions: dict | None) -> dict:
    """Normalise a ``{"known": …, "priors": …, "constraints": …}`` dict for ``sample(**…)``.

    Missing keys are left out, a single prior or constraint becomes a one-element list, and ``None``
    values are dropped, so the result can be passed straight to ``model.sample(n, **result)``.

    Raises
    ------
    ValueError
        For keys other than ``known``, ``priors`` and ``constraints``.
    """
    if not conditions:
        return {}
    unknown = set(conditions) - {"known", "priors", "constraints"}
    if unknown:
        raise ValueError(f"conditions may only hold known, priors and constraints; got {sorted(unknown)}")
    result = {}
    if conditions.get("known") is not None:
        result["known"] = conditions["known"]
    for key in ("priors", "constraints"):
        value = conditions.get(key)
        if value is None:
            continue
        items = [value] if isinstance(value, (GaussianPrior, Inequality, Equality, Box)) else list(value)
        if items:
            result[key] = items
    return result


def line_in_extent(a, b: float, extent=DEFAULT_EXTENT) -> np.ndarray | None:
    """The part of the line ``a·x + b = 0`` inside the rectangle ``extent``: endpoints ``(2, 2)`` or None.

    The line is walked as ``p(t) = p0 + t·d`` with ``p0 = −b·a/‖a‖²`` (its point closest to the origin)
    and ``d ⟂ a``; each side of the rectangle narrows the allowed range of ``t`` (Liang–Barsky clipping).
    """
    a = to_numpy(a).astype(float)
    b = float(b)
    origin = -b * a / float(a @ a)
    direction = np.array([-a[1], a[0]])
    t_low, t_high = -np.inf, np.inf
    bounds = ((extent[0], extent[1]), (extent[2], extent[3]))
    for axis, (low, high) in enumerate(bounds):
        if abs(direction[axis]) < 1e-12:
            if not low <= origin[axis] <= high:
                return None
            continue
        t1 = (low - origin[axis]) / direction[axis]
        t2 = (high - origin[axis]) / direction[axis]
        t_low, t_high = max(t_low, min(t1, t2)), min(t_high, max(t1, t2))
    if t_low >= t_high:
        return None
    return np.stack([origin + t_low * direction, origin + t_high * direction])


def invalid_side_polygon(a, b: float, extent=DEFAULT_EXTENT) -> np.ndarray | None:
    """Corners ``(M, 2)`` of the part of ``extent`` where ``a·x + b ≤ 0`` (the invalid side), or None.

    One step of Sutherland–Hodgman clipping: walk the rectangle's corners, keep those on the invalid
    side and add the crossing point wherever an edge crosses the line.
    """
    a = to_numpy(a).astype(float)
    b = float(b)
    x0, x1, y0, y1 = extent
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)
    value = corners @ a + b  # > 0 means valid
    kept = []
    for i in range(4):
        j = (i + 1) % 4
        if value[i] <= 0:
            kept.append(corners[i])
        if (value[i] <= 0) != (value[j] <= 0):
            t = value[i] / (value[i] - value[j])
            kept.append(corners[i] + t * (corners[j] - corners[i]))
    return np.array(kept) if len(kept) >= 3 else None


def _known_row(known) -> np.ndarray | None:
    """A single (D,) row with nan for unknown variables, or None if it cannot be drawn as lines."""
    if known is None:
        return None
    if isinstance(known, Known):
        values = to_numpy(known.values)
        values = np.where(to_numpy(known.mask) > 0, values, np.nan)
    else:
        values = to_numpy(known)
    if values.ndim == 2:
        if values.shape[0] != 1:
            return None  # one known row per sample: nothing single to draw
        values = values[0]
    return values


def _as_list(items) -> list:
    if items is None:
        return []
    if isinstance(items, (GaussianPrior, Inequality, Equality, Box)):
        return [items]
    return list(items)


def _draw_known(ax, row: np.ndarray) -> None:
    if not np.isnan(row[0]):
        ax.axvline(row[0], color=KNOWN_COLOR, linestyle="--", linewidth=1.5, label=f"$x_1$ = {row[0]:.2f}")
    if len(row) > 1 and not np.isnan(row[1]):
        ax.axhline(row[1], color=KNOWN_COLOR, linestyle="--", linewidth=1.5, label=f"$x_2$ = {row[1]:.2f}")


def _draw_plane(ax, constraint, extent) -> None:
    a, b = to_numpy(constraint.a), float(to_numpy(constraint.b).reshape(-1)[0])
    segment = line_in_extent(a, b, extent)
    if segment is not None:
        ax.plot(segment[:, 0], segment[:, 1], color=CONSTRAINT_COLOR, linewidth=1.5)
    if isinstance(constraint, Inequality):
        polygon = invalid_side_polygon(a, b, extent)
        if polygon is not None:
            ax.add_patch(Polygon(polygon, closed=True, facecolor=INVALID_SHADE, edgecolor="none", zorder=3))


def _draw_box(ax, box: Box, extent, color) -> None:
    low = np.clip(to_numpy(box.low), [extent[0], extent[2]], [extent[1], extent[3]])
    high = np.clip(to_numpy(box.high), [extent[0], extent[2]], [extent[1], extent[3]])
    width, height = high - low
    ax.add_patch(Rectangle(low, width, height, fill=False, edgecolor=color, linewidth=1.5, zorder=4))


def _draw_prior(ax, prior: GaussianPrior, color) -> None:
    mean, std = to_numpy(prior.mean), to_numpy(prior.std)
    if mean.ndim == 2:
        mean = mean[0]
    std = np.broadcast_to(std.reshape(-1, std.shape[-1])[0], mean.shape)
    free = np.isnan(mean) | np.isinf(std)
    if free.all():
        return  # every variable free: the prior changes nothing
    for scale, alpha in ((1.0, 0.9), (2.0, 0.5)):
        if free[1]:  # only x1 constrained: a vertical band
            ax.axvspan(mean[0] - scale * std[0], mean[0] + scale * std[0], color=color, alpha=0.12, linewidth=0)
        elif free[0]:  # only x2 constrained: a horizontal band
            ax.axhspan(mean[1] - scale * std[1], mean[1] + scale * std[1], color=color, alpha=0.12, linewidth=0)
        else:
            ellipse = Ellipse(
                (mean[0], mean[1]),
                2 * scale * std[0],
                2 * scale * std[1],
                fill=False,
                edgecolor=color,
                linewidth=1.5,
                alpha=alpha,
                zorder=4,
            )
            ax.add_patch(ellipse)


def draw_conditions(
    ax,
    known=None,
    priors=(),
    constraints=(),
    extent=DEFAULT_EXTENT,
    color="k",
) -> None:
    """Draw conditioning wishes on 2-D axes (the data variables are ``x1`` horizontal, ``x2`` vertical).

    Parameters
    ----------
    ax : matplotlib Axes
    known : (2,) row with ``nan`` for unknown variables (or a ``Known``), optional
        Drawn as a dashed red vertical line ``x1 = c`` and/or horizontal line ``x2 = c``.
    priors : GaussianPrior or list of them
        Ellipses at 1 and 2 standard deviations; a prior on one variable only is drawn as a band.
    constraints : Inequality, Equality, Box or a list of them
        ``Equality``: the red line ``a·x + b = 0``. ``Inequality``: that boundary line plus the invalid
        side (``a·x + b ≤ 0``) shaded grey. ``Box``: the rectangle, open sides clipped to ``extent``.
    extent : (x_min, x_max, y_min, y_max)
        Region used to clip lines and open boxes.
    color : matplotlib colour for boxes and priors.
    """
    row = _known_row(known)
    if row is not None:
        _draw_known(ax, row)
    for prior in _as_list(priors):
        if not isinstance(prior, GaussianPrior):
            raise TypeError(f"priors must be GaussianPrior objects, got {type(prior).__name__}")
        _draw_prior(ax, prior, color)
    for constraint in _as_list(constraints):
        if isinstance(constraint, (Inequality, Equality)):
            _draw_plane(ax, constraint, extent)
        elif isinstance(constraint, Box):
            _draw_box(ax, constraint, extent, color)
        else:
            raise TypeError(f"constraints must be Inequality, Equality or Box, got {type(constraint).__name__}")
