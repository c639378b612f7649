"""Turning discrete pixel values into continuous data for a flow (uniform dequantisation).

A flow is a density on real vectors; images hold integers k ∈ {0, …, L − 1} (L = 256 for 8-bit images,
L = 17 for scikit-learn's 8×8 digits, whose values are 0–16). Dequantisation spreads each integer over its
own bin of width 1/L:

    x = (k + u) / L − 0.5,    u ~ Uniform[0, 1) independently per pixel,

so x ∈ [−0.5, 0.5) (the paper's pixel range). A continuous density p(x) then gives the discrete model
P(k) = ∫_bin p ≈ p(x) · L^(−D), whose NLL per dimension is ``−log p(x) / D + ln L``: pass
``discrete_levels=L`` to ``GenMM.nll`` / ``LatMM.nll`` to add the ln L. The average over u of
−log p(x) is an upper bound on −log P(k) (Theis et al. 2016), so the reported number is conservative.

Deviation from the reference code: it adds Gaussian noise N(0, (1/256)²) instead
(docs/notes/flow-mixtures.md §1.6); uniform noise is what makes the ln L correction a bound, so we use it.
"""

from __future__ import annotations

import numpy as np
import torch

from ..runtime import make_generator

__all__ = ["dequantize"]


def dequantize(images, levels: int = 256, seed: int | None = None) -> torch.Tensor:
    """Uniformly dequantise integer pixel values 0 … ``levels`` − 1 to floats in [−0.5, 0.5).

    Parameters
    ----------
    images : array or tensor of any shape
        uint8 images, or floats holding whole numbers (e.g. 0–255, or 0–16 for sklearn digits).
    levels : int
        Number of discrete values L per pixel (256 for 8-bit data, 17 for the 8×8 digits).
    seed : int, optional
        Seed for the noise u (same seed → same output); ``None`` uses torch's global generator.

    Returns
    -------
    float32 tensor of the same shape: ``(k + u) / L − 0.5`` with ``u ~ Uniform[0, 1)``.
    """
    if not (isinstance(levels, int) and levels >= 2):
        raise ValueError(f"levels must be an integer ≥ 2, got {levels!r}")
    values = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    values = values.to(torch.float64)
    if not torch.isfinite(values).all():
        raise ValueError("images contain nan or inf")
    if (values != values.round()).any():
        raise ValueError("images must hold whole numbers (pixel levels), not already scaled floats")
    if values.numel() and (values.min() < 0 or values.max() > levels - 1):
        raise ValueError(
            f"pixel values must lie in 0 … {levels - 1} for levels={levels}, "
            f"got {values.min().item():g} … {values.max().item():g}"
        )
    noise = torch.rand(values.shape, generator=make_generator(seed, torch.device("cpu")), dtype=torch.float64)
    return ((values + noise) / levels - 0.5).to(torch.float32)
