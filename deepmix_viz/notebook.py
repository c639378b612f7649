"""One call that prepares a tutorial notebook: seeds, CPU threads and figure size."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = ["setup_notebook"]


def setup_notebook(seed: int = 0, threads: int | None = 1, dpi: int = 80) -> None:
    """Seed torch and numpy, limit torch's CPU threads and set the figure resolution.

    Parameters
    ----------
    seed : seed for ``torch.manual_seed`` and ``np.random.seed`` (models also take ``seed=`` arguments).
    threads : torch CPU threads; the tutorial models are tiny, so one thread is as fast as two and does
        not fight other programs for the cores. ``None`` leaves torch's default.
    dpi : resolution of inline figures; 80 keeps the saved notebooks light on GitHub.
    """
    torch.manual_seed(seed)
    np.random.seed(seed)
    if threads is not None:
        torch.set_num_threads(threads)
    plt.rcParams["figure.dpi"] = dpi
