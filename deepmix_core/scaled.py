"""Per-variable scaling around a mixture model: the model sees ``y = x · s``, callers keep working in ``x``.

Why it exists: a DRMM layer has one isotropic σ, so the units of each variable decide how much the model
cares about it. On the humanoid IK data (angles in radians, positions in body units) multiplying the
effector and centre-of-mass columns by 3 halved how far conditional samples land from their targets
(see ``scripts/train_pretrained.py``). Rather than changing the data, :class:`ColumnScaled` wraps the model
and converts everything that crosses the boundary:

* data and ``known=`` values: ``y = x · s``; samples come back as ``x = y / s``;
* wishes: a Gaussian prior's mean and std scale by ``s``, a box's bounds by ``s``, and ``a·x + b > 0``
  becomes ``(a / s)·y + b > 0`` (the same half-space);
* densities: ``log p_x(x) = log p_y(x · s) + Σ_d log s_d`` (change of variables).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from deepmix_core.conditioning import Box, Equality, GaussianPrior, Inequality
from deepmix_core.drmm import DRMM
from deepmix_core.history import History
from deepmix_core.persistence import read_checkpoint, save_atomically
from deepmix_core.validation import as_numeric_array

__all__ = ["ColumnScaled"]


def _scaled_condition(condition, scale: torch.Tensor):
    """The same wish expressed for ``y = x · scale``."""
    if isinstance(condition, GaussianPrior):
        return GaussianPrior(condition.mean * scale, condition.std * scale, weight=condition.weight)
    if isinstance(condition, Box):
        return Box(condition.low * scale, condition.high * scale, weight=condition.weight)
    if isinstance(condition, Equality):
        a = condition.a / scale  # a·x = (a/s)·y; the tolerance is a distance, so it rescales with ‖a/s‖
        return Equality(a, condition.b, weight=condition.weight, tolerance=condition.tolerance / a.norm().item())
    if isinstance(condition, Inequality):
        return Inequality(condition.a / scale, condition.b, weight=condition.weight)
    raise TypeError(f"cannot rescale a {type(condition).__name__}")


def _as_list(group):
    if group is None:
        return None
    return [group] if not isinstance(group, (list, tuple)) else list(group)


class ColumnScaled(nn.Module):
    """A DRMM trained and queried on ``x · scale``, with the usual verbs in the original units.

    Parameters
    ----------
    model : the wrapped model (a :class:`~deepmix_core.drmm.DRMM`).
    scale : (D,) positive factors, one per variable.
    """

    def __init__(self, model: DRMM, scale) -> None:
        super().__init__()
        scale = torch.as_tensor(scale, dtype=torch.float32)
        if scale.dim() != 1 or not (scale > 0).all() or not torch.isfinite(scale).all():
            raise ValueError("scale must be a vector of finite numbers > 0")
        if model.n_features is not None and model.n_features != scale.shape[0]:
            raise ValueError(f"scale has {scale.shape[0]} entries but the model has {model.n_features} variables")
        self.model = model
        self.register_buffer("scale", scale)

    # ------------------------------------------------------------------ passthrough
    @property
    def n_features(self) -> int:
        return self.scale.shape[0]

    @property
    def family(self) -> str:
        return f"ColumnScaled({self.model.family})"

    @property
    def log_prob_kind(self) -> str:
        """As the wrapped model's (the change of variables keeps an exact density exact)."""
        return self.model.log_prob_kind

    @property
    def supported_conditions(self) -> frozenset[str]:
        return self.model.supported_conditions

    @property
    def is_fitted(self) -> bool:
        return self.model.is_fitted

    @property
    def n_layers(self) -> int:
        return self.model.n_layers

    @property
    def n_components(self) -> int:
        return self.model.n_components

    def n_parameters(self) -> int:
        """Parameters of the wrapped model (the fixed scale is not learned)."""
        return self.model.n_parameters()

    def _to_model(self, x) -> torch.Tensor:
        """``x · scale``; ``x`` may be any array-like (nan kept: known values use it for "unknown")."""
        x = torch.as_tensor(as_numeric_array(x, "x"), dtype=self.scale.dtype, device=self.scale.device)
        return x * self.scale

    # ------------------------------------------------------------------ verbs
    def fit(self, x, **kwargs) -> History:
        """Train the wrapped model on ``x · scale`` (keyword arguments as in ``DRMM.fit``)."""
        return self.model.fit(self._to_model(x), **kwargs)

    def sample(self, n: int, *, known=None, weight=None, priors=None, constraints=None, **kwargs):
        """Samples in the original units; wishes are converted (arguments as in ``DRMM.sample``)."""
        scale = self.scale
        known = self._to_model(known) if known is not None else None
        priors = _as_list(priors)
        constraints = _as_list(constraints)
        result = self.model.sample(
            n,
            known=known,
            weight=weight,
            priors=[_scaled_condition(p, scale) for p in priors] if priors else None,
            constraints=[_scaled_condition(c, scale) for c in constraints] if constraints else None,
            **kwargs,
        )
        log_jacobian = torch.log(scale).sum()
        if kwargs.get("return_scores"):
            samples, scores = result
            return samples / scale.to(samples), scores + log_jacobian.to(scores)
        return result / scale.to(result)

    @property
    def sample_report_(self):
        """The wrapped DRMM's report on the last ``sample`` call (shares of samples are the same in both units)."""
        return self.model.sample_report_

    def log_prob(self, x, **kwargs) -> torch.Tensor:
        """``log p(x) = log p_model(x · s) + Σ log s`` (keyword arguments as in ``DRMM.log_prob``)."""
        return self.model.log_prob(self._to_model(x), **kwargs) + torch.log(self.scale).sum()

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """One file with the wrapped model's config and state and the scale."""
        payload = {
            "model": type(self).__name__,
            "inner_config": dict(self.model.config),
            "inner_state": self.model.state_dict(),
            "scale": self.scale.cpu(),
        }
        return save_atomically(payload, path)

    @classmethod
    def load(cls, path: str | Path, map_location: str | torch.device | None = "cpu") -> ColumnScaled:
        """Rebuild a model written by :meth:`save`."""
        return cls.from_checkpoint(read_checkpoint(path, map_location), path)

    @classmethod
    def from_checkpoint(cls, payload: dict, path: str | Path = "the checkpoint") -> ColumnScaled:
        """Rebuild a model from a payload already read (and checked) by ``read_checkpoint``."""
        if payload.get("model") != cls.__name__:
            raise ValueError(f"{path} holds a {payload.get('model')!r} model, not a {cls.__name__}")
        inner = DRMM(**payload["inner_config"])
        inner._prepare_for_state({"config": payload["inner_config"], "state": payload["inner_state"]})
        inner.load_state_dict(payload["inner_state"])
        return cls(inner, payload["scale"]).to(inner.device)

    def extra_repr(self) -> str:
        return f"scale={self.scale.tolist()}"
