"""deepmix_core: Gaussian mixtures that grow deep — GMM, DRMM, DCGMM and flow mixtures in compact PyTorch.

The core never plots (see ``deepmix_viz``). Every model shares the verbs ``fit``, ``sample``,
``log_prob``, ``save`` and ``load``; conditioning objects live in :mod:`deepmix_core.conditioning`.
"""

from .conditioning import Box, Equality, GaussianPrior, Inequality
from .dcgmm import DCGMM
from .drmm import DRMM
from .flows import GenMM, LatMM, MaxLikelihoodClassifier
from .gmm import GMM
from .history import History
from .runtime import budget, quick_mode

__all__ = [
    "DCGMM",
    "DRMM",
    "GMM",
    "Box",
    "Equality",
    "GaussianPrior",
    "GenMM",
    "History",
    "Inequality",
    "LatMM",
    "MaxLikelihoodClassifier",
    "budget",
    "quick_mode",
]
__version__ = "0.1.0"
