"""Planar skeletons ("rigs") with batched forward kinematics, for inverse-kinematics data and checks.

A rig is a tree of bones. Each bone has a parent, a pivot given in its parent's frame, an angle range and
an optional drawable polyline. Forward kinematics follows the DRMM reference code (its ``Bone`` and ``Rig``
classes, described in docs/notes/drmm.md §6.3):

    global angle      φ_b = θ_b + φ_parent(b)
    global pivot      p_b = p_parent(b) + R(φ_parent(b)) · pivot_b        (the root's pivot is a parameter)
    rotation          R(φ) · (x, y) = (x cos φ + y sin φ, −x sin φ + y cos φ)

so a positive angle turns a bone **clockwise**, as in the reference. Two rigs are provided:

``Arm(n_links=4)``
    a chain of links fixed at the origin (paper 001 Fig. 7, "4-link arm"): the data vector is the link
    angles followed by the hand position, 6 variables for 4 links.
``Humanoid()``
    the 2D full-body rig of the reference (paper 001 Fig. 6): root position, 16 bone angles (five bones only
    mark end points and always have angle 0), centre of mass, both hands, both feet and the top of the head:
    30 variables.

The reference humanoid has quirks, reproduced with ``Humanoid(reference_quirks=True)``: its centre of mass
sums the centres of the 11 drawn boxes (averaging 5 polyline points, the first corner counted twice) and
divides by 16; the left thigh and left forearm ranges were written reversed, which ``np.random.uniform``
ignores, so the left limbs are not mirrors of the right ones. The default rig fixes all three: the centre of
mass is the mean of the box centres, and the left ranges mirror the right ones.

Every function accepts a batch: ``params`` is ``(B, n_params)`` — root x, root y (when the root moves) and
one angle per bone in creation order (bones with a fixed angle are included only if the rig keeps them in
its data, as the humanoid does for fidelity with the reference's 30 variables).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["Bone", "Rig", "Arm", "Humanoid"]


@dataclass(frozen=True)
class Bone:
    """One bone: ``pivot`` is in the parent's frame (the root bone's pivot comes from the parameters).

    ``angle_range`` is (low, high) in radians; equal ends fix the angle. ``geometry`` is a closed polyline in
    the bone's own frame, used for drawing and for the centre of mass (``None`` for end-point markers).
    """

    name: str
    parent: str | None
    pivot: tuple[float, float]
    angle_range: tuple[float, float]
    geometry: tuple[tuple[float, float], ...] | None = None

    @property
    def is_fixed(self) -> bool:
        return self.angle_range[0] == self.angle_range[1]


def _box(x0: float, x1: float, y0: float, y1: float) -> tuple[tuple[float, float], ...]:
    """Closed 5-point rectangle polyline, as the reference draws its bones."""
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))


def rotate_clockwise(points: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Clockwise rotation of ``points`` (B, ..., 2) by ``angle`` (B,): (x cos + y sin, −x sin + y cos)."""
    while angle.dim() < points.dim() - 1:
        angle = angle[..., None]
    cos, sin = torch.cos(angle), torch.sin(angle)
    x, y = points[..., 0], points[..., 1]
    return torch.stack((x * cos + y * sin, -x * sin + y * cos), dim=-1)


@dataclass
class Pose:
    """Forward kinematics of a batch: global ``angles`` (B, n_bones) and joint ``pivots`` (B, n_bones, 2)."""

    angles: torch.Tensor
    pivots: torch.Tensor


class Rig:
    """A planar skeleton with batched forward kinematics and a fixed layout of its data vector.

    Parameters
    ----------
    bones : bones in creation order; a parent must come before its children, the first bone is the root.
    root_range : ((x_low, x_high), (y_low, y_high)) for a moving root, or ``None`` to fix it at the origin.
    effectors : names of bones whose pivots are end effectors (hands, feet, head top, …).
    centre_of_mass : include the centre of mass (x, y) in the data vector.
    keep_fixed_angles : keep bones with a fixed angle among the parameters (the reference humanoid does).
    com_divisor : divide the sum of box centres by this instead of their number (reference quirk).
    com_closed_polyline : average all 5 polyline points, first corner twice (reference quirk).
    height : body height used to express errors as a fraction (the rig's size).
    """

    def __init__(
        self,
        bones: list[Bone],
        root_range: tuple[tuple[float, float], tuple[float, float]] | None,
        effectors: list[str],
        centre_of_mass: bool = False,
        keep_fixed_angles: bool = True,
        com_divisor: float | None = None,
        com_closed_polyline: bool = False,
        height: float = 1.0,
    ) -> None:
        names = [bone.name for bone in bones]
        if len(set(names)) != len(names):
            raise ValueError("bone names must be unique")
        for position, bone in enumerate(bones):
            if (bone.parent is None) != (position == 0):
                raise ValueError("the first bone, and only it, must be the root (parent None)")
            if bone.parent is not None and bone.parent not in names[:position]:
                raise ValueError(f"bone {bone.name!r}: parent {bone.parent!r} must be created before it")
        unknown = [name for name in effectors if name not in names]
        if unknown:
            raise ValueError(f"unknown effector bones {unknown}")
        self.bones = list(bones)
        self.root_range = root_range
        self.effectors = list(effectors)
        self.centre_of_mass = centre_of_mass
        self.com_divisor = com_divisor
        self.com_closed_polyline = com_closed_polyline
        self.height = float(height)
        self.size_name = "height"  # what ``height`` measures, for labels ("reach" for an arm)
        self._bone_index = {name: i for i, name in enumerate(names)}
        self._parents = [self._bone_index[b.parent] if b.parent else -1 for b in bones]
        self.angle_bones = [b.name for b in bones if keep_fixed_angles or not b.is_fixed]
        self.variable_names = self._make_variable_names()
        self._columns = {name: i for i, name in enumerate(self.variable_names)}

    # ------------------------------------------------------------------ layout
    def _make_variable_names(self) -> list[str]:
        names = ["root.x", "root.y"] if self.root_range is not None else []
        names += [f"{name}.angle" for name in self.angle_bones]
        points = (["com"] if self.centre_of_mass else []) + self.effectors
        for point in points:
            names += [f"{point}.x", f"{point}.y"]
        return names

    @property
    def n_params(self) -> int:
        """Length of a parameter vector: root position (if it moves) and the angles."""
        return (2 if self.root_range is not None else 0) + len(self.angle_bones)

    @property
    def dim(self) -> int:
        """Length of the data vector returned by :meth:`observe`."""
        return len(self.variable_names)

    def index(self, name: str) -> slice:
        """Columns of a named variable in the data vector.

        A point (``"root"``, ``"com"`` or an effector such as ``"rHand"``) gives a slice of its two
        columns; ``"<bone>.angle"``, ``"rHand.x"`` and the like give a slice of one column.
        """
        if name in self._columns:
            start = self._columns[name]
            return slice(start, start + 1)
        if f"{name}.x" in self._columns:
            start = self._columns[f"{name}.x"]
            return slice(start, start + 2)
        raise KeyError(f"unknown variable {name!r}; known: {self.variable_names}")

    def param_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Lower and upper bounds of every parameter (root box, then joint limits)."""
        low, high = [], []
        if self.root_range is not None:
            low += [self.root_range[0][0], self.root_range[1][0]]
            high += [self.root_range[0][1], self.root_range[1][1]]
        for name in self.angle_bones:
            bone = self.bones[self._bone_index[name]]
            low.append(min(bone.angle_range))
            high.append(max(bone.angle_range))
        return torch.tensor(low), torch.tensor(high)

    # ------------------------------------------------------------------ kinematics
    def _split(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Root positions (B, 2) and local angles of all bones (B, n_bones) from parameter rows."""
        if params.dim() != 2 or params.shape[1] != self.n_params:
            raise ValueError(f"params must have shape (B, {self.n_params}), got {tuple(params.shape)}")
        if self.root_range is not None:
            root, angles = params[:, :2], params[:, 2:]
        else:
            root, angles = params.new_zeros(params.shape[0], 2), params
        local = params.new_zeros(params.shape[0], len(self.bones))
        columns = [self._bone_index[name] for name in self.angle_bones]
        local[:, columns] = angles
        return root, local

    def forward(self, params: torch.Tensor) -> Pose:
        """Global angles and joint positions of every bone, for a batch of parameter rows."""
        root, local = self._split(torch.as_tensor(params))
        angles, pivots = [], []
        for i, bone in enumerate(self.bones):
            parent = self._parents[i]
            if parent < 0:
                angles.append(local[:, i])
                pivots.append(root)
                continue
            offset = root.new_tensor(bone.pivot).expand(root.shape[0], 2)
            # p_b = p_parent + R(φ_parent)·pivot
            pivots.append(pivots[parent] + rotate_clockwise(offset, angles[parent]))
            angles.append(local[:, i] + angles[parent])  # φ_b = θ_b + φ_parent
        return Pose(angles=torch.stack(angles, dim=1), pivots=torch.stack(pivots, dim=1))

    def geometry(self, params: torch.Tensor, pose: Pose | None = None) -> dict[str, torch.Tensor]:
        """World-space polylines (B, P, 2) of every bone that has geometry, for drawing."""
        pose = self.forward(params) if pose is None else pose
        shapes = {}
        for i, bone in enumerate(self.bones):
            if bone.geometry is None:
                continue
            local = pose.pivots.new_tensor(bone.geometry).expand(pose.pivots.shape[0], -1, 2)
            shapes[bone.name] = pose.pivots[:, i, None, :] + rotate_clockwise(local, pose.angles[:, i])
        return shapes

    def centre_of_mass_of(self, params: torch.Tensor, pose: Pose | None = None) -> torch.Tensor:
        """Centre of mass (B, 2): the mean of the drawn boxes' centres (or the reference's variant)."""
        shapes = self.geometry(params, pose)
        if not shapes:
            raise ValueError("this rig has no bone geometry, so no centre of mass")
        if self.com_closed_polyline:
            centres = [shape.mean(dim=1) for shape in shapes.values()]
        else:
            centres = [shape[:, :-1].mean(dim=1) for shape in shapes.values()]  # drop the closing vertex
        divisor = self.com_divisor if self.com_divisor is not None else len(centres)
        return torch.stack(centres).sum(0) / divisor

    def end_effectors(self, params: torch.Tensor) -> torch.Tensor:
        """Positions (B, n_effectors, 2) of the effectors, in the order of ``self.effectors``."""
        pose = self.forward(params)
        return pose.pivots[:, [self._bone_index[name] for name in self.effectors]]

    def observe(self, params: torch.Tensor) -> torch.Tensor:
        """The data vector of each pose: parameters, centre of mass (if used), effector positions."""
        params = torch.as_tensor(params)
        pose = self.forward(params)
        parts = [params]
        if self.centre_of_mass:
            parts.append(self.centre_of_mass_of(params, pose))
        parts.append(pose.pivots[:, [self._bone_index[name] for name in self.effectors]].flatten(1))
        return torch.cat(parts, dim=1)

    def params_of(self, data: torch.Tensor) -> torch.Tensor:
        """The parameter columns of data vectors (e.g. model samples), for checking them by kinematics."""
        data = torch.as_tensor(data)
        if data.dim() != 2 or data.shape[1] != self.dim:
            raise ValueError(f"data must have shape (B, {self.dim}), got {tuple(data.shape)}")
        return data[:, : self.n_params]

    def sample_poses(self, n: int, seed: int | None = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """``n`` parameter rows drawn uniformly within the root box and the joint limits."""
        if not (isinstance(n, int) and n >= 1):
            raise ValueError(f"n must be a positive integer, got {n!r}")
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        low, high = self.param_bounds()
        u = torch.rand(n, self.n_params, generator=generator, dtype=torch.float64)
        return (low.double() + u * (high - low).double()).to(dtype)

    def dataset(self, n: int, seed: int | None = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """``observe(sample_poses(n, seed))``: training data for a model of this rig."""
        return self.observe(self.sample_poses(n, seed=seed, dtype=torch.float64)).to(dtype)

    def chain(self, bone: str) -> list[int]:
        """Indices of the bones from ``bone``'s parent up to the root (the joints that move it)."""
        chain, i = [], self._parents[self._bone_index[bone]]
        while i >= 0:
            chain.append(i)
            i = self._parents[i]
        return chain

    def bone_index(self, name: str) -> int:
        """Position of a bone in creation order."""
        return self._bone_index[name]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(bones={len(self.bones)}, dim={self.dim}, effectors={self.effectors})"


class Arm(Rig):
    """A planar arm of ``n_links`` equal links fixed at the origin, pointing along +x at zero angles.

    The data vector is the ``n_links`` angles followed by the hand position: 6 variables for the paper's
    4-link arm. Each joint turns within ±``angle_limit`` (default ±π/2, as the reference's arm rig); the
    links share ``length`` (default 1 in total, so the reach is the unit disc).
    """

    def __init__(self, n_links: int = 4, length: float = 1.0, angle_limit: float = 0.5 * math.pi) -> None:
        if not (isinstance(n_links, int) and n_links >= 1):
            raise ValueError(f"n_links must be a positive integer, got {n_links!r}")
        if not (length > 0 and 0 < angle_limit <= math.pi):
            raise ValueError("length must be > 0 and angle_limit in (0, π]")
        link = length / n_links
        bones = [Bone("link0", None, (0.0, 0.0), (-angle_limit, angle_limit), _box(0, link, -0.05, 0.05))]
        for i in range(1, n_links):
            bones.append(
                Bone(f"link{i}", f"link{i - 1}", (link, 0.0), (-angle_limit, angle_limit), _box(0, link, -0.04, 0.04))
            )
        bones.append(Bone("hand", f"link{n_links - 1}", (link, 0.0), (0.0, 0.0)))
        super().__init__(bones, root_range=None, effectors=["hand"], keep_fixed_angles=False, height=length)
        self.size_name = "reach"
        self.n_links = n_links


class Humanoid(Rig):
    """The 2D full-body rig of paper 001 Fig. 6 (30 variables), corrected unless ``reference_quirks``.

    Layout (``index`` gives the columns): root x, y (0–1); 16 local angles (2–17, bones with a fixed angle
    included, as the reference); centre of mass (18–19); rHand (20–21), lHand (22–23), rFoot (24–25),
    lFoot (26–27), headTop (28–29). Sizes: half torso width 0.15, torso 2×0.25, head 0.25, arm links 0.3,
    leg links 0.35, so a straight body is 1.45 tall (``height``). The root (hips) moves in
    x ∈ [−0.3, 0.3], y ∈ [0.4, 1.0].
    """

    def __init__(self, reference_quirks: bool = False) -> None:
        half = math.pi
        mirror = (lambda low, high: (-high, -low)) if not reference_quirks else (lambda low, high: (low, high))
        arm_box, leg_box = (0.0, 0.3, -0.05, 0.05), (-0.05, 0.05, -0.35, 0.0)
        bones = [
            Bone("torso", None, (0.0, 0.0), (-0.4 * half, 0.4 * half), _box(-0.15, 0.15, 0.0, 0.25)),
            Bone("torsoUpper", "torso", (0.0, 0.25), (-0.4 * half, 0.4 * half), _box(-0.15, 0.15, 0.0, 0.25)),
            Bone("head", "torsoUpper", (0.0, 0.25), (-0.1 * half, 0.1 * half), _box(-0.075, 0.075, 0.0, 0.25)),
            Bone("headTop", "head", (0.0, 0.25), (0.0, 0.0)),
            Bone("rUpperArm", "torsoUpper", (0.15, 0.25), (-0.5 * half, 0.5 * half), _box(*arm_box)),
            Bone("rForeArm", "rUpperArm", (0.3, 0.0), (0.0, 0.5 * half), _box(*arm_box)),
            Bone("rHand", "rForeArm", (0.3, 0.0), (0.0, 0.0)),
            Bone("lUpperArm", "torsoUpper", (-0.15, 0.25), (-0.5 * half, 0.5 * half), _box(-0.3, 0.0, -0.05, 0.05)),
            Bone("lForeArm", "lUpperArm", (-0.3, 0.0), mirror(0.0, 0.5 * half), _box(-0.3, 0.0, -0.05, 0.05)),
            Bone("lHand", "lForeArm", (-0.3, 0.0), (0.0, 0.0)),
            Bone("rThigh", "torso", (0.15, 0.0), (-0.1 * half, 0.3 * half), _box(*leg_box)),
            Bone("rShin", "rThigh", (0.0, -0.35), (-0.25 * half, 0.25 * half), _box(*leg_box)),
            Bone("rFoot", "rShin", (0.0, -0.35), (0.0, 0.0)),
            Bone("lThigh", "torso", (-0.15, 0.0), mirror(-0.1 * half, 0.3 * half), _box(*leg_box)),
            Bone("lShin", "lThigh", (0.0, -0.35), (-0.25 * half, 0.25 * half), _box(*leg_box)),
            Bone("lFoot", "lShin", (0.0, -0.35), (0.0, 0.0)),
        ]
        super().__init__(
            bones,
            root_range=((-0.3, 0.3), (0.4, 1.0)),
            effectors=["rHand", "lHand", "rFoot", "lFoot", "headTop"],
            centre_of_mass=True,
            keep_fixed_angles=True,
            com_divisor=16.0 if reference_quirks else None,
            com_closed_polyline=reference_quirks,
            height=1.45,
        )
        self.reference_quirks = reference_quirks
