"""Are IK answers valid? Joint limits and effector inequalities, checked by forward kinematics.

What it measures
----------------
The pretrained humanoid DRMM answers ``--queries`` (200) held-out target sets (right hand and both feet of
random poses, seed 123), with and without the wish ``below(rig, "headTop", 1.2)``; the held-out poses of the
constrained queries meet it, so every query can be met. Every number is recomputed from the returned joint
angles and root position:

* **Joint limits.** Share of the model's sampled poses inside the rig's bounds before ``solve_many`` projects
  them onto the bounds, then share of returned poses whose parameters all lie within them: every sample,
  the best sample (ranked by likelihood, the default, and by kinematics) and the polished pose. Target: 100 %.
* **Constraint after polish.** Share of constrained queries whose polished pose meets the wish by kinematics
  (target ≥ 95 %), and the median target error after polish as a fraction of body height (target ≤ 0.1 %).
* **Queries that cannot be met**, as :attr:`IKSolution.unmet` reports them.

Run ``python benchmarks/bench_ik_validity.py`` (about half a minute) or ``--quick``.
"""

from __future__ import annotations

import argparse
import warnings

import torch
from _common import add_common_arguments, start
from bench_ik import TARGETED, held_out_targets

from deepmix_core.data.kinematics import Humanoid
from deepmix_core.ik import below, solve_many
from deepmix_core.pretrained import load_model_file, pretrained_path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--humanoid", default=str(pretrained_path("humanoid")), help="humanoid DRMM checkpoint")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--samples", type=int, default=64, help="samples per query")
    parser.add_argument("--ccd-iterations", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="40 queries")
    add_common_arguments(parser)
    return parser.parse_args()


def within_limits(rig, params: torch.Tensor) -> torch.Tensor:
    """Per pose (any leading axes): are all parameters inside the rig's bounds (1e-9 slack for rounding)?"""
    low, high = (bound.to(params) for bound in rig.param_bounds())
    return ((params >= low - 1e-9) & (params <= high + 1e-9)).all(-1)


def main() -> None:
    args = parse_args()
    start(args)
    queries = 40 if args.quick else args.queries
    rig = Humanoid()
    model = load_model_file(args.humanoid)
    wishes = (("3 targets", []), ("3 targets + headTop below 1.2", [below(rig, "headTop", 1.2)]))
    cases = [(label, constraints, select) for label, constraints in wishes for select in ("likelihood", "kinematics")]
    for label, constraints, select in cases:
        targets = held_out_targets(rig, queries, TARGETED, constraints)
        with warnings.catch_warnings():  # unmet queries are counted below
            warnings.simplefilter("ignore")
            solution = solve_many(model, rig, targets, constraints=constraints, n_samples=args.samples,
                                  select=select, polish=True, ccd_iterations=args.ccd_iterations, seed=args.seed)
        sampled = rig.params_of(solution.samples.reshape(-1, rig.dim))  # the model's own angles, before projection
        raw = 100 * within_limits(rig, sampled).double().mean()
        every = 100 * within_limits(rig, solution.params).double().mean()
        best = 100 * within_limits(rig, solution.params[:, 0]).double().mean()
        polished = 100 * within_limits(rig, solution.polished_params).double().mean()
        error = solution.polished_error / rig.height
        print(f"{label}: {queries} queries × {args.samples} samples, best by {select}")
        print(f"  sampled angles within joint limits before projection: {raw:5.1f} %")
        print(f"  within joint limits: every sample {every:5.1f} %, best sample {best:5.1f} %, "
              f"polished {polished:5.1f} %   (target 100 %)")
        met = 100 * solution.polished_satisfied.double().mean()
        print(f"  after {args.ccd_iterations} CCD iterations: constraints met in {met:5.1f} % of queries "
              f"(target ≥ 95 %), target error median {100 * error.median():.3f} % of height (target ≤ 0.1 %)")
        print(f"  queries reported unmet (IKSolution.unmet: target error > 1 % or a constraint broken after polish): "
              f"{int(solution.unmet.sum())}")


if __name__ == "__main__":
    main()
