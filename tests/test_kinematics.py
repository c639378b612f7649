"""Numerical tests for deepmix_core.data.kinematics: rest poses, the clockwise angle rule, centres of mass
(corrected and reference), the 30-variable layout, sampling, shapes and an independent forward kinematics."""

import math

import numpy as np
import pytest
import torch

from deepmix_core.data.kinematics import Arm, Bone, Humanoid, Rig

HALF_PI = 0.5 * math.pi


# ---------------------------------------------------------------- an independent humanoid, written from the reference
# (name, parent, local pivot, box (x0, x1, y0, y1) or None), as listed in docs/notes/drmm.md §6.3
REFERENCE_BONES = [
    ("torso", None, (0.0, 0.0), (-0.15, 0.15, 0.0, 0.25)),
    ("torsoUpper", "torso", (0.0, 0.25), (-0.15, 0.15, 0.0, 0.25)),
    ("head", "torsoUpper", (0.0, 0.25), (-0.075, 0.075, 0.0, 0.25)),
    ("headTop", "head", (0.0, 0.25), None),
    ("rUpperArm", "torsoUpper", (0.15, 0.25), (0.0, 0.3, -0.05, 0.05)),
    ("rForeArm", "rUpperArm", (0.3, 0.0), (0.0, 0.3, -0.05, 0.05)),
    ("rHand", "rForeArm", (0.3, 0.0), None),
    ("lUpperArm", "torsoUpper", (-0.15, 0.25), (-0.3, 0.0, -0.05, 0.05)),
    ("lForeArm", "lUpperArm", (-0.3, 0.0), (-0.3, 0.0, -0.05, 0.05)),
    ("lHand", "lForeArm", (-0.3, 0.0), None),
    ("rThigh", "torso", (0.15, 0.0), (-0.05, 0.05, -0.35, 0.0)),
    ("rShin", "rThigh", (0.0, -0.35), (-0.05, 0.05, -0.35, 0.0)),
    ("rFoot", "rShin", (0.0, -0.35), None),
    ("lThigh", "torso", (-0.15, 0.0), (-0.05, 0.05, -0.35, 0.0)),
    ("lShin", "lThigh", (0.0, -0.35), (-0.05, 0.05, -0.35, 0.0)),
    ("lFoot", "lShin", (0.0, -0.35), None),
]


def clockwise(point, angle):
    """The reference's rotation: row vector times [[cos, −sin], [sin, cos]] = (x cos + y sin, −x sin + y cos)."""
    x, y = point
    return np.array([x * math.cos(angle) + y * math.sin(angle), -x * math.sin(angle) + y * math.cos(angle)])


def reference_pose(params):
    """Global pivots and angles of one parameter row (root x, root y, 16 local angles), one bone at a time."""
    pivots, angles = {}, {}
    for i, (name, parent, pivot, _) in enumerate(REFERENCE_BONES):
        local = float(params[2 + i])
        if parent is None:
            pivots[name], angles[name] = np.array([params[0], params[1]], dtype=float), local
        else:
            pivots[name] = pivots[parent] + clockwise(pivot, angles[parent])
            angles[name] = local + angles[parent]
    return pivots, angles


def reference_polylines(params):
    """World 5-point polylines of the 11 boxes (first corner repeated at the end)."""
    pivots, angles = reference_pose(params)
    shapes = {}
    for name, _, _, box in REFERENCE_BONES:
        if box is None:
            continue
        x0, x1, y0, y1 = box
        corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        shapes[name] = np.array([pivots[name] + clockwise(c, angles[name]) for c in corners])
    return shapes


def reference_com_quirky(params):
    """The reference code's COM: Σ over boxes of the mean of all 5 polyline points, divided by 16."""
    return sum(shape.mean(axis=0) for shape in reference_polylines(params).values()) / 16.0


def corrected_com(params):
    """The mean of the 11 box centres (4 distinct corners each)."""
    shapes = reference_polylines(params)
    return sum(shape[:4].mean(axis=0) for shape in shapes.values()) / len(shapes)


def rest_params(rig: Rig, root=(0.0, 0.7)) -> torch.Tensor:
    params = torch.zeros(1, rig.n_params, dtype=torch.float64)
    params[0, :2] = torch.tensor(root, dtype=torch.float64)
    return params


def set_angle(rig: Rig, params: torch.Tensor, bone: str, value: float) -> torch.Tensor:
    params = params.clone()
    params[:, rig.index(f"{bone}.angle")] = value
    return params


@pytest.fixture(scope="module")
def quirky():
    return Humanoid(reference_quirks=True)


# ---------------------------------------------------------------- rest pose
def test_rest_pose_end_effectors(humanoid):
    effectors = humanoid.end_effectors(rest_params(humanoid))[0]
    expected = {
        "rHand": (0.75, 1.2),
        "lHand": (-0.75, 1.2),
        "rFoot": (0.15, 0.0),
        "lFoot": (-0.15, 0.0),
        "headTop": (0.0, 1.45),
    }
    assert humanoid.effectors == list(expected)
    for i, point in enumerate(expected.values()):
        torch.testing.assert_close(effectors[i], torch.tensor(point, dtype=torch.float64), atol=1e-12, rtol=0)
    assert humanoid.height == pytest.approx(1.45)


def test_rest_pose_corrected_centre_of_mass(humanoid):
    # box centres at rest (root (0, 0.7)): torso (0, 0.825), torsoUpper (0, 1.075), head (0, 1.325),
    # 4 arm links at y = 1.2 (x = ±0.3, ±0.6), thighs (±0.15, 0.525), shins (±0.15, 0.175)
    expected_y = (0.825 + 1.075 + 1.325 + 4 * 1.2 + 2 * 0.525 + 2 * 0.175) / 11  # = 9.425 / 11
    com = humanoid.observe(rest_params(humanoid))[0, humanoid.index("com")]
    torch.testing.assert_close(com, torch.tensor([0.0, expected_y], dtype=torch.float64), atol=1e-12, rtol=0)
    assert expected_y == pytest.approx(0.8568181818)


def test_rest_pose_reference_centre_of_mass(quirky):
    # 5-point means (first corner twice) = (3·corner0 + 2·corner2) / 5, e.g. torso (−0.03, 0.8), summed over the
    # 11 boxes at rest: (−0.235, 9.17); divided by 16
    com = quirky.observe(rest_params(quirky))[0, quirky.index("com")]
    torch.testing.assert_close(com, torch.tensor([-0.235 / 16, 9.17 / 16], dtype=torch.float64), atol=1e-12, rtol=0)
    np.testing.assert_allclose(reference_com_quirky(rest_params(quirky)[0].numpy()), [-0.235 / 16, 9.17 / 16])


def test_centre_of_mass_of_random_poses_matches_independent_computation(humanoid, quirky):
    params = humanoid.sample_poses(20, seed=3, dtype=torch.float64)
    corrected = humanoid.observe(params)[:, humanoid.index("com")].numpy()
    reference = quirky.observe(params)[:, quirky.index("com")].numpy()
    for row in range(params.shape[0]):
        p = params[row].numpy()
        np.testing.assert_allclose(corrected[row], corrected_com(p), atol=1e-12)
        np.testing.assert_allclose(reference[row], reference_com_quirky(p), atol=1e-12)
    assert np.abs(corrected - reference).max() > 0.1  # the two definitions really differ


# ---------------------------------------------------------------- ranges: quirks versus mirrored
def test_param_bounds_mirror_left_limbs_unless_quirks(humanoid, quirky):
    def bounds_of(rig, bone):
        low, high = rig.param_bounds()
        column = rig.index(f"{bone}.angle").start
        return low[column].item(), high[column].item()

    for rig in (humanoid, quirky):
        assert bounds_of(rig, "rForeArm") == pytest.approx((0.0, HALF_PI))
        assert bounds_of(rig, "rThigh") == pytest.approx((-0.1 * math.pi, 0.3 * math.pi))
        assert bounds_of(rig, "torso") == pytest.approx((-0.4 * math.pi, 0.4 * math.pi))
        assert bounds_of(rig, "head") == pytest.approx((-0.1 * math.pi, 0.1 * math.pi))
        assert bounds_of(rig, "lShin") == pytest.approx((-0.25 * math.pi, 0.25 * math.pi))
        assert bounds_of(rig, "headTop") == (0.0, 0.0)
        low, high = rig.param_bounds()
        assert low[:2].tolist() == pytest.approx([-0.3, 0.4]) and high[:2].tolist() == pytest.approx([0.3, 1.0])
    assert bounds_of(humanoid, "lForeArm") == pytest.approx((-HALF_PI, 0.0))
    assert bounds_of(humanoid, "lThigh") == pytest.approx((-0.3 * math.pi, 0.1 * math.pi))
    assert bounds_of(quirky, "lForeArm") == pytest.approx((0.0, HALF_PI))
    assert bounds_of(quirky, "lThigh") == pytest.approx((-0.1 * math.pi, 0.3 * math.pi))


def test_mirrored_pose_is_a_mirror_image(humanoid):
    """In the default rig, negating the left limb angles of a symmetric pose mirrors the right limbs."""
    params = rest_params(humanoid)
    for side, sign in (("r", 1.0), ("l", -1.0)):
        params = set_angle(humanoid, params, f"{side}UpperArm", sign * 0.3)
        params = set_angle(humanoid, params, f"{side}ForeArm", sign * 0.4)
        params = set_angle(humanoid, params, f"{side}Thigh", sign * 0.2)
        params = set_angle(humanoid, params, f"{side}Shin", sign * -0.5)
    effectors = humanoid.end_effectors(params)[0]
    right, left = effectors[[0, 2]], effectors[[1, 3]]
    torch.testing.assert_close(left, right * torch.tensor([-1.0, 1.0], dtype=torch.float64), atol=1e-12, rtol=0)


# ---------------------------------------------------------------- the clockwise rule
def test_positive_upper_arm_angle_turns_clockwise(humanoid):
    # shoulder at (0.15, 0.7 + 0.25 + 0.25) = (0.15, 1.2); the arm (0.6 long, pointing +x) turns a quarter
    # clockwise and hangs straight down: hand at (0.15, 1.2 − 0.6) = (0.15, 0.6)
    params = set_angle(humanoid, rest_params(humanoid), "rUpperArm", HALF_PI)
    hand = humanoid.end_effectors(params)[0, humanoid.effectors.index("rHand")]
    torch.testing.assert_close(hand, torch.tensor([0.15, 0.6], dtype=torch.float64), atol=1e-12, rtol=0)
    # the same angle on the left arm (pointing −x) lifts it straight up: hand at (−0.15, 1.8)
    params = set_angle(humanoid, rest_params(humanoid), "lUpperArm", HALF_PI)
    hand = humanoid.end_effectors(params)[0, humanoid.effectors.index("lHand")]
    torch.testing.assert_close(hand, torch.tensor([-0.15, 1.8], dtype=torch.float64), atol=1e-12, rtol=0)


def test_positive_torso_angle_tilts_head_to_the_right(humanoid):
    # a clockwise quarter turn of the torso makes the spine (0, 0.75 long, pointing up) point along +x
    params = set_angle(humanoid, rest_params(humanoid), "torso", HALF_PI)
    head_top = humanoid.end_effectors(params)[0, humanoid.effectors.index("headTop")]
    torch.testing.assert_close(head_top, torch.tensor([0.75, 0.7], dtype=torch.float64), atol=1e-12, rtol=0)


def test_arm_at_zero_and_quarter_turn():
    arm = Arm(4)
    zero = torch.zeros(1, 4, dtype=torch.float64)
    torch.testing.assert_close(arm.end_effectors(zero)[0, 0], torch.tensor([1.0, 0.0], dtype=torch.float64))
    quarter = zero.clone()
    quarter[0, 0] = HALF_PI
    torch.testing.assert_close(
        arm.end_effectors(quarter)[0, 0], torch.tensor([0.0, -1.0], dtype=torch.float64), atol=1e-12, rtol=0
    )
    # every joint a quarter turn: +x, −y, −x, +y → the hand returns to the origin after a square
    square = torch.full((1, 4), HALF_PI, dtype=torch.float64)
    pivots = arm.forward(square).pivots[0]
    expected = torch.tensor([[0, 0], [0, -0.25], [-0.25, -0.25], [-0.25, 0], [0, 0]], dtype=torch.float64)
    torch.testing.assert_close(pivots, expected, atol=1e-12, rtol=0)


def test_arm_reach_never_exceeds_one():
    arm = Arm(4)
    hands = arm.end_effectors(arm.sample_poses(5000, seed=0, dtype=torch.float64))[:, 0]
    radius = hands.norm(dim=-1)
    assert radius.max().item() <= 1.0 + 1e-12
    assert radius.max().item() > 0.95  # nearly stretched poses do occur
    assert arm.height == 1.0


# ---------------------------------------------------------------- layout
def test_humanoid_layout_matches_reference(humanoid):
    assert humanoid.dim == 30 and humanoid.n_params == 18
    names = humanoid.variable_names
    assert names[:2] == ["root.x", "root.y"]
    assert names[2:18] == [f"{bone[0]}.angle" for bone in REFERENCE_BONES]
    starts = {"root": 0, "com": 18, "rHand": 20, "lHand": 22, "rFoot": 24, "lFoot": 26, "headTop": 28}
    for point, start in starts.items():
        assert humanoid.index(point) == slice(start, start + 2)
        assert names[start : start + 2] == [f"{point}.x", f"{point}.y"]
    assert humanoid.index("rHand.y") == slice(21, 22)
    assert humanoid.index("torso.angle") == slice(2, 3)
    assert humanoid.index("lThigh.angle") == slice(15, 16)
    assert humanoid.index("lFoot.angle") == slice(17, 18)


def test_arm_layout():
    arm = Arm(4)
    assert arm.dim == 6 and arm.n_params == 4
    assert arm.variable_names == ["link0.angle", "link1.angle", "link2.angle", "link3.angle", "hand.x", "hand.y"]
    assert arm.index("hand") == slice(4, 6)
    assert arm.index("link2.angle") == slice(2, 3)
    assert Arm(3).dim == 5


@pytest.mark.parametrize("name", ["nose", "rHand.z", "torso", "com.angle", ""])
def test_index_of_unknown_name_raises_key_error(humanoid, name):
    with pytest.raises(KeyError):
        humanoid.index(name)


# ---------------------------------------------------------------- sampling
def test_sample_poses_within_bounds_and_seeded(humanoid):
    low, high = humanoid.param_bounds()
    poses = humanoid.sample_poses(2000, seed=0)
    assert poses.shape == (2000, 18) and poses.dtype == torch.float32
    assert bool((poses >= low).all() and (poses <= high).all())
    movable = high > low
    # uniform: each movable column spans (nearly) its whole interval, mean near the centre
    span = (poses.max(0).values - poses.min(0).values)[movable] / (high - low)[movable]
    assert span.min().item() > 0.99
    centre = ((poses.mean(0) - 0.5 * (low + high))[movable] / (high - low)[movable]).abs()
    assert centre.max().item() < 0.03  # sd of the mean ≈ 0.29 / √2000 ≈ 0.0065
    torch.testing.assert_close(poses, humanoid.sample_poses(2000, seed=0), atol=0, rtol=0)
    assert not torch.equal(poses, humanoid.sample_poses(2000, seed=1))


def test_fixed_bones_always_zero(humanoid):
    poses = humanoid.sample_poses(500, seed=2)
    for bone in ("headTop", "rHand", "lHand", "rFoot", "lFoot"):
        column = humanoid.index(f"{bone}.angle")
        assert bool((poses[:, column] == 0).all()), bone
    data = humanoid.dataset(500, seed=2)
    assert bool((data[:, [5, 8, 11, 14, 17]] == 0).all())


def test_sample_poses_rejects_bad_n(humanoid):
    for bad in (0, -3, 2.5):
        with pytest.raises(ValueError):
            humanoid.sample_poses(bad)


# ---------------------------------------------------------------- observe / params_of / shapes
def test_observe_is_consistent_with_end_effectors(humanoid):
    params = humanoid.sample_poses(100, seed=4, dtype=torch.float64)
    data = humanoid.observe(params)
    assert data.shape == (100, 30)
    torch.testing.assert_close(data[:, :18], params, atol=0, rtol=0)
    effectors = humanoid.end_effectors(params)
    assert effectors.shape == (100, 5, 2)
    for i, name in enumerate(humanoid.effectors):
        torch.testing.assert_close(data[:, humanoid.index(name)], effectors[:, i], atol=0, rtol=0)
    torch.testing.assert_close(data[:, 18:20], humanoid.centre_of_mass_of(params), atol=0, rtol=0)
    torch.testing.assert_close(humanoid.params_of(data), params, atol=0, rtol=0)


def test_arm_observe_and_params_of():
    arm = Arm(4)
    params = arm.sample_poses(50, seed=5, dtype=torch.float64)
    data = arm.observe(params)
    assert data.shape == (50, 6)
    torch.testing.assert_close(data[:, 4:], arm.end_effectors(params)[:, 0], atol=0, rtol=0)
    torch.testing.assert_close(arm.params_of(data), params, atol=0, rtol=0)


def test_dataset_is_observe_of_sample_poses(humanoid):
    data = humanoid.dataset(30, seed=7)
    assert data.dtype == torch.float32 and data.shape == (30, 30)
    expected = humanoid.observe(humanoid.sample_poses(30, seed=7, dtype=torch.float64)).float()
    torch.testing.assert_close(data, expected, atol=0, rtol=0)


def test_bad_shapes_raise_value_error(humanoid):
    for bad in (torch.zeros(4, 17), torch.zeros(18), torch.zeros(2, 3, 18)):
        for method in (humanoid.forward, humanoid.end_effectors, humanoid.observe):
            with pytest.raises(ValueError):
                method(bad)
    for bad in (torch.zeros(4, 29), torch.zeros(30), torch.zeros(4, 18)):
        with pytest.raises(ValueError):
            humanoid.params_of(bad)
    with pytest.raises(ValueError):
        Arm(4).end_effectors(torch.zeros(3, 5))


def test_arm_constructor_validation():
    for bad in ({"n_links": 0}, {"n_links": 2.0}, {"length": 0.0}, {"angle_limit": 0.0}, {"angle_limit": 4.0}):
        with pytest.raises(ValueError):
            Arm(**bad)


# ---------------------------------------------------------------- Rig constructor validation
def _tiny_bones():
    return [
        Bone("base", None, (0.0, 0.0), (-1.0, 1.0), ((0, 0), (1, 0), (1, 1), (0, 1), (0, 0))),
        Bone("tip", "base", (1.0, 0.0), (0.0, 0.0)),
    ]


def test_rig_accepts_a_valid_tree():
    rig = Rig(_tiny_bones(), root_range=None, effectors=["tip"], keep_fixed_angles=False)
    assert rig.n_params == 1 and rig.variable_names == ["base.angle", "tip.x", "tip.y"]
    torch.testing.assert_close(rig.end_effectors(torch.tensor([[HALF_PI]]))[0, 0], torch.tensor([0.0, -1.0]))


def test_rig_rejects_duplicate_names():
    bones = _tiny_bones() + [Bone("tip", "base", (0.5, 0.0), (0.0, 0.0))]
    with pytest.raises(ValueError, match="unique"):
        Rig(bones, root_range=None, effectors=["tip"])


def test_rig_rejects_child_before_parent():
    bones = [
        Bone("base", None, (0.0, 0.0), (-1.0, 1.0)),
        Bone("tip", "middle", (1.0, 0.0), (0.0, 0.0)),
        Bone("middle", "base", (1.0, 0.0), (-1.0, 1.0)),
    ]
    with pytest.raises(ValueError, match="before"):
        Rig(bones, root_range=None, effectors=["tip"])


def test_rig_rejects_bad_root():
    with pytest.raises(ValueError, match="root"):  # a second root
        Rig(_tiny_bones() + [Bone("other", None, (0.0, 0.0), (0.0, 0.0))], root_range=None, effectors=["tip"])
    with pytest.raises(ValueError, match="root"):  # first bone has a parent
        Rig([Bone("tip", "base", (1.0, 0.0), (0.0, 0.0))], root_range=None, effectors=["tip"])


def test_rig_rejects_unknown_effector():
    with pytest.raises(ValueError, match="effector"):
        Rig(_tiny_bones(), root_range=None, effectors=["tip", "nose"])


# ---------------------------------------------------------------- independent forward kinematics
def test_forward_kinematics_matches_independent_per_bone_loop(humanoid):
    params = humanoid.sample_poses(25, seed=11, dtype=torch.float64)
    effectors = humanoid.end_effectors(params).numpy()
    pose = humanoid.forward(params)
    for row in range(params.shape[0]):
        pivots, angles = reference_pose(params[row].numpy())
        for i, name in enumerate(humanoid.effectors):
            np.testing.assert_allclose(effectors[row, i], pivots[name], atol=1e-6)
        for i, (name, *_rest) in enumerate(REFERENCE_BONES):
            np.testing.assert_allclose(pose.pivots[row, i].numpy(), pivots[name], atol=1e-12)
            assert pose.angles[row, i].item() == pytest.approx(angles[name], abs=1e-12)
        for name, shape in humanoid.geometry(params[row : row + 1]).items():
            np.testing.assert_allclose(shape[0].numpy(), reference_polylines(params[row].numpy())[name], atol=1e-12)


def test_right_hand_by_hand_written_chain(humanoid):
    """rHand = root + R(φ_torso)(0,0.25) + R(φ_torsoUpper)(0.15,0.25) + R(φ_upper)(0.3,0) + R(φ_fore)(0.3,0)."""
    params = humanoid.sample_poses(40, seed=12, dtype=torch.float64).numpy()
    hands = humanoid.end_effectors(torch.from_numpy(params))[:, 0].numpy()
    for row, p in enumerate(params):
        torso, upper, shoulder, elbow = p[2], p[2] + p[3], p[2] + p[3] + p[6], p[2] + p[3] + p[6] + p[7]
        hand = (
            p[:2]
            + clockwise((0.0, 0.25), torso)
            + clockwise((0.15, 0.25), upper)
            + clockwise((0.3, 0.0), shoulder)
            + clockwise((0.3, 0.0), elbow)
        )
        np.testing.assert_allclose(hands[row], hand, atol=1e-6)
