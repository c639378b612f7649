"""Tests for the static matplotlib figures of deepmix_viz (tiny models, Agg backend)."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import Ellipse, Polygon, Rectangle  # noqa: E402
from matplotlib.quiver import Quiver  # noqa: E402

from deepmix_core import DRMM, GMM, Box, Equality, GaussianPrior, Inequality  # noqa: E402
from deepmix_core.data import swiss_roll  # noqa: E402
from deepmix_viz import (  # noqa: E402
    condition_kwargs_to_lists,
    density_grid,
    draw_conditions,
    plot_centroids,
    plot_density,
    plot_depth_row,
    plot_gmm_components,
    plot_residual_maps,
    plot_training,
    reweighted_weights,
)
from deepmix_viz.conditions import invalid_side_polygon, line_in_extent  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    return swiss_roll(n=2000, seed=0)


@pytest.fixture(scope="module")
def gmm_fit(data):
    gmm = GMM(8)
    history = gmm.fit(data, epochs=100, seed=0, progress=False)
    return gmm, history


@pytest.fixture(scope="module")
def drmm_fit(data):
    torch.manual_seed(0)
    drmm = DRMM(2, 8)
    history = drmm.fit(data, steps=300, seed=0, progress=False)
    return drmm, history


# ---------------------------------------------------------------------- density
def test_density_grid_of_gmm_integrates_to_one(gmm_fit):
    gmm, _ = gmm_fit
    xs, ys, density = density_grid(gmm, extent=(-2.0, 2.0, -2.0, 2.0), resolution=200)
    assert xs.shape == (200,) and ys.shape == (200,) and density.shape == (200, 200)
    mass = density.sum() * (xs[1] - xs[0]) * (ys[1] - ys[0])
    assert abs(mass - 1.0) < 0.05


def test_density_grid_rows_follow_y(gmm_fit):
    gmm, _ = gmm_fit
    xs, ys, density = density_grid(gmm, extent=(-1.0, 1.0, -0.5, 0.5), resolution=7)
    i, j = 1, 5  # row i ↔ ys[i], column j ↔ xs[j]
    expected = torch.exp(gmm.log_prob(torch.tensor([[xs[j], ys[i]]], dtype=torch.float32))).item()
    assert density[i, j] == pytest.approx(expected, rel=1e-4)
    assert ys[0] == -0.5 and xs[-1] == 1.0


def test_density_grid_passes_drmm_options(drmm_fit):
    drmm, _ = drmm_fit
    _, _, shallow = density_grid(drmm, resolution=30, n_passes=2, upto_layer=1, seed=0)
    _, _, again = density_grid(drmm, resolution=30, n_passes=2, upto_layer=1, seed=0)
    _, _, deep = density_grid(drmm, resolution=30, n_passes=2, upto_layer=2, seed=0)
    assert np.isfinite(shallow).all() and (shallow >= 0).all()
    np.testing.assert_allclose(shallow, again)  # seeded
    assert not np.allclose(shallow, deep)


def test_plot_density_draws_heatmap_points_and_conditions(drmm_fit, data):
    drmm, _ = drmm_fit
    samples = drmm.sample(50, seed=0)
    conditions = {"known": [0.2, float("nan")], "constraints": Inequality([1.0, 0.0], 0.0)}
    ax = plot_density(drmm, resolution=40, samples=samples, data=data, conditions=conditions, n_passes=2, title="t")
    assert len(ax.images) == 1
    assert ax.images[0].get_array().shape == (40, 40)
    assert ax.images[0].origin == "lower"
    assert [len(c.get_offsets()) for c in ax.collections] == [2000, 50]
    assert sum(isinstance(p, Polygon) for p in ax.patches) == 1  # invalid side of the inequality
    assert ax.get_title() == "t"


def test_plot_density_of_gmm_needs_no_drmm_options(gmm_fit):
    gmm, _ = gmm_fit
    ax = plot_density(gmm, resolution=30)
    assert len(ax.images) == 1 and ax.get_aspect() == 1.0


def test_depth_row_has_two_rows_of_layers(drmm_fit, data):
    drmm, _ = drmm_fit
    fig = plot_depth_row(drmm, data=data, n_samples=200, resolution=30, n_passes=2)
    assert len(fig.axes) == 2 * drmm.n_layers
    top = fig.axes[: drmm.n_layers]  # subplots are stored row by row
    bottom = fig.axes[drmm.n_layers :]
    assert [ax.get_title() for ax in top] == ["1 layer", "2 layers"]
    assert all(len(ax.images) == 1 for ax in bottom)
    assert all(len(ax.collections[-1].get_offsets()) == 200 for ax in top)


def test_depth_row_forwards_conditions_to_sample(drmm_fit):
    drmm, _ = drmm_fit
    conditions = {"constraints": [Inequality([0.0, 1.0], 0.0)]}  # x2 > 0
    fig = plot_depth_row(drmm, n_samples=300, resolution=20, conditions=conditions, n_passes=1)
    samples = fig.axes[1].collections[-1].get_offsets()
    assert np.mean(samples[:, 1] > 0) > 0.8


# ---------------------------------------------------------------------- layers
def test_residual_maps_one_panel_per_layer(drmm_fit, data):
    drmm, _ = drmm_fit
    fig = plot_residual_maps(drmm, data, n_arrows=17, max_points=500)
    assert len(fig.axes) == drmm.n_layers
    for index, ax in enumerate(fig.axes):
        assert ax.get_title().startswith(f"layer {index + 1}: input → residual (σ=")
        quivers = [c for c in ax.collections if isinstance(c, Quiver)]
        assert len(quivers) == 1 and quivers[0].N == 17
        centroid_points = ax.collections[-1].get_offsets()
        np.testing.assert_allclose(centroid_points, drmm.centroids[index].numpy(), atol=1e-6)


def test_centroids_adds_a_panel_of_pairwise_sums(drmm_fit, data):
    drmm, _ = drmm_fit
    fig = plot_centroids(drmm, data)
    assert len(fig.axes) == drmm.n_layers + 1
    sums = fig.axes[-1].collections[-1].get_offsets()
    assert sums.shape == (8 * 8, 2)
    expected = (drmm.centroids[0][:, None] + drmm.centroids[1][None]).reshape(-1, 2).numpy()
    np.testing.assert_allclose(sums, expected, atol=1e-6)


def test_training_plot_marks_stage_boundaries(drmm_fit):
    drmm, history = drmm_fit
    fig = plot_training(history, smooth=10)
    ax = fig.axes[0]
    boundaries = [line for line in ax.lines if line.get_gid() == "stage_boundary"]
    assert len(history.stage_boundaries()) == 2
    assert [line.get_xdata()[0] for line in boundaries] == history.stage_boundaries()
    assert sorted(t.get_text().strip() for t in ax.texts) == ["stage 2", "stage 3"]
    curves = [line for line in ax.lines if line.get_gid() != "stage_boundary"]
    assert len(curves) == 1 + drmm.n_layers  # total + one per layer
    total = curves[0].get_ydata()
    assert len(total) == len(history) - 10 + 1
    assert total[0] == pytest.approx(np.mean(history["loss"][:10]))


def test_training_plot_of_gmm_history(gmm_fit):
    _, history = gmm_fit
    fig = plot_training(history, smooth=1)
    ax = fig.axes[0]
    assert len(ax.lines) == 1
    np.testing.assert_allclose(ax.lines[0].get_ydata(), history["loss"])


# ---------------------------------------------------------------------- GMM views
def test_gmm_components_one_ellipse_per_component(gmm_fit):
    gmm, _ = gmm_fit
    ax = plot_gmm_components(gmm)
    ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
    assert len(ellipses) == gmm.n_components
    std = math.sqrt(gmm.covariances_[0])
    assert ellipses[0].width == pytest.approx(4 * std, rel=1e-5)  # 2σ each side
    heaviest = int(np.argmax(gmm.weights_))
    lightest = int(np.argmin(gmm.weights_))
    assert ellipses[heaviest].get_edgecolor()[3] > ellipses[lightest].get_edgecolor()[3]


def test_gmm_components_diag(data):
    gmm = GMM(4, covariance="diag")
    gmm.fit(data, epochs=20, progress=False)
    ax = plot_gmm_components(gmm)
    first = [p for p in ax.patches if isinstance(p, Ellipse)][0]
    stds = np.sqrt(gmm.covariances_[0])
    assert (first.width, first.height) == pytest.approx((4 * stds[0], 4 * stds[1]), rel=1e-5)


def test_reweighted_weights_with_inequality(gmm_fit):
    gmm, _ = gmm_fit
    threshold = 0.3
    weights = reweighted_weights(gmm, constraints=[Inequality([1.0, 0.0], -threshold)])  # x1 > 0.3
    assert weights.shape == (gmm.n_components,)
    assert weights.sum() == pytest.approx(1.0, abs=1e-5)
    std = np.sqrt(gmm.covariances_)
    z = (gmm.means_[:, 0] - threshold) / std
    far_invalid = z < -3
    assert far_invalid.any()
    assert (weights[far_invalid] < 1e-3).all()
    # closed form w_k Φ(z_k), normalised
    phi = np.array([0.5 * (1 + math.erf(value / math.sqrt(2))) for value in z])
    expected = gmm.weights_ * phi / (gmm.weights_ * phi).sum()
    np.testing.assert_allclose(weights, expected, atol=1e-5)


def test_reweighted_weights_without_conditions_are_the_weights(gmm_fit):
    gmm, _ = gmm_fit
    np.testing.assert_allclose(reweighted_weights(gmm), gmm.weights_, atol=1e-6)


# ---------------------------------------------------------------------- conditions
def test_line_and_invalid_side_geometry():
    extent = (-1.0, 1.0, -1.0, 1.0)
    segment = line_in_extent([1.0, 0.0], -0.5, extent)  # x1 = 0.5
    np.testing.assert_allclose(sorted(segment[:, 1]), [-1.0, 1.0])
    np.testing.assert_allclose(segment[:, 0], [0.5, 0.5])
    polygon = invalid_side_polygon([1.0, 0.0], -0.5, extent)  # invalid: x1 ≤ 0.5
    assert polygon[:, 0].max() == pytest.approx(0.5) and polygon[:, 0].min() == -1.0
    assert line_in_extent([1.0, 0.0], -2.0, extent) is None  # x1 = 2 misses the square
    assert invalid_side_polygon([1.0, 0.0], 5.0, extent) is None  # everything valid


def test_draw_conditions_artists():
    fig, ax = plt.subplots()
    draw_conditions(
        ax,
        known=torch.tensor([0.1, -0.2]),
        priors=[GaussianPrior([0.0, 0.0], [0.1, 0.2])],
        constraints=[Inequality([0.0, 1.0], 0.0), Equality([1.0, 1.0], 0.0), Box([-0.5, -math.inf], [0.5, 0.5])],
        extent=(-1.0, 1.0, -1.0, 1.0),
    )
    assert len(ax.lines) == 2 + 2  # x = c, y = c, inequality boundary, equality line
    assert sum(isinstance(p, Ellipse) for p in ax.patches) == 2  # 1σ and 2σ
    assert sum(isinstance(p, Polygon) and not isinstance(p, Rectangle) for p in ax.patches) == 1
    box = [p for p in ax.patches if isinstance(p, Rectangle)][0]
    assert box.get_xy() == (-0.5, -1.0) and box.get_height() == pytest.approx(1.5)  # open side clipped


def test_draw_conditions_prior_on_one_variable_is_a_band():
    fig, ax = plt.subplots()
    draw_conditions(ax, priors=GaussianPrior([0.3, float("nan")], [0.1, 1.0]))
    assert len(ax.patches) == 2 and not any(isinstance(p, Ellipse) for p in ax.patches)


def test_condition_kwargs_to_lists():
    ineq = Inequality([1.0, 0.0], 0.0)
    assert condition_kwargs_to_lists(None) == {}
    assert condition_kwargs_to_lists({"constraints": ineq, "priors": None}) == {"constraints": [ineq]}
    with pytest.raises(ValueError, match="known, priors and constraints"):
        condition_kwargs_to_lists({"constraint": ineq})
