"""Deep convolutional Gaussian mixture models (papers 002 and 003): folding, pooling and GMM layers.

* :class:`DCGMM` — the model (``DCGMM.from_spec("F(3,1)-G(25)-F(4,2)-G(25)-F(12,1)-G(49)")``).
* :class:`Fold`, :class:`MaxPool`, :class:`GMMLayer`, :class:`Classifier` — its layers.
* :class:`Sharpening` — settings of gradient-ascent sharpening during sampling.
* :class:`SingleExpAnnealer` — the σ/ε schedule of each GMM layer.
* :mod:`.evaluation` — outlier ROC/AUC, Dunn index and Davies–Bouldin on a layer's clusters.
"""

from .annealing import SingleExpAnnealer, initial_sigma
from .classifier import Classifier
from .evaluation import OutlierROC, clustering_scores, dunn_index, outlier_roc
from .gmm_layer import GMMLayer, torus_squared_distances
from .model import DCGMM, Sharpening, parse_spec
from .transforms import Fold, MaxPool

__all__ = [
    "DCGMM",
    "Classifier",
    "Fold",
    "GMMLayer",
    "MaxPool",
    "OutlierROC",
    "Sharpening",
    "SingleExpAnnealer",
    "clustering_scores",
    "dunn_index",
    "initial_sigma",
    "outlier_roc",
    "parse_spec",
    "torus_squared_distances",
]
