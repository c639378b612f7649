"""Tests for deepmix_viz.dcgmm_plots on a tiny DCGMM (Agg backend): figures are drawn from the model's own
numbers, the widget callbacks run without a browser, and bad input is refused."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from deepmix_core import DCGMM  # noqa: E402
from deepmix_core.data import load_digits_images  # noqa: E402
from deepmix_core.dcgmm import outlier_roc  # noqa: E402
from deepmix_viz import (  # noqa: E402
    inpaint_panel,
    plot_component_mosaic,
    plot_layer_objectives,
    plot_outlier_rocs,
    plot_sharpening,
    region_mask,
    sample_panel,
)


@pytest.fixture(scope="module")
def tiny():
    images, labels = load_digits_images()
    model = DCGMM.from_spec("F(3,1)-G(9)-F(6,1)-G(16)", input_shape=(1, 8, 8), window=10)
    history = model.fit(images[:500], epochs=4, batch_size=50, seed=0, progress=False)
    model.fit_classifier(images[:500], labels[:500], epochs=3, seed=0, progress=False)
    return model, history, images[500:520]


def test_component_mosaic_has_one_panel_per_gmm_layer(tiny):
    model, _, _ = tiny
    fig = plot_component_mosaic(model)
    assert len(fig.axes) == 2 and "K = 16, 8×8 px" in fig.axes[1].get_title()
    plt.close(fig)


def test_sample_panel_and_sharpening_rows(tiny):
    model, _, _ = tiny
    fig = sample_panel(model, top_s=2, sharpen=True, n=20)
    assert "top-S = 2" in fig.axes[0].get_title() and "on" in fig.axes[0].get_title()
    plt.close(fig)
    fig = sample_panel(model, n=10, classes=[3])
    assert fig.axes[0].get_title().startswith("class-conditional")
    plt.close(fig)
    before = model.sample(6, seed=0)
    fig = plot_sharpening(before, model.sample(6, seed=0, sharpen=True), n=6)
    assert len(fig.axes) == 3 and fig.axes[2].get_title().startswith("difference")
    plt.close(fig)


def test_region_masks_and_inpaint_panel(tiny):
    model, _, images = tiny
    assert region_mask((8, 8), "right half")[:, 4:].all() and not region_mask((8, 8), "right half")[:, :4].any()
    assert region_mask((8, 8), "centre square").sum() == 16 and region_mask((8, 8), "none").sum() == 0
    with pytest.raises(ValueError, match="unknown region"):
        region_mask((8, 8), "diagonal")
    fig = inpaint_panel(model, images[:5], region="top half")
    assert [ax.get_title() for ax in fig.axes] == ["original", "erased", "inpainted"]
    plt.close(fig)


def test_roc_plot_reports_the_auc_in_the_legend():
    roc = outlier_roc(np.array([0.1, 0.2, 0.3]), np.array([0.25, 0.9]))
    fig = plot_outlier_rocs({"top layer": roc})
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert labels[0] == f"top layer (AUC {100 * roc.auc:.1f}%)" and roc.auc == pytest.approx(5 / 6)
    plt.close(fig)


def test_layer_objective_curves(tiny):
    _, history, _ = tiny
    fig = plot_layer_objectives(history, smooth=5)
    assert len(fig.axes) == 4  # two layers, each with its σ twin axis
    plt.close(fig)


def test_sample_panel_grid_shape(tiny):
    model, _, _ = tiny
    fig = sample_panel(model, n=12, nrow=6)
    image = fig.axes[0].get_images()[0].get_array()
    assert image.shape == (2 * 9 + 1, 6 * 9 + 1)  # 2 rows × 6 images of 8×8 with 1-pixel padding
    plt.close(fig)
