"""Loose versions of the IK quality targets, on the shipped humanoid model (benchmarks/bench_ik.py has the full run).

Every error is recomputed by forward kinematics from the sampled angles; the targets come from held-out random
poses (seed 123; the model trained on seed 0), so each target set is reachable.
"""

import pytest
import torch

from deepmix_core.data.kinematics import Humanoid
from deepmix_core.ik import above, below, left_of, right_of, solve, solve_many
from deepmix_core.pretrained import load_pretrained

POINTS = ("headTop", "rHand", "lHand", "lFoot", "rFoot")


@pytest.fixture(scope="module")
def rig():
    return Humanoid()


@pytest.fixture(scope="module")
def model():
    return load_pretrained("humanoid")


@pytest.fixture(scope="module")
def held_out_targets(rig):
    effectors = rig.end_effectors(rig.sample_poses(60, seed=123, dtype=torch.float64))
    return {name: effectors[:, rig.effectors.index(name)] for name in ("rHand", "rFoot", "lFoot")}


def test_best_of_64_by_kinematics_then_ccd_meets_the_targets(rig, model, held_out_targets):
    solution = solve_many(model, rig, held_out_targets, n_samples=64, select="kinematics", polish=True, seed=0)
    best = solution.errors[:, 0] / rig.height
    polished = solution.polished_error / rig.height
    assert best.median() < 0.035  # bench: 2.8 % over 200 queries (issue target 3 %)
    assert polished.median() < 0.001  # bench: 0.006 % (issue target 0.1 %)
    assert bool((solution.polished_error <= solution.errors[:, 0] + 1e-12).all())  # CCD never makes it worse


def test_likelihood_best_is_approximate_but_far_better_than_chance(rig, model, held_out_targets):
    solution = solve_many(model, rig, held_out_targets, n_samples=64, select="likelihood", polish=True, seed=0)
    best = solution.errors[:, 0] / rig.height
    assert best.median() < 0.10  # bench: 7.2 % (the 3 % is not met by the likelihood ranking)
    # a random pose of the rig is nowhere near: the model's conditioning does the work
    random_pose = rig.sample_poses(60, seed=7, dtype=torch.float64)
    effectors = rig.end_effectors(random_pose)
    chance = torch.stack(
        [(effectors[:, rig.effectors.index(n)] - t).norm(dim=-1) for n, t in held_out_targets.items()], 1
    ).mean(1)
    assert best.median() < 0.3 * (chance / rig.height).median()
    assert (solution.polished_error / rig.height).median() < 0.002


def test_fig6_inequalities_hold_for_the_kinematic_best(rig, model):
    constraints = [below(rig, p, 1.2, weight=3.0) for p in POINTS]
    constraints += [above(rig, p, 0.0) for p in POINTS]
    constraints += [right_of(rig, p, -0.5) for p in POINTS] + [left_of(rig, p, 0.5) for p in POINTS]
    met = [
        bool(solve(model, rig, constraints=constraints, select="kinematics", seed=seed).satisfied[0])
        for seed in range(30)
    ]
    assert sum(met) >= 28  # bench: 100 % of 200 queries; < 0.2 % of random poses satisfy all 20
