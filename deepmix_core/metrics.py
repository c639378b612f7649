"""Improved precision and recall for generative models.

Reference
---------
T. Kynkäänniemi, T. Karras, S. Laine, J. Lehtinen, T. Aila.
"Improved Precision and Recall Metric for Assessing Generative Models."
NeurIPS 2019. https://arxiv.org/abs/1904.06991

Definition
----------
For a set of points ``S`` and an integer ``k``, approximate the *manifold*
(support) of the distribution that produced ``S`` by a union of balls:

    manifold(S) = union over s in S of  Ball(s, r_k(s)),

where ``r_k(s)`` is the distance from ``s`` to its k-th nearest neighbour in
``S`` (``s`` itself does not count as a neighbour, but an exact duplicate of
``s`` does, at distance 0 — as in the reference implementation). A point ``x`` is *inside*
the manifold when ``||x - s|| <= r_k(s)`` for at least one ``s`` in ``S``.

With real samples ``R`` and generated samples ``G``:

    precision = fraction of generated points inside manifold(R)
                ("are the samples realistic?")
    recall    = fraction of real points inside manifold(G)
                ("is all of the data covered?")
    F1        = 2 * precision * recall / (precision + recall)

A model that collapses onto one mode has high precision but low recall; a
model that spreads mass everywhere has high recall but low precision.

The DRMM papers (Hämäläinen et al.) report these metrics with ``k = 3`` on
20,000 real and 20,000 generated samples, which is what the defaults here are
designed for.

Implementation notes
--------------------
Computing all pairwise distances of 20k x 20k points at once would need a
1.6 GB float32 matrix, so everything is done in row blocks of ``batch_size``:

* radii: each block of points is compared with the *whole* set and the
  ``(k + 1)``-th smallest distance is taken (the smallest is the point itself,
  at distance 0);
* membership: each block of query points is compared with blocks of reference
  points, and ``dist <= radius`` is OR-ed over the reference blocks.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

__all__ = ["PrecisionRecall", "knn_radii", "precision_recall"]

ArrayLike = torch.Tensor | np.ndarray

# Exact pairwise distances sqrt(sum_d (x_d - y_d)^2). The default "mm" mode of
# torch.cdist uses ||x||^2 + ||y||^2 - 2 x.y, which is faster but in float32 can
# give a non-zero distance from a point to itself and flip `dist <= radius`
# decisions for nearby points.
_CDIST_MODE = "donot_use_mm_for_euclid_dist"


class PrecisionRecall(NamedTuple):
    """Result of :func:`precision_recall`; unpacks as ``p, r, f1 = ...``."""

    precision: float
    recall: float
    f1: float


def _as_points(x: ArrayLike, name: str, device: torch.device) -> torch.Tensor:
    """Convert ``x`` to a float32 tensor on ``device`` and check it is a finite ``(N, D)`` array."""
    points = torch.as_tensor(x).to(device=device, dtype=torch.float32)
    if points.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (num_points, num_features), got shape {tuple(points.shape)}."
            " Flatten images/features to one row per sample first."
        )
    if not torch.isfinite(points).all():
        raise ValueError(f"{name} contains NaN or infinite values; remove or fix them first.")
    return points


def _check_k_and_batch(k: int, batch_size: int) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1 (k-th nearest neighbour), got k={k!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got batch_size={batch_size!r}.")


def _knn_radii(points: torch.Tensor, k: int, batch_size: int) -> torch.Tensor:
    """k-NN radii of an already validated float32 ``(N, D)`` tensor."""
    radii = []
    for start in range(0, points.shape[0], batch_size):
        block = points[start : start + batch_size]
        dist = torch.cdist(block, points, compute_mode=_CDIST_MODE)  # (block, N)
        # Sorted distances of each row are [0 (the point itself), d_1, d_2, ...],
        # so the k-th neighbour (self excluded) is the (k + 1)-th smallest value.
        # (Same result as dist.kthvalue(k + 1, dim=1), but topk is much faster on CPU for small k.)
        smallest = dist.topk(k + 1, dim=1, largest=False, sorted=True).values  # (block, k + 1)
        radii.append(smallest[:, k])
    return torch.cat(radii)


def knn_radii(points: ArrayLike, k: int = 3, batch_size: int = 2048) -> torch.Tensor:
    """Distance from each point to its k-th nearest neighbour in the same set.

    These are the ball radii that define the manifold in :func:`precision_recall`;
    they are also handy for drawing the balls in a plot.

    Parameters
    ----------
    points : torch.Tensor or numpy.ndarray
        Array of shape ``(N, D)`` with ``N >= k + 1``.
    k : int, default 3
        Which neighbour to use (the point itself is not counted).
    batch_size : int, default 2048
        Rows processed at once; memory use is about ``batch_size * N`` floats.

    Returns
    -------
    torch.Tensor
        Float32 tensor of shape ``(N,)`` on the device of ``points`` (CPU for numpy input).
    """
    _check_k_and_batch(k, batch_size)
    device = points.device if isinstance(points, torch.Tensor) else torch.device("cpu")
    pts = _as_points(points, "points", device)
    if pts.shape[0] < k + 1:
        raise ValueError(f"points needs at least k + 1 = {k + 1} rows for k={k}, got {pts.shape[0]}.")
    return _knn_radii(pts, int(k), int(batch_size))


def _fraction_inside(
    queries: torch.Tensor, reference: torch.Tensor, radii: torch.Tensor, batch_size: int
) -> float:
    """Fraction of ``queries`` lying in at least one ball ``Ball(reference[j], radii[j])``."""
    inside_count = 0
    for q_start in range(0, queries.shape[0], batch_size):
        q_block = queries[q_start : q_start + batch_size]
        inside = torch.zeros(q_block.shape[0], dtype=torch.bool, device=queries.device)
        for r_start in range(0, reference.shape[0], batch_size):
            r_block = reference[r_start : r_start + batch_size]
            dist = torch.cdist(q_block, r_block, compute_mode=_CDIST_MODE)  # (q_block, r_block)
            # x is inside if ||x - s|| <= r_k(s) for ANY reference point s.
            inside |= (dist <= radii[r_start : r_start + batch_size][None, :]).any(dim=1)
        inside_count += int(inside.sum().item())
    return inside_count / queries.shape[0]


def precision_recall(
    real: ArrayLike, generated: ArrayLike, k: int = 3, batch_size: int = 2048
) -> PrecisionRecall:
    """Improved precision and recall (Kynkäänniemi et al., 2019).

    Parameters
    ----------
    real : torch.Tensor or numpy.ndarray
        Real samples, shape ``(N, D)``, ``N >= k + 1``.
    generated : torch.Tensor or numpy.ndarray
        Generated samples, shape ``(M, D)``, ``M >= k + 1``.
    k : int, default 3
        Neighbour used for the ball radii (k = 3 in the paper and in DRMM).
    batch_size : int, default 2048
        Rows processed at once. Peak memory is about ``batch_size * max(N, M)``
        float32 values (~160 MB for 2048 x 20,000).

    Returns
    -------
    PrecisionRecall
        Named tuple ``(precision, recall, f1)`` of Python floats, where
        ``precision`` is the fraction of generated points inside the real
        manifold, ``recall`` the fraction of real points inside the generated
        manifold and ``f1 = 2 P R / (P + R + 1e-8)``.

    Notes
    -----
    Computation runs in float32 on the device of ``real`` if it is a tensor,
    otherwise on the CPU.

    Examples
    --------
    Typical use, with ``data`` and ``samples`` both of shape ``(20000, 2)``::

        p, r, f1 = precision_recall(data, samples, k=3)
    """
    _check_k_and_batch(k, batch_size)
    device = real.device if isinstance(real, torch.Tensor) else torch.device("cpu")
    real_pts = _as_points(real, "real", device)
    gen_pts = _as_points(generated, "generated", device)
    if real_pts.shape[1] != gen_pts.shape[1]:
        raise ValueError(
            f"real and generated must have the same number of features, got {real_pts.shape[1]} "
            f"and {gen_pts.shape[1]}."
        )
    for name, pts in (("real", real_pts), ("generated", gen_pts)):
        if pts.shape[0] < k + 1:
            raise ValueError(
                f"{name} needs at least k + 1 = {k + 1} points for k={k}, got {pts.shape[0]}. "
                "Use more samples or a smaller k."
            )
    k, batch_size = int(k), int(batch_size)

    with torch.no_grad():
        real_radii = _knn_radii(real_pts, k, batch_size)
        gen_radii = _knn_radii(gen_pts, k, batch_size)
        precision = _fraction_inside(gen_pts, real_pts, real_radii, batch_size)
        recall = _fraction_inside(real_pts, gen_pts, gen_radii, batch_size)
    f1 = 2.0 * precision * recall / (precision + recall + 1e-8)
    return PrecisionRecall(precision=precision, recall=recall, f1=f1)
