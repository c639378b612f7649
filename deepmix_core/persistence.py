"""Saving and loading models: one file holding the constructor config, the state dict and a checksum."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import torch

from .runtime import warn_at_caller

__all__ = ["SaveLoadMixin", "payload_checksum", "read_checkpoint", "save_atomically"]


def _feed(hasher, value) -> None:
    """Add ``value`` (nested dicts, lists, tensors and plain numbers or strings) to ``hasher`` in a fixed order."""
    if isinstance(value, dict):
        hasher.update(b"{")
        for key in sorted(value, key=str):
            hasher.update(repr(key).encode())
            _feed(hasher, value[key])
        hasher.update(b"}")
    elif isinstance(value, (list, tuple)):
        hasher.update(b"[")
        for item in value:
            _feed(hasher, item)
        hasher.update(b"]")
    elif torch.is_tensor(value):
        flat = value.detach().cpu().contiguous().reshape(-1)
        hasher.update(f"tensor{value.dtype}{tuple(value.shape)}".encode())
        hasher.update(flat.view(torch.uint8).numpy().tobytes())  # the raw bytes: any flipped bit changes them
    else:
        hasher.update(repr(value).encode())


def payload_checksum(payload: dict) -> str:
    """SHA-256 of everything in ``payload`` except its ``"checksum"`` entry (hex string)."""
    hasher = hashlib.sha256()
    _feed(hasher, {key: value for key, value in payload.items() if key != "checksum"})
    return hasher.hexdigest()


def _file_mode(path: Path) -> int:
    """The mode an overwritten file keeps, or what ``open()`` would give a new one (0o666 less the umask)."""
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def save_atomically(payload: dict, path: str | Path) -> Path:
    """``torch.save(payload)`` with its checksum to ``path``, through a temporary file renamed over it.

    A save that fails part-way (a full disk, an interrupted kernel) leaves any earlier file at ``path``
    intact instead of truncated. A missing folder is created.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file name such as {path / 'model.pt'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**payload, "checksum": payload_checksum(payload)}
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(payload, file)
        os.chmod(temporary, _file_mode(path))  # mkstemp makes the file private; give it a normal file's mode
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def read_checkpoint(path: str | Path, map_location: str | torch.device | None = "cpu") -> dict:
    """Load a file written by :func:`save_atomically` and check its checksum.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a file that is not a deepmix
    checkpoint, is truncated, or whose contents changed since it was saved. Files from before checksums
    load with a ``UserWarning``.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises many kinds (RuntimeError, UnpicklingError, IndexError, ...)
        raise ValueError(
            f"{path} could not be read as a deepmix model file (truncated or damaged?): {error}".split("\n")[0]
        ) from error
    if not isinstance(payload, dict) or "model" not in payload:
        raise ValueError(f"{path} is a torch file but not a deepmix model file (no 'model' entry)")
    stored = payload.get("checksum")
    if stored is None:
        warn_at_caller(f"{path} has no checksum (saved by an older deepmix); it cannot be verified")
    elif stored != payload_checksum(payload):
        raise ValueError(
            f"{path} is damaged: its contents no longer match the checksum written when it was saved; "
            "save the model again or restore the file from a copy"
        )
    return payload


class SaveLoadMixin:
    """Adds ``save(path)`` and ``Model.load(path, map_location=None)`` to a module with a ``config`` dict.

    The file is a ``torch.save`` of ``{"model": class name, "config": ..., "state": state_dict, "checksum": ...}``,
    so a model saved on a GPU loads on a CPU-only laptop (``map_location`` defaults to CPU), and a damaged
    file is refused instead of loading wrong numbers.
    """

    config: dict

    def save(self, path: str | Path) -> Path:
        """Write config and parameters to ``path`` (atomically, see :func:`save_atomically`); returns the path."""
        payload = {"model": type(self).__name__, "config": dict(self.config), "state": self.state_dict(),
                   "fitted": bool(getattr(self, "is_fitted", True))}
        return save_atomically(payload, path)

    @classmethod
    def load(cls, path: str | Path, map_location: str | torch.device | None = "cpu"):
        """Rebuild a model saved with :meth:`save`; raises ``ValueError`` if it holds another model or is damaged."""
        return cls.from_checkpoint(read_checkpoint(path, map_location), path)

    @classmethod
    def from_checkpoint(cls, payload: dict, path: str | Path = "the checkpoint"):
        """Rebuild a model from a payload already read (and checked) by :func:`read_checkpoint`."""
        if payload.get("model") != cls.__name__:
            raise ValueError(f"{path} holds a {payload.get('model')!r} model, not a {cls.__name__}")
        model = cls(**payload["config"])
        model._prepare_for_state(payload)
        model.load_state_dict(payload["state"])
        return model

    def _prepare_for_state(self, payload: dict) -> None:
        """Hook: allocate parameters whose shapes are only known after fitting."""
