"""Saving and loading models: one file holding the constructor config and the state dict."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

__all__ = ["SaveLoadMixin", "save_atomically"]


def save_atomically(payload: dict, path: str | Path) -> Path:
    """``torch.save(payload)`` to ``path`` through a temporary file renamed over it.

    A save that fails part-way (a full disk, an interrupted kernel) leaves any earlier file at ``path``
    intact instead of truncated.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(payload, file)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


class SaveLoadMixin:
    """Adds ``save(path)`` and ``Model.load(path, map_location=None)`` to a module with a ``config`` dict.

    The file is a ``torch.save`` of ``{"model": class name, "config": ..., "state": state_dict}``, so a
    model saved on a GPU loads on a CPU-only laptop (``map_location`` defaults to CPU).
    """

    config: dict

    def save(self, path: str | Path) -> Path:
        """Write config and parameters to ``path`` (atomically, see :func:`save_atomically`); returns the path."""
        payload = {"model": type(self).__name__, "config": dict(self.config), "state": self.state_dict()}
        return save_atomically(payload, path)

    @classmethod
    def load(cls, path: str | Path, map_location: str | torch.device | None = "cpu"):
        """Rebuild a model saved with :meth:`save`; raises ``ValueError`` if it holds another model."""
        payload = torch.load(Path(path), map_location=map_location, weights_only=True)
        if payload.get("model") != cls.__name__:
            raise ValueError(f"{path} holds a {payload.get('model')!r} model, not a {cls.__name__}")
        model = cls(**payload["config"])
        model._prepare_for_state(payload)
        model.load_state_dict(payload["state"])
        return model

    def _prepare_for_state(self, payload: dict) -> None:
        """Hook: allocate parameters whose shapes are only known after fitting."""
