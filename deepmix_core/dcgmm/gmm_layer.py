"""The convolutional GMM layer of a DCGMM: diagonal Gaussians at every position of a map, trained by SGD.

Notation (paper 003 §III-C, docs/notes/dcgmm.md §1): the input is a map ``(N, H, W, D)``; at each
position a GMM with K components, weights π = softmax(a), centroids μ (K, D) and per-dimension *precision
roots* s (K, D) (std = 1/s) scores the D-vector x. With ``shared=True`` one parameter set serves every
position (a convolutional GMM); with ``shared=False`` every position has its own ("indy" mode in the
reference).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..validation import check_whole_number
from .annealing import SingleExpAnnealer, initial_sigma
from .transforms import ShapeHWC

__all__ = ["GMMLayer", "torus_squared_distances"]

LOG_2PI = math.log(2 * math.pi)


def torus_squared_distances(n_components: int) -> torch.Tensor:
    """d²(k, j) between components placed on an n×n torus (n = √K), wrapping round both axes. (K, K)."""
    side = math.isqrt(n_components)
    if side * side != n_components:
        raise ValueError(f"a DCGMM GMM layer needs a square number of components (4, 9, 16, 25, …), got {n_components}")
    index = torch.arange(n_components)
    row, col = index // side, index % side

    def wrapped(axis: torch.Tensor) -> torch.Tensor:
        gap = (axis[:, None] - axis[None, :]).abs()
        return torch.minimum(gap, side - gap)

    return (wrapped(row) ** 2 + wrapped(col) ** 2).to(torch.float32)


class GMMLayer(nn.Module):
    """G(K): a GMM at every position, trained on its own annealed max-component objective.

    The layer above receives the posteriors r_k = softmax_k(ℓ_k) (docs/notes/dcgmm.md §1.3), where

        ℓ_k(x) = log π_k + Σ_d log s_kd − ½ Σ_d s_kd² (x_d − μ_kd)².

    Training maximises, per sample and position, the torus-smoothed max-component objective (docs/notes/dcgmm.md §1.4)

        L(x) = max_k Σ_j g_kj(σ) ℓ_j(x) − (D/2) log 2π,   g_kj ∝ exp(−d²(k, j) / 2σ²) (rows sum to 1),

    by plain gradient ascent on the layer's own detached input, θ ← θ + ε·λ_θ·∇_θ mean(L), with σ and ε
    shrunk by :class:`SingleExpAnnealer`. As σ → 0.01, g → identity and L → max_k log π_k N_k(x), the
    max-component lower bound of the GMM log-likelihood (Gepperth & Pfülb).

    Parameters
    ----------
    n_components : K, a square number (the components sit on a √K × √K torus)
    shared : one GMM for all positions (True, a convolutional GMM) or one per position (False)
    mu_init : centroids start uniform in [−mu_init, mu_init] (0.1, as every reference script)
    precision_max : ceiling of s (√20: std ≥ 0.224, the reference's ``sigmaUpperBound`` 20)
    lr, lr_min : ε at the start and its floor (0.011, 0.01)
    lr_factors : λ for (μ, s, logits): (1, 0.1, 0.2), the values of the reference architectures B–E
    sigma0 : start of σ (default 0.25·√(2K)); sigma_min : its floor (0.01)
    window, gamma, delta : the SingleExp rule (100 steps, 0.9, 0.05)
    wait : fraction of the training steps to wait before this layer starts learning (per-layer delay)
    """

    def __init__(
        self,
        n_components: int,
        shared: bool = True,
        mu_init: float = 0.1,
        precision_max: float = math.sqrt(20.0),
        lr: float = 0.011,
        lr_min: float = 0.01,
        lr_factors: tuple[float, float, float] = (1.0, 0.1, 0.2),
        sigma0: float | None = None,
        sigma_min: float = 0.01,
        window: int = 100,
        gamma: float = 0.9,
        delta: float = 0.05,
        wait: float = 0.0,
    ) -> None:
        super().__init__()
        n_components = check_whole_number(n_components, "a G layer's number of components K")
        if not 0.0 <= wait <= 1.0:
            raise ValueError(f"wait is a fraction of the training steps in [0, 1], got {wait}")
        if len(lr_factors) != 3:
            raise ValueError(f"lr_factors are three factors λ for (μ, s, logits), got {lr_factors}")
        self.register_buffer("torus_d2", torus_squared_distances(n_components))
        self.n_components, self.shared = int(n_components), bool(shared)
        self.mu_init, self.precision_max, self.precision_min = float(mu_init), float(precision_max), 1e-3
        self.lr_factors = tuple(float(f) for f in lr_factors)
        self.wait = float(wait)
        self._annealer_settings = dict(
            sigma=initial_sigma(n_components) if sigma0 is None else float(sigma0), sigma_min=sigma_min,
            lr=lr, lr_min=lr_min, window=window, gamma=gamma, delta=delta,
        )
        self.annealer = SingleExpAnnealer(**self._annealer_settings)
        # the constructor arguments, for config(); `wait` is read from self.wait, which DCGMM(waits=...) sets
        self._options = dict(shared=shared, mu_init=mu_init, precision_max=precision_max, lr=lr, lr_min=lr_min,
                             lr_factors=list(self.lr_factors), sigma0=sigma0, sigma_min=sigma_min, window=window,
                             gamma=gamma, delta=delta)
        self.input_shape: ShapeHWC | None = None
        self._smoothing_cache: tuple | None = None  # ((σ, device, dtype), g)

    # ------------------------------------------------------------------ construction
    def build(self, input_shape: ShapeHWC) -> ShapeHWC:
        """Allocate π, μ, s for an input map ``(H, W, D)``; the output map is ``(H, W, K)``."""
        height, width, dim = input_shape
        self.input_shape = (height, width, dim)
        sets = 1 if self.shared else height * width
        k = self.n_components
        self.logits = nn.Parameter(torch.zeros(sets, k), requires_grad=False)  # equal raw logits → π = 1/K
        self.mu = nn.Parameter(torch.empty(sets, k, dim), requires_grad=False)
        self.precision = nn.Parameter(torch.full((sets, k, dim), self.precision_max), requires_grad=False)
        self.reset_parameters()
        return height, width, k

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """μ ~ U(−mu_init, mu_init), s = precision_max, equal weights (docs/notes/dcgmm.md §1.2), fresh annealer."""
        noise = torch.rand(self.mu.shape, generator=generator, device=self.mu.device, dtype=self.mu.dtype)
        self.mu.data.copy_((2 * noise - 1) * self.mu_init)
        self.precision.data.fill_(self.precision_max)
        self.logits.data.zero_()
        self.annealer = SingleExpAnnealer(**self._annealer_settings)

    def config(self) -> dict:
        return {"type": "GMMLayer", "n_components": self.n_components, **self._options, "wait": self.wait}

    def get_extra_state(self) -> dict:
        """The annealer's state (σ, ε, window sums) travels in the state dict, so save/load keep it."""
        return self.annealer.state()

    def set_extra_state(self, state: dict) -> None:
        self.annealer.load_state(state)

    @property
    def sigma(self) -> float:
        """The current torus-smoothing radius σ."""
        return self.annealer.sigma

    @property
    def lr(self) -> float:
        """The current learning rate ε."""
        return self.annealer.lr

    @property
    def dim(self) -> int:
        return self.input_shape[2]

    # ------------------------------------------------------------------ scores
    def _rows(self, x: torch.Tensor) -> torch.Tensor:
        """(N, H, W, D) → (sets, rows, D): all positions pooled (shared) or one slab per position."""
        n, height, width, dim = x.shape
        if self.shared:
            return x.reshape(1, n * height * width, dim)
        return x.permute(1, 2, 0, 3).reshape(height * width, n, dim)

    def _unrows(self, rows: torch.Tensor, n: int) -> torch.Tensor:
        """Inverse of :meth:`_rows` for a (sets, rows, K) result → (N, H, W, K)."""
        height, width, _ = self.input_shape
        if self.shared:
            return rows.reshape(n, height, width, -1)
        return rows.reshape(height, width, n, -1).permute(2, 0, 1, 3)

    def _log_scores_of_rows(self, rows: torch.Tensor, squares: torch.Tensor | None = None,
                            known: torch.Tensor | None = None) -> torch.Tensor:
        """ℓ_k = x²·(−½s²)ᵀ + x·(s²μ)ᵀ + Σ_d m_d (log s_kd − ½ s_kd² μ_kd²) + log π_k, as batched matmuls.

        Expanding the square keeps the (rows, K, D) difference tensor out of memory (docs/notes/dcgmm.md §7.1).
        ``known`` holds the 0/1 masks m (rows with missing entries already zeroed); without it every m_d = 1
        and the last sum is a constant per component. Returns (sets, rows, K).
        """
        s2 = self.precision**2
        per_dim = torch.log(self.precision) - 0.5 * s2 * self.mu**2  # (sets, K, D)
        log_weights = torch.log_softmax(self.logits, dim=-1)
        if known is None:
            scores = (log_weights + per_dim.sum(-1)).unsqueeze(1)  # (sets, 1, K), broadcast over the rows
        else:
            scores = torch.baddbmm(log_weights.unsqueeze(1), known, per_dim.transpose(1, 2))
        scores = torch.baddbmm(scores, rows, (s2 * self.mu).transpose(1, 2))
        squares = rows * rows if squares is None else squares
        return torch.baddbmm(scores, squares, s2.transpose(1, 2), alpha=-0.5)

    def log_scores(self, x: torch.Tensor, observed: torch.Tensor | None = None) -> torch.Tensor:
        """ℓ_k(x) at every position: (N, H, W, D) → (N, H, W, K), without the −(D/2) log 2π constant.

        ``observed`` (same shape as x, 1 = known, 0 = missing) marginalises the missing dimensions, which
        for a diagonal Gaussian means leaving their terms out of the sums:
        ℓ_k = log π_k + Σ_d m_d (log s_kd − ½ s_kd² (x_d − μ_kd)²). A fully missing vector scores log π_k.
        """
        if observed is None:
            return self._unrows(self._log_scores_of_rows(self._rows(x)), x.shape[0])
        rows, known = self._rows(x * observed), self._rows(observed.to(x.dtype))
        return self._unrows(self._log_scores_of_rows(rows, known=known), x.shape[0])

    def smoothing(self) -> torch.Tensor:
        """g(σ): row-normalised exp(−d²/2σ²) over the torus, recomputed when σ has changed. (K, K)."""
        key = (self.sigma, self.mu.device, self.mu.dtype)
        if self._smoothing_cache is None or self._smoothing_cache[0] != key:
            smoothing = torch.softmax(-self.torus_d2.to(self.mu.dtype) / (2 * self.sigma**2), dim=1)
            self._smoothing_cache = (key, smoothing)
        return self._smoothing_cache[1]

    def objective(self, log_scores: torch.Tensor) -> torch.Tensor:
        """L = max_k Σ_j g_kj ℓ_j − (D/2) log 2π at every position (same shape as ``log_scores`` minus K)."""
        smoothed = log_scores @ self.smoothing().T
        return smoothed.max(dim=-1).values - 0.5 * self.dim * LOG_2PI

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Posteriors r_k = softmax_k ℓ_k(x) (paper 003 Eq. 6): (N, H, W, D) → (N, H, W, K)."""
        return torch.softmax(self.log_scores(x), dim=-1)

    # ------------------------------------------------------------------ training
    def gradients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Mean objective, posteriors and the analytic gradients of the mean objective, all from matmuls.

        With k* the winning row of the smoothed scores and w_j = g_{k*j} (docs/notes/dcgmm.md §1.4):
        ∂L/∂μ_jd = w_j s_jd² (x_d − μ_jd),  ∂L/∂s_jd = w_j (1/s_jd − s_jd (x_d − μ_jd)²),  ∂L/∂a_j = w_j − π_j.
        Summed over the rows of one parameter set these need only Σw, Σw·x and Σw·x²: two more matmuls.
        """
        rows = self._rows(x)
        squares = rows * rows
        scores = self._log_scores_of_rows(rows, squares)  # (sets, rows, K)
        smoothing = self.smoothing()
        smoothed = scores @ smoothing.T
        best, winner = smoothed.max(dim=-1)
        weights = smoothing[winner]  # w_j for every row, (sets, rows, K)
        count, dim = rows.shape[1], self.dim
        weights_t = weights.transpose(1, 2) / count
        mean_x, mean_x2 = weights_t @ rows, weights_t @ squares  # (sets, K, D): means of w·x and w·x²
        mean_w = weights.mean(dim=1).unsqueeze(-1)  # (sets, K, 1)
        mu, s = self.mu, self.precision
        grads = {
            "mu": s**2 * (mean_x - mean_w * mu),
            "precision": mean_w / s - s * (mean_x2 - 2 * mu * mean_x + mean_w * mu**2),
            "logits": mean_w.squeeze(-1) - torch.softmax(self.logits, dim=-1),
        }
        mean_objective = best.mean() - 0.5 * dim * LOG_2PI
        return mean_objective, self._unrows(torch.softmax(scores, dim=-1), x.shape[0]), grads

    @torch.no_grad()
    def train_step(self, x: torch.Tensor, learn: bool = True) -> tuple[torch.Tensor, float]:
        """One SGD step on a detached batch; returns the posteriors (computed before the step) and mean L.

        ``learn=False`` (the layer is still waiting) only computes them; the annealer is paused then.
        """
        objective, posteriors, grads = self.gradients(x.detach())
        value = float(objective)
        if learn:
            step = self.annealer.lr
            for (name, grad), factor in zip(grads.items(), self.lr_factors):
                getattr(self, name).add_(grad, alpha=step * factor)  # gradient *ascent*: L is maximised
            self.precision.clamp_(self.precision_min, self.precision_max)  # s > 0 always (the reference allowed s < 0)
            self.annealer.observe(value)
        return posteriors, value

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample(
        self,
        control: torch.Tensor | None,
        n: int,
        top_s: int = 3,
        noise_scale: float = 0.05,
        power: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Draw one component per position from the control signal, then a vector from it.

        The reference's procedure is restated in docs/notes/dcgmm.md §1.8.

        ``control`` (N, H, W, K) weighs the components at each position (``None``: uniform, as at the top of
        the model); it is clipped to [1e-6, 11000], raised to ``power`` and cut to its ``top_s`` largest
        entries (ties kept; ``top_s ≤ 0`` keeps all) before a categorical draw. The vector is
        μ + noise_scale·(1/s)·ε with ε ~ N(0, 1), except where s is still at its ceiling, whose dimensions
        return μ exactly. ``noise_scale`` = 1 is a true draw from the Gaussian; the reference scripts use
        1/20 to 1/5. Returns (N, H, W, D).
        """
        height, width, _ = self.input_shape
        k, device = self.n_components, self.mu.device
        if control is None:
            control = torch.ones(n, height, width, k, device=device, dtype=self.mu.dtype)
        weights = control.to(self.mu.dtype).clamp(1e-6, 11000.0) ** power
        if 0 < top_s < k:
            threshold = weights.topk(top_s, dim=-1).values[..., -1:]
            weights = torch.where(weights >= threshold, weights, torch.zeros_like(weights))
        chosen = torch.multinomial(weights.reshape(-1, k), 1, generator=generator).reshape(n, height, width)
        if self.shared:
            mu, s = self.mu[0][chosen], self.precision[0][chosen]
        else:
            position = torch.arange(height * width, device=device).reshape(1, height, width).expand_as(chosen)
            mu, s = self.mu[position, chosen], self.precision[position, chosen]
        std = torch.where(s >= self.precision_max * (1 - 1e-6), torch.zeros_like(s), 1.0 / s)
        noise = torch.randn(mu.shape, generator=generator, device=device, dtype=mu.dtype)
        return mu + noise_scale * std * noise

    def extra_repr(self) -> str:
        mode = "" if self.shared else ",ind"
        return f"G({self.n_components}{mode}), σ={self.sigma:.3g}, ε={self.lr:.3g}, wait={self.wait}"
