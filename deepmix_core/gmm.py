"""The classic Gaussian mixture, fitted by EM, with the conditioning of paper 001 §1.

``p(x) = Σ_k w_k N(x | μ_k, C_k)`` with isotropic ``C_k = σ_k² I`` or diagonal ``C_k = diag(v_k)``
covariances. Conditioning follows paper 001 Fig. 1: every wish (known values, Gaussian priors,
constraints) multiplies the component weights by ``c_k = ∫ q(x) N(x | μ_k, C_k) dx``; a component is
then drawn from the re-weighted mixture and a point from that component. With diagonal covariances the
known variables are independent of the others inside a component, so fixing them and sampling the rest
from the component is exact Gaussian conditioning; inequality, equality and box constraints are the
paper's approximation (exact only as the number of components grows).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from .base import MixtureModel, resolve_budget
from .conditioning import (
    LOG_2PI,
    GaussianPrior,
    Known,
    as_condition_list,
    report_on_wishes,
    total_log_multiplier,
)
from .history import History
from .runtime import make_generator, progress_bar
from .validation import as_data_tensor, check_finite_number, check_whole_number

__all__ = ["GMM"]

COVARIANCE_TYPES = ("isotropic", "diag")
INIT_METHODS = ("kmeans++", "data")


def kmeans_plus_plus(x: torch.Tensor, k: int, generator: torch.Generator | None) -> torch.Tensor:
    """k-means++ seeding (Arthur & Vassilvitskii 2007): each new centre is drawn ∝ squared distance.

    Written here (rather than calling scikit-learn) so it runs on the model's device inside ``fit``.
    """
    n = x.shape[0]
    first = torch.randint(n, (1,), generator=generator, device=x.device)
    centres = [x[first]]
    closest = ((x - centres[0]) ** 2).sum(-1)
    for _ in range(1, k):
        probs = closest / closest.sum() if closest.sum() > 0 else torch.full_like(closest, 1.0 / n)
        pick = torch.multinomial(probs, 1, generator=generator)
        centres.append(x[pick])
        closest = torch.minimum(closest, ((x - x[pick]) ** 2).sum(-1))
    return torch.cat(centres)


class GMM(MixtureModel):
    """Gaussian mixture with EM fitting, exact ``log_prob`` and conditional sampling.

    Parameters
    ----------
    n_components : int
        Number of mixture components K.
    covariance : {"isotropic", "diag"}
        ``σ_k² I`` per component (what DRMM layers use) or a diagonal ``diag(v_k)``.
    init : {"kmeans++", "data"}
        Initial means: k-means++ seeding, or K distinct random data rows.
    reg_covar : float
        Added to every variance for numerical stability (as scikit-learn's ``reg_covar``).
    n_features : int, optional
        Data dimension; known after ``fit`` (given when loading a saved model).

    The model computes in float32, or in float64 when ``fit`` gets float64 data (use that when clusters
    sit far from the origin relative to their spread: the expanded squares lose digits in float32).

    Attributes (after ``fit``; numpy, named as in scikit-learn)
    ----------
    means_ : (K, D) array
    weights_ : (K,) array
    covariances_ : (K,) array for isotropic (σ_k²), (K, D) for diag
    converged_, n_iter_, lower_bound_ : as in ``sklearn.mixture.GaussianMixture``
    """

    family = "GMM"
    log_prob_kind = "exact"
    supported_conditions = frozenset({"known", "weight", "priors", "constraints"})

    def __init__(
        self,
        n_components: int,
        covariance: str = "isotropic",
        init: str = "kmeans++",
        reg_covar: float = 1e-6,
        n_features: int | None = None,
    ) -> None:
        super().__init__()
        n_components = check_whole_number(n_components, "n_components")
        if covariance not in COVARIANCE_TYPES:
            raise ValueError(f"covariance must be one of {COVARIANCE_TYPES}, got {covariance!r}")
        if init not in INIT_METHODS:
            raise ValueError(f"init must be one of {INIT_METHODS}, got {init!r}")
        reg_covar = check_finite_number(reg_covar, "reg_covar", minimum=0.0)
        self.n_components, self.covariance, self.init, self.reg_covar = n_components, covariance, init, reg_covar
        self.converged_, self.n_iter_, self.lower_bound_ = False, 0, -math.inf
        self._fitted = False
        self.register_buffer("means", torch.zeros(0))
        self.register_buffer("variances", torch.zeros(0))
        self.register_buffer("log_weights", torch.zeros(0))
        if n_features is not None:
            self._allocate(n_features)

    @property
    def config(self) -> dict:
        return {
            "n_components": self.n_components,
            "covariance": self.covariance,
            "init": self.init,
            "reg_covar": self.reg_covar,
            "n_features": self.n_features,
        }

    @property
    def n_features(self) -> int | None:
        return self.means.shape[1] if self.means.dim() == 2 else None

    @property
    def device(self) -> torch.device:
        return self.means.device

    def _allocate(self, dim: int, dtype: torch.dtype = torch.float32) -> None:
        k = self.n_components
        var_shape = (k,) if self.covariance == "isotropic" else (k, dim)
        self.means = torch.zeros(k, dim, device=self.device, dtype=dtype)
        self.variances = torch.ones(var_shape, device=self.device, dtype=dtype)
        self.log_weights = torch.full((k,), -math.log(k), device=self.device, dtype=dtype)

    @property
    def is_fitted(self) -> bool:
        """True after ``fit`` (or ``load``); a model built with ``n_features`` alone is not fitted."""
        return self._fitted

    def _check_fitted(self) -> None:
        """Sampling and densities need parameters: after ``fit``, ``load``, or ``n_features=`` (initial values)."""
        if self.n_features is None:
            raise RuntimeError(f"this {self.family} has not been fitted yet: call fit(data) first")

    _check_built = _check_fitted

    # ---------------------------------------------------------------- densities
    def _component_variances(self) -> torch.Tensor:
        """Variances shaped to broadcast against means: (K, 1) isotropic or (K, D) diag."""
        return self.variances[:, None] if self.covariance == "isotropic" else self.variances

    def component_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``log N(x_i | μ_k, C_k)`` for every row and component, ``(N, K)``, as one matmul.

        ``log N(x | μ_k, C_k) = −½ Σ_d x_d²/v_kd + Σ_d x_d μ_kd/v_kd − ½ Σ_d (μ_kd²/v_kd + log 2π v_kd)``
        is linear in the features ``[x², x, 1]``, so ``features(x) @ coefficients`` gives it at once. The
        expansion cancels large terms when x is far from the origin (data around 10⁶ in float32 lose every
        digit), so both x and the means are first shifted by the mixture's mean ``c = Σ_k w_k μ_k``: a
        Gaussian's density does not change when x and μ move together.
        """
        centre = self.log_weights.exp() @ self.means  # (D,)
        return _features(x - centre) @ self._log_normal_coefficients(self.means - centre)

    def _log_normal_coefficients(self, means: torch.Tensor | None = None) -> torch.Tensor:
        """The (2D + 1, K) matrix that maps ``[x², x, 1]`` to ``log N(x | μ_k, C_k)`` (``means``: μ, default ours)."""
        means = self.means if means is None else means
        precisions = 1.0 / self._component_variances().expand_as(means)  # 1 / v_kd, (K, D)
        constant = -0.5 * (means**2 * precisions - torch.log(precisions) + LOG_2PI).sum(-1)
        return torch.cat([-0.5 * precisions.T, (means * precisions).T, constant[None]])

    def log_prob(self, x) -> torch.Tensor:
        """Exact log-density ``log Σ_k w_k N(x | μ_k, C_k)`` per row, shape ``(N,)``."""
        self._check_fitted()
        x = as_data_tensor(x, name="x", device=self.device, dtype=self.means.dtype)
        self._check_width(x)
        return self._checked_log_prob(torch.logsumexp(self.component_log_prob(x) + self.log_weights, dim=1))

    def _check_width(self, x: torch.Tensor) -> None:
        if x.shape[1] != self.n_features:
            raise ValueError(f"data has {x.shape[1]} columns but the model was fitted on {self.n_features}")

    # ---------------------------------------------------------------- EM
    @torch.no_grad()
    def fit(
        self,
        data,
        *,
        epochs: int | None = None,
        steps: int | None = None,
        batch_size: int | None = None,
        seed: int | None = 0,
        progress: bool = True,
        warm_start: bool = False,
        tol: float = 1e-4,
    ) -> History:
        """Fit by expectation-maximisation; returns a :class:`History` with the mean log-likelihood.

        Parameters
        ----------
        data : (N, D) array or tensor of finite numbers (float64 data gives a float64 model).
        epochs, steps : the EM budget (default 100). One EM iteration visits every row once, so it is both
            one epoch and one step: ``epochs`` and ``steps`` mean the same here (give one of them).
        batch_size : rows per chunk of the E-step. The M-step needs sums over all rows, so chunks are
            accumulated before every update: the result does not depend on ``batch_size``, only the memory
            held at once does (``None``: all rows in one go).
        seed : seeds the k-means++ (or random-row) initialisation.
        progress : show a tqdm bar.
        warm_start : continue EM from the current parameters instead of a fresh initialisation
            (on a model that was never fitted, the fit starts afresh either way).
        tol : stop early when the mean log-likelihood improves by less than this between iterations.
        """
        x = as_data_tensor(data, device=self.device, dtype=None)  # float64 data gives a float64 model
        if x.shape[0] < self.n_components:
            raise ValueError(f"need at least n_components={self.n_components} rows, got {x.shape[0]}")
        iterations = resolve_budget(epochs, steps, steps_per_epoch=1, default_epochs=100)
        if batch_size is not None:
            batch_size = check_whole_number(batch_size, "batch_size")
        tol = check_finite_number(tol, "tol", minimum=0.0)
        continuing = warm_start and self.is_fitted
        if continuing:
            self._check_width(x)
            x = x.to(self.means.dtype)
        generator = make_generator(seed, self.device)
        # Centre the data: E[x²] − μ² (used by the M-step) loses less precision near the origin. Clusters
        # far from the global mean relative to their spread still lose digits in float32: pass float64 data.
        shift = x.mean(0)
        centred = x - shift
        if not torch.isfinite(centred.square().sum(1)).all():  # EM works with squared distances
            raise ValueError(
                f"data values up to {x.abs().max().item():.3g} overflow {x.dtype} when squared; rescale the data "
                "(e.g. standardise each column) or pass float64"
            )
        if continuing:
            self.means -= shift
        else:
            self._allocate(x.shape[1], x.dtype)
            self._initialise(centred, generator)
        history = History()
        previous, start = -math.inf, time.perf_counter()
        self.converged_ = False
        bar = progress_bar(iterations, progress, desc="GMM EM")
        features = _features(centred)  # [x², x, 1]: E-step and M-step are then one matmul each
        chunks = torch.split(features, batch_size or features.shape[0])
        for step in range(iterations):
            coefficients = self._log_normal_coefficients()
            coefficients[-1] += self.log_weights
            log_likelihood, sums = 0.0, 0.0
            for chunk in chunks:
                log_norm, responsibilities = _e_step(chunk @ coefficients)  # log w_k + log N(x_i | μ_k, C_k)
                log_likelihood = log_likelihood + log_norm.sum()
                sums = sums + responsibilities.T @ chunk  # Σ_i r_ik [x_i², x_i, 1]
            mean_ll = log_likelihood.item() / x.shape[0]
            self._m_step_from_sums(sums, centred.shape[1])
            history.append(step=step, loss=-mean_ll, log_likelihood=mean_ll, time=time.perf_counter() - start)
            bar.set_postfix(ll=f"{mean_ll:.4f}", refresh=False)  # shown at the bar's next redraw (≤ 2 per s)
            bar.update(1)
            self.n_iter_ = step + 1
            if abs(mean_ll - previous) < tol:
                self.converged_ = True
                break
            previous = mean_ll
        bar.close()
        self.means += shift
        self.lower_bound_ = mean_ll
        self._fitted = True
        self._budget_notes(history, self.n_iter_, 1, "one EM iteration over all rows")
        return history

    def _initialise(self, x: torch.Tensor, generator: torch.Generator | None) -> None:
        if self.init == "kmeans++":
            centres = kmeans_plus_plus(x, self.n_components, generator)
        else:
            rows = torch.randperm(x.shape[0], generator=generator, device=x.device)[: self.n_components]
            centres = x[rows]
        # hard assignment to the nearest centre, then one M-step gives means, variances and weights
        nearest = torch.cdist(x, centres).argmin(1)
        responsibilities = torch.nn.functional.one_hot(nearest, self.n_components).to(x.dtype)
        self._m_step(x, responsibilities)

    def _m_step(self, x: torch.Tensor, resp: torch.Tensor) -> None:
        """Closed-form M-step from data and responsibilities (used once, after the hard initial assignment)."""
        self._m_step_from_sums(resp.T @ _features(x), x.shape[1])

    def _m_step_from_sums(self, sums: torch.Tensor, dim: int) -> None:
        """M-step from ``sums = rᵀ [x², x, 1]`` (K, 2D + 1): Σ_i r_ik x_i², Σ_i r_ik x_i and N_k = Σ_i r_ik.

        μ_k = Σ_i r_ik x_i / N_k,  v_kd = Σ_i r_ik x_id² / N_k − μ_kd²,  w_k = N_k / N.
        """
        counts = sums[:, -1] + 10 * torch.finfo(sums.dtype).eps  # N_k (never exactly 0)
        means = sums[:, dim : 2 * dim] / counts[:, None]
        second_moment = sums[:, :dim] / counts[:, None]
        diag_var = (second_moment - means**2).clamp_min(0.0) + self.reg_covar
        self.means = means
        self.variances = diag_var.mean(1) if self.covariance == "isotropic" else diag_var
        self.log_weights = torch.log(counts / counts.sum())

    # ---------------------------------------------------------------- sampling
    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        known=None,
        weight=None,
        priors=None,
        constraints=None,
        classes=None,
        seed: int | None = None,
    ) -> torch.Tensor:
        """Draw ``n`` samples ``(n, D)``, optionally conditioned (paper 001 §1).

        Parameters
        ----------
        known : (D,) or (n, D), optional
            Known values, ``nan`` where unknown. Known variables with weight 1 are set exactly.
        weight : (D,), optional
            Per-variable confidence: 1 conditions, 0 ignores, fractional is soft evidence that only
            re-weights components (the value is then drawn from the component).
        priors : list of GaussianPrior, optional
            Re-weight components by ``N(m | μ_k, v_k + s²)``; inside the chosen component the prior
            is applied exactly (product of two Gaussians per variable).
        constraints : list of Inequality, Equality or Box, optional
            Re-weight components by the component's mass that satisfies the constraint.
        classes : not supported (a GMM has no labels): raises ``NotImplementedError``.
        seed : int, optional
            Seed for a private generator (same seed → same samples).

        After the call, ``sample_report_`` (a :class:`~deepmix_core.conditioning.WishReport`) holds the
        estimated probability of the inequalities and boxes under the model and the share of samples that
        meet them; a ``UserWarning`` says so when the wishes look infeasible.
        """
        self._check_fitted()
        self._check_sample_count(n)
        self._refuse_unsupported("Train one GMM per class (MaxLikelihoodClassifier) instead.", classes=classes)
        dtype = self.means.dtype
        conditions = as_condition_list(self.n_features, self.device, known, weight, priors, constraints, n, dtype)
        generator = make_generator(seed, self.device)
        variances = self._component_variances()
        logits = self.log_weights.expand(n, -1)
        extra = total_log_multiplier(conditions, self.means, variances)
        if extra is not None:
            logits = logits + extra  # w'_k ∝ w_k c_k
        gumbel = -torch.log(-torch.log(torch.rand(logits.shape, generator=generator, device=self.device, dtype=dtype)))
        component = torch.argmax(logits + gumbel, dim=1)  # Gumbel-max draw from softmax(logits)
        mean = self.means[component]
        var = variances.expand_as(self.means)[component]
        for condition in conditions:
            if isinstance(condition, GaussianPrior):
                mean, var = _apply_prior_exactly(condition, mean, var)
        noise = torch.randn(mean.shape, generator=generator, device=self.device, dtype=dtype)
        x = mean + torch.sqrt(var) * noise
        for condition in conditions:
            if isinstance(condition, Known):
                exact = (condition.mask >= 1.0).expand_as(x)
                x = torch.where(exact, condition.values.expand_as(x), x)
        self.sample_report_ = report_on_wishes(conditions, self.log_weights, self.means, variances, x, self.family)
        return x

    # ---------------------------------------------------------------- scikit-learn style views
    @property
    def means_(self) -> np.ndarray:
        self._check_built()
        return self.means.detach().cpu().numpy()

    @property
    def weights_(self) -> np.ndarray:
        self._check_built()
        return self.log_weights.exp().detach().cpu().numpy()

    @property
    def covariances_(self) -> np.ndarray:
        self._check_built()
        return self.variances.detach().cpu().numpy()

    def n_parameters(self) -> int:
        """Free parameters: K·D means + K or K·D variances + (K − 1) weights."""
        self._check_built()
        k, d = self.n_components, self.n_features
        return k * d + (k if self.covariance == "isotropic" else k * d) + k - 1

    def _prepare_for_state(self, payload: dict) -> None:
        if payload["config"].get("n_features") is not None:
            self._allocate(payload["config"]["n_features"], payload["state"]["means"].dtype)
        self._fitted = bool(payload.get("fitted", True))  # files from before this flag held trained models

    def extra_repr(self) -> str:
        return f"n_components={self.n_components}, covariance={self.covariance!r}, n_features={self.n_features}"


def _features(x: torch.Tensor) -> torch.Tensor:
    """``[x², x, 1]`` per row, (N, 2D + 1): the sufficient statistics of a diagonal Gaussian."""
    return torch.cat([x**2, x, torch.ones_like(x[:, :1])], dim=1)


def _e_step(log_joint: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """log p(x_i) and responsibilities r_ik = w_k N(x_i | μ_k, C_k) / p(x_i) from ``log_joint`` (N, K).

    A hand-written logsumexp rather than ``torch.logsumexp``: terms more than 80 nats below a row's
    maximum (< 2e-35 relative) are clamped before ``exp``, because exponentials of very negative numbers
    take a slow path on CPU and made them two thirds of EM time; the result changes by < 1e-30.
    """
    row_max = log_joint.max(dim=1, keepdim=True).values
    scaled = log_joint.sub_(row_max).clamp_(min=-80.0).exp_()  # in place: log_joint is a temporary
    total = scaled.sum(dim=1, keepdim=True)
    return (row_max + torch.log(total)).squeeze(1), scaled.div_(total)


def _apply_prior_exactly(prior: GaussianPrior, mean: torch.Tensor, var: torch.Tensor):
    """Product of N(μ, v) and the prior N(m, s²/β) per variable: precision-weighted mean and variance.

    The prior's weight β scales its log-density, i.e. divides its variance; β = 0 leaves variables free.
    """
    free = torch.isnan(prior.mean) | torch.isinf(prior.std) | (prior.weight == 0)
    prior_mean = torch.nan_to_num(prior.mean, nan=0.0).expand_as(mean)
    std = torch.where(torch.isinf(prior.std), torch.ones_like(prior.std), prior.std).expand_as(mean)
    prior_var = std**2 / max(prior.weight, 1e-12)
    # precision-weighted form 1/v' = 1/v + 1/s², m' = v' (μ/v + m/s²), rewritten with the gain g = v / (v + s²)
    # so that a prior whose s² underflows to 0 pins the value at m (g = 1) instead of giving 0 · ∞ = nan
    gain = var / (var + prior_var)
    post_mean = mean + gain * (prior_mean - mean)
    post_var = (1.0 - gain) * var
    return torch.where(free, mean, post_mean), torch.where(free, var, post_var)
