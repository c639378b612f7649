"""Inverse kinematics with the pretrained DRMMs: end-effector error by forward kinematics, constraints, latency.

What it measures
----------------
The checkpoints made by ``make pretrained`` (``deepmix_core/pretrained/``; ``--humanoid`` / ``--arm`` to use
other files) answer IK queries through :func:`deepmix_core.ik.solve_many`. Every number is recomputed by
forward kinematics from the sampled parameters (root position and joint angles); the effector coordinates the
model itself outputs are never used.

* **Target error (humanoid).** ``--queries`` (200) target sets = the right hand and both feet of held-out
  random poses (seed 123; the training data use seed 0), so every set is reachable. Per query the model draws
  64 samples; the best one is picked by the model's log-likelihood (paper 001's best-of-batch) and, for
  comparison, by the kinematic error itself. Error = mean distance of the three effectors to their targets,
  as a fraction of the body height (1.45). Targets: median ≤ 3 % before polish, ≤ 0.1 % after CCD polish
  of the best sample (``--ccd-iterations``, default 50).
* **Target error (arm).** The same for the 4-link arm's hand (reach 1.0).
* **Inequalities.** (a) paper 001 Fig. 6 panel 4: no targets, y < 1.2 for head top, hands and feet
  (weight 3) and y > 0, x > −0.5, x < 0.5 for the same five points (weight 1): 20 inequalities, one query per
  seed; (b) those 20 inequalities plus hand and feet targets taken from held-out poses that satisfy them.
  A query counts as satisfied when the likelihood-best sample meets all 20 by kinematics. Target ≥ 99 %.
* **Latency.** One humanoid query with 64 samples, 3 targets and the 20 inequalities, wall-clock median and
  p90 over ``--calls`` calls (after warm-up), without and with CCD polish. Target ≤ 30 ms.

Run ``python benchmarks/bench_ik.py`` (about a minute) or ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from _common import add_common_arguments, start

from deepmix_core.data.kinematics import Arm, Humanoid, Rig
from deepmix_core.ik import above, below, left_of, right_of, satisfied, solve, solve_many
from deepmix_core.pretrained import load_model_file, pretrained_path

POINTS = ("headTop", "rHand", "lHand", "lFoot", "rFoot")
TARGETED = ("rHand", "rFoot", "lFoot")
N_SAMPLES = 64


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--humanoid", default=str(pretrained_path("humanoid")), help="humanoid DRMM checkpoint")
    parser.add_argument("--arm", default=str(pretrained_path("arm")), help="arm DRMM checkpoint")
    parser.add_argument("--queries", type=int, default=200, help="queries per measurement")
    parser.add_argument("--ccd-iterations", type=int, default=50)
    parser.add_argument("--calls", type=int, default=50, help="timed calls for the latency")
    parser.add_argument("--quick", action="store_true", help="20 queries and 5 calls: a smoke run")
    add_common_arguments(parser)
    return parser.parse_args()


def fig6_inequalities(rig: Rig) -> list:
    """The 20 inequalities of paper 001 Fig. 6 panel 4."""
    constraints = [below(rig, point, 1.2, weight=3.0) for point in POINTS]
    constraints += [above(rig, point, 0.0) for point in POINTS]
    constraints += [right_of(rig, point, -0.5) for point in POINTS]
    constraints += [left_of(rig, point, 0.5) for point in POINTS]
    return constraints


def held_out_targets(rig: Rig, n: int, names, constraints=(), seed: int = 123) -> dict[str, torch.Tensor]:
    """Effector positions of ``n`` held-out random poses (only poses meeting ``constraints``)."""
    # only ~0.1 % of random humanoid poses meet the 20 inequalities of Fig. 6, hence the large pool
    poses = rig.sample_poses((2000 if constraints else 1) * n, seed=seed, dtype=torch.float64)
    if constraints:
        poses = poses[satisfied(rig, poses, constraints)]
    poses = poses[:n]
    if len(poses) < n:
        raise RuntimeError(f"only {len(poses)} held-out poses satisfy the constraints; need {n}")
    effectors = rig.end_effectors(poses)
    return {name: effectors[:, rig.effectors.index(name)] for name in names}


def error_rows(rig: Rig, model, targets, args, label: str) -> None:
    for select in ("likelihood", "kinematics"):
        solution = solve_many(
            model, rig, targets, n_samples=N_SAMPLES, select=select, polish=True,
            ccd_iterations=args.ccd_iterations, seed=args.seed,
        )
        best = solution.errors[:, 0] / rig.height
        within = 100 * (best <= 0.03).double().mean()
        print(f"{label:<9} best of {N_SAMPLES} by {select:<10} median {100 * best.median():6.2f} %   "
              f"p90 {100 * best.quantile(0.9):6.2f} %   ≤3 %: {within:5.1f} % of queries")
        if solution.polished_error is not None:
            polished = solution.polished_error / rig.height
            print(f"{'':<9} after {args.ccd_iterations} CCD iterations  median {100 * polished.median():7.3f} %  "
                  f"p90 {100 * polished.quantile(0.9):7.3f} %   ≤0.1 %: "
                  f"{100 * (polished <= 0.001).double().mean():5.1f} % of queries")


def inequality_rows(rig: Rig, model, args) -> None:
    constraints = fig6_inequalities(rig)
    for select in ("likelihood", "kinematics"):
        met, polished_met = [], []
        for query in range(args.queries):
            solution = solve(model, rig, constraints=constraints, n_samples=N_SAMPLES, select=select,
                             polish=True, ccd_iterations=args.ccd_iterations, seed=args.seed + query)
            met.append(bool(solution.satisfied[0]))
            polished_met.append(bool(solution.polished_satisfied))
        print(f"(a) 20 inequalities, no targets, best by {select:<10}: all met in {100 * sum(met) / len(met):5.1f} % "
              f"of {len(met)} queries; after CCD {100 * sum(polished_met) / len(met):5.1f} %")
    targets = held_out_targets(rig, args.queries, TARGETED, constraints)
    for select in ("likelihood", "kinematics"):
        solution = solve_many(
            model, rig, targets, constraints=constraints, n_samples=N_SAMPLES, select=select, polish=True,
            ccd_iterations=args.ccd_iterations, seed=args.seed,
        )
        ok, polished_ok = solution.satisfied[:, 0].double(), solution.polished_satisfied.double()
        error, polished = solution.errors[:, 0] / rig.height, solution.polished_error / rig.height
        print(f"(b) + 3 held-out targets,  best by {select:<10}: all met in {100 * ok.mean():5.1f} % "
              f"of {len(ok)} queries; after CCD {100 * polished_ok.mean():5.1f} %; target error median "
              f"{100 * error.median():.2f} % → {100 * polished.median():.3f} % after CCD")


def latency_rows(rig: Rig, model, args) -> None:
    constraints = fig6_inequalities(rig)
    targets = {"rHand": (0.3, 1.0), "lFoot": (-0.2, 0.0), "rFoot": (0.2, 0.0)}
    for polish in (False, True):
        for _ in range(3):
            solve(model, rig, targets, constraints=constraints, n_samples=N_SAMPLES, polish=polish)
        times = []
        for call in range(args.calls):
            begin = time.perf_counter()
            solve(model, rig, targets, constraints=constraints, n_samples=N_SAMPLES, polish=polish,
                  ccd_iterations=args.ccd_iterations, seed=call)
            times.append(1000 * (time.perf_counter() - begin))
        times.sort()
        p90 = times[int(0.9 * (len(times) - 1))]
        label = f"with {args.ccd_iterations} CCD iterations" if polish else "sampling + kinematic checks"
        median = statistics.median(times)
        verdict = f"target ≤ 30 ms: {'met' if median <= 30 else 'not met'}" if not polish else "optional polish"
        print(f"one query (64 samples, 3 targets, 20 inequalities), {label:<27}: median "
              f"{median:6.1f} ms  p90 {p90:6.1f} ms  ({verdict})")


def main() -> None:
    args = parse_args()
    if args.quick:
        args.queries, args.calls = 20, 5
    start(args)
    humanoid, arm = Humanoid(), Arm()
    humanoid_model = load_model_file(args.humanoid).to(args.device)
    arm_model = load_model_file(args.arm).to(args.device)
    print(f"humanoid model: DRMM {humanoid_model.n_layers}×{humanoid_model.n_components} "
          f"({humanoid_model.n_parameters()} parameters); arm model: DRMM {arm_model.n_layers}×"
          f"{arm_model.n_components}; device={args.device}, threads={args.threads}")
    print(f"\n1. Target error by forward kinematics, {args.queries} held-out target sets "
          f"(fraction of height: humanoid 1.45, arm reach 1.0)")
    error_rows(humanoid, humanoid_model, held_out_targets(humanoid, args.queries, TARGETED), args, "humanoid")
    error_rows(arm, arm_model, held_out_targets(arm, args.queries, ("hand",)), args, "arm")
    print("\n2. Inequality constraints checked by forward kinematics (target ≥ 99 %)")
    inequality_rows(humanoid, humanoid_model, args)
    print("\n3. Latency")
    latency_rows(humanoid, humanoid_model, args)


if __name__ == "__main__":
    main()
