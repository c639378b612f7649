"""Normalizing flows and flow mixtures (paper 004).

* :func:`make_vector_flow` — affine coupling flow on vectors (zuko layers), :func:`make_image_flow` — Glow.
* :class:`GenMM` (K flows) and :class:`LatMM` (one flow, Gaussian mixture latent), trained by EM.
* :class:`MaxLikelihoodClassifier` — one generative model per class, predict argmax log p(x | y).
* :func:`dequantize` — integer pixels → continuous data in [−0.5, 0.5).
"""

from .classifier import MaxLikelihoodClassifier
from .data_scaling import dequantize
from .image import ActNorm, AffineCoupling, FlowStep, ImageFlow, InvertibleConv1x1, Squeeze, make_image_flow
from .mixtures import GenMM, LatMM, build_flow
from .vector import VectorFlow, make_vector_flow

__all__ = [
    "ActNorm",
    "AffineCoupling",
    "FlowStep",
    "GenMM",
    "ImageFlow",
    "InvertibleConv1x1",
    "LatMM",
    "MaxLikelihoodClassifier",
    "Squeeze",
    "VectorFlow",
    "build_flow",
    "dequantize",
    "make_image_flow",
    "make_vector_flow",
]
