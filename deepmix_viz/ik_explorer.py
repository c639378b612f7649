"""A live inverse-kinematics explorer: drag effector targets, switch constraints on, watch the poses.

Like :class:`~deepmix_viz.widgets.ConditioningExplorer`, every control is an ipywidget whose callback is a
plain method (:meth:`IKExplorer.update`), so the explorer can be driven and tested without a browser. Each
update calls :func:`deepmix_core.ik.solve` (sample, check by forward kinematics, rank, optionally polish
with CCD) and redraws a plotly ``FigureWidget`` that holds a handful of traces: all sample poses share one
line trace (bones separated by gaps), so a redraw stays fast even with 256 samples.
"""

from __future__ import annotations

import functools
import math
import time
import warnings

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
import torch
from matplotlib.figure import Figure

from deepmix_core.data.kinematics import Arm, Humanoid, Rig
from deepmix_core.ik import SELECTIONS, IKSolution, above, below, left_of, right_of, solve

from ._controls import equal_aspect_figure, float_slider, int_slider
from .rigs import bound_covers_rig, group_bounds, plot_ik_panel
from .snapshots import figure_png, mimebundle_with_snapshot

__all__ = ["IKExplorer", "reachable_extent"]

HUMANOID_EXTENT = (-1.3, 1.3, -0.4, 2.2)  # holds nearly all effector positions of random humanoid poses
FIVE_POINTS = ("headTop", "rHand", "lHand", "lFoot", "rFoot")  # the points constrained in paper 001 Fig. 6
CONSTRAINT_GROUPS = {  # checkbox name → (label, points it constrains)
    "head_below_on": ("head below the line", ("headTop",)),
    "limbs_below_on": ("hands and feet below the line", ("rHand", "lHand", "lFoot", "rFoot")),
    "above_ground_on": ("head, hands, feet above ground", FIVE_POINTS),
    "corridor_on": ("stay in the corridor |x| < w", FIVE_POINTS),
}
SAMPLE_COLOR = "rgba(31,119,180,0.3)"
SLIDER_STYLE = {"description_width": "84px"}  # wide enough for every label ("CCD sweeps", "rHand x")
SLIDER_LAYOUT = {"width": "290px"}


def reachable_extent(rig: Rig) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) that the rig's effectors can reach: the target sliders' ranges.

    An :class:`Arm` reaches the disc of radius ``rig.height`` (its total length); the :class:`Humanoid`
    uses a fixed box; other rigs take the range of 2000 random poses' effectors, rounded out to 0.1.
    """
    if isinstance(rig, Arm):
        reach = rig.height
        return (-reach, reach, -reach, reach)
    if isinstance(rig, Humanoid):
        return HUMANOID_EXTENT
    points = rig.end_effectors(rig.sample_poses(2000, seed=0)).reshape(-1, 2)
    low, high = points.min(0).values, points.max(0).values
    return (
        math.floor(10 * low[0].item()) / 10,
        math.ceil(10 * high[0].item()) / 10,
        math.floor(10 * low[1].item()) / 10,
        math.ceil(10 * high[1].item()) / 10,
    )


def pose_lines(rig: Rig, params: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """x and y of every bone polyline of every pose in ``params`` (B, P), each polyline followed by a NaN gap.

    One plotly line trace can then draw all the poses (NaN breaks the line between bones).
    """
    if params.shape[0] == 0:
        return np.empty(0), np.empty(0)
    shapes = rig.geometry(params.double())
    polylines = torch.stack(list(shapes.values()), dim=1)  # (B, bones, P, 2)
    gap = torch.full((*polylines.shape[:2], 1, 2), math.nan, dtype=polylines.dtype)
    points = torch.cat([polylines, gap], dim=2).reshape(-1, 2).numpy()
    return points[:, 0], points[:, 1]


_slider = functools.partial(float_slider, label_width=SLIDER_STYLE["description_width"], width=SLIDER_LAYOUT["width"])
_int_slider = functools.partial(int_slider, label_width=SLIDER_STYLE["description_width"], width=SLIDER_LAYOUT["width"])


def _checkbox(description: str, value: bool = False) -> widgets.Checkbox:
    return widgets.Checkbox(value=value, description=description, indent=False, layout=widgets.Layout(width="280px"))


class IKExplorer:
    """Targets, constraint groups and sampling controls for IK with a trained model; a live pose plot.

    Parameters
    ----------
    model : a DRMM (or GMM) fitted to ``rig.dataset(...)``
    rig : the :class:`~deepmix_core.data.kinematics.Rig` the model was trained on
    n_samples : initial number of samples per query (the slider allows 8–256)
    seed : sampling seed (the same controls always give the same samples)
    extent : (x_min, x_max, y_min, y_max) of the plot and the target sliders; default
        :func:`reachable_extent`

    Controls (names for :meth:`update`)
    -----------------------------------
    ``<effector>_on``, ``<effector>_x``, ``<effector>_y`` for every effector in ``rig.effectors``;
    ``head_below_on``, ``limbs_below_on``, ``above_ground_on``, ``corridor_on`` (humanoid only) with
    ``line_y`` (the "below" line, default 1.2) and ``corridor_half_width`` (default 0.5); ``n_samples``,
    ``polish``, ``ccd_iterations`` and ``select`` (``"likelihood"`` or ``"kinematics"``).
    The four humanoid groups together are the 20 inequalities of paper 001 Fig. 6, panel 4.

    Attributes
    ----------
    controls : dict name → ipywidget
    figure : plotly ``FigureWidget`` with traces "invalid side", "ground", "constraint lines", "samples",
        "best", "polished", "targets"
    status : ``widgets.HTML`` showing :meth:`summary`
    widget : the whole explorer (controls + figure)
    solution : the last :class:`~deepmix_core.ik.IKSolution`
    elapsed_ms : wall time of the last ``solve`` call

    Examples
    --------
    >>> explorer = IKExplorer(model, Humanoid())                     # doctest: +SKIP
    >>> explorer                                                      # doctest: +SKIP  (shows the widget)
    >>> explorer.update(rHand_on=True, rHand_x=0.8, rHand_y=1.0)      # doctest: +SKIP
    """

    def __init__(self, model, rig: Rig, n_samples: int = 64, seed: int = 0, extent=None) -> None:
        if getattr(model, "n_features", rig.dim) != rig.dim:
            raise ValueError(f"the model has {model.n_features} variables but the rig's data vector has {rig.dim}")
        if not (isinstance(n_samples, int) and 8 <= n_samples <= 256):
            raise ValueError(f"n_samples must be an integer in [8, 256], got {n_samples!r}")
        self.model, self.rig, self.seed = model, rig, seed
        self.extent = tuple(float(v) for v in (extent if extent is not None else reachable_extent(rig)))
        self.groups = {
            name: all(point in rig.effectors for point in points) for name, (_, points) in CONSTRAINT_GROUPS.items()
        }
        self.solution: IKSolution | None = None
        self.elapsed_ms = math.nan
        self._updating = False
        self.controls = self._build_controls(n_samples)
        self.status = widgets.HTML(value="", layout=widgets.Layout(width="280px"))
        self.figure = self._build_figure()
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.widget = self._build_layout()
        self.update()

    # ------------------------------------------------------------------ building
    def _default_targets(self) -> dict[str, tuple[float, float]]:
        """Median effector positions of random poses, rounded to 0.05: a reachable start for each slider."""
        points = self.rig.end_effectors(self.rig.sample_poses(500, seed=0)).median(dim=0).values
        rounded = lambda values: tuple(round(20 * v) / 20 for v in values.tolist())  # noqa: E731
        return {name: rounded(points[i]) for i, name in enumerate(self.rig.effectors)}

    def _build_controls(self, n_samples: int) -> dict:
        x0, x1, y0, y1 = self.extent
        controls = {}
        for name, (x, y) in self._default_targets().items():
            controls[f"{name}_on"] = _checkbox(f"target for {name}")
            controls[f"{name}_x"] = _slider(f"{name} x", x0, x1, x)
            controls[f"{name}_y"] = _slider(f"{name} y", y0, y1, y)
        for name, (label, _) in CONSTRAINT_GROUPS.items():
            controls[name] = _checkbox(label)
        controls["line_y"] = _slider("line y", y0, y1, 1.2)
        controls["corridor_half_width"] = _slider("corridor w", 0.05, max(0.1, 0.5 * (x1 - x0)), 0.5)
        controls["n_samples"] = _int_slider("samples", 8, 256, n_samples)
        controls["polish"] = _checkbox("CCD polish of the best sample")
        controls["ccd_iterations"] = _int_slider("CCD sweeps", 0, 200, 50)
        controls["select"] = widgets.Dropdown(
            options=list(SELECTIONS), value="likelihood", description="rank by", style=SLIDER_STYLE
        )
        hidden = [name for name, available in self.groups.items() if not available]
        if not (self.groups["head_below_on"] or self.groups["limbs_below_on"]):
            hidden.append("line_y")
        if not self.groups["corridor_on"]:
            hidden.append("corridor_half_width")
        for name in hidden:
            controls[name].disabled = True
            controls[name].layout.display = "none"
        return controls

    def _build_figure(self) -> go.FigureWidget:
        x0, x1, y0, y1 = self.extent
        is_humanoid = isinstance(self.rig, Humanoid)
        empty = {"x": [], "y": []}
        traces = [
            go.Scatter(
                **empty,
                mode="lines",
                name="invalid side",
                fill="toself",
                fillcolor="rgba(120,120,120,0.18)",
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
            ),
            go.Scatter(
                x=[x0, x1] if is_humanoid else [],
                y=[0.0, 0.0] if is_humanoid else [],
                mode="lines",
                name="ground",
                line={"color": "gray", "width": 1},
                visible=is_humanoid,
                hoverinfo="skip",
            ),
            go.Scatter(**empty, mode="lines", name="constraint lines", line={"color": "red", "dash": "dash"}),
            go.Scatter(**empty, mode="text", name="constraint labels", text=[], textposition="top right",
                       textfont={"color": "red", "size": 10}, showlegend=False, hoverinfo="skip"),
            # WebGL for the many sample poses: redrawing them as SVG paths cost a few hundred ms per move
            go.Scattergl(**empty, mode="lines", name="samples", line={"color": SAMPLE_COLOR, "width": 1.2}),
            go.Scatter(**empty, mode="lines", name="best", line={"color": "black", "width": 2}),
            go.Scatter(
                **empty,
                mode="lines",
                name="polished",
                visible=False,
                line={"color": "green", "dash": "dash", "width": 2},
            ),
            go.Scatter(
                **empty,
                mode="markers+text",
                name="targets",
                marker={"symbol": "circle-x-open", "size": 14, "color": "red", "line": {"width": 2}},
                textposition="top right",
                textfont={"color": "red", "size": 11},
            ),
        ]
        return equal_aspect_figure(traces, self.extent, width=540, height=560)

    def _build_layout(self) -> widgets.Box:
        """Controls in an accordion (targets, constraints, sampling: one open at a time, so the column stays
        about as tall as the plot on a laptop screen), the status lines always visible below it."""
        c = self.controls
        target_rows = [c[f"{name}_{part}"] for name in self.rig.effectors for part in ("on", "x", "y")]
        constraint_rows = [c[name] for name in (*CONSTRAINT_GROUPS, "line_y", "corridor_half_width")]
        sampling_rows = [c["n_samples"], c["select"], c["polish"], c["ccd_iterations"]]
        sections = {"Targets": target_rows, "Constraints": constraint_rows, "Sampling": sampling_rows}
        if not any(self.groups.values()):
            sections["Sampling"] = sampling_rows + constraint_rows  # all hidden, kept so the controls stay live
            del sections["Constraints"]
        accordion = widgets.Accordion(children=[widgets.VBox(rows) for rows in sections.values()],
                                      titles=tuple(sections), selected_index=0)
        panel = widgets.VBox([accordion, self.status], layout=widgets.Layout(width="330px"))
        return widgets.HBox([panel, self.figure])

    def snapshot(self) -> Figure:
        """The current query as a static matplotlib figure (what a saved notebook shows without a kernel)."""
        fig, ax = plt.subplots(figsize=(4.6, 4.6))
        plot_ik_panel(ax, self.rig, self.solution, self.targets(), self.constraints(), extent=self.extent,
                      title=f"IK explorer: best of {len(self.solution.params)} samples (static picture)",
                      show_polished=bool(self._value("polish")))
        fig.tight_layout()
        return fig

    def _repr_mimebundle_(self, **kwargs) -> dict:
        """The live widget, plus a PNG of :meth:`snapshot` for viewers without a kernel (GitHub)."""
        return mimebundle_with_snapshot(self.widget, figure_png(self.snapshot()), **kwargs)

    # ------------------------------------------------------------------ state → query
    def _value(self, name: str):
        return self.controls[name].value

    def targets(self) -> dict[str, tuple[float, float]]:
        """The switched-on effector targets, ``{effector: (x, y)}``, ready for ``solve(targets=…)``."""
        return {
            name: (float(self._value(f"{name}_x")), float(self._value(f"{name}_y")))
            for name in self.rig.effectors
            if self._value(f"{name}_on")
        }

    def constraints(self) -> list:
        """The switched-on constraint groups as :class:`Inequality` objects (weights as paper 001 Fig. 6).

        "below the line" is ``point.y < line_y`` (weight 3), "above ground" ``point.y > 0`` and the corridor
        ``−w < point.x < w`` (weight 1). Groups the rig cannot use are ignored.
        """
        line, half_width = float(self._value("line_y")), float(self._value("corridor_half_width"))
        constraints = []
        for name, (_, points) in CONSTRAINT_GROUPS.items():
            if not (self.groups[name] and self._value(name)):
                continue
            for point in points:
                if name in ("head_below_on", "limbs_below_on"):
                    constraints.append(below(self.rig, point, line))
                elif name == "above_ground_on":
                    constraints.append(above(self.rig, point, 0.0))
                else:
                    constraints.append(right_of(self.rig, point, -half_width))
                    constraints.append(left_of(self.rig, point, half_width))
        return constraints

    def _check_values(self, values: dict) -> None:
        """Raise ValueError for unknown controls, unavailable groups and values the widgets would clamp."""
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}; valid names are {list(self.controls)}")
        for name, value in values.items():
            control = self.controls[name]
            if control.disabled and value != control.value:
                raise ValueError(f"control {name!r} is not available for {type(self.rig).__name__}")
            if isinstance(control, widgets.Dropdown):
                if value not in control.options:
                    raise ValueError(f"{name} must be one of {list(control.options)}, got {value!r}")
            elif isinstance(control, (widgets.FloatSlider, widgets.IntSlider)):
                if not control.min <= value <= control.max:
                    raise ValueError(f"{name} must lie in [{control.min}, {control.max}], got {value!r}")

    # ------------------------------------------------------------------ solving and drawing
    def _on_change(self, change) -> None:
        self.update()

    def set_target(self, effector: str, x: float, y: float, on: bool = True) -> IKSolution:
        """Place (and switch on) the target of ``effector``; ValueError for an effector the rig lacks."""
        if effector not in self.rig.effectors:
            raise ValueError(f"unknown effector {effector!r}; this rig has {self.rig.effectors}")
        return self.update(**{f"{effector}_on": on, f"{effector}_x": x, f"{effector}_y": y})

    def update(self, **values) -> IKSolution:
        """Set any controls by name, solve the IK query again and redraw; returns the new ``IKSolution``.

        Setting several controls fires their callbacks, but a guard makes only this call solve.
        """
        self._check_values(values)
        if self._updating:
            return self.solution
        self._updating = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
            targets, constraints = self.targets(), self.constraints()
            start = time.perf_counter()
            with warnings.catch_warnings():  # the status line reports how many samples meet the wishes
                warnings.filterwarnings("ignore", message=".*(wishes look infeasible|queries still miss)")
                self.solution = solve(
                    self.model,
                    self.rig,
                    targets or None,
                    constraints=constraints,
                    n_samples=int(self._value("n_samples")),
                    select=self._value("select"),
                    polish=bool(self._value("polish")),
                    ccd_iterations=int(self._value("ccd_iterations")),
                    seed=self.seed,
                )
            self.elapsed_ms = 1000 * (time.perf_counter() - start)
            self._redraw(targets, constraints)
        finally:
            self._updating = False
        return self.solution

    def summary(self) -> dict:
        """The last query in numbers.

        Returns
        -------
        dict with ``best_error`` (the best sample's mean target distance as a fraction of ``rig.height``,
        ``nan`` without targets), ``best_satisfied`` (it meets every constraint), ``satisfied_fraction``
        (fraction of samples that do), ``polished_error`` (fraction of height after CCD, or ``None``),
        ``n_samples``, ``n_constraints`` and ``time_ms`` (wall time of ``solve``).
        """
        solution = self.solution
        if solution is None:
            return {}
        height = self.rig.height
        polished = solution.polished_error
        return {
            "best_error": float(solution.errors[0]) / height,
            "best_satisfied": bool(solution.satisfied[0]),
            "satisfied_fraction": solution.satisfied.double().mean().item(),
            "polished_error": None if polished is None else float(polished) / height,
            "n_samples": int(solution.params.shape[0]),
            "n_constraints": len(self.constraints()),
            "time_ms": self.elapsed_ms,
        }

    def _status_text(self) -> str:
        summary = self.summary()
        parts = []
        if math.isfinite(summary["best_error"]):
            parts.append(f"best sample: error {100 * summary['best_error']:.1f}% of {self.rig.size_name}")
        else:
            parts.append("no targets: unconditional samples")
        if summary["n_constraints"]:
            met = "yes" if summary["best_satisfied"] else "<b style='color:#b00'>no</b>"
            parts.append(
                f"{summary['n_constraints']} constraints: met by {100 * summary['satisfied_fraction']:.0f}% "
                f"of samples (best: {met})"
            )
        if summary["polished_error"] is not None:
            parts.append(f"after CCD: {100 * summary['polished_error']:.2f}% of {self.rig.size_name}")
        parts.append(f"{summary['n_samples']} samples in {summary['time_ms']:.0f} ms")
        return "<br>".join(parts)

    def _trace(self, name: str):
        return next(trace for trace in self.figure.data if trace.name == name)

    def _constraint_shapes(self, constraints: list) -> dict:
        """Boundary lines, their labels and the invalid-side rectangles of the axis bounds.

        Returns x/y lists with ``None`` gaps for ``"lines"`` and ``"fill"``, and label positions and texts
        for ``"labels"``. A side is shaded only when its bound holds for every end point of the rig
        (:func:`~deepmix_viz.rigs.bound_covers_rig`): a line for the head alone leaves the hands free.
        """
        x0, x1, y0, y1 = self.extent
        shapes = {"lines": ([], []), "fill": ([], []), "labels": ([], [], [])}
        for (axis, relation, value), points in group_bounds(self.rig, constraints).items():
            who = ", ".join(points) if len(points) <= 2 else f"{len(points)} points"
            if axis == "y":
                line = ([x0, x1, None], [value, value, None])
                far = y1 if relation == "<" else y0  # the invalid side reaches this edge
                box = ([x0, x1, x1, x0, x0, None], [value, value, far, far, value, None])
                label = (x0, value)
            else:
                line = ([value, value, None], [y0, y1, None])
                far = x1 if relation == "<" else x0
                box = ([value, far, far, value, value, None], [y0, y0, y1, y1, y0, None])
                label = (value, y0)
            shapes["lines"][0].extend(line[0])
            shapes["lines"][1].extend(line[1])
            if bound_covers_rig(self.rig, points):
                shapes["fill"][0].extend(box[0])
                shapes["fill"][1].extend(box[1])
            shapes["labels"][0].append(label[0])
            shapes["labels"][1].append(label[1])
            shapes["labels"][2].append(f"{who}: {axis} {relation} {value:g}")
        return shapes

    def _redraw(self, targets: dict, constraints: list) -> None:
        solution = self.solution
        samples_x, samples_y = pose_lines(self.rig, solution.params)
        best_x, best_y = pose_lines(self.rig, solution.params[:1])
        shapes = self._constraint_shapes(constraints)
        (line_x, line_y), (fill_x, fill_y) = shapes["lines"], shapes["fill"]
        with self.figure.batch_update():
            self._trace("samples").update(x=samples_x, y=samples_y)
            self._trace("best").update(x=best_x, y=best_y)
            polished = self._trace("polished")
            if solution.polished_params is not None:
                polished_x, polished_y = pose_lines(self.rig, solution.polished_params.reshape(1, -1))
                polished.update(x=polished_x, y=polished_y, visible=True)
            else:
                polished.update(x=[], y=[], visible=False)
            names = list(targets)
            self._trace("targets").update(
                x=[targets[n][0] for n in names], y=[targets[n][1] for n in names], text=names
            )
            self._trace("constraint lines").update(x=line_x, y=line_y, visible=bool(line_x))
            self._trace("invalid side").update(x=fill_x, y=fill_y, visible=bool(fill_x))
            label_x, label_y, label_text = shapes["labels"]
            self._trace("constraint labels").update(x=label_x, y=label_y, text=label_text, visible=bool(label_x))
            ranking = self._value("select")
            self.figure.layout.title = {
                "text": f"{len(solution.params)} samples, best by {ranking} in black",
                "x": 0.5,
            }
        self.status.value = self._status_text()
