"""Tests for the IKExplorer widget, driven through its plain methods (no browser), with tiny models."""

import base64
import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from deepmix_core import Inequality
from deepmix_core.data.kinematics import Arm
from deepmix_core.ik import IKSolution, target_errors
from deepmix_viz import IKExplorer, axis_bound, reachable_extent

GROUPS = ("head_below_on", "limbs_below_on", "above_ground_on", "corridor_on")


@pytest.fixture
def arm_explorer(arm_model, arm):
    return IKExplorer(arm_model, arm, n_samples=32, seed=0)


@pytest.fixture
def humanoid_explorer(humanoid_model, humanoid):
    return IKExplorer(humanoid_model, humanoid, n_samples=32, seed=0)


def trace(explorer, name):
    return next(t for t in explorer.figure.data if t.name == name)


def n_poses(explorer, name, bones):
    """Poses in a line trace: each bone polyline ends with one NaN gap."""
    return int(np.isnan(np.asarray(trace(explorer, name).x, dtype=float)).sum()) // bones


def test_builds_widget_figure_and_unconditional_solution(arm_explorer, arm):
    explorer = arm_explorer
    assert isinstance(explorer.figure, go.FigureWidget) and explorer.figure in explorer.widget.children
    bundle = explorer._repr_mimebundle_()  # the live widget, and a PNG of its state for viewers without a kernel
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    names = {t.name for t in explorer.figure.data}
    assert names == {"invalid side", "ground", "constraint lines", "constraint labels", "samples", "best",
                     "polished", "targets"}
    assert explorer.targets() == {} and explorer.constraints() == []
    assert isinstance(explorer.solution, IKSolution) and explorer.solution.params.shape == (32, 4)
    assert n_poses(explorer, "samples", 4) == 32 and n_poses(explorer, "best", 4) == 1
    assert trace(explorer, "ground").visible is False  # the arm hangs in the air
    summary = explorer.summary()
    assert math.isnan(summary["best_error"]) and summary["satisfied_fraction"] == 1.0
    assert summary["polished_error"] is None and summary["time_ms"] > 0
    assert "no targets" in explorer.status.value and "32 samples in" in explorer.status.value


def test_slider_ranges_follow_the_reachable_extent(arm_explorer, humanoid_explorer, arm, humanoid):
    assert reachable_extent(arm) == (-1.0, 1.0, -1.0, 1.0)
    assert reachable_extent(humanoid) == (-1.3, 1.3, -0.4, 2.2)
    hand_x = arm_explorer.controls["hand_x"]
    assert (hand_x.min, hand_x.max) == (-1.0, 1.0)
    head_y = humanoid_explorer.controls["headTop_y"]
    assert (head_y.min, head_y.max) == (-0.4, 2.2)
    assert list(humanoid_explorer.figure.layout.yaxis.range) == [-0.4, 2.2]


def test_target_update_solves_and_moves_the_marker(arm_explorer, arm):
    solution = arm_explorer.update(hand_on=True, hand_x=0.5, hand_y=0.3)
    assert arm_explorer.targets() == {"hand": (0.5, 0.3)}
    assert solution.errors.shape == (32,) and torch.isfinite(solution.errors).all()
    recomputed = target_errors(arm, solution.params, {"hand": torch.tensor([0.5, 0.3], dtype=torch.float64)})
    torch.testing.assert_close(solution.errors, recomputed)
    markers = trace(arm_explorer, "targets")
    assert list(markers.x) == [0.5] and list(markers.y) == [0.3] and list(markers.text) == ["hand"]
    assert arm_explorer.summary()["best_error"] == pytest.approx(solution.errors[0].item() / arm.height)
    assert "% of reach" in arm_explorer.status.value  # the arm measures errors against its reach
    arm_explorer.controls["hand_x"].value = -0.4  # as if the slider were dragged: the callback redraws
    assert list(trace(arm_explorer, "targets").x) == [-0.4]
    assert arm_explorer.targets() == {"hand": (-0.4, 0.3)}
    arm_explorer.update(hand_on=False)
    assert list(trace(arm_explorer, "targets").x) == []


def test_best_trace_is_the_first_sample_and_kinematic_ranking_sorts_errors(arm_explorer, arm):
    solution = arm_explorer.update(hand_on=True, hand_x=0.2, hand_y=-0.6, select="kinematics")
    assert (solution.errors[1:] >= solution.errors[:-1]).all()
    best = arm.geometry(solution.params[:1])["link0"][0]
    np.testing.assert_allclose(np.asarray(trace(arm_explorer, "best").x[:5], dtype=float), best[:, 0].numpy())
    assert arm_explorer.update() is not solution  # solving again with the same seed gives the same poses
    torch.testing.assert_close(arm_explorer.solution.params, solution.params)


def test_sample_count_changes_the_number_of_drawn_poses(arm_explorer):
    arm_explorer.update(n_samples=16)
    assert n_poses(arm_explorer, "samples", 4) == 16 and arm_explorer.summary()["n_samples"] == 16
    arm_explorer.update(n_samples=128)
    assert n_poses(arm_explorer, "samples", 4) == 128 and arm_explorer.solution.params.shape == (128, 4)


def test_polish_draws_a_green_pose_and_improves_the_error(arm_explorer):
    arm_explorer.update(hand_on=True, hand_x=0.6, hand_y=0.4)
    assert trace(arm_explorer, "polished").visible is False
    arm_explorer.update(polish=True, ccd_iterations=20)
    polished = trace(arm_explorer, "polished")
    assert polished.visible and n_poses(arm_explorer, "polished", 4) == 1
    summary = arm_explorer.summary()
    assert summary["polished_error"] < summary["best_error"] and summary["polished_error"] < 0.01
    assert "after CCD" in arm_explorer.status.value


def test_constraint_groups_add_the_fig6_inequalities(humanoid_explorer, humanoid):
    explorer = humanoid_explorer
    expected_counts = [1, 5, 10, 20]  # head; + hands and feet; + above ground; + corridor (Fig. 6 panel 4)
    for group, count in zip(GROUPS, expected_counts):
        explorer.update(**{group: True})
        constraints = explorer.constraints()
        assert len(constraints) == count and all(isinstance(c, Inequality) for c in constraints)
    read_back = [axis_bound(humanoid, c) for c in explorer.constraints()]
    bounds = {(b.point, b.axis, b.relation, round(b.value, 6), b.weight) for b in read_back}
    five = ("headTop", "rHand", "lHand", "lFoot", "rFoot")
    assert bounds == (
        {(p, "y", "<", 1.2, 3.0) for p in five}
        | {(p, "y", ">", 0.0, 1.0) for p in five}
        | {(p, "x", ">", -0.5, 1.0) for p in five}
        | {(p, "x", "<", 0.5, 1.0) for p in five}
    )
    assert explorer.summary()["n_constraints"] == 20
    sat = explorer.solution.satisfied
    assert explorer.summary()["satisfied_fraction"] == pytest.approx(sat.double().mean().item())
    lines = trace(explorer, "constraint lines")
    assert lines.visible and list(lines.x).count(None) == 4  # four distinct boundary lines
    assert list(trace(explorer, "invalid side").x).count(None) == 4


def test_line_and_corridor_sliders_move_the_boundaries(humanoid_explorer):
    explorer = humanoid_explorer
    explorer.update(head_below_on=True, line_y=1.0)
    lines = trace(explorer, "constraint lines")
    assert [y for y in lines.y if y is not None] == pytest.approx([1.0, 1.0], abs=1e-6)
    assert [x for x in lines.x if x is not None] == pytest.approx([-1.3, 1.3])
    assert not trace(explorer, "invalid side").visible  # only the head is bound: no side is invalid for all
    assert list(trace(explorer, "constraint labels").text) == ["headTop: y < 1"]
    explorer.update(limbs_below_on=True)  # head, hands and feet below the line: now the side above is invalid
    assert trace(explorer, "invalid side").visible
    assert list(trace(explorer, "constraint labels").text) == ["5 points: y < 1"]
    explorer.update(limbs_below_on=False)
    explorer.update(head_below_on=False, corridor_on=True, corridor_half_width=0.3)
    xs = sorted({round(x, 6) for x in trace(explorer, "constraint lines").x if x is not None})
    assert xs == [-0.3, 0.3]
    assert trace(explorer, "ground").visible  # the humanoid stands on y = 0


def test_humanoid_targets_with_constraints(humanoid_explorer, humanoid):
    solution = humanoid_explorer.update(
        rHand_on=True, rHand_x=0.8, rHand_y=1.0, head_below_on=True, limbs_below_on=True, n_samples=64
    )
    assert humanoid_explorer.targets() == {"rHand": (0.8, 1.0)}
    assert torch.isfinite(solution.errors).all() and solution.params.shape == (64, humanoid.n_params)
    assert n_poses(humanoid_explorer, "samples", 11) == 64
    assert "5 constraints" in humanoid_explorer.status.value


def test_arm_explorer_hides_humanoid_constraint_groups(arm_explorer):
    for name in (*GROUPS, "line_y", "corridor_half_width"):
        control = arm_explorer.controls[name]
        assert control.disabled and control.layout.display == "none"
    assert set(arm_explorer.groups.values()) == {False}
    with pytest.raises(ValueError, match="not available"):
        arm_explorer.update(head_below_on=True)
    assert arm_explorer.constraints() == []


def test_humanoid_explorer_shows_its_constraint_groups(humanoid_explorer):
    for name in (*GROUPS, "line_y", "corridor_half_width"):
        control = humanoid_explorer.controls[name]
        assert not control.disabled and control.layout.display != "none"


def test_bad_input_raises_value_error(arm_explorer, arm_model, humanoid):
    with pytest.raises(ValueError, match="unknown effector"):
        arm_explorer.set_target("rHand", 0.1, 0.2)
    with pytest.raises(ValueError, match="unknown control"):
        arm_explorer.update(rHand_on=True)
    with pytest.raises(ValueError, match="must lie in"):
        arm_explorer.update(hand_x=5.0)
    with pytest.raises(ValueError, match="must lie in"):
        arm_explorer.update(n_samples=1000)
    with pytest.raises(ValueError, match="must be one of"):
        arm_explorer.update(select="best")
    with pytest.raises(ValueError, match="variables"):
        IKExplorer(arm_model, humanoid)
    with pytest.raises(ValueError, match="n_samples"):
        IKExplorer(arm_model, Arm(), n_samples=4)
    solution = arm_explorer.set_target("hand", 0.1, 0.5)
    assert arm_explorer.targets() == {"hand": (0.1, 0.5)} and torch.isfinite(solution.errors).all()
