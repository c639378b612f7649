"""Numerical tests for deepmix_core.ik: wishes as inequalities, known-value matrices, kinematic errors and checks,
CCD polishing (humanoid and arm) and solving with a tiny DRMM trained on arm poses."""

import math

import pytest
import torch

from deepmix_core.data.kinematics import Humanoid
from deepmix_core.ik import (
    above,
    below,
    ccd_polish,
    left_of,
    right_of,
    satisfied,
    solve,
    solve_many,
    target_errors,
    targets_to_known,
    violations,
)

LIMB_TARGETS = ("rHand", "rFoot", "lFoot")


def effector_targets(rig, params, names):
    """{name: (B, 2)} effector positions of ``params``, by forward kinematics."""
    effectors = rig.end_effectors(params)
    return {name: effectors[:, rig.effectors.index(name)] for name in names}


# ---------------------------------------------------------------- wishes as inequalities
def _data_with(rig, column, values):
    data = torch.zeros(len(values), rig.dim)
    data[:, column] = torch.tensor(values)
    return data


def test_below_above_left_right_hold_on_hand_made_vectors(humanoid):
    y_column, x_column = humanoid.index("headTop.y").start, humanoid.index("headTop.x").start
    assert (y_column, x_column) == (29, 28)
    heights = _data_with(humanoid, y_column, [1.0, 1.19, 1.21, 1.5])
    assert below(humanoid, "headTop", 1.2).holds(heights).tolist() == [True, True, False, False]
    assert above(humanoid, "headTop", 1.2).holds(heights).tolist() == [False, False, True, True]
    sideways = _data_with(humanoid, x_column, [-0.6, -0.4, 0.4, 0.6])
    assert left_of(humanoid, "headTop", -0.5).holds(sideways).tolist() == [True, False, False, False]
    assert right_of(humanoid, "headTop", 0.5).holds(sideways).tolist() == [False, False, False, True]
    assert left_of(humanoid, "headTop", 0.5).holds(sideways).tolist() == [True, True, True, False]
    # other columns do not matter: a data vector with a low head but a high hand is still "head below"
    mixed = _data_with(humanoid, y_column, [1.0])
    mixed[0, humanoid.index("rHand.y")] = 5.0
    assert below(humanoid, "headTop", 1.2).holds(mixed).tolist() == [True]
    assert below(humanoid, "rHand", 1.2).holds(mixed).tolist() == [False]


def test_wish_planes_and_weights(humanoid):
    wish = below(humanoid, "lFoot", 0.3)
    expected_a = torch.zeros(30)
    expected_a[27] = -1.0
    torch.testing.assert_close(wish.a.float(), expected_a)
    assert float(wish.b) == pytest.approx(0.3)
    assert wish.weight == 3.0  # the reference's weight for "below" wishes
    assert above(humanoid, "lFoot", 0.0).weight == 1.0
    wish = right_of(humanoid, "com", -0.5, weight=2.0)
    assert wish.a[18].item() == 1.0 and float(wish.b) == pytest.approx(0.5) and wish.weight == 2.0
    with pytest.raises(KeyError):
        below(humanoid, "nose", 1.0)


def test_wish_on_arm(arm):
    data = _data_with(arm, 5, [-0.2, 0.2])
    assert below(arm, "hand", 0.0).holds(data).tolist() == [True, False]


# ---------------------------------------------------------------- known-value matrices
def test_targets_to_known_columns_and_nan(humanoid):
    known = targets_to_known(humanoid, {"rHand": (0.8, 1.0), "lFoot": (-0.2, 0.0)})
    assert known.shape == (1, 30) and known.dtype == torch.float32
    assert known[0, 20:22].tolist() == pytest.approx([0.8, 1.0])
    assert known[0, 26:28].tolist() == pytest.approx([-0.2, 0.0])
    others = [c for c in range(30) if c not in (20, 21, 26, 27)]
    assert bool(torch.isnan(known[0, others]).all())


def test_targets_to_known_several_queries_broadcasts_single_targets(humanoid):
    hands = [(0.1, 1.0), (0.2, 1.1), (0.3, 1.2)]
    known = targets_to_known(humanoid, {"rHand": hands, "headTop": (0.0, 1.3)})
    assert known.shape == (3, 30)
    torch.testing.assert_close(known[:, 20:22], torch.tensor(hands))
    torch.testing.assert_close(known[:, 28:30], torch.tensor([[0.0, 1.3]] * 3))
    assert int(torch.isnan(known).sum()) == 3 * 26


def test_targets_to_known_arm(arm):
    known = targets_to_known(arm, {"hand": (0.5, -0.25)})
    assert known.shape == (1, 6)
    assert bool(torch.isnan(known[0, :4]).all()) and known[0, 4:].tolist() == [0.5, -0.25]


@pytest.mark.parametrize(
    "targets",
    [
        {"nose": (0.0, 1.0)},
        {"com": (0.0, 1.0)},  # a data column, but not an effector
        {"rHand": (0.1, 0.2, 0.3)},
        {"rHand": [[0.1, 0.2, 0.3]]},
        {"rHand": [[[0.1, 0.2]]]},
        {"rHand": (math.nan, 1.0)},
        {"rHand": [(0.0, 1.0), (0.1, 1.0)], "lHand": [(0.0, 1.0)] * 3},  # 2 versus 3 queries
    ],
)
def test_targets_to_known_rejects_bad_targets(humanoid, targets):
    with pytest.raises(ValueError):
        targets_to_known(humanoid, targets)


# ---------------------------------------------------------------- errors and checks by kinematics
def test_target_errors_zero_for_source_pose_and_exact_for_shifts(humanoid):
    params = humanoid.sample_poses(40, seed=1, dtype=torch.float64)
    targets = effector_targets(humanoid, params, LIMB_TARGETS)
    errors = target_errors(humanoid, params, targets)
    assert errors.shape == (40,)
    assert errors.abs().max().item() < 1e-12
    shifted = dict(targets, rHand=targets["rHand"] + torch.tensor([0.3, 0.4], dtype=torch.float64))
    # distances 0.5, 0, 0 → mean 0.5 / 3
    expected = torch.full((40,), 0.5 / 3, dtype=torch.float64)
    torch.testing.assert_close(target_errors(humanoid, params, shifted), expected)
    single = {"lFoot": (0.0, 0.0)}  # one (x, y) for every row
    feet = humanoid.end_effectors(params)[:, humanoid.effectors.index("lFoot")]
    torch.testing.assert_close(target_errors(humanoid, params, single), feet.norm(dim=-1))
    assert bool(torch.isnan(target_errors(humanoid, params, {})).all())


def test_satisfied_and_violations_match_manual_checks(humanoid):
    params = humanoid.sample_poses(300, seed=2, dtype=torch.float64)
    effectors = humanoid.end_effectors(params)
    head_y = effectors[:, humanoid.effectors.index("headTop"), 1]
    hand_x = effectors[:, humanoid.effectors.index("rHand"), 0]
    constraints = [below(humanoid, "headTop", 1.3), right_of(humanoid, "rHand", 0.2)]
    manual_head, manual_hand = head_y < 1.3, hand_x > 0.2
    assert 0 < int(manual_head.sum()) < 300 and 0 < int(manual_hand.sum()) < 300  # both cases occur
    ok = satisfied(humanoid, params, constraints)
    assert ok.dtype == torch.bool and ok.shape == (300,)
    assert ok.tolist() == (manual_head & manual_hand).tolist()
    counts = violations(humanoid, params, constraints)
    assert counts.tolist() == ((~manual_head).long() + (~manual_hand).long()).tolist()
    assert bool(satisfied(humanoid, params, []).all())


# ---------------------------------------------------------------- CCD on the humanoid
def perturbed_start(rig, params, sd=0.1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    low, high = (bound.double() for bound in rig.param_bounds())
    noise = sd * torch.randn(params.shape, generator=generator, dtype=torch.float64)
    return torch.clamp(params + noise, low, high)


@pytest.fixture(scope="module")
def humanoid_ccd(humanoid):
    goal = humanoid.sample_poses(50, seed=1, dtype=torch.float64)
    targets = effector_targets(humanoid, goal, LIMB_TARGETS)
    start = perturbed_start(humanoid, goal, seed=2)
    polished = ccd_polish(humanoid, start, targets, iterations=30)
    return start, targets, polished


def test_ccd_polish_humanoid_reaches_targets(humanoid, humanoid_ccd):
    start, targets, polished = humanoid_ccd
    before = target_errors(humanoid, start, targets)
    after = target_errors(humanoid, polished, targets)
    assert before.median().item() > 0.05  # the perturbation really moved the effectors (measured 0.12)
    assert after.median().item() < 1e-3 * humanoid.height  # measured 1.6e-4
    assert after.max().item() < 0.01  # measured 3.0e-3
    assert bool((after <= before).all())  # no row gets worse (measured: all improve by ≥ 0.028)


def test_ccd_polish_keeps_bounds_and_fixed_bones(humanoid, humanoid_ccd):
    _, _, polished = humanoid_ccd
    low, high = (bound.double() for bound in humanoid.param_bounds())
    assert bool(((polished >= low) & (polished <= high)).all())
    for bone in ("headTop", "rHand", "lHand", "rFoot", "lFoot"):
        assert bool((polished[:, humanoid.index(f"{bone}.angle")] == 0).all())


def test_ccd_polish_keeps_dtype_and_untargeted_joints(humanoid, humanoid_ccd):
    start, targets, _ = humanoid_ccd
    polished = ccd_polish(humanoid, start.float(), {"rHand": targets["rHand"]}, iterations=5)
    assert polished.dtype == torch.float32
    # the head and the legs do not move the right hand, so they are left alone
    for bone in ("head", "lUpperArm", "lForeArm", "rThigh", "rShin", "lThigh", "lShin"):
        column = humanoid.index(f"{bone}.angle")
        torch.testing.assert_close(polished[:, column], start.float()[:, column], atol=0, rtol=0)


def test_ccd_polish_iterations_zero_or_no_targets_returns_input(humanoid, humanoid_ccd):
    start, targets, _ = humanoid_ccd
    torch.testing.assert_close(ccd_polish(humanoid, start, targets, iterations=0), start, atol=0, rtol=0)
    torch.testing.assert_close(ccd_polish(humanoid, start, None, iterations=10), start, atol=0, rtol=0)
    with pytest.raises(ValueError):
        ccd_polish(humanoid, start, targets, iterations=-1)
    with pytest.raises(ValueError):  # 3 target rows for 50 poses
        ccd_polish(humanoid, start, {"rHand": targets["rHand"][:3]}, iterations=1)


def test_ccd_polish_pushes_effectors_out_of_violated_inequalities(humanoid):
    poses = humanoid.sample_poses(200, seed=5, dtype=torch.float64)
    wish = [below(humanoid, "headTop", 1.2)]
    start = poses[~satisfied(humanoid, poses, wish)][:30]
    assert start.shape[0] == 30
    polished = ccd_polish(humanoid, start, None, iterations=10, constraints=wish)
    assert bool(satisfied(humanoid, polished, wish).all())


# ---------------------------------------------------------------- CCD on the arm
@pytest.fixture(scope="module")
def arm_ccd(arm):
    goal = arm.sample_poses(100, seed=0, dtype=torch.float64)
    targets = {"hand": arm.end_effectors(goal)[:, 0]}
    start = arm.sample_poses(100, seed=1, dtype=torch.float64)
    polished = ccd_polish(arm, start, targets, iterations=50)
    return start, targets, target_errors(arm, start, targets), target_errors(arm, polished, targets)


def test_ccd_polish_arm_measured_success_rate(arm, arm_ccd):
    """From a *random* start CCD is a weak solver: 69/100 reach 1e-4 (≈10 stuck at joint limits)."""
    start, targets, before, after = arm_ccd
    assert (after < 1e-4).double().mean().item() >= 0.65  # measured 0.69
    assert after.median().item() < 1e-6  # measured 5e-8
    assert bool((after <= before + 1e-12).all())  # never worse than the start
    low, high = (bound.double() for bound in arm.param_bounds())
    polished = ccd_polish(arm, start, targets, iterations=3)
    assert bool(((polished >= low) & (polished <= high)).all())


def test_ccd_polish_arm_single_target_broadcast(arm):
    """One (x, y) for all rows gives exactly what the same target repeated per row gives."""
    start = arm.sample_poses(20, seed=3, dtype=torch.float64)
    single = ccd_polish(arm, start, {"hand": (0.3, -0.4)}, iterations=50)
    repeated = ccd_polish(arm, start, {"hand": torch.tensor([[0.3, -0.4]] * 20, dtype=torch.float64)}, iterations=50)
    torch.testing.assert_close(single, repeated, atol=0, rtol=0)
    errors = target_errors(arm, single, {"hand": torch.tensor([0.3, -0.4], dtype=torch.float64)})
    assert int((errors < 1e-4).sum()) >= 11  # measured 12 of 20; 6 rows stay stuck at joint limits (0.22, 0.43)


def test_target_errors_tuple_targets_keep_float64_precision(arm):
    params = torch.tensor([[0.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    on_target = ccd_polish(arm, params, {"hand": (0.5, 0.3)}, iterations=200)
    exact = target_errors(arm, on_target, {"hand": torch.tensor([0.5, 0.3], dtype=torch.float64)})
    assert exact.item() < 1e-12  # the pose really is on target
    assert target_errors(arm, on_target, {"hand": (0.5, 0.3)}).item() < 1e-12


# ---------------------------------------------------------------- solving with a tiny model
TARGET = {"hand": (0.5, 0.3)}
TARGET_64 = {"hand": torch.tensor([0.5, 0.3], dtype=torch.float64)}  # see the target_errors precision bug above


def test_solve_shapes_and_likelihood_order(arm, arm_model):
    solution = solve(arm_model, arm, targets=TARGET, n_samples=32, seed=0)
    assert solution.samples.shape == (32, 6) and solution.params.shape == (32, 4)
    for field in (solution.scores, solution.errors, solution.violations, solution.satisfied):
        assert field.shape == (32,)
    assert solution.polished_params is None and solution.polished_error is None
    assert bool((solution.scores[:-1] >= solution.scores[1:]).all())  # best (most likely) first
    # params are the sampled angles, moved onto the joint limits where a sample strayed outside
    low, high = (bound.double() for bound in arm.param_bounds())
    torch.testing.assert_close(solution.params, solution.samples[:, :4].clamp(low, high), atol=0, rtol=0)
    torch.testing.assert_close(solution.best_params, solution.params[0], atol=0, rtol=0)
    # errors come from forward kinematics of the parameter columns, not from the model's hand columns
    hands = arm.end_effectors(solution.params)[:, 0]
    torch.testing.assert_close(solution.errors, (hands - torch.tensor([0.5, 0.3], dtype=hands.dtype)).norm(dim=-1))
    assert bool(solution.satisfied.all()) and int(solution.violations.sum()) == 0
    assert solution.height == 1.0


def test_solve_kinematics_order_and_polish(arm, arm_model):
    solution = solve(arm_model, arm, targets=TARGET, n_samples=32, select="kinematics", polish=True, seed=0)
    assert bool((solution.errors[:-1] <= solution.errors[1:]).all())  # smallest error first
    assert solution.polished_params.shape == (4,)
    assert solution.polished_error.item() <= solution.errors[0].item()
    assert solution.polished_error.item() < 1e-4  # measured 1e-9 for this easy target
    torch.testing.assert_close(solution.best_params, solution.polished_params, atol=0, rtol=0)
    recomputed = target_errors(arm, solution.polished_params[None], TARGET_64)[0]
    assert solution.polished_error.item() == pytest.approx(recomputed.item(), abs=1e-12)


def test_solve_kinematics_ranks_violations_before_errors(arm, arm_model):
    wish = [below(arm, "hand", 0.0, weight=1.0)]
    solution = solve(arm_model, arm, targets={"hand": (0.4, 0.1)}, constraints=wish, n_samples=48,
                     select="kinematics", seed=1)
    broken, errors = solution.violations, solution.errors
    assert bool((broken[:-1] <= broken[1:]).all())
    for value in broken.unique():
        group = errors[broken == value]
        assert bool((group[:-1] <= group[1:]).all())
    hands = arm.end_effectors(solution.params)[:, 0]
    assert solution.satisfied.tolist() == (hands[:, 1] < 0).tolist()


def test_solve_polish_never_worse_than_best(arm, arm_model):
    for seed, target in enumerate([(0.2, -0.7), (-0.4, 0.5), (0.9, 0.1)]):
        solution = solve(arm_model, arm, targets={"hand": target}, n_samples=16, polish=True, seed=seed)
        assert solution.polished_error.item() <= solution.errors[0].item() + 1e-12


def test_solve_is_seeded(arm, arm_model):
    first = solve(arm_model, arm, targets=TARGET, n_samples=8, seed=3)
    again = solve(arm_model, arm, targets=TARGET, n_samples=8, seed=3)
    torch.testing.assert_close(first.samples, again.samples, atol=0, rtol=0)


def test_solve_many_has_query_axis(arm, arm_model):
    targets = {"hand": [(0.5, 0.3), (0.2, -0.6), (-0.3, 0.7)]}
    solution = solve_many(arm_model, arm, targets=targets, n_samples=16, polish=True, seed=0)
    assert solution.samples.shape == (3, 16, 6) and solution.params.shape == (3, 16, 4)
    assert solution.scores.shape == solution.errors.shape == solution.satisfied.shape == (3, 16)
    assert solution.polished_params.shape == (3, 4) and solution.polished_error.shape == (3,)
    assert bool((solution.scores[:, :-1] >= solution.scores[:, 1:]).all())
    assert bool((solution.polished_error <= solution.errors[:, 0] + 1e-12).all())
    for q, target in enumerate(targets["hand"]):  # each query is scored against its own target
        hands = arm.end_effectors(solution.params[q])[:, 0]
        torch.testing.assert_close(solution.errors[q], (hands - torch.tensor(target, dtype=hands.dtype)).norm(dim=-1))


def test_solve_rejects_bad_inputs(arm, arm_model):
    with pytest.raises(ValueError):  # the model's 6 variables are not the humanoid's 30
        solve(arm_model, Humanoid(), targets={"rHand": (0.5, 1.0)}, n_samples=4)
    with pytest.raises(ValueError):  # several rows: that is solve_many's job
        solve(arm_model, arm, targets={"hand": [(0.5, 0.3), (0.1, 0.2)]}, n_samples=4)
    with pytest.raises(ValueError):
        solve(arm_model, arm, targets=TARGET, select="best")
    with pytest.raises(ValueError):
        solve(arm_model, arm, targets=TARGET, n_samples=0)
    with pytest.raises(ValueError):
        solve(arm_model, arm, targets={"foot": (0.0, 0.0)})


def test_every_returned_pose_lies_within_the_joint_limits(humanoid, humanoid_model):
    # a tiny model strays outside the limits often; solve_many projects every sample onto them
    targets = {"rHand": torch.tensor([[0.3, 1.0], [0.6, 0.8]]), "lFoot": (-0.2, 0.0), "rFoot": (0.2, 0.0)}
    with pytest.warns(UserWarning, match="may not be reachable together"):
        solution = solve_many(humanoid_model, humanoid, targets, constraints=[below(humanoid, "headTop", 1.2)],
                              n_samples=32, polish=True, ccd_iterations=5, seed=0)
    low, high = (bound.double() for bound in humanoid.param_bounds())
    for poses in (solution.params, solution.polished_params):
        assert ((poses >= low) & (poses <= high)).all()
    raw = humanoid.params_of(solution.samples.reshape(-1, humanoid.dim)).reshape(2, 32, -1)
    outside = ((raw < low) | (raw > high)).sum(-1)
    assert torch.equal(outside, solution.clamped) and solution.clamped.sum() > 0
    # the errors were measured on the projected poses, by forward kinematics
    goals = {name: torch.as_tensor(t, dtype=torch.float64).reshape(-1, 2).expand(2, 2) for name, t in targets.items()}
    recomputed = target_errors(humanoid, solution.params[:, 0], goals)
    assert torch.allclose(recomputed, solution.errors[:, 0])
    assert solution.unmet.shape == (2,) and solution.unmet.dtype == torch.bool
