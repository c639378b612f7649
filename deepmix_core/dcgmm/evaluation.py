"""Evaluating a DCGMM: outlier ROC/AUC (paper 003 §VI-B) and clustering quality (paper 002 §4.3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.metrics import davies_bouldin_score, roc_auc_score, roc_curve

__all__ = ["OutlierROC", "clustering_scores", "dunn_index", "outlier_roc"]


@dataclass
class OutlierROC:
    """ROC of an outlier detector: ``outliers_rejected`` (TPR) against ``inliers_rejected`` (FPR), and its AUC."""

    inliers_rejected: np.ndarray
    outliers_rejected: np.ndarray
    auc: float

    @property
    def inliers_kept(self) -> np.ndarray:
        """1 − FPR: the x axis of the papers' "ROC-like" plots (inliers kept vs outliers rejected)."""
        return 1.0 - self.inliers_rejected


def outlier_roc(inlier_scores, outlier_scores) -> OutlierROC:
    """ROC and AUC for outlier scores (higher = more unusual), with outliers as the positive class.

    The reference sweeps 100 thresholds and integrates by trapezoids; scikit-learn's exact ROC over all
    thresholds gives the same area up to that resolution.
    """
    inlier_scores = np.asarray(inlier_scores, dtype=np.float64).ravel()
    outlier_scores = np.asarray(outlier_scores, dtype=np.float64).ravel()
    if inlier_scores.size == 0 or outlier_scores.size == 0:
        raise ValueError("need at least one inlier and one outlier score")
    scores = np.concatenate([inlier_scores, outlier_scores])
    truth = np.concatenate([np.zeros(inlier_scores.size), np.ones(outlier_scores.size)])
    if not np.isfinite(scores).all():
        raise ValueError("outlier scores contain nan or inf")
    fpr, tpr, _ = roc_curve(truth, scores)
    return OutlierROC(fpr, tpr, float(roc_auc_score(truth, scores)))


def dunn_index(points, labels, max_points: int = 5000) -> float:
    """Dunn index: smallest distance between points of different clusters / largest cluster diameter.

    Higher is better. scikit-learn has no Dunn index, hence this one (on at most ``max_points`` points,
    the first ones; the pairwise distance matrix is n² floats). Distances of zero between clusters are
    skipped, as in the reference (identical images in two clusters).
    """
    x = torch.as_tensor(np.asarray(points), dtype=torch.float64).flatten(1)[:max_points]
    y = torch.as_tensor(np.asarray(labels)).reshape(-1)[:max_points]
    if len(torch.unique(y)) < 2:
        raise ValueError("the Dunn index needs at least two clusters")
    distances = torch.cdist(x, x)
    same = y[:, None] == y[None, :]
    diameter = distances[same].max()
    between = distances[~same]
    between = between[between > 0]
    return float(between.min() / diameter)


def clustering_scores(model, images, layer: int = -1, max_points: int = 5000) -> dict[str, float]:
    """Dunn index and Davies–Bouldin score of the clusters "best component of GMM layer ``layer``".

    The layer must have a single position (1×1 map, e.g. the top layer of architecture E); the points
    are the flattened images (paper 002 §4.3). Returns ``dunn``, ``davies_bouldin`` and ``clusters``.
    """
    images = torch.as_tensor(images)[:max_points].cpu()
    posteriors = model.posteriors(images, layer=layer)
    if posteriors.shape[1:3] != (1, 1):
        raise ValueError(f"clustering needs a GMM layer with one position; layer {layer} has a "
                         f"{posteriors.shape[1]}×{posteriors.shape[2]} map")
    labels = posteriors.reshape(len(images), -1).argmax(dim=1).numpy()
    points = images.flatten(1).numpy()
    return {
        "dunn": dunn_index(points, labels, max_points),
        "davies_bouldin": float(davies_bouldin_score(points, labels)),
        "clusters": int(len(np.unique(labels))),
    }
