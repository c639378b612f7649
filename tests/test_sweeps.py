"""The depth-against-parameters sweep of notebook 04: parameter formulas, size matching, reproducibility."""

import pytest

from deepmix_core import DRMM, GMM
from deepmix_core.sweeps import (
    depth_sweep,
    drmm_parameter_count,
    gmm_parameter_count,
    matched_components,
    size_plan,
    sweep_datasets,
)


@pytest.mark.parametrize("dim", [2, 6, 30])
def test_parameter_formulas_agree_with_the_models(dim):
    for depth, k in [(1, 16), (2, 9), (3, 7), (4, 6)]:
        assert DRMM(depth, k, n_features=dim).n_parameters() == drmm_parameter_count(depth, k, dim)
    for k in [7, 13, 125]:
        assert GMM(k, n_features=dim).n_parameters() == gmm_parameter_count(k, dim)


def test_size_plan_picks_the_smallest_k_that_reaches_the_budget():
    target, plan = size_plan(64, [1, 2, 3, 4], dim=30)
    assert target == drmm_parameter_count(1, 64, 30) == 1985 and plan[1] == 64
    for depth in (2, 3, 4):
        assert drmm_parameter_count(depth, plan[depth], 30) >= target > drmm_parameter_count(depth, plan[depth] - 1, 30)
    assert gmm_parameter_count(plan["GMM"], 30) >= target > gmm_parameter_count(plan["GMM"] - 1, 30)
    assert matched_components(10, lambda k: k) == 10 and matched_components(1, lambda k: k) == 4  # K ≥ 4


def test_a_tiny_sweep_is_reproducible_and_scores_every_model():
    data = sweep_datasets(arm_poses=1000, humanoid_poses=1000, n_held_out=300)
    data = {name: data[name] for name in ("Sierpinski (2-D)", "4-link arm (6-D)")}
    extra = {"5x3": ("Sierpinski (2-D)", (5, 3))}
    options = dict(n_samples=300, n_passes=2, gmm_epochs=30, log=None, extra_drmms=extra)
    rows = depth_sweep(data, [8], [1, 2], steps=60, **options)
    assert rows == depth_sweep(data, [8], [1, 2], steps=60, **options)
    assert len(rows) == 2 * 3 + 1
    assert all(0.0 <= row["f1"] <= 1.0 and row["params"] >= row.get("target", 0) for row in rows)
    assert rows[-1]["model"] == "5x3" and rows[-1]["params"] == drmm_parameter_count(5, 3, 2)
