"""Every explorer in the tutorials works where students use it: JupyterLab in Chromium.

Each notebook with a widget is run top to bottom (quick mode) in a real JupyterLab; no cell may fail and
no widget may report an error. Then the explorer's main controls are moved like a student would (a click,
arrow keys on a slider, a dropdown choice) and the plot next to them must change: the plotly figure's data,
or the picture a FigureControls draws. ``benchmarks/bench_browser_latency.py`` times the same moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from conftest import NOTEBOOKS
from jupyterlab import ACTIVE, Control, error_outputs, open_notebook, run_all, widget_errors


@dataclass(frozen=True)
class Move:
    """A control (by the text of its label) and how to move it."""

    kind: str
    label: str
    options: dict = field(default_factory=dict)


MOVES = {
    "01_gmm_conditioning.ipynb": [  # the notebook leaves the inequality on at 90°: turn it, then switch it off
        Move("slider", "angle (°)", {"steps": 3}),
        Move("checkbox", "inequality a·x + b > 0"),
    ],
    "02_drmm_swiss_roll.ipynb": [
        Move("checkbox", "inequality a·x + b > 0"),
        Move("slider", "depth", {"steps": -1}),
        Move("checkbox", "σ noise (the density, not sums of means)"),
    ],
    "03_drmm_sierpinski.ipynb": [Move("slider", "layers", {"steps": -2})],
    "05_inverse_kinematics.ipynb": [Move("checkbox", "target for lHand"), Move("slider", "rHand x", {"steps": 3})],
    "06_dcgmm_mnist.ipynb": [
        Move("slider", "top-S", {"steps": 3}),
        Move("checkbox", "sharpen"),
        Move("dropdown", "erase", {"option": "top half"}),
    ],
    "08_flow_mixtures.ipynb": [Move("slider", "T", {"steps": -3}), Move("dropdown", "K", {"option": "1"})],
}


@pytest.mark.parametrize("name", sorted(MOVES), ids=lambda name: name[:2])
def test_explorer_runs_and_its_controls_redraw_the_plot(lab, page, console, name):
    if not (NOTEBOOKS / name).is_file():
        pytest.skip(f"{name} is not in {NOTEBOOKS}")
    run_all(page, lab, name)
    assert error_outputs(page) == [], f"{name}: a cell failed"
    assert widget_errors(page, console) == [], f"{name}: a widget failed to show"
    for move in MOVES[name]:
        control = Control(page, move.kind, move.label)
        assert control.element.count() == 1, f"{name}: no {move.kind} labelled {move.label!r}"
        seconds = control.change(**move.options)
        assert seconds is not None, f"{name}: moving the {move.kind} {move.label!r} did not change its plot"
    assert widget_errors(page, console) == [], f"{name}: a widget failed while the controls moved"


def test_a_saved_notebook_shows_pictures_of_its_explorers_without_a_kernel(lab, page, console):
    open_notebook(page, lab, "01_gmm_conditioning.ipynb")  # opened, not run: what a student sees first
    explorer_cell = page.locator(f"{ACTIVE} .jp-CodeCell").filter(has_text="ConditioningExplorer(gmm64").first
    explorer_cell.scroll_into_view_if_needed()
    assert explorer_cell.locator(".jp-OutputArea-output img").count() == 1
    assert widget_errors(page, console) == []
