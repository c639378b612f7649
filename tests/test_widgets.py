"""Tests for the ConditioningExplorer widget, driven through its plain methods (no browser)."""

import base64
import math
import warnings

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from deepmix_core import DRMM, GMM, Box, GaussianPrior, Inequality
from deepmix_core.data import swiss_roll
from deepmix_viz import ConditioningExplorer


@pytest.fixture(scope="module")
def data():
    return swiss_roll(n=2000, seed=0)


@pytest.fixture(scope="module")
def drmm(data):
    model = DRMM(2, 16)
    model.fit(data, steps=600, seed=0, progress=False)
    return model


@pytest.fixture(scope="module")
def gmm(data):
    model = GMM(64)  # many small components: the constraint approximation is then tight
    model.fit(data, epochs=100, seed=0, progress=False)
    return model


@pytest.fixture(params=["drmm", "gmm"])
def explorer(request, data):
    model = request.getfixturevalue(request.param)
    return ConditioningExplorer(model, data, n_samples=400, seed=0)


def trace(explorer, name):
    return next(t for t in explorer.figure.data if t.name == name)


def test_builds_widget_and_figure(explorer):
    assert isinstance(explorer.figure, go.FigureWidget)
    assert explorer.figure in explorer.widget.children
    assert explorer.samples.shape == (400, 2)  # sampled once on construction
    assert len(trace(explorer, "samples").x) == 400
    assert len(trace(explorer, "data").x) == 2000
    bundle = explorer._repr_mimebundle_()  # the live widget, and a PNG of its state for viewers without a kernel
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")


def test_known_x_pins_the_samples(explorer):
    samples = explorer.update(known_on=True, known_x=0.5)
    assert isinstance(samples, torch.Tensor) and samples.shape == (400, 2)
    assert ((samples[:, 0] - 0.5).abs() < 0.1).float().mean() > 0.8
    sample_trace = trace(explorer, "samples")
    np.testing.assert_allclose(sample_trace.x, samples[:, 0].numpy())
    np.testing.assert_allclose(sample_trace.y, samples[:, 1].numpy())
    line = trace(explorer, "x = c")
    assert line.visible and list(line.x) == pytest.approx([0.5, 0.5])
    expected_error = (samples[:, 0] - 0.5).abs().mean().item()
    assert explorer.satisfaction() == {"known": pytest.approx(expected_error)}


def test_inequality_on_gmm_keeps_samples_on_the_valid_side(gmm, data):
    explorer = ConditioningExplorer(gmm, data, n_samples=500)
    assert trace(explorer, "inequality boundary").visible is False
    samples = explorer.update(ineq_on=True, ineq_angle=0, ineq_offset=0.0)  # x1 > 0
    assert (samples[:, 0] > 0).float().mean() >= 0.95
    boundary = trace(explorer, "inequality boundary")
    assert boundary.visible
    np.testing.assert_allclose(boundary.x, [0.0, 0.0], atol=1e-6)
    assert sorted(boundary.y) == pytest.approx([-1.1, 1.1])
    assert max(trace(explorer, "invalid side").x) == pytest.approx(0.0, abs=1e-6)  # shaded: x1 ≤ 0
    assert explorer.satisfaction()["inequality"] == pytest.approx((samples[:, 0] > 0).float().mean().item())
    explorer.update(ineq_on=False)
    assert trace(explorer, "inequality boundary").visible is False


def test_changing_n_samples_changes_the_trace(explorer):
    explorer.update(n_samples=200)
    assert len(trace(explorer, "samples").x) == 200


def test_setting_a_control_value_fires_the_callback(explorer):
    explorer.controls["n_samples"].value = 123
    assert explorer.samples.shape == (123, 2)
    assert len(trace(explorer, "samples").x) == 123


def test_several_controls_resample_only_once(gmm, data, monkeypatch):
    explorer = ConditioningExplorer(gmm, data)
    calls = []
    original = gmm.sample

    def counting_sample(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(gmm, "sample", counting_sample)
    explorer.update(known_on=True, known_x=-0.3, prior_on=True, n_samples=50)
    assert len(calls) == 1
    assert calls[0]["seed"] == 0 and "upto_layer" not in calls[0]


def test_box_with_low_above_high_is_skipped(gmm, data):
    explorer = ConditioningExplorer(gmm, data)
    samples = explorer.update(box_on=True, box_x_low=0.5, box_x_high=0.2)
    assert samples.shape == (500, 2)
    assert "box skipped" in explorer.message.value.lower()
    assert explorer.conditions()["constraints"] == []
    assert trace(explorer, "box").visible is False
    explorer.update(box_x_low=-0.5, box_x_high=0.5, box_y_low=-0.5, box_y_high=0.5)
    assert "skipped" not in explorer.message.value.lower()
    assert trace(explorer, "box").visible
    assert explorer.satisfaction()["box"] > 0.8


def test_conditions_returns_condition_objects(explorer):
    assert explorer.conditions() == {"known": None, "priors": [], "constraints": []}
    explorer.update(known_on=True, known_x=0.25, ineq_on=True, box_on=True, prior_on=True, prior_std=0.3)
    conditions = explorer.conditions()
    known = conditions["known"]
    assert known[0].item() == pytest.approx(0.25) and math.isnan(known[1].item())
    assert [type(p) for p in conditions["priors"]] == [GaussianPrior]
    assert conditions["priors"][0].std.tolist() == pytest.approx([0.3, 0.3])
    assert [type(c) for c in conditions["constraints"]] == [Inequality, Box]
    assert trace(explorer, "prior 1σ, 2σ").visible


def test_inequality_angle_sets_the_normal(gmm, data):
    explorer = ConditioningExplorer(gmm, data)
    explorer.update(ineq_on=True, ineq_angle=90, ineq_offset=-0.2)  # x2 − 0.2 > 0
    inequality = explorer.conditions()["constraints"][0]
    assert inequality.a.tolist() == pytest.approx([0.0, 1.0], abs=1e-6)
    assert inequality.b.item() == pytest.approx(-0.2)


def test_depth_slider_only_for_drmm(drmm, gmm, data):
    deep = ConditioningExplorer(drmm, data, n_samples=300)
    assert deep.controls["depth"].max == drmm.n_layers
    samples = deep.update(depth=1)
    expected = drmm.sample(300, sort=False, seed=0, upto_layer=1)
    torch.testing.assert_close(samples, expected)
    shallow = ConditioningExplorer(gmm, data)
    assert shallow.controls["depth"].layout.display == "none"


def test_unknown_control_name_is_rejected(gmm):
    explorer = ConditioningExplorer(gmm)
    with pytest.raises(ValueError, match="unknown control"):
        explorer.update(known=0.3)


def test_noise_option_spreads_drmm_samples_by_the_last_sigma(drmm, data):
    bare = ConditioningExplorer(drmm, data, n_samples=300).update(depth=1)
    noisy = ConditioningExplorer(drmm, data, n_samples=300, noise=True).update(depth=1)
    centroids = drmm.centroids[0]
    bare_distance = (bare[:, None, :] - centroids[None]).norm(dim=-1).min(1).values
    noisy_distance = (noisy[:, None, :] - centroids[None]).norm(dim=-1).min(1).values
    assert bare_distance.max() < 1e-5  # depth 1 without noise: every sample is one of the layer's means
    sigma = drmm.sigmas[0]
    assert 0.5 * sigma < noisy_distance.median() < 2.5 * sigma


def test_title_counts_distinct_points_and_the_noise_box_spreads_them(drmm, gmm, data):
    explorer = ConditioningExplorer(drmm, data, n_samples=300)
    explorer.update(depth=1)
    distinct = explorer.distinct_points()
    assert distinct <= drmm.n_components  # depth 1, no noise: the samples pile onto the layer's 16 means
    assert f"300 conditioned samples on {distinct} distinct points" in explorer.figure.layout.title.text
    explorer.update(noise=True)  # the checkbox: the last used layer's N(0, σ²) added
    assert explorer.distinct_points() == 300 and "distinct" not in explorer.figure.layout.title.text
    assert ConditioningExplorer(gmm, data).controls["noise"].layout.display == "none"  # a GMM has no sums


def test_an_infeasible_box_is_reported_in_the_status_line_not_as_warnings(gmm, data):
    explorer = ConditioningExplorer(gmm, data)
    x0, x1, y0, y1 = explorer.extent
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning from the callback would fill the notebook's output
        explorer.update(box_on=True, box_x_low=x1 - 0.01, box_x_high=x1, box_y_low=y1 - 0.01, box_y_high=y1)
    assert explorer.satisfaction()["box"] < 0.5
    assert "infeasible" in explorer.message.value
    explorer.update(box_x_low=-0.5, box_x_high=0.5, box_y_low=-0.5, box_y_high=0.5)
    assert "infeasible" not in explorer.message.value
