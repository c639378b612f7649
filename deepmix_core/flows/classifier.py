"""Maximum-likelihood classification with one generative model per class (paper 004 §IV-D).

The authors' protocol is restated in docs/notes/flow-mixtures.md §3.3. Train a density model p(x | y) on
the examples of each class y, then classify by Bayes' rule:

    ŷ(x) = argmax_y [ log p(x | y) + log P(y) ],

where the class prior log P(y) is left out by default (as in the paper's code: all classes equally likely)
and set to the training class frequencies with ``class_prior=True``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from sklearn.metrics import accuracy_score

__all__ = ["MaxLikelihoodClassifier"]


def _as_numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)


class MaxLikelihoodClassifier:
    """scikit-learn-style classifier built from one density model per class.

    Parameters
    ----------
    model_factory : callable
        Zero-argument callable returning a fresh, unfitted model of any deepmix family (they share
        ``fit(x, **kwargs)`` and ``log_prob(x) -> (N,)``), e.g. ``lambda: GMM(8)``, ``lambda: DRMM(2, 8)`` or
        ``lambda: GenMM(n_components=2, flow={...})``. The same ``fit`` keywords (``epochs``, ``batch_size``,
        ``seed``, ``progress``) mean the same for every family. A DCGMM's ``log_prob`` is a score, not a
        normalised density, so its class scores are not comparable likelihoods.
    class_prior : bool
        Add log P(y) (training class frequencies) to the class log-likelihoods.

    Attributes (after ``fit``)
    ----------
    classes_ : (n_classes,) array of the class labels, sorted
    models_ : list of the fitted per-class models, in the order of ``classes_``
    histories_ : list of what each model's ``fit`` returned
    class_log_prior_ : (n_classes,) array of log class frequencies
    """

    def __init__(self, model_factory: Callable[[], object], class_prior: bool = False) -> None:
        if not callable(model_factory):
            raise ValueError(f"model_factory must be a zero-argument callable, got {type(model_factory).__name__}")
        self.model_factory = model_factory
        self.class_prior = bool(class_prior)

    def fit(self, x, y, **fit_kwargs) -> MaxLikelihoodClassifier:
        """Fit one model per class on the rows of ``x`` with that label; ``fit_kwargs`` go to every ``fit``."""
        x, y = _as_numpy(x), _as_numpy(y)
        if y.ndim != 1 or x.shape[0] != y.shape[0]:
            raise ValueError(f"y must be a vector with one label per row of x, got x {x.shape} and y {y.shape}")
        self.classes_, counts = np.unique(y, return_counts=True)
        if len(self.classes_) < 2:
            raise ValueError(f"need at least two classes, got {self.classes_.tolist()}")
        self.class_log_prior_ = np.log(counts / counts.sum())
        self.models_, self.histories_ = [], []
        for label in self.classes_:
            model = self.model_factory()
            self.histories_.append(model.fit(x[y == label], **fit_kwargs))
            self.models_.append(model)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise RuntimeError("this classifier has not been fitted yet: call fit(x, y) first")

    def log_likelihoods(self, x) -> np.ndarray:
        """log p(x | y) for every row and class, (N, n_classes), in nats."""
        self._check_fitted()
        x = _as_numpy(x)
        columns = [_as_numpy(model.log_prob(x)).astype(np.float64) for model in self.models_]
        return np.stack(columns, axis=1)

    def _joint(self, x) -> np.ndarray:
        joint = self.log_likelihoods(x)
        return joint + self.class_log_prior_ if self.class_prior else joint

    def predict_log_proba(self, x) -> np.ndarray:
        """log P(y | x), (N, n_classes): the class scores normalised by Bayes' rule (uniform prior by default)."""
        joint = self._joint(x)
        return joint - np.logaddexp.reduce(joint, axis=1, keepdims=True)

    def predict_proba(self, x) -> np.ndarray:
        """P(y | x), (N, n_classes)."""
        return np.exp(self.predict_log_proba(x))

    def predict(self, x) -> np.ndarray:
        """The label with the largest log p(x | y) (+ log P(y) if ``class_prior``), (N,)."""
        return self.classes_[np.argmax(self._joint(x), axis=1)]

    def score(self, x, y) -> float:
        """Accuracy of :meth:`predict` on ``(x, y)``."""
        return float(accuracy_score(_as_numpy(y), self.predict(x)))

    def __repr__(self) -> str:
        fitted = f", classes={self.classes_.tolist()}" if hasattr(self, "classes_") else ""
        return f"MaxLikelihoodClassifier(class_prior={self.class_prior}{fitted})"
