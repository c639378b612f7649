"""An interactive explorer: condition a trained mixture with sliders and watch its samples move.

Everything the sliders do goes through plain methods (:meth:`ConditioningExplorer.conditions`,
:meth:`~ConditioningExplorer.update`, :meth:`~ConditioningExplorer.satisfaction`), so the explorer can be
driven and tested without a browser; the plotly ``FigureWidget`` only displays the result.
"""

from __future__ import annotations

import math
import warnings

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
import torch
from matplotlib.figure import Figure

from deepmix_core.conditioning import Box, GaussianPrior, Inequality

from ._common import DEFAULT_EXTENT, is_drmm, style_axes, subsample, to_numpy
from ._controls import equal_aspect_figure, float_slider
from .conditions import draw_conditions, invalid_side_polygon, line_in_extent
from .snapshots import figure_png, mimebundle_with_snapshot

__all__ = ["ConditioningExplorer"]

CONTROL_NAMES = (
    "known_on",
    "known_x",
    "ineq_on",
    "ineq_angle",
    "ineq_offset",
    "box_on",
    "box_x_low",
    "box_x_high",
    "box_y_low",
    "box_y_high",
    "prior_on",
    "prior_x",
    "prior_y",
    "prior_std",
    "n_samples",
    "depth",
    "noise",
)
CONDITION_TRACES = ("x = c", "invalid side", "inequality boundary", "box", "prior 1σ, 2σ")
MAX_DATA_POINTS = 3000
SLIDER_STYLE = {"description_width": "62px"}
SLIDER_LAYOUT = {"width": "270px"}


_slider = float_slider  # the shared slider, same width and label width


def _checkbox(description: str, value: bool = False) -> widgets.Checkbox:
    return widgets.Checkbox(value=value, description=description, indent=False, layout=widgets.Layout(width="270px"))


class ConditioningExplorer:
    """Sliders for known x, an inequality, a box and a Gaussian prior; a live plot of conditioned samples.

    Parameters
    ----------
    model : fitted 2-D GMM or DRMM
    data : (N, 2) training data drawn faintly behind the samples, optional
    extent : (x_min, x_max, y_min, y_max) of the plot and of the position sliders
    n_samples : initial number of samples
    seed : sampling seed (the same controls always give the same samples)
    noise : DRMM only — ``False`` (default, as in the paper's figures except Fig. 2) shows the bare sums of
        chosen means, at most K^depth distinct points; ``True`` adds the last used layer's N(0, σ²) so the
        cloud looks like the density. It is also a checkbox of the explorer (``update(noise=True)``), and the
        title says on how many distinct points the samples lie when they pile up.

    Attributes
    ----------
    controls : dict name → ipywidget (names as accepted by :meth:`update`)
    figure : plotly ``FigureWidget`` with traces "data", "samples" and one per condition shape
    message : ipywidgets HTML label with warnings and the satisfaction summary
    widget : the whole explorer (controls + figure), shown when the explorer is the last value in a cell
    samples : the last samples, ``(n, 2)`` tensor

    Examples
    --------
    >>> explorer = ConditioningExplorer(model, data)          # doctest: +SKIP
    >>> explorer                                               # doctest: +SKIP  (shows the widget)
    >>> explorer.update(ineq_on=True, ineq_angle=90)           # doctest: +SKIP  (x2 > 0)
    """

    def __init__(
        self, model, data=None, extent=DEFAULT_EXTENT, n_samples: int = 500, seed: int = 0, noise: bool = False
    ) -> None:
        if getattr(model, "n_features", 2) != 2:
            raise ValueError(f"ConditioningExplorer shows 2-D models; this one has {model.n_features} variables")
        self.model, self.extent, self.seed, self.noise = model, tuple(extent), seed, noise
        self.is_deep = is_drmm(model)
        self.samples: torch.Tensor | None = None
        self._updating = False
        self.controls = self._build_controls(n_samples)
        self.message = widgets.HTML(value="", layout=widgets.Layout(width="270px"))
        self._data = None if data is None else subsample(to_numpy(data), MAX_DATA_POINTS, self.seed)
        self.figure = self._build_figure(data)
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.widget = self._build_layout()
        self.update()

    # ------------------------------------------------------------------ building
    def _build_controls(self, n_samples: int) -> dict:
        x0, x1, y0, y1 = self.extent
        width, height = x1 - x0, y1 - y0
        depth_max = self.model.n_layers if self.is_deep else 1
        controls = {
            "known_on": _checkbox("known x₁ = c"),
            "known_x": _slider("c", x0, x1, 0.0),
            "ineq_on": _checkbox("inequality a·x + b > 0"),
            "ineq_angle": _slider("angle (°)", -180.0, 180.0, 0.0, step=5.0),
            "ineq_offset": _slider("offset b", -1.5, 1.5, 0.0),
            "box_on": _checkbox("box"),
            "box_x_low": _slider("x₁ low", x0, x1, x0 + 0.3 * width),
            "box_x_high": _slider("x₁ high", x0, x1, x0 + 0.7 * width),
            "box_y_low": _slider("x₂ low", y0, y1, y0 + 0.3 * height),
            "box_y_high": _slider("x₂ high", y0, y1, y0 + 0.7 * height),
            "prior_on": _checkbox("Gaussian prior"),
            "prior_x": _slider("mean x₁", x0, x1, 0.5 * (x0 + x1)),
            "prior_y": _slider("mean x₂", y0, y1, 0.5 * (y0 + y1)),
            "prior_std": _slider("std", 0.02, 1.0, 0.2),
            "n_samples": widgets.IntSlider(
                value=n_samples,
                min=1,
                max=max(5000, n_samples),
                description="samples",
                continuous_update=False,
                style=SLIDER_STYLE,
                layout=widgets.Layout(**SLIDER_LAYOUT),
            ),
            "depth": widgets.IntSlider(
                value=depth_max,
                min=1,
                max=max(depth_max, 1),
                description="depth",
                continuous_update=False,
                style=SLIDER_STYLE,
                layout=widgets.Layout(**SLIDER_LAYOUT),
            ),
            "noise": _checkbox("σ noise (the density, not sums of means)", value=self.noise),
        }
        if not self.is_deep:
            controls["depth"].layout.display = "none"  # a GMM has a single layer
            controls["noise"].layout.display = "none"  # and its samples already include the component's spread
        return controls

    def _build_figure(self, data) -> go.FigureWidget:
        x0, x1, y0, y1 = self.extent
        traces = []
        if data is not None:
            shown = self._data
            traces.append(  # WebGL for the point clouds: SVG markers took ~100 ms per redraw for 3000 points
                go.Scattergl(
                    x=shown[:, 0],
                    y=shown[:, 1],
                    mode="markers",
                    name="data",
                    marker={"size": 3, "color": "rgba(150,150,150,0.35)"},
                    hoverinfo="skip",
                )
            )
        traces.append(
            go.Scattergl(
                x=[], y=[], mode="markers", name="samples", marker={"size": 4, "color": "crimson", "opacity": 0.7}
            )
        )
        traces.append(
            go.Scatter(x=[], y=[], mode="lines", name="x = c", visible=False, line={"color": "red", "dash": "dash"})
        )
        traces.append(
            go.Scatter(
                x=[],
                y=[],
                mode="lines",
                name="invalid side",
                visible=False,
                fill="toself",
                fillcolor="rgba(120,120,120,0.3)",
                line={"width": 0},
                hoverinfo="skip",
            )
        )
        traces.append(
            go.Scatter(x=[], y=[], mode="lines", name="inequality boundary", visible=False, line={"color": "red"})
        )
        traces.append(
            go.Scatter(x=[], y=[], mode="lines", name="box", visible=False, line={"color": "black", "width": 2})
        )
        traces.append(
            go.Scatter(
                x=[], y=[], mode="lines", name="prior 1σ, 2σ", visible=False, line={"color": "darkorange", "width": 2}
            )
        )
        return equal_aspect_figure(traces, self.extent, width=520, height=500, axis_titles=("x₁", "x₂"))

    def _build_layout(self) -> widgets.Box:
        c = self.controls
        panel = widgets.VBox(
            [
                c["known_on"],
                c["known_x"],
                c["ineq_on"],
                c["ineq_angle"],
                c["ineq_offset"],
                c["box_on"],
                c["box_x_low"],
                c["box_x_high"],
                c["box_y_low"],
                c["box_y_high"],
                c["prior_on"],
                c["prior_x"],
                c["prior_y"],
                c["prior_std"],
                c["n_samples"],
                c["depth"],
                c["noise"],
                self.message,
            ],
            layout=widgets.Layout(width="290px"),
        )
        return widgets.HBox([panel, self.figure])

    def snapshot(self) -> Figure:
        """The current state as a static matplotlib figure (what a saved notebook shows without a kernel)."""
        fig, ax = plt.subplots(figsize=(4.6, 4.6))
        if self._data is not None:
            ax.scatter(*self._data.T, s=2, c="0.75", label="data")
        samples = to_numpy(self.samples)
        ax.scatter(*samples.T, s=4, c="crimson", alpha=0.7, label="samples")
        conditions = self.conditions()
        draw_conditions(ax, known=conditions["known"], priors=conditions["priors"],
                        constraints=conditions["constraints"], extent=self.extent)
        style_axes(ax, self.extent, self._title())
        ax.title.set_fontsize(9)
        ax.legend(loc="lower left", fontsize=7)
        fig.tight_layout()
        return fig

    def _repr_mimebundle_(self, **kwargs) -> dict:
        """The live widget, plus a PNG of :meth:`snapshot` for viewers without a kernel (GitHub)."""
        return mimebundle_with_snapshot(self.widget, figure_png(self.snapshot()), **kwargs)

    # ------------------------------------------------------------------ state → conditions
    def _value(self, name: str):
        return self.controls[name].value

    def _inequality(self) -> Inequality:
        angle = math.radians(self._value("ineq_angle"))
        return Inequality([math.cos(angle), math.sin(angle)], self._value("ineq_offset"))

    def _box_problem(self) -> str | None:
        """Why the box cannot be built from the sliders (low ≥ high), or None if it can."""
        for axis in ("x", "y"):
            low, high = self._value(f"box_{axis}_low"), self._value(f"box_{axis}_high")
            if low >= high:
                return f"Box skipped: {axis} low ({low:.2f}) ≥ {axis} high ({high:.2f})."
        return None

    def conditions(self) -> dict:
        """The active wishes as ``{"known": row or None, "priors": [...], "constraints": [...]}``.

        Ready for ``model.sample(n, **explorer.conditions())``. The inequality is
        ``cos θ·x₁ + sin θ·x₂ + offset > 0``; a box whose low ≥ high is left out.
        """
        known = None
        if self._value("known_on"):
            known = torch.tensor([self._value("known_x"), math.nan])
        priors = []
        if self._value("prior_on"):
            std = self._value("prior_std")
            priors.append(GaussianPrior([self._value("prior_x"), self._value("prior_y")], [std, std]))
        constraints = []
        if self._value("ineq_on"):
            constraints.append(self._inequality())
        if self._value("box_on") and self._box_problem() is None:
            low = [self._value("box_x_low"), self._value("box_y_low")]
            high = [self._value("box_x_high"), self._value("box_y_high")]
            constraints.append(Box(low, high))
        return {"known": known, "priors": priors, "constraints": constraints}

    # ------------------------------------------------------------------ sampling and drawing
    def _on_change(self, change) -> None:
        self.update()

    def update(self, **values) -> torch.Tensor:
        """Set any controls by name, resample and redraw; returns the new samples ``(n, 2)``.

        Setting several controls fires their callbacks, but a guard makes only this call resample.
        """
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}; valid names are {list(CONTROL_NAMES)}")
        if self._updating:
            return self.samples
        self._updating = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
            conditions = self.conditions()
            kwargs = {}
            if self.is_deep:
                kwargs = {"sort": False, "upto_layer": int(self._value("depth")), "noise": bool(self._value("noise"))}
            with warnings.catch_warnings():  # the status line below says it instead, once per move
                warnings.filterwarnings("ignore", message=".*wishes look infeasible")
                self.samples = self.model.sample(int(self._value("n_samples")), seed=self.seed, **kwargs, **conditions)
            self._redraw(conditions)
        finally:
            self._updating = False
        return self.samples

    def satisfaction(self) -> dict:
        """How well the last samples meet the active wishes.

        Returns
        -------
        dict with ``"inequality"`` and ``"box"`` (fraction of samples satisfying them) and
        ``"known"`` (mean |x₁ − c|), each present only when that wish is active.
        """
        result = {}
        if self.samples is None:
            return result
        samples = self.samples.detach().cpu()
        for constraint in self.conditions()["constraints"]:
            key = "inequality" if isinstance(constraint, Inequality) else "box"
            result[key] = constraint.holds(samples).float().mean().item()
        if self._value("known_on"):
            result["known"] = (samples[:, 0] - self._value("known_x")).abs().mean().item()
        return result

    def _trace(self, name: str):
        return next(trace for trace in self.figure.data if trace.name == name)

    def _condition_shapes(self, conditions: dict) -> dict:
        """x, y point lists (with None between pieces) for every active condition trace."""
        x0, x1, y0, y1 = self.extent
        shapes = {}
        if conditions["known"] is not None:
            c = float(conditions["known"][0])
            shapes["x = c"] = ([c, c], [y0, y1])
        for constraint in conditions["constraints"]:
            if isinstance(constraint, Inequality):
                a, b = to_numpy(constraint.a), float(constraint.b)
                segment = line_in_extent(a, b, self.extent)
                if segment is not None:
                    shapes["inequality boundary"] = (segment[:, 0].tolist(), segment[:, 1].tolist())
                polygon = invalid_side_polygon(a, b, self.extent)
                if polygon is not None:
                    closed = np.vstack([polygon, polygon[:1]])
                    shapes["invalid side"] = (closed[:, 0].tolist(), closed[:, 1].tolist())
            else:
                (lx, ly), (hx, hy) = to_numpy(constraint.low), to_numpy(constraint.high)
                shapes["box"] = ([lx, hx, hx, lx, lx], [ly, ly, hy, hy, ly])
        for prior in conditions["priors"]:
            (mx, my), (sx, sy) = to_numpy(prior.mean), to_numpy(prior.std)
            angle = np.linspace(0, 2 * np.pi, 73)
            xs, ys = [], []
            for scale in (1.0, 2.0):
                xs += (mx + scale * sx * np.cos(angle)).tolist() + [None]
                ys += (my + scale * sy * np.sin(angle)).tolist() + [None]
            shapes["prior 1σ, 2σ"] = (xs, ys)
        return shapes

    def _status_text(self) -> str:
        parts = []
        problem = self._box_problem() if self._value("box_on") else None
        if problem:
            parts.append(f"<b style='color:#b00'>{problem}</b>")
        report = getattr(self.model, "sample_report_", None)
        if report is not None and report.warning and report.probability is not None:
            parts.append(f"<b style='color:#b00'>wishes look infeasible: the model gives them a probability of "
                         f"{report.probability:.2g}</b>")
        labels = {"inequality": "inequality holds", "box": "inside box", "known": "mean |x₁ − c|"}
        for key, value in self.satisfaction().items():
            shown = f"{value:.3f}" if key == "known" else f"{100 * value:.1f}%"
            parts.append(f"{labels[key]}: {shown}")
        return "<br>".join(parts)

    def _kind(self) -> str:
        return f"DRMM, depth {self._value('depth')}" if self.is_deep else "GMM"

    def distinct_points(self) -> int:
        """How many different points the last samples hold (bare DRMM samples pile onto sums of means)."""
        return 0 if self.samples is None else int(torch.unique(self.samples.detach().cpu(), dim=0).shape[0])

    def _title(self) -> str:
        """Says how many samples there are and, when they pile up, on how many distinct points."""
        n, distinct = len(self.samples), self.distinct_points()
        if distinct == n:
            return f"{self._kind()}: {n} conditioned samples"
        return f"{self._kind()}: {n} conditioned samples on {distinct} distinct points (sums of means)"

    def _redraw(self, conditions: dict) -> None:
        samples = to_numpy(self.samples)
        shapes = self._condition_shapes(conditions)
        with self.figure.batch_update():
            sample_trace = self._trace("samples")
            sample_trace.x, sample_trace.y = samples[:, 0], samples[:, 1]
            for name in CONDITION_TRACES:
                trace = self._trace(name)
                xs, ys = shapes.get(name, ([], []))
                trace.x, trace.y, trace.visible = xs, ys, name in shapes
            self.figure.layout.title = {"text": self._title(), "x": 0.5, "font": {"size": 13}}
        self.message.value = self._status_text()
