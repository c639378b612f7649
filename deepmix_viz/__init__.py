"""deepmix_viz: figures and widgets for the models of ``deepmix_core`` (it draws, it never trains).

Static figures use matplotlib (they render as PNG on GitHub); the interactive
:class:`ConditioningExplorer` uses ipywidgets and a plotly ``FigureWidget``.
"""

from .conditions import condition_kwargs_to_lists, draw_conditions
from .density import density_grid, plot_density, plot_depth_row
from .gmm_plots import plot_gmm_components, reweighted_weights
from .layers import plot_centroids, plot_residual_maps, plot_training
from .notebook import setup_notebook
from .widgets import ConditioningExplorer

__all__ = [
    "ConditioningExplorer",
    "condition_kwargs_to_lists",
    "density_grid",
    "draw_conditions",
    "plot_centroids",
    "plot_density",
    "plot_depth_row",
    "plot_gmm_components",
    "plot_residual_maps",
    "plot_training",
    "reweighted_weights",
    "setup_notebook",
]
