"""Small pretrained checkpoints shipped with the package, so the IK notebook is live without training.

The files are made by ``make pretrained`` (``scripts/train_pretrained.py``), which records next to each
checkpoint how it was trained (``<name>.json``: model shape, data, steps, seconds). Nothing here downloads.

    from deepmix_core.pretrained import load_pretrained
    model = load_pretrained("humanoid")        # a model of Humanoid().observe(...) vectors
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from deepmix_core.drmm import DRMM
from deepmix_core.scaled import ColumnScaled

__all__ = [
    "PRETRAINED_DIR",
    "available",
    "dcgmm_path",
    "load_model_file",
    "load_pretrained",
    "load_pretrained_dcgmm",
    "pretrained_info",
    "pretrained_path",
]

PRETRAINED_DIR = Path(__file__).resolve().parent


def pretrained_path(name: str) -> Path:
    """Path of the checkpoint ``name`` (e.g. ``"arm"``, ``"humanoid"``), whether or not it exists."""
    return PRETRAINED_DIR / f"{name}_drmm.pt"


def dcgmm_path(name: str) -> Path:
    """Path of the DCGMM checkpoint ``name`` (e.g. ``"mnist"``, ``"mnist_no0"``), whether or not it exists."""
    return PRETRAINED_DIR / f"{name}_dcgmm.pt"


def available() -> list[str]:
    """Names of the checkpoints present in this installation (DCGMM ones end in ``_dcgmm``)."""
    drmm = [path.name.removesuffix("_drmm.pt") for path in PRETRAINED_DIR.glob("*_drmm.pt")]
    return sorted(drmm + [path.stem for path in PRETRAINED_DIR.glob("*_dcgmm.pt")])


def pretrained_info(name: str) -> dict:
    """How the checkpoint was made (the JSON written by ``make pretrained``); ``name`` may end in ``_dcgmm``."""
    path = (PRETRAINED_DIR / f"{name}.json") if name.endswith("_dcgmm") else pretrained_path(name).with_suffix(".json")
    if not path.exists():
        raise FileNotFoundError(f"no training record {path}; run `make pretrained`")
    return json.loads(path.read_text())


def load_pretrained(name: str, map_location: str = "cpu") -> DRMM | ColumnScaled:
    """Load the pretrained model ``name`` (a DRMM, possibly wrapped in :class:`ColumnScaled`).

    A clear error names the command that makes it if it is missing.
    """
    path = pretrained_path(name)
    if not path.exists():
        raise FileNotFoundError(
            f"no pretrained model {name!r} at {path} (available: {available() or 'none'}); "
            "run `make pretrained` to train it (a few minutes on a laptop CPU)"
        )
    return load_model_file(path, map_location)


def load_pretrained_dcgmm(name: str = "mnist", map_location: str = "cpu"):
    """Load a shipped DCGMM: ``"mnist"`` (all digits, with classifier) or ``"mnist_no0"`` (digits 1–9 only).

    Made by ``scripts/train_dcgmm_pretrained.py`` (``make pretrained``) on the offline MNIST split of
    :func:`deepmix_core.data.load_mnist_split`; ``pretrained_info(name + "_dcgmm")`` says how.
    """
    from deepmix_core.dcgmm import DCGMM

    path = dcgmm_path(name)
    if not path.exists():
        raise FileNotFoundError(
            f"no pretrained DCGMM {name!r} at {path}; run `make pretrained` (about 10 minutes on a laptop CPU)"
        )
    return DCGMM.load(path, map_location=map_location)


def load_model_file(path: str | Path, map_location: str = "cpu") -> DRMM | ColumnScaled:
    """Load a file written by ``DRMM.save`` or ``ColumnScaled.save``, whichever it holds."""
    kind = torch.load(Path(path), map_location=map_location, weights_only=True).get("model")
    loaders = {"DRMM": DRMM, "ColumnScaled": ColumnScaled}
    if kind not in loaders:
        raise ValueError(f"{path} holds an unexpected model type {kind!r}")
    return loaders[kind].load(path, map_location=map_location)
