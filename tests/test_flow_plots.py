"""Tests for deepmix_viz.flow_plots: image grids, NLL curves, samples per component, interpolation strips,
confusion matrices and responsibilities (Agg backend, synthetic inputs, nothing is trained)."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from deepmix_core.history import History  # noqa: E402
from deepmix_viz import (  # noqa: E402
    make_image_grid,
    plot_confusion,
    plot_image_grid,
    plot_interpolation,
    plot_nll_curves,
    plot_responsibilities,
    plot_samples_per_component,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def constant_images(values, channels=1, size=4):
    """One constant (channels, size, size) image per value."""
    return torch.tensor(values, dtype=torch.float32).view(-1, 1, 1, 1).expand(-1, channels, size, size).clone()


# ------------------------------------------------------------------------------------------------ image grid
def test_grid_shape_and_placement():
    images = constant_images([-0.5, 0.0, 0.5, 0.25, -0.25])  # 5 images, 3 per row → 2 rows
    grid = make_image_grid(images, nrow=3, padding=1)
    assert grid.shape == (2 * 5 + 1, 3 * 5 + 1)
    expected = [0.0, 0.5, 1.0, 0.75, 0.25]  # (-0.5, 0.5) → (0, 1)
    for i, value in enumerate(expected):
        top, left = 1 + (i // 3) * 5, 1 + (i % 3) * 5
        np.testing.assert_allclose(grid[top : top + 4, left : left + 4], value)
    assert np.all(grid[0, :] == 1.0) and np.all(grid[:, 0] == 1.0)  # padding
    assert np.all(grid[6:10, 11:15] == 1.0)  # the unused sixth cell


def test_grid_value_ranges_and_dtypes():
    images = constant_images([2.0, 4.0, 6.0])
    auto = make_image_grid(images, nrow=3, value_range=None, padding=0)
    np.testing.assert_allclose(auto[0, [0, 4, 8]], [0.0, 0.5, 1.0])
    clipped = make_image_grid(images, nrow=3, value_range=(3.0, 5.0), padding=0)
    np.testing.assert_allclose(clipped[0, [0, 4, 8]], [0.0, 0.5, 1.0])
    as_uint8 = make_image_grid(torch.tensor([0, 51, 255], dtype=torch.uint8).view(3, 1, 1, 1), nrow=3, padding=0)
    np.testing.assert_allclose(as_uint8[0], [0.0, 0.2, 1.0])  # uint8 always on 0–255


def test_grid_rgb_keeps_channels():
    image = torch.zeros(1, 3, 2, 2)
    image[0, 0] = 0.5  # red channel at the top of the range
    grid = make_image_grid(image, nrow=1, padding=0)
    assert grid.shape == (2, 2, 3)
    np.testing.assert_allclose(grid[0, 0], [1.0, 0.5, 0.5])
    with pytest.raises(ValueError, match="C = 1 or 3"):
        make_image_grid(torch.zeros(2, 2, 4, 4))


def test_plot_image_grid_draws_the_grid():
    images = constant_images([-0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], size=3)
    ax = plot_image_grid(images, nrow=4, title="samples")
    drawn = ax.images[0].get_array()
    assert drawn.shape == (3 * 4 + 1, 4 * 4 + 1)  # 10 images in rows of 4 → 3 rows
    np.testing.assert_array_equal(drawn, make_image_grid(images, nrow=4))
    assert ax.get_title() == "samples" and ax.images[0].get_cmap().name == "gray"


# ----------------------------------------------------------------------------------------------- NLL curves
def test_nll_curves_from_histories_and_lists():
    history = History(notes={"t_em": 2})
    for epoch in range(5):
        for _ in range(3):  # three steps per epoch; the curve shows the epoch mean
            history.append(epoch=epoch, nll=2.0 - 0.1 * epoch)
    ax = plot_nll_curves({1: [2.5, 2.2, 2.1], 3: history})
    curves = [line for line in ax.lines if line.get_gid().startswith("nll:")]
    assert [line.get_label() for line in curves] == ["K = 1", "K = 3"]
    np.testing.assert_allclose(curves[0].get_xdata(), [0, 1, 2])
    np.testing.assert_allclose(curves[0].get_ydata(), [2.5, 2.2, 2.1])
    np.testing.assert_allclose(curves[1].get_xdata(), range(5))
    np.testing.assert_allclose(curves[1].get_ydata(), [2.0, 1.9, 1.8, 1.7, 1.6])
    refresh = [line for line in ax.lines if line.get_gid() == "em_refresh"]
    assert len(refresh) == 1
    np.testing.assert_allclose(refresh[0].get_xdata(), [2, 4])  # epochs t > 0 with t mod 2 = 0
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["K = 1", "K = 3", "EM refresh (π, old model)"]
    assert ax.get_ylabel() == "NLL (nats/dim)" and ax.get_xlabel() == "epoch"


def test_nll_curves_in_bits_and_named_column():
    history = History()
    for epoch in range(3):
        history.append(epoch=epoch, loss=9.0, test_nll=math.log(2) * (3 - epoch))
    ax = plot_nll_curves({"GenMM": history}, unit="bits/dim", column="test_nll")
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [3.0, 2.0, 1.0])
    assert ax.lines[0].get_label() == "GenMM" and ax.get_ylabel() == "NLL (bits/dim)"
    assert not [line for line in ax.lines if line.get_gid() == "em_refresh"]
    with pytest.raises(ValueError, match="unit"):
        plot_nll_curves({"GenMM": history}, unit="nats")
    with pytest.raises(KeyError, match="column"):
        plot_nll_curves({"x": History(rows={"step": [0, 1]})})


# -------------------------------------------------------------------------------- samples, interpolation
def test_samples_per_component_rows_and_labels():
    samples = {0: constant_images([0.5] * 6), 1: constant_images([-0.5] * 6), 2: constant_images([0.0] * 4)}
    fig = plot_samples_per_component(samples, weights=torch.tensor([0.5, 0.3, 0.2]), title="GenMM, K = 3")
    assert len(fig.axes) == 3
    assert [ax.get_ylabel() for ax in fig.axes] == ["k = 0\nπ = 0.50", "k = 1\nπ = 0.30", "k = 2\nπ = 0.20"]
    first, last = fig.axes[0].images[0].get_array(), fig.axes[2].images[0].get_array()
    assert first.shape == (5 + 1, 6 * 5 + 1)  # one row of six 4×4 images
    np.testing.assert_allclose(first[1:5, 1:5], 1.0)
    np.testing.assert_allclose(last[1:5, 1:5], 0.5)
    assert np.all(last[1:5, 21:25] == 1.0)  # component 2 has 4 samples: cells 5 and 6 stay empty
    assert fig._suptitle.get_text() == "GenMM, K = 3"
    from_list = plot_samples_per_component([constant_images([0.0] * 2)] * 2)
    assert [ax.get_ylabel() for ax in from_list.axes] == ["k = 0", "k = 1"]


def test_interpolation_strips():
    steps = torch.linspace(-0.5, 0.5, 5)
    strip = steps.view(5, 1, 1, 1).expand(5, 1, 3, 3)
    strips = torch.stack([strip, strip.flip(0)])  # (2, 5, 1, 3, 3)
    ax = plot_interpolation(strips, row_labels=["3 → 8", "8 → 3"], title="latent interpolation")
    grid = ax.images[0].get_array()
    assert grid.shape == (2 * 4 + 1, 5 * 4 + 1)
    np.testing.assert_allclose(grid[1, [1 + 4 * s for s in range(5)]], [0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(grid[5, [1 + 4 * s for s in range(5)]], [1.0, 0.75, 0.5, 0.25, 0.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["$x_1$", "$x_2$"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["3 → 8", "8 → 3"]
    single = plot_interpolation(strip)
    assert single.images[0].get_array().shape == (4 + 1, 5 * 4 + 1)


# ------------------------------------------------------------------------------ confusion, responsibilities
def test_confusion_counts_and_normalisation():
    y_true = torch.tensor([0, 0, 0, 1, 1, 2])
    y_pred = torch.tensor([0, 0, 1, 1, 1, 0])
    ax = plot_confusion(y_true, y_pred)
    np.testing.assert_array_equal(ax.images[0].get_array(), [[2, 1, 0], [0, 2, 0], [1, 0, 0]])
    assert ax.get_title() == "accuracy 66.7%"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]
    normalised = plot_confusion(y_true.numpy(), y_pred.numpy(), normalize="true", labels=[0, 1, 2])
    np.testing.assert_allclose(normalised.images[0].get_array(), [[2 / 3, 1 / 3, 0], [0, 1, 0], [1, 0, 0]])


def test_responsibilities_mean_per_class():
    gamma = torch.tensor([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8], [0.0, 1.0]])
    labels = torch.tensor([3, 3, 5, 5])
    ax = plot_responsibilities(gamma, labels, class_names=["three", "five"])
    table = ax.images[0].get_array()
    np.testing.assert_allclose(table, [[0.8, 0.2], [0.1, 0.9]])
    np.testing.assert_allclose(table.sum(axis=1), 1.0)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["three", "five"]
    assert sorted(t.get_text() for t in ax.texts) == sorted(["0.80", "0.20", "0.10", "0.90"])
    overall = plot_responsibilities(gamma)
    np.testing.assert_allclose(overall.images[0].get_array(), [[0.45, 0.55]])
    with pytest.raises(ValueError, match="labels"):
        plot_responsibilities(gamma, labels[:3])
