"""Inverse kinematics with a trained mixture model: targets, constraints, best-of-batch, CCD polish.

Paper 001 §4.1 trains a DRMM on random poses of a rig (their data vectors: parameters *and* effector
positions) and then asks for poses by conditioning: effector targets become known variables, "head below a
line" becomes a linear inequality. The model returns whole data vectors; this module reads their parameter
columns, recomputes the effectors by forward kinematics and reports the true errors — the model's own
effector columns are never trusted.

The paper suggests finishing with a local IK solver such as CCD (cyclic coordinate descent) because the
samples "are not perfect". :func:`ccd_polish` does that: after shifting the root, each joint in turn (from
the root outwards) turns by the angle that best moves all targeted effectors below it onto their targets,
clamped to the joint's limits; violated inequalities on effectors add goals on their valid side.

Typical use::

    rig = Humanoid()
    solution = solve(model, rig, targets={"rHand": (0.8, 1.0), "lFoot": (-0.2, 0), "rFoot": (0.2, 0)},
                     constraints=[below(rig, "headTop", 1.2)], n_samples=64, polish=True)
    solution.best_params, solution.errors[0], solution.polished_error
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from deepmix_core.conditioning import Box, Inequality
from deepmix_core.data.kinematics import Rig, rotate_clockwise
from deepmix_core.drmm import DRMM
from deepmix_core.runtime import warn_at_caller
from deepmix_core.scaled import ColumnScaled
from deepmix_core.validation import check_whole_number

__all__ = [
    "IKSolution",
    "above",
    "below",
    "ccd_polish",
    "left_of",
    "right_of",
    "satisfied",
    "solve",
    "solve_many",
    "target_errors",
    "targets_to_known",
    "violations",
]


# ---------------------------------------------------------------------- wishes in the rig's data space
def _axis_vector(rig: Rig, column: int, sign: float) -> torch.Tensor:
    a = torch.zeros(rig.dim)
    a[column] = sign
    return a


def _coordinate_column(rig: Rig, point: str, axis: str) -> int:
    return rig.index(f"{point}.{axis}").start


def below(rig: Rig, point: str, y: float, weight: float = 3.0) -> Inequality:
    """``point.y < y`` as ``−y_point + y > 0`` (the reference uses weight 3 for "below" wishes)."""
    return Inequality(_axis_vector(rig, _coordinate_column(rig, point, "y"), -1.0), y, weight=weight)


def above(rig: Rig, point: str, y: float, weight: float = 1.0) -> Inequality:
    """``point.y > y``."""
    return Inequality(_axis_vector(rig, _coordinate_column(rig, point, "y"), 1.0), -y, weight=weight)


def left_of(rig: Rig, point: str, x: float, weight: float = 1.0) -> Inequality:
    """``point.x < x``."""
    return Inequality(_axis_vector(rig, _coordinate_column(rig, point, "x"), -1.0), x, weight=weight)


def right_of(rig: Rig, point: str, x: float, weight: float = 1.0) -> Inequality:
    """``point.x > x``."""
    return Inequality(_axis_vector(rig, _coordinate_column(rig, point, "x"), 1.0), -x, weight=weight)


def _targets_as_batch(rig: Rig, targets: Mapping[str, object] | None) -> dict[str, torch.Tensor]:
    """Targets as ``{effector: (Q, 2) float64}`` with a common Q; clear errors for unknown names or shapes."""
    if not targets:
        return {}
    batch = {}
    for name, value in targets.items():
        if name not in rig.effectors:
            raise ValueError(f"unknown effector {name!r}; this rig has {rig.effectors}")
        tensor = torch.as_tensor(value, dtype=torch.float64)
        if tensor.dim() == 1 and tensor.numel() == 2:
            tensor = tensor.reshape(1, 2)
        if tensor.dim() != 2 or tensor.shape[1] != 2 or not torch.isfinite(tensor).all():
            raise ValueError(f"target for {name!r} must be finite (x, y) or (Q, 2), got shape {tuple(tensor.shape)}")
        batch[name] = tensor
    sizes = {tensor.shape[0] for tensor in batch.values()} - {1}
    if len(sizes) > 1:
        raise ValueError(f"targets hold different numbers of queries: {sorted(sizes)}")
    queries = sizes.pop() if sizes else 1
    return {name: tensor.expand(queries, 2) for name, tensor in batch.items()}


def targets_to_known(rig: Rig, targets: Mapping[str, object]) -> torch.Tensor:
    """A ``known=`` matrix (Q, D) for the model: target coordinates in the effectors' columns, ``nan`` elsewhere."""
    batch = _targets_as_batch(rig, targets)
    queries = next(iter(batch.values())).shape[0] if batch else 1
    known = torch.full((queries, rig.dim), math.nan)
    for name, tensor in batch.items():
        known[:, rig.index(name)] = tensor.float()
    return known


# ---------------------------------------------------------------------- checks by forward kinematics
def target_errors(rig: Rig, params: torch.Tensor, targets: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Mean Euclidean distance (B,) from the targeted effectors, recomputed by kinematics, to their targets.

    ``targets`` values are (2,) or (B, 2). Returns ``nan`` per row when there are no targets.
    """
    if not targets:
        return torch.full((params.shape[0],), math.nan, dtype=params.dtype)
    effectors = rig.end_effectors(params)
    distances = [
        (effectors[:, rig.effectors.index(name)] - torch.as_tensor(target, dtype=params.dtype)).norm(dim=-1)
        for name, target in targets.items()
    ]
    return torch.stack(distances, dim=1).mean(1)


def satisfied(rig: Rig, params: torch.Tensor, constraints: Sequence[Inequality | Box]) -> torch.Tensor:
    """Whether each pose (B,) meets every constraint, evaluated on its forward-kinematics data vector."""
    return violations(rig, params, constraints) == 0


def violations(rig: Rig, params: torch.Tensor, constraints: Sequence[Inequality | Box]) -> torch.Tensor:
    """How many ``constraints`` each pose (B,) breaks, evaluated on its forward-kinematics data vector."""
    observed = rig.observe(params)
    count = torch.zeros(params.shape[0], dtype=torch.long)
    for constraint in constraints:
        count += (~constraint.holds(observed)).long().cpu()
    return count


# ---------------------------------------------------------------------- CCD
@dataclass
class _Goal:
    """One thing CCD pulls on: effector bone ``bone`` towards ``target`` (B, 2) in rows where ``active`` is 1."""

    bone: int
    target: torch.Tensor
    active: torch.Tensor


def _effector_plane(rig: Rig, constraint: Inequality) -> tuple[str, torch.Tensor, float] | None:
    """If ``a·x + b > 0`` involves only one effector's (x, y) columns, return (effector, a_xy, b)."""
    a = constraint.a.detach().cpu().double()
    used = torch.nonzero(a).flatten().tolist()
    for name in rig.effectors:
        columns = list(range(*rig.index(name).indices(rig.dim)))
        if used and set(used) <= set(columns):
            return name, a[columns], float(constraint.b)
    return None


def _constraint_goals(rig: Rig, pivots: torch.Tensor, planes, margin: float) -> list[_Goal]:
    """For each violated effector inequality, a goal at the effector's projection onto the valid side."""
    goals = []
    for name, a_xy, b in planes:
        bone = rig.bone_index(name)
        point = pivots[:, bone]
        norm2 = (a_xy @ a_xy).item()
        value = point @ a_xy + b  # a·p + b, should end up > margin
        active = (value < margin).double()
        # move p along a by just enough: p' = p + (margin − (a·p + b)) a / |a|²
        target = point + ((margin - value) / norm2)[:, None] * a_xy
        goals.append(_Goal(bone, target, active))
    return goals


def ccd_polish(
    rig: Rig,
    params: torch.Tensor,
    targets: Mapping[str, object] | None,
    iterations: int = 50,
    constraints: Sequence[Inequality | Box] = (),
    move_root: bool = True,
    margin: float = 1e-3,
) -> torch.Tensor:
    """Cyclic coordinate descent from ``params`` (B, n_params) towards effector ``targets``; returns new params.

    Each sweep first shifts a moving root by the mean remaining offset (clamped to its box), then visits
    the movable joints from the root outwards. A joint at pivot ``c`` turns by the angle that minimises
    Σ_i |R(δ)(p_i − c) − (t_i − c)|² over the goals ``p_i → t_i`` it moves:
    ``δ = atan2(Σ u_i × v_i, Σ u_i · v_i)`` with ``u_i = p_i − c``, ``v_i = t_i − c`` (2-D Procrustes),
    then the angle is clamped to the joint limits. (Classic CCD visits a single chain from the effector
    inwards; with several effectors sharing the torso, root-first and root-outwards converged about twice as
    fast on held-out humanoid targets.)

    ``constraints``: inequalities on a single effector's coordinates (as made by :func:`below` and friends)
    that are violated at the start of a sweep add a goal at the effector's projection onto the valid side,
    ``margin`` inside it; other constraints are ignored here. Computed in float64; returns the input's dtype.
    """
    iterations = check_whole_number(iterations, "iterations", minimum=0)
    batch = _targets_as_batch(rig, targets)
    work = torch.as_tensor(params).detach().to(torch.float64).clone()
    if work.dim() != 2 or work.shape[1] != rig.n_params:
        raise ValueError(f"params must be (B, {rig.n_params}) poses of this rig, got shape {tuple(work.shape)}")
    if not torch.isfinite(work).all():
        raise ValueError("params contain nan or inf: CCD needs finite starting poses")
    rows = work.shape[0]
    planes = [plane for c in constraints if isinstance(c, Inequality) and (plane := _effector_plane(rig, c))]
    if (not batch and not planes) or iterations == 0:
        return work.to(params.dtype)
    if any(t.shape[0] not in (1, rows) for t in batch.values()):
        raise ValueError("targets must hold one row or one row per pose")
    target_goals = [
        _Goal(rig.bone_index(name), t.expand(rows, 2), torch.ones(rows, dtype=torch.float64))
        for name, t in batch.items()
    ]
    low, high = (bound.double() for bound in rig.param_bounds())
    root_columns = 2 if rig.root_range is not None else 0
    # Goals keep one order in every sweep: the targets, then one per effector inequality (active where broken).
    goal_bones = [goal.bone for goal in target_goals] + [rig.bone_index(plane[0]) for plane in planes]
    joints = []  # (parameter column, bone index, goals it moves, bones beyond it), from the root outwards
    for column, bone_name in enumerate(rig.angle_bones, start=root_columns):
        bone = rig.bone_index(bone_name)
        if rig.bones[bone].is_fixed:
            continue
        beyond = [i for i, other in enumerate(rig.bones) if bone in rig.chain(other.name)]
        mine = [g for g, goal_bone in enumerate(goal_bones) if goal_bone in beyond]
        if mine:
            joints.append((column, bone, torch.tensor(mine), torch.tensor(beyond)))
    for _ in range(iterations):
        start_of_sweep = work.clone()
        pivots = rig.forward(work).pivots
        goals = target_goals + _constraint_goals(rig, pivots, planes, margin)
        targets = torch.stack([g.target for g in goals], dim=1)  # (B, G, 2)
        active = torch.stack([g.active for g in goals], dim=1)  # (B, G)
        if move_root and root_columns:
            offsets = targets - pivots[:, goal_bones]  # (B, G, 2)
            shift = (active[..., None] * offsets).sum(1) / active.sum(1).clamp(min=1)[:, None]
            before = work[:, :2].clone()
            work[:, :2] = torch.clamp(before + shift, low[:2], high[:2])
            pivots = pivots + (work[:, :2] - before)[:, None]  # the whole body moves with its root
        for column, bone, mine, beyond in joints:
            centre = pivots[:, bone]
            u = pivots[:, goal_bones][:, mine] - centre[:, None]  # (B, g, 2) where the effectors are
            v = targets[:, mine] - centre[:, None]  # where they should be
            w = active[:, mine]
            cross = (w * (u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0])).sum(1)
            dot = (w * (u * v).sum(-1)).sum(1)
            # atan2 gives the counter-clockwise turn; the rig's angles turn clockwise, hence the minus
            before = work[:, column].clone()
            work[:, column] = torch.clamp(before - torch.atan2(cross, dot), low[column], high[column])
            # The bones beyond the joint turn rigidly about its pivot by the change of its angle:
            # p' = c + R(Δθ)(p − c). Updating them in place replaces a full forward pass per joint (same numbers).
            offsets = pivots[:, beyond] - centre[:, None]
            pivots[:, beyond] = centre[:, None] + rotate_clockwise(offsets, work[:, column] - before)
        if (work - start_of_sweep).abs().max() < 1e-12:  # a fixed point: further sweeps change nothing
            break
    return work.to(params.dtype)


# ---------------------------------------------------------------------- solving with a model
# After polish, a query whose targets are still this far off (fraction of the height) counts as unmet.
UNMET_ERROR = 0.01


@dataclass
class IKSolution:
    """Samples for one or more IK queries, checked by forward kinematics.

    All tensors have a leading query axis Q (``solve`` removes it for a single query) and are sorted best
    first within each query: ``samples`` (Q, n, D) model outputs, ``params`` (Q, n, P) their parameter
    columns, ``scores`` (Q, n) the model's log-likelihood estimates, ``errors`` (Q, n) mean target distance
    by kinematics (``nan`` without targets), ``violations`` (Q, n) how many constraints fail by kinematics and
    ``satisfied`` (Q, n) whether none does. ``params`` always lie within the rig's joint limits: a sampled
    parameter outside its range is moved to the nearest bound (the model's samples stray out in about half
    of them, mostly by little), and ``clamped`` (Q, n) counts the parameters that were moved.
    ``polished_params`` / ``polished_error`` / ``polished_satisfied`` hold the best sample after CCD
    (``None`` without polish). ``height`` converts errors into fractions of the body.
    """

    samples: torch.Tensor
    params: torch.Tensor
    scores: torch.Tensor
    errors: torch.Tensor
    violations: torch.Tensor
    clamped: torch.Tensor
    polished_params: torch.Tensor | None
    polished_error: torch.Tensor | None
    polished_satisfied: torch.Tensor | None
    height: float

    @property
    def satisfied(self) -> torch.Tensor:
        """Whether each sample meets every constraint by kinematics (no violations), (Q, n)."""
        return self.violations == 0

    @property
    def unmet(self) -> torch.Tensor | None:
        """Per query, after polish: True when a constraint still fails or the targets are missed by more than
        1 % of the height — targets and constraints that could not be met together. ``None`` without polish."""
        if self.polished_params is None:
            return None
        missed = torch.nan_to_num(self.polished_error, nan=0.0) > UNMET_ERROR * self.height
        return missed | ~self.polished_satisfied

    @property
    def best_params(self) -> torch.Tensor:
        """The chosen pose per query (polished if a polish ran)."""
        return self.polished_params if self.polished_params is not None else self.params[..., 0, :]

    @property
    def best_error(self) -> torch.Tensor:
        """Target error of the chosen pose (before polish), in the rig's units."""
        return self.errors[..., 0]

    def squeeze(self) -> IKSolution:
        """The single-query view (drops the leading query axis)."""
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return IKSolution(**{k: (v[0] if isinstance(v, torch.Tensor) else v) for k, v in fields.items()})


SELECTIONS = ("likelihood", "kinematics")


def solve_many(
    model,
    rig: Rig,
    targets: Mapping[str, object] | None = None,
    constraints: Sequence[Inequality | Box] = (),
    n_samples: int = 64,
    select: str = "likelihood",
    polish: bool = False,
    ccd_iterations: int = 50,
    seed: int | None = None,
) -> IKSolution:
    """Sample ``n_samples`` poses per query from ``model`` conditioned on targets and constraints.

    ``targets`` maps effector names to (x, y) or to (Q, 2) arrays (Q queries at once). ``select`` ranks each
    query's samples by the model's log-likelihood estimate (``"likelihood"``: the paper's best-of-batch) or
    by forward kinematics (``"kinematics"``: fewest broken constraints first, then smallest target error,
    then likelihood — cheap to compute, and what a practical solver would do). ``polish`` runs
    :func:`ccd_polish` on the best sample, towards the targets and out of violated effector inequalities.
    """
    if select not in SELECTIONS:
        raise ValueError(f"select must be one of {SELECTIONS}, got {select!r}")
    n_samples = check_whole_number(n_samples, "n_samples")
    if not isinstance(model, (DRMM, ColumnScaled)):
        raise TypeError(
            f"IK needs a model that ranks its samples: a DRMM, or a DRMM in ColumnScaled, not a {type(model).__name__}"
        )
    if model.n_features != rig.dim:
        raise ValueError(f"the model has {model.n_features} variables but the rig's data vector has {rig.dim}")
    constraints = list(constraints)
    batch = _targets_as_batch(rig, targets)
    known = targets_to_known(rig, batch) if batch else None
    queries = known.shape[0] if known is not None else 1
    rows = queries * n_samples
    if known is not None:
        known = known.repeat_interleave(n_samples, dim=0)
    samples, scores = model.sample(  # the model's own outputs: its effector columns are reconstructions, not copies
        rows, known=known, constraints=constraints or None, sort=False, seed=seed, return_scores=True,
        exact_known=False,
    )
    samples, scores = samples.cpu().double(), scores.cpu().double()
    sampled = rig.params_of(samples)
    low, high = (bound.to(sampled) for bound in rig.param_bounds())
    params = sampled.clamp(low, high)  # project onto the joint limits: every pose valid
    clamped = (params != sampled).sum(-1)
    goals = {name: t.repeat_interleave(n_samples, dim=0) for name, t in batch.items()}
    shape = (queries, n_samples)
    errors = target_errors(rig, params, goals).reshape(shape)
    broken = violations(rig, params, constraints).reshape(shape)
    samples, params, scores = samples.reshape(*shape, -1), params.reshape(*shape, -1), scores.reshape(shape)
    clamped = clamped.reshape(shape)
    order = torch.argsort(scores, dim=1, descending=True, stable=True)
    if select == "kinematics":  # stable sorts: likelihood breaks ties in error, error ties in violations
        if batch:
            order = order.gather(1, torch.argsort(errors.gather(1, order), dim=1, stable=True))
        order = order.gather(1, torch.argsort(broken.gather(1, order), dim=1, stable=True))
    pick = lambda t: t.gather(1, order.reshape(*shape, *([1] * (t.dim() - 2))).expand_as(t))  # noqa: E731
    solution = IKSolution(
        samples=pick(samples),
        params=pick(params),
        scores=pick(scores),
        errors=pick(errors),
        violations=pick(broken),
        clamped=pick(clamped),
        polished_params=None,
        polished_error=None,
        polished_satisfied=None,
        height=rig.height,
    )
    if polish and (batch or constraints):
        best = solution.params[:, 0]
        polished = ccd_polish(rig, best, batch, iterations=ccd_iterations, constraints=constraints)
        solution.polished_params = polished
        solution.polished_error = target_errors(rig, polished, batch)
        solution.polished_satisfied = satisfied(rig, polished, constraints)
        unmet = solution.unmet
        if unmet.double().mean() > 0.5:  # most queries: say so; a few: IKSolution.unmet tells which
            warn_at_caller(
                f"IK: {int(unmet.sum())} of {unmet.numel()} queries still miss their targets by more than "
                f"{100 * UNMET_ERROR:g} % of the height or break a constraint after polish: they may not be "
                "reachable together (see IKSolution.unmet)"
            )
    return solution


def solve(model, rig: Rig, targets: Mapping[str, object] | None = None, **kwargs) -> IKSolution:
    """One query: like :func:`solve_many` with (x, y) targets, without the leading query axis."""
    batch = _targets_as_batch(rig, targets)
    if batch and next(iter(batch.values())).shape[0] != 1:
        raise ValueError("solve takes one (x, y) per effector; use solve_many for several queries")
    return solve_many(model, rig, targets, **kwargs).squeeze()
