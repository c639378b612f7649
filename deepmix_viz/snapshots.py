"""Widgets that also carry a static picture of their state, so a saved notebook reads without a kernel.

A live ipywidget shows nothing on GitHub or in a notebook opened without its kernel: the saved output holds
only a pointer to widget state that is not kept. Every explorer in deepmix therefore displays *two*
representations in one output: the live widget (``application/vnd.jupyter.widget-view+json``, which
JupyterLab prefers when the kernel is running) and a PNG of the current state (``image/png``, which every
other viewer shows). When a notebook is saved for the repository the widget part is stripped and the PNG
stays, so the reader sees the first state of every explorer.

* :class:`FigureControls` — ipywidgets controls driving a function that draws a matplotlib figure. The
  figure is rendered to a PNG shown in an ``ipywidgets.Image``, so each move replaces the picture (no
  figure is left open, nothing depends on the inline backend flushing figures from a callback).
* :func:`figure_png` — the PNG bytes of a matplotlib figure.
* :func:`mimebundle_with_snapshot` — a widget's display data plus a PNG, for explorers built on plotly.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["FigureControls", "figure_png", "mimebundle_with_snapshot"]


def figure_png(figure: Figure, dpi: int | None = None, close: bool = True) -> bytes:
    """Render ``figure`` to PNG bytes (at ``dpi``, default the figure's own) and close it unless asked not to."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    if close:
        plt.close(figure)
    return buffer.getvalue()


def png_width(png: bytes) -> int:
    """Pixel width of a PNG, read from its header (bytes 16–19 of the IHDR chunk, big-endian)."""
    return int.from_bytes(png[16:20], "big")


def mimebundle_with_snapshot(widget: widgets.Widget, png: bytes, **kwargs) -> dict:
    """``widget``'s display data with ``image/png`` added: live in JupyterLab, a picture everywhere else."""
    bundle = widget._repr_mimebundle_(**kwargs)
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    data = dict(data)
    data["image/png"] = base64.b64encode(png).decode("ascii")
    return data


class FigureControls:
    """Controls that redraw a matplotlib figure, with a static picture of the current state for readers.

    Parameters
    ----------
    draw : function taking the controls' values as keyword arguments and returning a matplotlib Figure
        (the same plain function a test or a notebook cell can call directly).
    controls : name → ipywidget whose ``value`` is passed to ``draw`` under that name.
    dpi : resolution of the rendered picture.

    Attributes
    ----------
    image : the ``ipywidgets.Image`` showing the last picture; ``png``: its bytes.
    widget : the controls above the picture (what the notebook displays).

    Examples
    --------
    >>> panel = FigureControls(lambda top_s: draw_samples(top_s),               # doctest: +SKIP
    ...                        {"top_s": widgets.IntSlider(value=3, min=1, max=25)})
    >>> panel                                                                      # doctest: +SKIP
    >>> panel.update(top_s=10)   # what moving the slider does                   # doctest: +SKIP
    """

    def __init__(self, draw: Callable[..., Figure], controls: dict[str, widgets.ValueWidget], dpi: int = 80) -> None:
        if not controls:
            raise ValueError("FigureControls needs at least one control")
        self.draw, self.controls, self.dpi = draw, dict(controls), dpi
        self.image = widgets.Image(format="png")
        self.png = b""
        self._updating = False
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox([widgets.HBox(list(self.controls.values())), self.image])
        self.update()

    def values(self) -> dict:
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, change) -> None:
        self.update()

    def update(self, **values) -> bytes:
        """Set any controls by name, redraw, and return the new PNG bytes."""
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}; this panel has {sorted(self.controls)}")
        if self._updating:
            return self.png
        self._updating = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
            self.png = figure_png(self.draw(**self.values()), dpi=self.dpi)
            self.image.value = self.png
            self.image.width = str(png_width(self.png))  # natural size: the browser would stretch it to the cell
        finally:
            self._updating = False
        return self.png

    def _repr_mimebundle_(self, **kwargs) -> dict:
        return mimebundle_with_snapshot(self.widget, self.png, **kwargs)
