"""The side-by-side comparison loop (deepmix_core.compare): contract-only, numbers that can be recomputed."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from deepmix_core import DRMM, GMM, GenMM
from deepmix_core.base import CONDITION_NAMES
from deepmix_core.compare import (
    Contender,
    compare_images,
    compare_points,
    comparison_tables,
    condition_probes,
    digits_data,
    image_contenders,
    images_table,
    log_density_grid,
    merge_records,
    point_contenders,
    points_table,
    probe_conditions,
    summarise,
)
from deepmix_core.data import swiss_roll

FLOW = {"kind": "vector", "dim": 2, "n_layers": 2, "hidden": 8}


@pytest.fixture(scope="module")
def roll():
    return swiss_roll(600, seed=0), swiss_roll(400, seed=123)


@pytest.fixture(scope="module")
def point_rows(roll):
    contenders = [
        Contender("GMM K=24", lambda seed: GMM(n_components=24, covariance="diag"), {"epochs": 60}),
        Contender("DRMM 2×6", lambda seed: DRMM(n_layers=2, n_components=6), {"steps": 300, "batch_size": 64},
                  sample_kwargs={"noise": True}),
        Contender("GenMM 2", lambda seed: GenMM(n_components=2, flow=FLOW, seed=seed), {"epochs": 3, "t_em": 1}),
    ]
    return compare_points(contenders, *roll, seeds=(0, 1), n_repeats=3)


def test_point_rows_hold_every_measure_for_every_seed(point_rows):
    rows, models = point_rows
    assert [(r["label"], r["seed"]) for r in rows] == [(label, s) for label in ("GMM K=24", "DRMM 2×6", "GenMM 2")
                                                      for s in (0, 1)]
    assert {r["family"] for r in rows} == {"GMM", "DRMM", "GenMM"}
    assert set(models) == {"GMM K=24", "DRMM 2×6", "GenMM 2"}
    for row in rows:
        assert 0.0 <= row["precision"] <= 1.0 and 0.0 <= row["recall"] <= 1.0 and row["fit_seconds"] > 0
        assert row["f1"] == pytest.approx(2 * row["precision"] * row["recall"] / (row["precision"] + row["recall"]))
    gmm = next(r for r in rows if r["family"] == "GMM")
    assert gmm["parameters"] == 2 * 24 * 2 + 24 - 1 and gmm["nll_spread"] is None
    drmm = next(r for r in rows if r["family"] == "DRMM")
    assert drmm["nll_kind"] == "estimate" and 0.0 < drmm["nll_spread"] < 0.1


def test_exact_nll_is_the_mean_log_density_per_dimension(point_rows, roll):
    rows, models = point_rows
    _, test = roll
    recomputed = -models["GMM K=24"].log_prob(test).mean().item() / 2
    assert next(r for r in rows if r["label"] == "GMM K=24" and r["seed"] == 0)["nll"] == pytest.approx(recomputed)


def test_a_fitted_gmm_beats_a_two_flow_mixture_this_small_on_the_roll(point_rows):
    summary = {e["label"]: e for e in summarise(point_rows[0], ["nll", "f1"])}
    assert summary["GMM K=24"]["f1"] > 0.5
    assert summary["GMM K=24"]["nll"] < summary["GenMM 2"]["nll"]


def test_summarise_gives_mean_and_sample_sd_and_keeps_missing_values_missing():
    rows = [{"label": "a", "family": "X", "parameters": 3, "f1": v, "nll": None} for v in (0.2, 0.4, 0.9)]
    (entry,) = summarise(rows, ["f1", "nll"])
    assert entry["f1"] == pytest.approx(0.5) and entry["f1_sd"] == pytest.approx(np.std([0.2, 0.4, 0.9], ddof=1))
    assert entry["nll"] is None and entry["nll_sd"] is None and entry["seeds"] == 3


@pytest.mark.parametrize("target", [300, 3000])
def test_point_line_ups_reach_their_parameter_target_without_overshooting_much(target):
    counts = {}
    for contender in point_contenders(target):
        model = contender.build(0)
        model.fit(torch.randn(1000, 2), epochs=1, batch_size=500, progress=False)  # the GMM and DRMM size from data
        counts[model.family] = model.n_parameters()
    assert set(counts) == {"GMM", "DRMM", "GenMM", "LatMM"}
    assert all(target <= count <= 1.5 * target for count in counts.values()), counts


def test_probing_finds_what_each_family_supports(point_rows, roll):
    _, models = point_rows
    probes = condition_probes(roll[1][0])
    answers = {label: probe_conditions(Contender(label, None), model, probes) for label, model in models.items()}
    for label, model in models.items():
        for name in CONDITION_NAMES:
            assert answers[label][name] == ("yes" if name in model.supported_conditions else "no"), (label, name)


@pytest.fixture(scope="module")
def digit_comparison():
    data = digits_data()
    line_up = image_contenders(8, len(data["train_x"]), quick=True)
    chosen = [c for c in line_up if c.label.split()[0] in ("GMM", "DCGMM")]
    rows, models = compare_images(chosen, data["train_x"], data["train_y"], data["test_x"], data["test_y"],
                                  levels=data["levels"])
    return data, chosen, rows, models


def test_image_comparison_on_digits_classifies_and_spots_zeros(digit_comparison):
    data, chosen, rows, models = digit_comparison
    gmm_row, dcgmm_row = rows
    assert gmm_row["accuracy"] > 0.85 and gmm_row["outlier_auc"] > 0.85
    per_pixel = -models[chosen[0].label].log_prob(data["test_x"]).mean().item() / 64 + math.log(17)
    assert gmm_row["nll"] == pytest.approx(per_pixel, rel=1e-5)
    assert dcgmm_row["family"] == "DCGMM" and dcgmm_row["nll"] is None and dcgmm_row["nll_kind"] == "score"
    assert 0.0 <= dcgmm_row["outlier_auc"] <= 1.0 and 0.0 <= dcgmm_row["accuracy"] <= 1.0
    assert "†" in images_table(rows)  # a classifier built from scores is flagged


def test_the_dcgmm_gets_images_and_gives_back_rows_and_is_probed_in_its_own_layout(digit_comparison):
    data, chosen, _, models = digit_comparison
    dcgmm = chosen[1]
    assert tuple(dcgmm.to_model(data["test_x"][:3]).shape) == (3, 1, 8, 8)
    assert torch.allclose(dcgmm.from_model(dcgmm.to_model(data["test_x"][:3])), data["test_x"][:3], atol=1e-6)
    drawn = dcgmm.draw(models[dcgmm.label], 4, seed=0)
    assert tuple(drawn.shape) == (4, 64) and drawn.min() >= -0.5 and drawn.max() <= 0.5
    answers = probe_conditions(dcgmm, models[dcgmm.label], condition_probes(data["test_x"][0]))
    assert answers["known"] == "yes" and answers["priors"] == "no" and answers["weight"] == "no"
    assert answers["classes"].startswith("needs:") and "fit_classifier" in answers["classes"]


def test_density_grid_rows_run_along_y_and_columns_along_x():
    corner = torch.tensor([0.6, -0.6]) + 0.05 * torch.randn(500, 2, generator=torch.Generator().manual_seed(0))
    model = GMM(n_components=1, covariance="diag")
    model.fit(corner, epochs=20, progress=False)
    grid = log_density_grid(model, [-1.0, -1.0], [1.0, 1.0], 21)
    row, column = np.unravel_index(np.argmax(grid), grid.shape)
    assert (row, column) == (4, 16)  # y = −0.6 is row 4 of 21 from the bottom, x = 0.6 is column 16


def test_tables_show_one_line_per_model_and_budget(point_rows):
    rows = [{**row, "dataset": "roll", "budget": 300} for row in point_rows[0]]
    table = points_table(rows, "roll")
    assert len(table.splitlines()) == 2 + 3 and "estimate" in table
    record = merge_records({"points": rows, "densities": {"roll": {}}, "images": {}, "samples": {}, "notes": ["n"]},
                           {"points": [], "densities": {}, "images": {}, "samples": {}, "notes": [],
                            "conditions": {"GMM": {name: "yes" for name in CONDITION_NAMES}}})
    text = comparison_tables(record)
    assert "### roll (2-D)" in text and "| GMM | yes | yes | yes | yes | yes |" in text and "_n_" in text
