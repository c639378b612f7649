"""Saving and loading models: one file holding the constructor config and the state dict."""

from __future__ import annotations

from pathlib import Path

import torch

__all__ = ["SaveLoadMixin"]


class SaveLoadMixin:
    """Adds ``save(path)`` and ``Model.load(path, map_location=None)`` to a module with a ``config`` dict.

    The file is a ``torch.save`` of ``{"model": class name, "config": ..., "state": state_dict}``, so a
    model saved on a GPU loads on a CPU-only laptop (``map_location`` defaults to CPU).
    """

    config: dict

    def save(self, path: str | Path) -> Path:
        """Write config and parameters to ``path``; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"model": type(self).__name__, "config": dict(self.config), "state": self.state_dict()}
        torch.save(payload, path)
        return path

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
