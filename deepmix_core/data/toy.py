"""Seeded two-dimensional toy datasets for deep mixture models.

Every function here *generates* its data from a formula and a seed; nothing is
downloaded and nothing is cached. Calling a function twice with the same
arguments returns exactly the same points, and a different ``seed`` gives a
different sample. All functions return a ``torch.Tensor`` of dtype ``float32``
and shape ``(N, 2)`` with coordinates roughly inside ``[-1, 1]``.

Datasets
--------
swiss_roll
    A spiral ``x = 0.5 * theta * (sin theta, cos theta)`` with ``theta`` drawn
    with density growing linearly, as in the DRMM reference code; since the arc
    length per unit ``theta`` also grows linearly, points are spread about
    evenly along the curve.
sierpinski
    The corners of all small triangles of a recursively subdivided triangle:
    a fractal with a lot of fine structure, which makes it hard to model.
two_moons
    Two interleaving half circles.
rings
    Concentric circles, with points spread evenly along their length.
checkerboard
    Uniform points on the dark squares of a 4 x 4 board over ``[-1, 1]^2``.

Normalisation
-------------
``swiss_roll`` and ``sierpinski`` are normalised as in the DRMM reference code:
subtract the per-axis midpoint ``(max + min) / 2`` and divide *both* axes by
the same number ``(global max - global min) / 2``, where the global max and min
are taken over both coordinates of the un-normalised points. Using a single
scale for both axes keeps the shape undistorted (circles stay circles).
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["checkerboard", "rings", "sierpinski", "swiss_roll", "two_moons"]

# Step of the dense angle grid used by the reference swiss-roll construction.
_SWISS_ROLL_STEP = 0.001
_SWISS_ROLL_MAX_THETA = 4.0 * math.pi


# --------------------------------------------------------------------------- #
# Small helpers: argument checks and conversion to torch
# --------------------------------------------------------------------------- #
def _check_n(n: int | None, allow_none: bool = False) -> None:
    """Raise a ``ValueError`` unless ``n`` is a positive integer (or ``None`` if allowed)."""
    if n is None and allow_none:
        return
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"n must be a positive integer (number of points to generate), got n={n!r}.")


def _check_noise(noise: float) -> None:
    """Raise a ``ValueError`` unless ``noise`` is a finite number >= 0."""
    is_number = isinstance(noise, (int, float, np.floating, np.integer)) and not isinstance(noise, bool)
    if not is_number or not math.isfinite(noise) or noise < 0:
        raise ValueError(
            f"noise is the standard deviation of added Gaussian noise and must be finite and >= 0, "
            f"got noise={noise!r}. Use noise=0.0 for no noise."
        )


def _to_tensor(points: np.ndarray) -> torch.Tensor:
    """Convert an ``(N, 2)`` numpy array to a contiguous ``float32`` tensor."""
    return torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32))


def _normalization(reference: np.ndarray) -> tuple[np.ndarray, float]:
    """Return ``(center, scale)`` so that ``(points - center) / scale`` is roughly in ``[-1, 1]``.

    ``center`` is the per-axis midpoint ``(max + min) / 2`` of ``reference`` and
    ``scale`` is half of the global range ``max - min`` over both coordinates.
    """
    center = (reference.max(axis=0) + reference.min(axis=0)) / 2.0
    scale = (reference.max() - reference.min()) / 2.0
    return center, float(scale)


# --------------------------------------------------------------------------- #
# Swiss roll
# --------------------------------------------------------------------------- #
def _swiss_roll_curve(theta: np.ndarray) -> np.ndarray:
    """Map angles to spiral points ``0.5 * theta * (sin theta, cos theta)``; shape ``(len(theta), 2)``."""
    return 0.5 * theta[:, None] * np.stack([np.sin(theta), np.cos(theta)], axis=1)


def swiss_roll(
    n: int | None = None, seed: int = 0, noise: float = 0.0, normalize: bool = True
) -> torch.Tensor:
    """Sample points from a 2D swiss roll (spiral).

    The angle ``theta`` has density proportional to ``theta`` on ``[0, 4 pi]``
    and each point is ``0.5 * theta * (sin theta, cos theta)``.

    Parameters
    ----------
    n : int or None, default None
        Number of points. ``None`` reproduces the DRMM reference construction:
        walk over ``theta = arange(0, 4 pi, 0.001)`` (12,567 angles) and keep
        each one with probability ``theta / (4 pi)``, which gives about 6,280
        points (the exact number depends on the seed). An integer ``n`` gives
        exactly ``n`` points drawn from the same density.
    seed : int, default 0
        Seed for ``numpy.random.default_rng``.
    noise : float, default 0.0
        Standard deviation of isotropic Gaussian noise, in normalised units
        (added after normalising).
    normalize : bool, default True
        If True, centre and scale to roughly ``x in [-0.80, 0.80]``,
        ``y in [-0.93, 0.93]``. The bounds come from the dense noiseless curve,
        so the scale is the same for every ``n`` and ``seed``.

    Returns
    -------
    torch.Tensor
        Float32 tensor of shape ``(N, 2)``.
    """
    _check_n(n, allow_none=True)
    _check_noise(noise)
    rng = np.random.default_rng(seed)

    dense_theta = np.arange(0.0, _SWISS_ROLL_MAX_THETA, _SWISS_ROLL_STEP)
    if n is None:
        # Reference construction: keep theta with probability theta / (4 pi).
        keep = rng.random(dense_theta.shape[0]) < dense_theta / _SWISS_ROLL_MAX_THETA
        theta = dense_theta[keep]
    else:
        # Inverse-CDF sampling. The density p(theta) ∝ theta on [0, T] has
        # CDF F(theta) = (theta / T)^2, so theta = T * sqrt(u) with u ~ U(0, 1).
        theta = _SWISS_ROLL_MAX_THETA * np.sqrt(rng.random(n))
    points = _swiss_roll_curve(theta)

    # Normalisation constants from the full deterministic curve (independent of n and seed).
    center, scale = _normalization(_swiss_roll_curve(dense_theta))
    points = (points - center) / scale
    if noise > 0:
        points = points + noise * rng.standard_normal(points.shape)
    if not normalize:
        points = points * scale + center  # undo: noise keeps its meaning in normalised units
    return _to_tensor(points)


# --------------------------------------------------------------------------- #
# Sierpinski triangle
# --------------------------------------------------------------------------- #
def _sierpinski_points(depth: int) -> np.ndarray:
    """Corners of all ``3**depth`` sub-triangles, in recursion order; shape ``(3**(depth+1), 2)``."""
    angles = np.array([0.0, 2.0 * np.pi / 3.0, 4.0 * np.pi / 3.0])
    # triangles has shape (num_triangles, 3 corners, 2 coordinates).
    triangles = np.stack([np.sin(angles), np.cos(angles)], axis=1)[None]
    for _ in range(depth):
        a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
        ab, bc, ca = (a + b) / 2.0, (b + c) / 2.0, (c + a) / 2.0
        # Each triangle (a, b, c) is replaced by its three corner sub-triangles.
        # Stacking on axis 1 then flattening keeps the same order as a
        # depth-first recursion: children of triangle i come before those of i+1.
        children = np.stack(
            [
                np.stack([a, ab, ca], axis=1),
                np.stack([ab, b, bc], axis=1),
                np.stack([ca, bc, c], axis=1),
            ],
            axis=1,
        )
        triangles = children.reshape(-1, 3, 2)
    return triangles.reshape(-1, 2)


def sierpinski(depth: int = 7, n: int | None = None, seed: int = 0, normalize: bool = True) -> torch.Tensor:
    """Points of a Sierpinski triangle built by recursive subdivision.

    Start from the triangle with corners ``(sin a, cos a)`` for
    ``a = 0, 2 pi / 3, 4 pi / 3``. At depth 0 its 3 corners are the points;
    at depth ``d > 0`` the triangle is split into its 3 corner sub-triangles
    (one corner plus the two neighbouring edge midpoints), each subdivided to
    depth ``d - 1``. Shared corners are kept as duplicates, so depth ``d``
    gives ``3**(d + 1)`` points (6,561 for depth 7) of which
    ``(3**(d + 1) + 3) / 2`` are distinct (3,282 for depth 7).

    Parameters
    ----------
    depth : int, default 7
        Number of subdivision levels (>= 0).
    n : int or None, default None
        If given, draw ``n`` rows uniformly *with replacement* from the full
        set of points; otherwise return the full set (deterministic).
    seed : int, default 0
        Seed for ``numpy.random.default_rng`` (only used when ``n`` is given).
    normalize : bool, default True
        If True, subtract the per-axis midpoint and divide by half the global
        range (see the module docstring).

    Returns
    -------
    torch.Tensor
        Float32 tensor of shape ``(N, 2)``.
    """
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 0:
        raise ValueError(f"depth must be an integer >= 0 (number of subdivision levels), got {depth!r}.")
    if depth > 12:
        raise ValueError(f"depth={depth} would create 3**{depth + 1} points; use depth <= 12.")
    _check_n(n, allow_none=True)

    points = _sierpinski_points(int(depth))
    if normalize:
        center, scale = _normalization(points)
        points = (points - center) / scale
    if n is not None:
        rng = np.random.default_rng(seed)
        points = points[rng.integers(0, points.shape[0], size=n)]
    return _to_tensor(points)


# --------------------------------------------------------------------------- #
# Extra datasets
# --------------------------------------------------------------------------- #
def two_moons(n: int = 2000, seed: int = 0, noise: float = 0.05) -> torch.Tensor:
    """Two interleaving half circles ("moons").

    The upper moon is ``(cos t, sin t)`` and the lower moon is
    ``(1 - cos t, 0.5 - sin t)`` with ``t ~ U(0, pi)``. The union spans
    ``x in [-1, 2]``, ``y in [-0.5, 1]``; it is mapped to ``x in [-1, 1]``,
    ``y in [-0.5, 0.5]`` with one common scale so the moons stay round.

    Parameters
    ----------
    n : int, default 2000
        Number of points; ``n // 2`` in the upper moon, the rest in the lower.
    seed : int, default 0
        Seed for ``numpy.random.default_rng``.
    noise : float, default 0.05
        Standard deviation of isotropic Gaussian noise (normalised units).

    Returns
    -------
    torch.Tensor
        Float32 tensor of shape ``(n, 2)``, rows in random order.
    """
    _check_n(n)
    _check_noise(noise)
    rng = np.random.default_rng(seed)
    n_upper = n // 2
    t = rng.uniform(0.0, np.pi, size=n)
    upper = np.stack([np.cos(t[:n_upper]), np.sin(t[:n_upper])], axis=1)
    lower = np.stack([1.0 - np.cos(t[n_upper:]), 0.5 - np.sin(t[n_upper:])], axis=1)
    points = np.concatenate([upper, lower], axis=0)
    # Centre of the bounding box is (0.5, 0.25); half of the wider (x) range is 1.5.
    points = (points - np.array([0.5, 0.25])) / 1.5
    points = points + noise * rng.standard_normal(points.shape)
    return _to_tensor(points[rng.permutation(n)])


def rings(n: int = 2000, seed: int = 0, noise: float = 0.02, n_rings: int = 3) -> torch.Tensor:
    """Concentric circles with radii ``1/n_rings, 2/n_rings, ..., 1``.

    The number of points on a ring is proportional to its radius (its length),
    so points are spread evenly along all rings.

    Parameters
    ----------
    n : int, default 2000
        Number of points.
    seed : int, default 0
        Seed for ``numpy.random.default_rng``.
    noise : float, default 0.02
        Standard deviation of isotropic Gaussian noise.
    n_rings : int, default 3
        Number of circles (>= 1).

    Returns
    -------
    torch.Tensor
        Float32 tensor of shape ``(n, 2)``.
    """
    _check_n(n)
    _check_noise(noise)
    if isinstance(n_rings, bool) or not isinstance(n_rings, (int, np.integer)) or n_rings < 1:
        raise ValueError(f"n_rings must be an integer >= 1, got {n_rings!r}.")
    rng = np.random.default_rng(seed)
    radii = np.arange(1, n_rings + 1) / n_rings
    # P(ring j) = r_j / sum(r): proportional to circumference 2 pi r_j.
    ring = rng.choice(n_rings, size=n, p=radii / radii.sum())
    angle = rng.uniform(0.0, 2.0 * np.pi, size=n)
    r = radii[ring]
    points = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    points = points + noise * rng.standard_normal(points.shape)
    return _to_tensor(points)


def checkerboard(n: int = 2000, seed: int = 0, noise: float = 0.0) -> torch.Tensor:
    """Uniform points on the dark squares of a 4 x 4 checkerboard over ``[-1, 1]^2``.

    Each square has side 0.5. Square ``(i, j)`` (column ``i``, row ``j``, both
    in ``0..3``) is dark when ``i + j`` is even, giving 8 dark squares.

    Parameters
    ----------
    n : int, default 2000
        Number of points.
    seed : int, default 0
        Seed for ``numpy.random.default_rng``.
    noise : float, default 0.0
        Standard deviation of isotropic Gaussian noise (blurs the square edges).

    Returns
    -------
    torch.Tensor
        Float32 tensor of shape ``(n, 2)``.
    """
    _check_n(n)
    _check_noise(noise)
    rng = np.random.default_rng(seed)
    cols, rows = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    dark = (cols + rows) % 2 == 0
    # Lower-left corners of the 8 dark squares, shape (8, 2).
    corners = np.stack([cols[dark], rows[dark]], axis=1) * 0.5 - 1.0
    square = rng.integers(0, corners.shape[0], size=n)
    points = corners[square] + 0.5 * rng.random((n, 2))  # uniform inside the chosen square
    points = points + noise * rng.standard_normal(points.shape)
    return _to_tensor(points)
