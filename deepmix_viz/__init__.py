"""deepmix_viz: figures and widgets for the models of ``deepmix_core`` (it draws, it never trains).

Static figures (2-D densities, training curves, image grids, confusion matrices) use matplotlib (they render
as PNG on GitHub); the interactive :class:`ConditioningExplorer` and :class:`IKExplorer` use ipywidgets and a
plotly ``FigureWidget``.
"""

from .compare_plots import plot_density_grids, plot_quality_by_size, plot_sample_rows
from .conditions import condition_kwargs_to_lists, draw_conditions
from .dcgmm_plots import (
    inpaint_panel,
    plot_component_mosaic,
    plot_inpainting,
    plot_layer_objectives,
    plot_outlier_rocs,
    plot_sharpening,
    region_mask,
    sample_panel,
)
from .density import density_grid, plot_density, plot_depth_row
from .flow_plots import (
    make_image_grid,
    plot_confusion,
    plot_image_grid,
    plot_interpolation,
    plot_nll_curves,
    plot_responsibilities,
    plot_samples_per_component,
)
from .gmm_plots import plot_gmm_components, reweighted_weights
from .ik_explorer import IKExplorer, reachable_extent
from .layers import plot_centroids, plot_residual_maps, plot_training
from .notebook import setup_notebook
from .rigs import (
    AxisBound,
    axis_bound,
    draw_inequalities,
    draw_pose,
    draw_poses,
    draw_targets,
    plot_effector_errors,
    plot_ik_figure,
    plot_ik_panel,
)
from .snapshots import FigureControls, figure_png
from .widgets import ConditioningExplorer

__all__ = [
    "inpaint_panel",
    "plot_component_mosaic",
    "plot_inpainting",
    "plot_layer_objectives",
    "plot_outlier_rocs",
    "plot_sharpening",
    "region_mask",
    "sample_panel",
    "AxisBound",
    "ConditioningExplorer",
    "FigureControls",
    "figure_png",
    "IKExplorer",
    "axis_bound",
    "condition_kwargs_to_lists",
    "density_grid",
    "draw_conditions",
    "draw_inequalities",
    "draw_pose",
    "draw_poses",
    "draw_targets",
    "make_image_grid",
    "plot_centroids",
    "plot_confusion",
    "plot_density",
    "plot_density_grids",
    "plot_depth_row",
    "plot_quality_by_size",
    "plot_effector_errors",
    "plot_gmm_components",
    "plot_ik_figure",
    "plot_ik_panel",
    "plot_image_grid",
    "plot_interpolation",
    "plot_nll_curves",
    "plot_residual_maps",
    "plot_responsibilities",
    "plot_sample_rows",
    "plot_samples_per_component",
    "plot_training",
    "reachable_extent",
    "reweighted_weights",
    "setup_notebook",
]
