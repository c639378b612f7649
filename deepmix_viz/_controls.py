"""Widget pieces shared by the explorers (not part of the public API): sliders and an equal-aspect figure."""

from __future__ import annotations

import ipywidgets as widgets
import plotly.graph_objects as go


def float_slider(
    description: str, low: float, high: float, value: float, step: float = 0.01, label_width: str = "62px",
    width: str = "270px",
) -> widgets.FloatSlider:
    """A float slider that updates on release (each change re-samples), ``value`` clamped into [low, high]."""
    return widgets.FloatSlider(
        value=min(max(value, low), high),
        min=low,
        max=high,
        step=step,
        description=description,
        continuous_update=False,
        readout_format=".2f",
        style={"description_width": label_width},
        layout=widgets.Layout(width=width),
    )


def int_slider(
    description: str, low: int, high: int, value: int, label_width: str = "62px", width: str = "270px"
) -> widgets.IntSlider:
    """An integer slider that updates on release."""
    return widgets.IntSlider(
        value=value,
        min=low,
        max=high,
        description=description,
        continuous_update=False,
        style={"description_width": label_width},
        layout=widgets.Layout(width=width),
    )


def equal_aspect_figure(traces, extent, width: int, height: int, axis_titles=("x", "y")) -> go.FigureWidget:
    """A plotly FigureWidget over ``extent`` = (x0, x1, y0, y1) with equal x/y scales and the legend below."""
    x0, x1, y0, y1 = extent
    figure = go.FigureWidget(data=traces)
    figure.update_layout(
        width=width,
        height=height,
        template="plotly_white",
        margin={"l": 50, "r": 10, "t": 50, "b": 40},
        xaxis={"range": [x0, x1], "title": axis_titles[0], "constrain": "domain"},
        yaxis={"range": [y0, y1], "title": axis_titles[1], "scaleanchor": "x", "scaleratio": 1},
        legend={"orientation": "h", "y": -0.12},
    )
    return figure
