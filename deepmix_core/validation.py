"""Checks shared by every model family: data matrices, whole numbers, positive numbers, seeds.

Each check either returns a clean value or raises an error whose message says what was wrong and what
to do, so that a learner never meets an ``IndexError`` from deep inside torch. Data may be a numpy
array, a torch tensor, a pandas ``DataFrame``/``Series``, or nested lists.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

__all__ = ["as_data_tensor", "as_numeric_array", "check_finite_number", "check_seed", "check_whole_number"]


def as_numeric_array(x, name: str):
    """A numpy array or tensor of numbers from any array-like; clear errors for text, objects, ragged rows."""
    if torch.is_tensor(x):
        if x.is_complex():
            raise TypeError(f"{name} holds complex numbers; pass real numbers")
        return x.detach()
    if hasattr(x, "to_numpy") and hasattr(x, "shape"):  # pandas DataFrame or Series, read as its values
        x = x.to_numpy()
    try:
        array = np.asarray(x)
    except ValueError as error:  # numpy refuses rows of different lengths
        raise ValueError(f"{name} has rows of different lengths; every row needs the same number of values") from error
    if array.dtype == object:
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must hold numbers only (found {type(array.flat[0]).__name__} values)") from error
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got an array of dtype {array.dtype}")
    if not array.flags.writeable:  # e.g. DataFrame.to_numpy(): torch warns on read-only memory, so copy it
        array = array.copy()
    return array


def as_data_tensor(
    x,
    *,
    name: str = "data",
    device: torch.device | str = "cpu",
    dtype: torch.dtype | None = torch.float32,
    feature_shape: tuple[int, ...] | None = None,
    min_rows: int = 1,
) -> torch.Tensor:
    """Validate ``x`` as rows of finite numbers and return it as a tensor on ``device``.

    ``feature_shape=None`` expects a matrix ``(N, D)`` with any ``D``; otherwise ``x`` must have shape
    ``(N, *feature_shape)``. ``dtype=None`` keeps float64 input in float64 and makes everything else
    float32. Fewer than ``min_rows`` rows, nan or inf raise ``ValueError``.
    """
    values = as_numeric_array(x, name)
    if dtype is None:
        dtype = torch.float64 if values.dtype in (torch.float64, np.float64) else torch.float32
    tensor = torch.as_tensor(values).to(device=device, dtype=dtype)
    if feature_shape is None:
        if tensor.dim() == 1:
            raise ValueError(
                f"{name} must be a matrix (N, D), got a vector of {tensor.shape[0]} values; "
                "use x.reshape(-1, 1) for one variable or x.reshape(1, -1) for one row"
            )
        if tensor.dim() != 2:
            raise ValueError(f"{name} must be a matrix (N, D), got shape {tuple(tensor.shape)}")
    elif tuple(tensor.shape[1:]) != tuple(feature_shape) or tensor.dim() != len(feature_shape) + 1:
        expected = ", ".join(map(str, feature_shape))
        raise ValueError(f"{name} must have shape (N, {expected}), got {tuple(tensor.shape)}")
    if tensor.shape[0] < min_rows:
        raise ValueError(f"{name} has {tensor.shape[0]} rows; at least {min_rows} needed")
    if not torch.isfinite(tensor).all():
        rows = torch.nonzero(~torch.isfinite(tensor.reshape(tensor.shape[0], -1)).all(1)).flatten()
        raise ValueError(
            f"{name} contains nan or inf in {rows.numel()} row(s) (first: row {rows[0].item()}); "
            "remove or impute those rows first"
        )
    return tensor


def check_whole_number(value, name: str, minimum: int = 1) -> int:
    """``value`` as an ``int`` ≥ ``minimum``; numpy integers pass, floats and bools raise ``ValueError``."""
    wanted = "a positive whole number" if minimum == 1 else f"a whole number ≥ {minimum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be {wanted} (an int), got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return int(value)


def check_finite_number(value, name: str, *, positive: bool = False, minimum: float | None = None) -> float:
    """``value`` as a finite ``float`` (and > 0 if ``positive``, ≥ ``minimum`` if given)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be ≥ {minimum}, got {value!r}")
    return value


def check_seed(seed) -> int | None:
    """A seed is ``None`` (the global random state) or a whole number ≥ 0."""
    if seed is None:
        return None
    return check_whole_number(seed, "seed", minimum=0)
