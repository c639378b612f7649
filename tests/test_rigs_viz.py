"""Tests for the matplotlib drawing of rigs and IK results (deepmix_viz.rigs), with tiny models."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from deepmix_core import Box, Inequality  # noqa: E402
from deepmix_core.data.kinematics import Arm, Humanoid  # noqa: E402
from deepmix_core.ik import above, below, left_of, right_of, solve, solve_many  # noqa: E402
from deepmix_viz import (  # noqa: E402
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

FIVE = ["headTop", "rHand", "lHand", "lFoot", "rFoot"]
FIG6_TARGETS = {"lFoot": (-0.2, 0.0), "rFoot": (0.2, 0.0), "rHand": (0.8, 1.0)}
EXTENT = (-1.0, 1.0, -0.1, 2.0)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def fig6_panel4(rig):
    """The 20 inequalities of paper 001 Fig. 6, panel 4."""
    return (
        [below(rig, p, 1.2) for p in FIVE]
        + [above(rig, p, 0.0) for p in FIVE]
        + [right_of(rig, p, -0.5) for p in FIVE]
        + [left_of(rig, p, 0.5) for p in FIVE]
    )


def n_drawn_bones(rig):
    return sum(bone.geometry is not None for bone in rig.bones)


# ---------------------------------------------------------------------- poses
@pytest.mark.parametrize("rig", [Arm(), Humanoid()], ids=["arm", "humanoid"])
def test_draw_pose_draws_one_line_per_bone_with_geometry(rig):
    params = rig.sample_poses(1, seed=3)
    _, ax = plt.subplots()
    assert draw_pose(ax, rig, params[0]) is ax
    assert len(ax.lines) == n_drawn_bones(rig) == (4 if isinstance(rig, Arm) else 11)
    shapes = rig.geometry(params.double())
    for line, shape in zip(ax.lines, shapes.values()):
        np.testing.assert_allclose(line.get_xydata(), shape[0].numpy(), atol=1e-6)
    (joints,) = ax.collections
    np.testing.assert_allclose(joints.get_offsets(), rig.forward(params.double()).pivots[0].numpy(), atol=1e-6)
    draw_pose(ax, rig, params, joints=False)  # (1, P) is accepted too
    assert len(ax.lines) == 2 * n_drawn_bones(rig) and len(ax.collections) == 1


def test_straight_arm_lies_on_the_x_axis():
    rig = Arm()
    _, ax = plt.subplots()
    draw_pose(ax, rig, torch.zeros(4))
    link_starts = [line.get_xdata().min() for line in ax.lines]
    link_ends = [line.get_xdata().max() for line in ax.lines]
    assert link_starts == pytest.approx([0.0, 0.25, 0.5, 0.75])
    assert link_ends == pytest.approx([0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1], 0.0, atol=1e-12)  # joints on y = 0
    assert list(ax.collections[0].get_offsets()[-1]) == pytest.approx([1.0, 0.0])  # the hand at full reach


def test_draw_pose_rejects_bad_shapes():
    rig = Arm()
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="shape"):
        draw_pose(ax, rig, torch.zeros(5))
    with pytest.raises(ValueError, match="one pose"):
        draw_pose(ax, rig, torch.zeros(3, 4))


def test_draw_poses_draws_n_show_poses_and_the_best_in_black(humanoid):
    params = humanoid.sample_poses(30, seed=0)
    bones = n_drawn_bones(humanoid)
    _, ax = plt.subplots()
    draw_poses(ax, humanoid, params, best=0, n_show=10)
    assert len(ax.lines) == 10 * bones
    black = [line for line in ax.lines if line.get_color() == "k"]
    assert len(black) == bones and all(line.get_alpha() == 1.0 for line in black)
    assert ax.lines[-1] is black[-1]  # the best pose is drawn last, on top
    np.testing.assert_allclose(black[0].get_xydata(), humanoid.geometry(params[:1].double())["torso"][0], atol=1e-6)
    translucent = [line for line in ax.lines if line.get_color() != "k"]
    assert len(translucent) == 9 * bones and {line.get_alpha() for line in translucent} == {0.25}
    _, ax = plt.subplots()
    draw_poses(ax, humanoid, params, best=None, n_show=5)
    assert len(ax.lines) == 5 * bones and all(line.get_color() != "k" for line in ax.lines)
    with pytest.raises(ValueError, match="best"):
        draw_poses(ax, humanoid, params, best=30)


def test_draw_targets_marks_and_labels_every_target():
    _, ax = plt.subplots()
    draw_targets(ax, FIG6_TARGETS, errors={"rHand": 0.029}, height=1.45)
    for collection in ax.collections:  # circle and cross at each target
        np.testing.assert_allclose(collection.get_offsets(), np.array(list(FIG6_TARGETS.values())))
    labels = {text.get_text() for text in ax.texts}
    assert labels == {"lFoot", "rFoot", "rHand\n2.0% of height"}
    _, ax = plt.subplots()
    draw_targets(ax, {"hand": (0.5, 0.5)}, errors={"hand": 0.0123})
    assert ax.texts[0].get_text() == "hand\n0.012"  # rig units without a height


# ---------------------------------------------------------------------- constraints
def test_axis_bound_reads_the_ik_helpers_back(humanoid):
    assert axis_bound(humanoid, below(humanoid, "headTop", 1.2)) == AxisBound(
        "headTop", "y", "<", pytest.approx(1.2), 3.0
    )
    assert axis_bound(humanoid, above(humanoid, "lFoot", 0.0))[:3] == ("lFoot", "y", ">")
    bound = axis_bound(humanoid, right_of(humanoid, "rHand", -0.5))
    assert bound[:3] == ("rHand", "x", ">") and bound.value == pytest.approx(-0.5)
    assert str(axis_bound(humanoid, left_of(humanoid, "com", 0.25))) == "com.x < 0.25"
    general = torch.zeros(humanoid.dim)
    general[humanoid.index("rHand")] = torch.tensor([1.0, 1.0])
    assert axis_bound(humanoid, Inequality(general, 0.0)) is None
    angle = torch.zeros(humanoid.dim)
    angle[humanoid.index("torso.angle")] = 1.0
    assert axis_bound(humanoid, Inequality(angle, 0.0)) is None
    assert axis_bound(humanoid, Box(torch.zeros(humanoid.dim), torch.ones(humanoid.dim))) is None


def test_draw_inequalities_draws_head_line_and_skips_general_ones(humanoid):
    _, ax = plt.subplots()
    general = Inequality(torch.ones(humanoid.dim), -1.0)
    draw_inequalities(ax, humanoid, [general], EXTENT)
    assert len(ax.lines) == 0 and len(ax.patches) == 0 and len(ax.texts) == 0
    draw_inequalities(ax, humanoid, [below(humanoid, "headTop", 1.2), general], EXTENT)
    (line,) = ax.lines
    np.testing.assert_allclose(line.get_ydata(), [1.2, 1.2], atol=1e-6)
    np.testing.assert_allclose(line.get_xdata(), [-1.0, 1.0])
    assert len(ax.patches) == 0  # the head alone is bound: the hands may cross the line, so nothing is shaded
    assert "headTop" in ax.texts[0].get_text() and "y < 1.2" in ax.texts[0].get_text()
    _, ax = plt.subplots()
    draw_inequalities(ax, humanoid, [below(humanoid, point, 1.2) for point in humanoid.effectors], EXTENT)
    (shade,) = ax.patches
    assert isinstance(shade, Rectangle)  # every end point bound: the side y > 1.2 is invalid, up to the top
    assert shade.get_xy() == pytest.approx((-1.0, 1.2)) and shade.get_height() == pytest.approx(0.8)


def test_draw_inequalities_groups_the_fig6_set_into_four_lines(humanoid):
    _, ax = plt.subplots()
    draw_inequalities(ax, humanoid, fig6_panel4(humanoid), EXTENT)
    assert len(ax.lines) == 4 and len(ax.patches) == 4
    horizontal = sorted(line.get_ydata()[0] for line in ax.lines if line.get_ydata()[0] == line.get_ydata()[1])
    vertical = sorted(line.get_xdata()[0] for line in ax.lines if line.get_xdata()[0] == line.get_xdata()[1])
    assert horizontal == pytest.approx([0.0, 1.2]) and vertical == pytest.approx([-0.5, 0.5])
    assert sorted(text.get_text().strip() for text in ax.texts) == [
        "5 points: x < 0.5",
        "5 points: x > -0.5",
        "5 points: y < 1.2",
        "5 points: y > 0",
    ]
    below_ground = next(p for p in ax.patches if p.get_xy()[1] == pytest.approx(-0.1) and p.get_width() == 2.0)
    assert below_ground.get_height() == pytest.approx(0.1)  # y > 0 shades [-0.1, 0]


# ---------------------------------------------------------------------- panels
def test_plot_ik_panel_draws_samples_polish_targets_and_summary(humanoid, humanoid_model):
    solution = solve(humanoid_model, humanoid, FIG6_TARGETS, n_samples=64, seed=0, polish=True, ccd_iterations=20)
    constraints = [below(humanoid, p, 1.2) for p in FIVE]
    _, ax = plt.subplots()
    plot_ik_panel(ax, humanoid, solution, FIG6_TARGETS, constraints, title="targets", n_show=10)
    bones = n_drawn_bones(humanoid)
    assert len(ax.lines) == 1 + 1 + 10 * bones + bones  # bound line, ground, samples, polished pose
    polished = [line for line in ax.lines if line.get_linestyle() == "--" and line.get_color() == "tab:green"]
    assert len(polished) == bones
    assert ax.get_xlim() == pytest.approx((-1.0, 1.0)) and ax.get_ylim() == pytest.approx((-0.1, 2.0))
    assert ax.get_title() == "targets"
    texts = [t.get_text() for t in ax.texts]
    box = next(t for t in texts if t.startswith("best"))
    assert f"{100 * solution.errors[0].item() / 1.45:.1f}% of height" in box
    met = int(solution.satisfied.sum())
    assert f"({met}/64 samples)" in box and ("yes" if solution.satisfied[0] else "no") in box
    assert f"CCD polished: {100 * solution.polished_error.item() / 1.45:.2f}% of height" in box
    assert {"rHand", "lFoot", "rFoot"} <= set(texts)


def test_plot_ik_panel_without_targets_and_with_many_queries(humanoid, humanoid_model):
    solution = solve(humanoid_model, humanoid, None, n_samples=16, seed=0)
    _, ax = plt.subplots()
    plot_ik_panel(ax, humanoid, solution, n_show=3, show_polished=False)
    assert len(ax.lines) == 1 + 3 * n_drawn_bones(humanoid)  # ground and three poses
    assert ax.texts[0].get_text() == "no targets"
    many = solve_many(humanoid_model, humanoid, {"rHand": [[0.5, 1.0], [0.6, 1.1]]}, n_samples=8, seed=0)
    with pytest.raises(ValueError, match="one query"):
        plot_ik_panel(ax, humanoid, many)


def test_plot_ik_figure_makes_the_fig6_row(humanoid, humanoid_model):
    panel3 = [below(humanoid, p, 1.2) for p in FIVE]
    panel4 = fig6_panel4(humanoid)
    panels = [
        ("unconditional", solve(humanoid_model, humanoid, None, n_samples=64, seed=0), None, ()),
        ("targets", solve(humanoid_model, humanoid, FIG6_TARGETS, n_samples=64, seed=0), FIG6_TARGETS, ()),
        (
            "targets, y < 1.2",
            solve(humanoid_model, humanoid, FIG6_TARGETS, constraints=panel3, n_samples=64, seed=0),
            FIG6_TARGETS,
            panel3,
        ),
        (
            "20 inequalities",
            solve(humanoid_model, humanoid, None, constraints=panel4, n_samples=64, seed=0),
            None,
            panel4,
        ),
    ]
    fig = plot_ik_figure(humanoid, panels, n_show=10)
    assert [ax.get_title() for ax in fig.axes] == [p[0] for p in panels]
    bones = n_drawn_bones(humanoid)
    assert [len(ax.lines) for ax in fig.axes] == [1 + 10 * bones, 1 + 10 * bones, 2 + 10 * bones, 5 + 10 * bones]
    with pytest.raises(ValueError, match="at least one"):
        plot_ik_figure(humanoid, [])


# ---------------------------------------------------------------------- quality
def test_plot_effector_errors_ecdf_and_histogram():
    errors = torch.tensor([0.0145, 0.029, float("nan"), 0.0725, 0.145], dtype=torch.float64)
    ax = plot_effector_errors(errors, height=1.45)
    (line,) = ax.lines
    np.testing.assert_allclose(line.get_xdata(), [1.0, 2.0, 5.0, 10.0])  # % of height, nan dropped
    np.testing.assert_allclose(line.get_ydata(), [0.25, 0.5, 0.75, 1.0])
    assert ax.get_legend().get_texts()[0].get_text() == "median 3.5%"
    ax = plot_effector_errors({"sampled": errors, "polished": torch.zeros(4)}, height=1.45, log=True)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sampled (median 3.5%)", "polished (median 0.0001%)"]
    assert ax.get_xscale() == "log"
    _, ax = plt.subplots()
    assert plot_effector_errors(errors, 1.45, ax=ax, kind="hist", bins=4) is ax
    assert sum(len(p.get_path().vertices) > 0 for p in ax.patches) == 1  # one step outline
    with pytest.raises(ValueError, match="kind"):
        plot_effector_errors(errors, 1.45, kind="box")
    with pytest.raises(ValueError, match="height"):
        plot_effector_errors(errors, 0.0)
    with pytest.raises(ValueError, match="finite"):
        plot_effector_errors(torch.full((3,), float("nan")), 1.45)


def test_plot_ik_panel_polish_without_targets_reports_constraints_not_nan(humanoid, humanoid_model):
    constraints = [below(humanoid, p, 1.2) for p in FIVE]
    solution = solve(humanoid_model, humanoid, None, constraints=constraints, n_samples=16, seed=0, polish=True)
    _, ax = plt.subplots()
    plot_ik_panel(ax, humanoid, solution, None, constraints)
    box = next(t.get_text() for t in ax.texts if t.get_text().startswith("no targets"))
    assert "nan" not in box
    expected = "met" if bool(solution.polished_satisfied) else "not met"
    assert f"CCD polished: constraints {expected}" in box
