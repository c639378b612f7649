"""Drawing planar rigs (arm, humanoid) and inverse-kinematics results with matplotlib.

A pose is drawn from the rig's own forward kinematics: :meth:`Rig.geometry` gives one world-space polyline
per bone that has a shape, :meth:`Rig.forward` the joint pivots. The panels follow paper 001 Fig. 6: the
``n_show`` best samples translucent, the best one in black on top, the effector targets and the
"stay below / above / left / right" lines of the constraints.

Constraints from :func:`deepmix_core.ik.below` and friends act on one coordinate of one rig point, so
:func:`axis_bound` can read them back as "headTop.y < 1.2" and :func:`draw_inequalities` can draw them as
horizontal or vertical lines; general inequalities are skipped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from deepmix_core.conditioning import Inequality
from deepmix_core.data.kinematics import Humanoid, Rig

from ._common import to_numpy

__all__ = [
    "AxisBound",
    "axis_bound",
    "draw_inequalities",
    "draw_pose",
    "draw_poses",
    "draw_targets",
    "plot_effector_errors",
    "plot_ik_figure",
    "plot_ik_panel",
]

FIG6_EXTENT = (-1.0, 1.0, -0.1, 2.0)  # plot limits of paper 001 Fig. 6
BOUND_COLOR = "tab:red"
INVALID_SHADE = (0.5, 0.5, 0.5, 0.15)
POLISHED_COLOR = "tab:green"
TARGET_COLOR = "tab:red"


# ---------------------------------------------------------------------- poses
def _as_param_rows(rig: Rig, params) -> torch.Tensor:
    """Parameter rows ``(B, n_params)`` in float64 from a (P,) or (B, P) tensor / array."""
    rows = torch.as_tensor(to_numpy(params), dtype=torch.float64)
    rows = rows.reshape(1, -1) if rows.dim() == 1 else rows
    if rows.dim() != 2 or rows.shape[1] != rig.n_params:
        raise ValueError(f"params must have shape ({rig.n_params},) or (B, {rig.n_params}), got {tuple(rows.shape)}")
    return rows


def draw_pose(
    ax: Axes,
    rig: Rig,
    params,
    color="k",
    alpha: float = 1.0,
    linewidth: float = 1.5,
    joints: bool = True,
    linestyle: str = "-",
    zorder: float = 2.0,
    label: str | None = None,
) -> Axes:
    """Draw one pose: one line per bone that has geometry, and (optionally) a dot at every joint.

    Parameters
    ----------
    ax : matplotlib Axes to draw on
    rig : the rig whose parameters ``params`` are
    params : one parameter vector, shape (P,) or (1, P)
    color, alpha, linewidth, linestyle, zorder : line style of the bones
    joints : also mark the joint pivots (one scatter collection)
    label : legend label, given to the first bone only

    Returns
    -------
    The Axes.
    """
    rows = _as_param_rows(rig, params)
    if rows.shape[0] != 1:
        raise ValueError(f"draw_pose draws one pose; got {rows.shape[0]} (use draw_poses)")
    pose = rig.forward(rows)
    for i, polyline in enumerate(rig.geometry(rows, pose).values()):
        points = polyline[0].numpy()
        ax.plot(
            points[:, 0],
            points[:, 1],
            color=color,
            alpha=alpha,
            linewidth=linewidth,
            linestyle=linestyle,
            zorder=zorder,
            label=label if i == 0 else None,
        )
    if joints:
        pivots = pose.pivots[0].numpy()
        ax.scatter(pivots[:, 0], pivots[:, 1], s=6, color=color, alpha=alpha, zorder=zorder + 0.1)
    return ax


def draw_poses(
    ax: Axes,
    rig: Rig,
    params,
    best: int | None = 0,
    n_show: int = 10,
    color="tab:blue",
    alpha: float = 0.25,
    linewidth: float = 1.2,
) -> Axes:
    """Draw the first ``n_show`` poses of ``params`` (B, P): translucent, with row ``best`` in black on top.

    This is the style of paper 001 Fig. 6 (rows sorted best first, ``best=0``). ``best=None`` draws all
    ``n_show`` poses translucent. The best row is drawn even when it is not among the first ``n_show``.
    Each pose adds one line per bone with geometry.
    """
    rows = _as_param_rows(rig, params)
    if not (isinstance(n_show, int) and n_show >= 0):
        raise ValueError(f"n_show must be a non-negative integer, got {n_show!r}")
    if best is not None and not 0 <= best < rows.shape[0]:
        raise ValueError(f"best must index one of the {rows.shape[0]} poses, got {best}")
    for i in range(min(n_show, rows.shape[0])):
        if i != best:
            draw_pose(ax, rig, rows[i], color=color, alpha=alpha, linewidth=linewidth, joints=False, zorder=2.0)
    if best is not None:
        draw_pose(ax, rig, rows[best], color="k", alpha=1.0, linewidth=linewidth + 0.3, joints=True, zorder=3.0)
    return ax


# ---------------------------------------------------------------------- targets
def _error_text(error: float, height: float | None) -> str:
    return f"{100 * error / height:.1f}% of height" if height else f"{error:.3f}"


def draw_targets(
    ax: Axes,
    targets: Mapping[str, Sequence[float]],
    errors: Mapping[str, float] | None = None,
    height: float | None = None,
    color=TARGET_COLOR,
) -> Axes:
    """Mark effector targets ``{name: (x, y)}`` with a circled cross and a label.

    ``errors`` (``{name: distance}``, rig units) adds the distance under each label, as a percentage of
    ``height`` when it is given (e.g. ``rig.height``), else in the rig's units.
    """
    if not targets:
        return ax
    names = list(targets)
    points = np.array([to_numpy(targets[name]).reshape(2) for name in names], dtype=float)
    ax.scatter(points[:, 0], points[:, 1], s=90, facecolors="none", edgecolors=color, linewidths=1.5, zorder=5)
    ax.scatter(points[:, 0], points[:, 1], s=90, marker="+", color=color, linewidths=1.5, zorder=5)
    for name, (x, y) in zip(names, points):
        text = name
        if errors is not None and name in errors:
            text += f"\n{_error_text(float(errors[name]), height)}"
        ax.annotate(
            text, (x, y), xytext=(6, 6), textcoords="offset points", fontsize=8, color=color, zorder=6, va="bottom"
        )
    return ax


# ---------------------------------------------------------------------- constraints
class AxisBound(NamedTuple):
    """A constraint on one coordinate of one rig point: ``point.axis < value`` (relation "<") or ">"."""

    point: str
    axis: str
    relation: str
    value: float
    weight: float

    def __str__(self) -> str:
        return f"{self.point}.{self.axis} {self.relation} {self.value:g}"


def axis_bound(rig: Rig, constraint) -> AxisBound | None:
    """Read ``constraint`` as a bound on one point coordinate, or ``None`` if it is anything else.

    An :class:`Inequality` ``a·x + b > 0`` whose ``a`` has a single non-zero entry ``a_i`` (for the
    variable ``"<point>.x"`` or ``"<point>.y"``) means ``x_i > −b / a_i`` when ``a_i > 0`` and
    ``x_i < −b / a_i`` when ``a_i < 0``. Angles, boxes, batched and general inequalities give ``None``.
    """
    if not isinstance(constraint, Inequality) or constraint.b.dim() != 0:
        return None
    a = to_numpy(constraint.a).astype(float)
    nonzero = np.flatnonzero(np.abs(a) > 1e-12)
    if a.shape != (rig.dim,) or len(nonzero) != 1:
        return None
    point, _, axis = rig.variable_names[nonzero[0]].rpartition(".")
    if axis not in ("x", "y"):
        return None
    a_i = a[nonzero[0]]
    value = -float(constraint.b) / a_i  # boundary a_i·x_i + b = 0
    return AxisBound(point, axis, ">" if a_i > 0 else "<", value, constraint.weight)


def group_bounds(rig: Rig, constraints) -> dict[tuple[str, str, float], list[str]]:
    """Bounds that share a line and a side, ``{(axis, relation, value): [point names]}``, in first-seen order."""
    groups: dict[tuple[str, str, float], list[str]] = {}
    for constraint in constraints:
        bound = axis_bound(rig, constraint)
        if bound is not None:
            key = (bound.axis, bound.relation, round(bound.value, 9))
            groups.setdefault(key, []).append(bound.point)
    return groups


def bound_covers_rig(rig: Rig, points) -> bool:
    """True when a bound holds for every end point of ``rig`` (``rig.effectors``): only then is the whole side
    of the line invalid. A bound on the head alone leaves the rest of the body free to cross it."""
    return set(rig.effectors) <= set(points)


def _invalid_rectangle(axis: str, relation: str, value: float, extent) -> tuple[tuple[float, float], float, float]:
    """Lower-left corner, width and height of the part of ``extent`` where the bound is broken."""
    x0, x1, y0, y1 = extent
    if axis == "y":
        edge = min(max(value, y0), y1)
        low, high = (edge, y1) if relation == "<" else (y0, edge)
        return (x0, low), x1 - x0, high - low
    edge = min(max(value, x0), x1)
    low, high = (edge, x1) if relation == "<" else (x0, edge)
    return (low, y0), high - low, y1 - y0


def draw_inequalities(
    ax: Axes,
    rig: Rig,
    constraints: Sequence,
    extent=FIG6_EXTENT,
    color=BOUND_COLOR,
    shade=INVALID_SHADE,
    labels: bool = True,
) -> Axes:
    """Draw single-coordinate constraints as boundary lines, shading the invalid side where it is one.

    Bounds on the same line and side (e.g. "y < 1.2" for five points) share one line and one label naming
    the point (or two; more are counted: "5 points: y < 1.2"). The side beyond the line is shaded only when
    the bound holds for every end point of the rig (:func:`bound_covers_rig`); a bound on the head alone
    gets its labelled line but no shading. Constraints that :func:`axis_bound` cannot read (general
    inequalities, boxes) are skipped.
    """
    x0, x1, y0, y1 = extent
    for (axis, relation, value), points in group_bounds(rig, constraints).items():
        if bound_covers_rig(rig, points):
            corner, width, height = _invalid_rectangle(axis, relation, value, extent)
            ax.add_patch(Rectangle(corner, width, height, facecolor=shade, edgecolor="none", zorder=0.5))
        who = ", ".join(points) if len(points) <= 2 else f"{len(points)} points"
        text = f"{who}: {axis} {relation} {value:g}"
        if axis == "y":
            ax.plot([x0, x1], [value, value], color=color, linestyle="--", linewidth=1.0, zorder=1)
            if labels and y0 <= value <= y1:
                ax.text(x0, value, " " + text, fontsize=6, color=color, va="bottom" if relation == "<" else "top")
        else:
            ax.plot([value, value], [y0, y1], color=color, linestyle="--", linewidth=1.0, zorder=1)
            if labels and x0 <= value <= x1:
                ax.text(value, y0, " " + text, fontsize=6, color=color, rotation=90, va="bottom", ha="right")
    return ax


# ---------------------------------------------------------------------- IK panels
def _solution_summary(solution, constraints, size_name: str = "height") -> str:
    """Text lines for a panel: best sample's target error, constraint satisfaction, polished error."""
    height = solution.height
    lines = []
    best_error = float(solution.errors[0])
    if math.isfinite(best_error):
        lines.append(f"best: error {100 * best_error / height:.1f}% of {size_name}")
    else:
        lines.append("no targets")
    if len(constraints):
        met = int(solution.satisfied.sum())
        answer = "yes" if bool(solution.satisfied[0]) else "no"
        lines.append(f"constraints met: {answer} ({met}/{len(solution.satisfied)} samples)")
    if solution.polished_error is not None:
        polished = float(solution.polished_error)
        parts = [f"{100 * polished / height:.2f}% of {size_name}"] if math.isfinite(polished) else []
        if len(constraints) and solution.polished_satisfied is not None:
            parts.append("constraints " + ("met" if bool(solution.polished_satisfied) else "not met"))
        lines.append("CCD polished: " + ", ".join(parts))
    return "\n".join(lines)


def plot_ik_panel(
    ax: Axes,
    rig: Rig,
    solution,
    targets: Mapping[str, Sequence[float]] | None = None,
    constraints: Sequence = (),
    title: str | None = None,
    n_show: int = 10,
    extent=FIG6_EXTENT,
    show_polished: bool = True,
    ground: bool | None = None,
) -> Axes:
    """One panel of paper 001 Fig. 6 from an ``IKSolution`` of :func:`deepmix_core.ik.solve`.

    Draws the constraint lines (invalid side shaded), the ground ``y = 0`` (by default for a
    :class:`Humanoid`), the ``n_show`` best samples translucent with the best in black, the CCD-polished
    pose dashed green (if ``solution`` has one and ``show_polished``), the targets, and a text box with the
    best sample's kinematic error as a percentage of ``rig.height`` and whether it meets the constraints.
    ``targets`` and ``constraints`` should be those given to ``solve`` (the solution does not keep them).
    """
    if solution.params.dim() != 2:
        raise ValueError("plot_ik_panel shows one query; pass solve(...) or solution.squeeze() of solve_many")
    constraints = list(constraints or ())
    x0, x1, y0, y1 = extent
    if constraints:
        draw_inequalities(ax, rig, constraints, extent)
    if ground if ground is not None else isinstance(rig, Humanoid):
        ax.plot([x0, x1], [0.0, 0.0], color="0.35", linewidth=1.0, zorder=1)
    draw_poses(ax, rig, solution.params, best=0, n_show=n_show)
    if show_polished and solution.polished_params is not None:
        draw_pose(
            ax, rig, solution.polished_params, color=POLISHED_COLOR, linestyle="--", joints=False, zorder=4.0
        )
    draw_targets(ax, targets or {})
    ax.text(
        0.02,
        0.98,
        _solution_summary(solution, constraints, getattr(rig, "size_name", "height")),
        transform=ax.transAxes,
        fontsize=7,
        va="top",
        ha="left",
        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"},
        zorder=7,
    )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def plot_ik_figure(
    rig: Rig,
    panels: Sequence[tuple],
    n_show: int = 10,
    extent=FIG6_EXTENT,
    show_polished: bool = True,
    panel_size: float = 3.2,
) -> Figure:
    """A 1×N row of :func:`plot_ik_panel` panels; ``panels`` holds ``(title, solution, targets, constraints)``.

    ``targets`` may be ``None`` and ``constraints`` empty. Returns the Figure.
    """
    if not panels:
        raise ValueError("panels must hold at least one (title, solution, targets, constraints)")
    x0, x1, y0, y1 = extent
    aspect = (y1 - y0) / (x1 - x0)
    fig, axes = plt.subplots(1, len(panels), figsize=(panel_size * len(panels), panel_size * aspect), squeeze=False)
    for ax, (title, solution, targets, constraints) in zip(axes[0], panels):
        plot_ik_panel(
            ax,
            rig,
            solution,
            targets=targets,
            constraints=constraints or (),
            title=title,
            n_show=n_show,
            extent=extent,
            show_polished=show_polished,
        )
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------- quality
def plot_effector_errors(
    errors,
    height: float,
    ax: Axes | None = None,
    kind: str = "ecdf",
    bins: int = 30,
    log: bool = False,
    title: str | None = None,
) -> Axes:
    """Distribution of target errors as a percentage of the rig's ``height``: ECDF (default) or histogram.

    ``errors`` is one array / tensor of distances (rig units; ``nan`` entries are dropped) or a dict
    ``{label: errors}`` to compare several solvers; each label shows its median. ``log`` uses a log x-axis
    (errors of exactly 0 are then shown at 1e-4 %).
    """
    if not height > 0:
        raise ValueError(f"height must be > 0, got {height!r}")
    if kind not in ("ecdf", "hist"):
        raise ValueError(f"kind must be 'ecdf' or 'hist', got {kind!r}")
    series = errors if isinstance(errors, Mapping) else {None: errors}
    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots(figsize=(4.5, 3.2))
    for label, values in series.items():
        percent = 100 * to_numpy(values).astype(float).ravel() / height
        percent = np.sort(percent[np.isfinite(percent)])
        if percent.size == 0:
            raise ValueError(f"no finite errors to plot{f' for {label!r}' if label else ''}")
        if log:
            percent = np.maximum(percent, 1e-4)
        name = f"median {np.median(percent):.2g}%" if label is None else f"{label} (median {np.median(percent):.2g}%)"
        if kind == "ecdf":
            fraction = np.arange(1, percent.size + 1) / percent.size  # F(e) = #{errors ≤ e} / n
            ax.step(percent, fraction, where="post", label=name)
        else:
            edges = np.geomspace(percent[0], percent[-1], bins + 1) if log and percent[-1] > percent[0] else bins
            ax.hist(percent, bins=edges, histtype="step", label=name)
    if log:
        ax.set_xscale("log")
    ax.set_xlabel("target error (% of height)")
    ax.set_ylabel("fraction of queries ≤ error" if kind == "ecdf" else "count")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    if own_figure:
        ax.figure.tight_layout()
    return ax
