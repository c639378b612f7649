"""Small pretrained checkpoints shipped with the package, so the IK and DCGMM notebooks run without training.

The files are made by ``make pretrained`` (``scripts/train_pretrained.py``), which records next to each
checkpoint how it was trained (``<name>.json``: model shape, data, steps, seconds). Nothing here downloads.

    from deepmix_core.pretrained import load_pretrained
    model = load_pretrained("humanoid")        # a DRMM of Humanoid().observe(...) vectors
    model = load_pretrained("mnist_dcgmm")     # a DCGMM of MNIST (all digits, with a classifier)
"""

from __future__ import annotations

import json
from pathlib import Path

from deepmix_core.dcgmm import DCGMM
from deepmix_core.drmm import DRMM
from deepmix_core.persistence import read_checkpoint
from deepmix_core.scaled import ColumnScaled

__all__ = ["PRETRAINED_DIR", "available", "load_model_file", "load_pretrained", "pretrained_info", "pretrained_path"]

PRETRAINED_DIR = Path(__file__).resolve().parent


def pretrained_path(name: str) -> Path:
    """Path of the checkpoint ``name`` (``"arm"``, ``"humanoid"``, ``"mnist_dcgmm"``, …), whether or not it exists.

    DRMM files are ``<name>_drmm.pt``; DCGMM names end in ``_dcgmm`` and their files are ``<name>.pt``.
    """
    return PRETRAINED_DIR / (f"{name}.pt" if name.endswith("_dcgmm") else f"{name}_drmm.pt")


def available() -> list[str]:
    """Names of the checkpoints present in this installation (DCGMM ones end in ``_dcgmm``)."""
    drmm = [path.name.removesuffix("_drmm.pt") for path in PRETRAINED_DIR.glob("*_drmm.pt")]
    return sorted(drmm + [path.stem for path in PRETRAINED_DIR.glob("*_dcgmm.pt")])


def pretrained_info(name: str) -> dict:
    """How the checkpoint was made (the JSON written by ``make pretrained``)."""
    path = pretrained_path(name).with_suffix(".json")
    if not path.exists():
        raise FileNotFoundError(f"no training record {path}; run `make pretrained`")
    return json.loads(path.read_text())


def load_pretrained(name: str, map_location: str = "cpu") -> DRMM | ColumnScaled | DCGMM:
    """Load the pretrained model ``name``: a DRMM (possibly wrapped in :class:`ColumnScaled`) or a DCGMM.

    The DCGMMs are ``"mnist_dcgmm"`` (all digits, with a classifier) and ``"mnist_no0_dcgmm"`` (digits 1–9,
    for the outlier protocol), trained on :func:`deepmix_core.data.load_mnist_split`.

    A clear error names the command that makes it if it is missing.
    """
    path = pretrained_path(name)
    if not path.exists():
        raise FileNotFoundError(
            f"no pretrained model {name!r} at {path} (available: {available() or 'none'}); "
            "run `make pretrained` to train it (a few minutes on a laptop CPU)"
        )
    return load_model_file(path, map_location)


def load_model_file(path: str | Path, map_location: str = "cpu") -> DRMM | ColumnScaled | DCGMM:
    """Load a file written by ``DRMM.save``, ``ColumnScaled.save`` or ``DCGMM.save``, whichever it holds."""
    payload = read_checkpoint(path, map_location)  # read and checked once
    loaders = {"DRMM": DRMM, "ColumnScaled": ColumnScaled, "DCGMM": DCGMM}
    if payload["model"] not in loaders:
        raise ValueError(f"{path} holds an unexpected model type {payload['model']!r}")
    return loaders[payload["model"]].from_checkpoint(payload, path)
