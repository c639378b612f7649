"""Conditioning a Gaussian mixture after training: known values, Gaussian priors, linear constraints.

Paper 001 (§1 and §3.5) observes that a mixture ``p(x) = Σ_k w_k N(x | μ_k, C_k)`` can be conditioned on
a "wish" ``q(x)`` (a prior, or a constraint that is 1 where it holds and 0 elsewhere) by re-weighting
its components:

    w'_k ∝ w_k · c_k,      c_k = ∫ q(x) N(x | μ_k, C_k) dx.

For isotropic or diagonal covariances ``c_k`` has a closed form for every object in this module. Each
object therefore offers the same three things:

``log_multiplier(means, variances)``
    ``log c_k`` for every component (and every row, when the object holds one wish per row);
    shape ``(B, K)``. ``means`` is ``(K, D)``; ``variances`` broadcasts to ``(K, D)`` (a scalar σ² for
    an isotropic layer, ``(K, 1)`` for per-component σ², ``(K, D)`` for diagonal covariances).
``shifted(x_hat)``
    the same wish expressed for the residual ``r = x − x̂`` (paper 001 §3.5: substituting
    ``x = r + x̂`` into ``a·x + b > 0`` gives ``a·r + (b + a·x̂) > 0``). A DRMM layer calls this with the
    means it chose, one row per sample, so deeper layers see the wish in their own residual space.
``check_dim(D)``
    raise a clear ``ValueError`` if the wish does not fit data with ``D`` variables.

Every object also has a ``weight`` (default 1): the log-multiplier is scaled by it, so 0 switches a wish
off and values above 1 make it stricter (the reference implementation calls this β).

Tail probabilities use ``torch.special.log_ndtr`` so that constraints far on the wrong side keep their
ordering (the reference's ``log(Φ(p) + 1e-8)`` flattens below p ≈ −5).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import torch

from .runtime import warn_at_caller
from .validation import as_numeric_array

__all__ = [
    "Box",
    "Condition",
    "Equality",
    "GaussianPrior",
    "Inequality",
    "Known",
    "WishReport",
    "as_condition_list",
    "report_on_wishes",
    "total_log_multiplier",
]

LOG_2PI = math.log(2.0 * math.pi)
# Floor for any log-multiplier: keeps far-infeasible components finite (so softmax never sees a row
# of -inf and returns NaN) while staying far below anything a feasible component can score.
LOG_FLOOR = -1e30


def _as_tensor(value, name: str, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Float tensor from a number, list, numpy array, pandas object or tensor; clear error for anything else."""
    try:
        return torch.as_tensor(as_numeric_array(value, name), dtype=dtype)
    except TypeError as error:
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from error


# Above this z, log(ndtr(z)) is as accurate as log_ndtr (max error 1e-5 in float32) and 5× cheaper.
_TAIL_Z = -3.0


def _log_ndtr(z: torch.Tensor) -> torch.Tensor:
    """log Φ(z) for the standard normal CDF, exact far into the tails.

    ``torch.special.log_ndtr`` costs ~25 ns per element on a CPU and dominated constrained sampling
    (20 inequalities × 10 layers per IK query); it is used only for the far left tail, where
    ``log(ndtr(z))`` would lose precision and finally underflow.
    """
    out = torch.log(torch.special.ndtr(torch.clamp(z, min=_TAIL_Z)))  # clamped: no 0·inf in the gradient
    tail = z < _TAIL_Z
    if tail.any():
        out = out.masked_scatter(tail, torch.special.log_ndtr(z[tail]))
    return out


def _log_interval_probability(lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """log(Φ(upper) − Φ(lower)) for standardised bounds, stable in both tails.

    When both bounds are positive we use the mirror image Φ(−lower) − Φ(−upper), so that the
    subtraction always happens in the lower tail where ``log_ndtr`` keeps full precision.
    """
    mirror = lower > 0
    lo = torch.where(mirror, -upper, lower)
    hi = torch.where(mirror, -lower, upper)
    log_hi = _log_ndtr(hi)
    log_lo = _log_ndtr(lo)
    # log(e^a − e^b) = a + log(1 − e^{b−a}) with b ≤ a; clamp keeps log1p away from log(0) = -inf
    ratio = torch.exp(torch.clamp(log_lo - log_hi, max=0.0))
    return log_hi + torch.log1p(-torch.clamp(ratio, max=1.0 - 1e-7))


class Condition:
    """Base class for everything that can condition a mixture. Subclasses are small dataclasses."""

    weight: float = 1.0

    def log_multiplier(self, means: torch.Tensor, variances: torch.Tensor | float) -> torch.Tensor:
        """``weight · log c_k`` with shape ``(B, K)`` (B = 1 unless the wish holds one row per sample)."""
        raw = self._log_c(means, torch.as_tensor(variances, dtype=means.dtype, device=means.device))
        return torch.clamp(self.weight * raw, min=LOG_FLOOR)

    def _log_c(self, means: torch.Tensor, variances: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def shifted(self, x_hat: torch.Tensor) -> Condition:  # pragma: no cover
        """The same wish for the residual ``r = x − x̂``; ``x_hat`` is ``(B, D)``."""
        raise NotImplementedError

    def check_dim(self, dim: int) -> None:  # pragma: no cover
        """Raise ``ValueError`` if the wish does not fit data with ``dim`` variables."""
        raise NotImplementedError

    @property
    def rows(self) -> int:
        """How many rows of wishes the object holds: 1 (the same wish for every sample) or one per sample."""
        batched = self._batched_tensor()
        return batched.shape[0] if batched is not None else 1

    def _batched_tensor(self) -> torch.Tensor | None:
        return None

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> Condition:
        """Copy with every tensor field on ``device`` (and, if given, floating tensors in ``dtype``)."""
        clone = copy.copy(self)
        for name, value in vars(self).items():
            if isinstance(value, torch.Tensor):
                setattr(clone, name, value.to(device=device, dtype=dtype if value.is_floating_point() else None))
        return clone

    def _check_width(self, tensor: torch.Tensor, dim: int, what: str) -> None:
        if tensor.shape[-1] != dim:
            raise ValueError(
                f"{type(self).__name__}: {what} has {tensor.shape[-1]} entries but the data has {dim} "
                f"variables; give one entry per variable"
            )


def _broadcast_variances(variances: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    """Expand a scalar, ``(K, 1)`` or ``(K, D)`` variance to ``(K, D)``."""
    return torch.broadcast_to(variances, means.shape)


@dataclass(init=False)
class Known(Condition):
    """Known values: a row (or a batch of rows) with ``nan`` where a variable is unknown.

    ``c_k = Π_d N(x_d | μ_kd, v_kd)^{m_d}`` over the known variables (paper 001 Eq. 11), where the
    per-variable weight ``m_d`` is 1 to condition, 0 to ignore and fractional for soft evidence.
    Unlike the other conditions, ``weight=`` here is this per-variable ``m_d`` (stored as ``mask``); the
    scalar ``.weight`` of a ``Known`` is always 1.
    """

    values: torch.Tensor
    mask: torch.Tensor

    def __init__(self, values, weight=None) -> None:
        values = _as_tensor(values, "known")
        if values.dim() not in (1, 2):
            raise ValueError(f"known must be one row (D,) or a batch of rows (B, D), got shape {tuple(values.shape)}")
        if torch.isinf(values).any():
            raise ValueError("known contains ±inf; use nan for unknown variables and finite numbers for known ones")
        observed = ~torch.isnan(values)
        if weight is None:
            mask = observed.float()
        else:
            weight = _as_tensor(weight, "weight")
            if weight.shape[-1] != values.shape[-1]:
                raise ValueError(
                    f"weight has {weight.shape[-1]} entries but known has {values.shape[-1]}; give one per variable"
                )
            if not torch.isfinite(weight).all() or (weight < 0).any():
                raise ValueError("weight must be finite and ≥ 0 (1 = condition, 0 = ignore, fractional = soft)")
            if weight.dim() == 2 and values.dim() == 1:
                values, observed = values.expand_as(weight), observed.expand_as(weight)  # one row per sample
            mask = torch.where(observed, weight.expand_as(values), torch.zeros_like(values))
        self.values = torch.nan_to_num(values, nan=0.0)
        self.mask = mask
        self.weight = 1.0

    @classmethod
    def fully_observed(cls, data: torch.Tensor) -> Known:
        """Every variable known with weight 1 (the training and likelihood view of a batch); no copy, no checks."""
        known = cls.__new__(cls)
        known.values, known.mask, known.weight = data, torch.ones_like(data[0]), 1.0
        return known

    @property
    def is_empty(self) -> bool:
        """True when no variable is known (nothing to condition on)."""
        return bool((self.mask == 0).all())

    def _log_c(self, means, variances):
        precisions = 1.0 / _broadcast_variances(variances, means)  # (K, D)
        mask = self.mask if self.mask.dim() == 2 else self.mask.expand_as(self.values)
        values = self.values if self.values.dim() == 2 else self.values[None]
        # Σ_d m_d (x_d − μ_kd)² / v_kd expanded into matmuls: m x² · 1/v − 2 m x · μ/v + m · μ²/v
        squared = (mask * values**2) @ precisions.T - 2.0 * (mask * values) @ (means * precisions).T
        squared = squared + mask @ (means**2 * precisions).T
        log_norm = mask @ (LOG_2PI - torch.log(precisions)).T  # Σ_d m_d log(2π v_kd)
        # masked Gaussian log-likelihood of paper 001 Eq. 11: Σ_d m_d log N(x_d | μ_kd, v_kd)
        return -0.5 * (squared.clamp_min(0.0) + log_norm)

    def _batched_tensor(self):
        return self.values if self.values.dim() == 2 else None

    def shifted(self, x_hat):
        clone = copy.copy(self)
        clone.values = self.values - x_hat  # the mask stays: a known variable stays known
        return clone

    def check_dim(self, dim):
        self._check_width(self.values, dim, "known")


@dataclass(init=False)
class GaussianPrior(Condition):
    """Diagonal Gaussian wish ``N(mean, diag(std²))``; ``nan`` mean or ``inf`` std leaves a variable free.

    Per variable ``∫ N(x | m, s²) N(x | μ, v) dx = N(m | μ, v + s²)`` (paper 001 §3.5), so
    ``log c_k = Σ_d log N(m_d | μ_kd, v_kd + s_d²)`` over the constrained variables.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean, std, weight: float = 1.0) -> None:
        mean = _as_tensor(mean, "GaussianPrior mean")
        std = _as_tensor(std, "GaussianPrior std")
        if mean.dim() not in (1, 2):
            raise ValueError(f"GaussianPrior mean must be (D,) or (B, D), got shape {tuple(mean.shape)}")
        if std.dim() >= 1 and std.shape[-1] not in (1, mean.shape[-1]):
            raise ValueError(f"GaussianPrior std has {std.shape[-1]} entries but mean has {mean.shape[-1]}")
        std = torch.broadcast_to(std, mean.shape[-1:]).clone() if std.dim() <= 1 else std
        if std.shape[-1] != mean.shape[-1]:
            raise ValueError(f"GaussianPrior std has {std.shape[-1]} entries but mean has {mean.shape[-1]}")
        if torch.isnan(std).any() or (std <= 0).any():
            raise ValueError("GaussianPrior std must be > 0 (use inf to leave a variable free)")
        if torch.isinf(mean).any():
            raise ValueError("GaussianPrior mean must be finite (use nan to leave a variable free)")
        _check_weight(weight)
        self.mean, self.std, self.weight = mean, std, float(weight)

    def _log_c(self, means, variances):
        variances = _broadcast_variances(variances, means)
        free = torch.isnan(self.mean) | torch.isinf(self.std)  # (D,) or (B, D)
        mean = torch.nan_to_num(self.mean, nan=0.0).reshape(-1, 1, means.shape[-1])
        std = torch.where(torch.isinf(self.std), torch.ones_like(self.std), self.std)
        total_var = variances + std.reshape(-1, 1, means.shape[-1]) ** 2
        log_normal = -0.5 * ((mean - means) ** 2 / total_var + torch.log(total_var) + LOG_2PI)
        return torch.where(free.reshape(-1, 1, means.shape[-1]), 0.0, log_normal).sum(-1)

    def _batched_tensor(self):
        return self.mean if self.mean.dim() == 2 else None

    def shifted(self, x_hat):
        clone = copy.copy(self)
        clone.mean = self.mean - x_hat  # prior mean ← mean − x̂
        return clone

    def check_dim(self, dim):
        self._check_width(self.mean, dim, "mean")


def _check_weight(weight: float) -> None:
    if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight >= 0):
        raise ValueError(f"weight must be a finite number ≥ 0, got {weight!r}")


def _normalised_plane(a, b, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate ``a``, ``b`` and scale them so that ‖a‖ = 1 (b keeps the same meaning).

    The scaling runs in float64 after dividing by max |a_d|, so that any magnitude works: ``a = [1e20, 0]``
    and ``a = [1e-30, 0]`` both become ``[1, 0]`` instead of overflowing or underflowing to zero.
    """
    a = _as_tensor(a, f"{kind} a", dtype=torch.float64)
    b = _as_tensor(b, f"{kind} b", dtype=torch.float64)
    if a.dim() != 1:
        raise ValueError(f"{kind} a must be a vector (D,), got shape {tuple(a.shape)}")
    if b.dim() > 1:
        raise ValueError(f"{kind} b must be a number (or one number per row), got shape {tuple(b.shape)}")
    if not torch.isfinite(a).all() or not torch.isfinite(b).all():
        raise ValueError(f"{kind} a and b must be finite, got a={a.tolist()}, b={b.tolist()}")
    largest = a.abs().max()
    if largest == 0:
        raise ValueError(f"{kind} a is all zeros: the constraint a·x + b needs a direction")
    length = torch.linalg.vector_norm(a / largest)  # ‖a‖ / max|a_d|, between 1 and √D: no overflow or underflow
    a_unit, b_unit = a / largest / length, b / largest / length
    if b_unit.abs().max() > torch.finfo(torch.float32).max:
        raise ValueError(f"{kind}: b / ‖a‖ = {b_unit.tolist()} is too large to represent; rescale the constraint")
    return a_unit.float(), b_unit.float()


def _projection(a: torch.Tensor, b: torch.Tensor, means: torch.Tensor, variances: torch.Tensor):
    """Mean and standard deviation of ``a·x + b`` under each component: ``(B, K)`` and ``(K,)``."""
    variances = _broadcast_variances(variances, means)
    centre = means @ a + b.reshape(-1, 1)  # a·μ_k + b
    spread = torch.sqrt((a**2 * variances).sum(-1))  # sqrt(aᵀ C_k a), = σ_k for isotropic and ‖a‖ = 1
    return centre, spread


@dataclass(init=False)
class Inequality(Condition):
    """Linear inequality ``a·x + b > 0``.

    With ‖a‖ = 1 the component's mass on the valid side is ``Φ((a·μ_k + b) / σ_k)`` (paper 001 §3.5),
    generalised to diagonal covariances by ``σ_k² = aᵀ C_k a``.
    """

    a: torch.Tensor
    b: torch.Tensor

    def __init__(self, a, b, weight: float = 1.0) -> None:
        self.a, self.b = _normalised_plane(a, b, "Inequality")
        _check_weight(weight)
        self.weight = float(weight)

    def _log_c(self, means, variances):
        centre, spread = _projection(self.a, self.b, means, variances)
        return _log_ndtr(centre / spread)

    def _batched_tensor(self):
        return self.b if self.b.dim() == 1 else None

    def shifted(self, x_hat):
        clone = copy.copy(self)
        clone.b = self.b + x_hat @ self.a  # b_r = b + a·x̂ (paper 001 §3.5)
        return clone

    def check_dim(self, dim):
        self._check_width(self.a, dim, "a")

    def holds(self, x: torch.Tensor) -> torch.Tensor:
        """Boolean per row of ``x``: does ``a·x + b > 0`` hold?"""
        return x @ self.a.to(x) + self.b.to(x) > 0


@dataclass(init=False)
class Equality(Condition):
    """Linear equality ``a·x + b = 0`` (any direction ``a``, not only an axis).

    A delta wish on the hyperplane gives ``c_k = N(0 | a·μ_k + b, aᵀ C_k a + tolerance²)`` with ‖a‖ = 1:
    the density of the component's projection at the plane. ``tolerance`` (default 0) softens it.
    """

    a: torch.Tensor
    b: torch.Tensor
    tolerance: float

    def __init__(self, a, b, weight: float = 1.0, tolerance: float = 0.0) -> None:
        self.a, self.b = _normalised_plane(a, b, "Equality")
        _check_weight(weight)
        if not (math.isfinite(tolerance) and tolerance >= 0):
            raise ValueError(f"Equality tolerance must be finite and ≥ 0, got {tolerance!r}")
        self.weight, self.tolerance = float(weight), float(tolerance)

    def _log_c(self, means, variances):
        centre, spread = _projection(self.a, self.b, means, variances)
        total_var = spread**2 + self.tolerance**2
        return -0.5 * (centre**2 / total_var + torch.log(total_var) + LOG_2PI)

    shifted = Inequality.shifted  # the same hyperplane shift b_r = b + a·x̂
    check_dim = Inequality.check_dim
    _batched_tensor = Inequality._batched_tensor

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """Signed distance ``a·x + b`` of each row of ``x`` from the plane (‖a‖ = 1)."""
        return x @ self.a.to(x) + self.b.to(x)


@dataclass(init=False)
class Box(Condition):
    """Axis-aligned box ``low < x < high``; ``-inf``/``inf`` (or ``nan``) bounds leave a side open.

    Per variable the component's mass inside is ``Φ((high − μ)/σ) − Φ((low − μ)/σ)``, computed exactly
    in log space. (The reference code multiplies the two one-sided masses instead, which equals the
    interval mass only when one side is open and overestimates it otherwise.)
    """

    low: torch.Tensor
    high: torch.Tensor

    def __init__(self, low, high, weight: float = 1.0) -> None:
        low = torch.nan_to_num(_as_tensor(low, "Box low"), nan=-math.inf)
        high = torch.nan_to_num(_as_tensor(high, "Box high"), nan=math.inf)
        if low.dim() != 1 or high.dim() != 1 or low.shape != high.shape:
            raise ValueError(
                f"Box low and high must be vectors of the same length, got {tuple(low.shape)} and {tuple(high.shape)}"
            )
        bad = torch.nonzero(low >= high).flatten().tolist()
        if bad:
            d = bad[0]
            raise ValueError(
                f"Box low ≥ high on variable {d} ({low[d].item()} ≥ {high[d].item()}); "
                "give low < high (use Equality or known= to pin a value)"
            )
        _check_weight(weight)
        self.low, self.high, self.weight = low, high, float(weight)

    def _log_c(self, means, variances):
        std = torch.sqrt(_broadcast_variances(variances, means))
        low = self.low.reshape(-1, 1, means.shape[-1])
        high = self.high.reshape(-1, 1, means.shape[-1])
        per_variable = _log_interval_probability((low - means) / std, (high - means) / std)
        return per_variable.sum(-1)

    def _batched_tensor(self):
        return self.low if self.low.dim() == 2 else None

    def shifted(self, x_hat):
        clone = copy.copy(self)
        clone.low, clone.high = self.low - x_hat, self.high - x_hat  # box ← box − x̂
        return clone

    def check_dim(self, dim):
        self._check_width(self.low, dim, "low")

    def holds(self, x: torch.Tensor) -> torch.Tensor:
        """Boolean per row of ``x``: is the row strictly inside the box?"""
        return ((x > self.low.to(x)) & (x < self.high.to(x))).all(-1)


def as_condition_list(
    dim: int,
    device: torch.device | str,
    known=None,
    weight=None,
    priors=None,
    constraints=None,
    n: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> list[Condition]:
    """Gather ``known=``, ``weight=``, ``priors=`` and ``constraints=`` into one validated list.

    Raises ``ValueError`` early (before any sampling) for shapes that do not fit ``dim`` variables or,
    when ``n`` is given, for wishes that hold neither 1 row nor ``n`` rows; ``TypeError`` for objects
    that are not conditions.
    """
    conditions: list[Condition] = []
    if known is not None:
        known_condition = Known(known.cpu() if isinstance(known, torch.Tensor) else known, weight)
        known_condition.check_dim(dim)  # even a row of nan must have one entry per variable
        if not known_condition.is_empty:
            conditions.append(known_condition)
    elif weight is not None:
        raise ValueError("weight= only makes sense together with known=")
    for group, allowed in ((priors, (GaussianPrior,)), (constraints, (Inequality, Equality, Box))):
        if group is None:
            continue
        if isinstance(group, Condition):
            group = [group]
        for item in group:
            if not isinstance(item, allowed):
                names = " or ".join(cls.__name__ for cls in allowed)
                raise TypeError(f"expected {names}, got {type(item).__name__}")
            conditions.append(item)
    for condition in conditions:
        condition.check_dim(dim)
        if n is not None and condition.rows not in (1, n):
            raise ValueError(
                f"{type(condition).__name__} holds {condition.rows} rows of wishes; give 1 (the same for every "
                f"sample) or one per sample (n={n})"
            )
    return [condition.to(device, dtype) for condition in conditions]


def total_log_multiplier(
    conditions: list[Condition], means: torch.Tensor, variances: torch.Tensor | float
) -> torch.Tensor | None:
    """Σ of the log-multipliers of all conditions, ``(B, K)``; ``None`` when there are none."""
    total = None
    for condition in conditions:
        term = condition.log_multiplier(means, variances)
        total = term if total is None else total + term
    return None if total is None else torch.clamp(total, min=LOG_FLOOR)


# ---------------------------------------------------------------------- how well were the wishes met?
# A sample call warns when fewer than this share of its samples meet every inequality and box ...
SATISFIED_WARNING = 0.1
# ... when the model gives the inequalities and boxes less than this probability before conditioning ...
PROBABILITY_WARNING = 1e-6
# ... or when an equality's plane lies more than this many standard deviations from every component.
PLANE_DISTANCE_WARNING = 5.0


@dataclass
class WishReport:
    """How feasible the wishes of one ``sample`` call were, and how well the samples met them.

    ``probability``: estimated probability under the model, given the known values but before the other
    wishes, that every inequality and box holds: ``Σ_k w_k Π_c c_k`` (the mean over rows of per-row wishes;
    the product treats a component's constraints as independent, exact for one constraint or a box).
    ``satisfied``: the share of the returned samples that meet every inequality and box. Both are ``None``
    without inequalities or boxes.
    ``plane_distances``: for each equality, the distance of its plane from the nearest component, in that
    component's standard deviations along ``a``. ``warning``: the text warned, or ``None``.
    """

    probability: float | None = None
    satisfied: float | None = None
    plane_distances: list[float] = field(default_factory=list)
    warning: str | None = None


def report_on_wishes(
    conditions: list[Condition],
    log_weights: torch.Tensor,
    means: torch.Tensor,
    variances: torch.Tensor | float,
    samples: torch.Tensor,
    family: str,
) -> WishReport:
    """Measure the wishes among ``conditions`` against a mixture ``(log_weights, means, variances)`` and samples.

    ``means``/``variances`` describe the model as a Gaussian mixture over the data (a GMM's components, a
    DRMM's first layer). Issues a ``UserWarning`` when the wishes look infeasible or
    the samples mostly miss them; wishes with ``weight=0`` are switched off and not counted.
    """
    report = WishReport()
    active = [c for c in conditions if c.weight > 0]
    hard = [c for c in active if isinstance(c, (Inequality, Box))]
    variances = torch.as_tensor(variances, dtype=means.dtype, device=means.device)
    if hard:
        for known in (c for c in conditions if isinstance(c, Known)):  # the probability given the known values
            log_weights = log_weights + known.log_multiplier(means, variances)
            log_weights = log_weights - torch.logsumexp(log_weights, dim=-1, keepdim=True)
        log_c = sum(c._log_c(means, variances) for c in hard)  # (B, K): log Π_c c_k, without the weights
        report.probability = torch.logsumexp(log_weights + log_c, dim=-1).exp().mean().item()
        holds = torch.ones(samples.shape[0], dtype=torch.bool, device=samples.device)
        for condition in hard:
            holds &= condition.holds(samples)
        report.satisfied = holds.float().mean().item()
    for condition in active:
        if isinstance(condition, Equality):
            centre, spread = _projection(condition.a, condition.b, means, variances)
            total = torch.sqrt(spread**2 + condition.tolerance**2)
            report.plane_distances.append((centre.abs() / total).min(-1).values.max().item())
    problems = []
    if report.probability is not None and report.probability < PROBABILITY_WARNING:
        problems.append(f"the model gives the inequalities/boxes a probability of only {report.probability:.2g}")
    if report.satisfied is not None and report.satisfied < SATISFIED_WARNING:
        problems.append(f"only {100 * report.satisfied:.1f}% of the {samples.shape[0]} samples meet them all")
    far = [d for d in report.plane_distances if d > PLANE_DISTANCE_WARNING]
    if far:
        problems.append(f"an equality's plane lies {max(far):.1f} standard deviations from every component")
    if problems:
        report.warning = (
            f"{family}.sample: the wishes look infeasible for this model: {'; '.join(problems)}. Check the signs "
            "(Inequality(a, b) keeps a·x + b > 0), relax the constraints, or train on data that covers them. "
            "The numbers are in model.sample_report_."
        )
        warn_at_caller(report.warning)
    return report
