"""Mixtures of normalizing flows trained by EM (paper 004): GenMM and LatMM.

* **GenMM** — K flows f_k, each with a standard-normal base:
  p(x) = Σ_k π_k N(f_k(x); 0, I) |det ∂f_k/∂x|   (paper eq. 1 and 8).
* **LatMM** — one flow f and a diagonal Gaussian mixture on its latent:
  p(x) = Σ_k π_k N(f(x); μ_k, diag σ_k²) |det ∂f/∂x|   (paper eq. 21).

Both are trained by the paper's EM (Algorithm 1; docs/notes/flow-mixtures.md §2): a frozen OLD copy of the
model gives the responsibilities γ (E-step, eq. 13 / 24); the NEW model takes Adam steps on the γ-weighted
negative log-likelihood (M-step, eq. 14 / 25); every ``t_em`` epochs π ← mean γ of the last epoch (eq. 16)
and OLD ← NEW. The E-step is exact by default; ``temper_by_dim=True`` reproduces the reference code's
γ ∝ π_k p_k(x)^(1/D) (docs/notes/flow-mixtures.md §2.3).

The flow of a component is any module following the flow interface (``event_shape``, ``dim``,
``transform(x) -> (z, log_det)``, ``inverse(z)``, ``initialize(x)``); ``flow=`` takes either a *spec*
dict (saveable), e.g. ``{"kind": "vector", "dim": 64, "n_layers": 6, "hidden": 64}`` or
``{"kind": "image", "shape": (1, 16, 16), "levels": 2, "steps": 4, "hidden": 32}``, or a zero-argument
factory returning a fresh flow (saveable only if it returns one of deepmix's own flows).

Deviations from the reference code, all deliberate:

* π is refreshed after epochs t_em, 2·t_em, … (the code's ``t > 0 and t % 5 == 0`` over epochs 0…T makes
  its first EM iteration one epoch longer).
* The noam warm-up length is an argument. By default it lasts the first EM iteration (``t_em`` epochs of
  steps), at most the code's 1000 steps — about what the code's 1000 steps are on MNIST (6.4 epochs), and
  short enough for small data sets, which have few steps per epoch. The learning-rate floor after the
  warm-up is ``lr / 10`` (1e-4 for the default lr, as in the code).
* The Gamma prior uses log Γ(a) as its normaliser (the code uses log a!; only a constant differs).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ..base import MixtureModel, resolve_budget
from ..history import History
from ..runtime import make_generator, progress_bar
from ..validation import as_data_tensor, check_finite_number, check_seed, check_whole_number
from .image import ImageFlow, make_image_flow
from .vector import VectorFlow, make_vector_flow

__all__ = ["GenMM", "LatMM", "build_flow", "noam_factor", "standard_normal_log_prob"]

LOG_2PI = math.log(2 * math.pi)
PI_FLOOR = 1e-6  # log(π_k + 1e-6) in the E-step and the loss, as in the reference (docs/notes/flow-mixtures.md §2.3)
EVAL_CHUNK = 1024  # rows per forward pass when evaluating (bounds memory on images)
FLOW_KINDS = {"vector": (make_vector_flow, VectorFlow), "image": (make_image_flow, ImageFlow)}


def build_flow(spec: dict) -> nn.Module:
    """A fresh flow from a spec dict: ``{"kind": "vector" | "image", **arguments of its make_… factory}``."""
    if not isinstance(spec, dict) or spec.get("kind") not in FLOW_KINDS:
        raise ValueError(f"a flow spec is a dict with 'kind' in {sorted(FLOW_KINDS)}, got {spec!r}")
    factory = FLOW_KINDS[spec["kind"]][0]
    arguments = {name: value for name, value in spec.items() if name != "kind"}
    if "seed" in arguments:
        raise ValueError("a flow spec must not hold a seed (all components would start equal); pass seed= to the model")
    if "shape" in arguments:
        arguments["shape"] = tuple(arguments["shape"])
    try:
        return factory(**arguments)
    except TypeError as error:  # unknown or missing keys
        raise ValueError(f"invalid {spec['kind']} flow spec {spec!r}: {error}") from None


def _spec_of(flow: nn.Module) -> dict | None:
    """The spec that rebuilds ``flow`` (same architecture), or None if it is not one of deepmix's flows."""
    for kind, (_, flow_class) in FLOW_KINDS.items():
        if type(flow) is flow_class:
            return {"kind": kind, **flow.config}
    return None


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) per row, (B,): −½ Σ_d z_d² − (D/2) ln 2π."""
    return -0.5 * (z**2).sum(1) - 0.5 * z.shape[1] * LOG_2PI


def noam_factor(step: int, warmup_steps: int, floor: float = 0.1) -> float:
    """Learning-rate multiplier of the noam schedule, for optimiser step ``step`` = 0, 1, …

    min(s/W, sqrt(W/s)) with s = step + 1: linear warm-up over W steps, then 1/sqrt decay, never below
    ``floor`` after the warm-up (the reference code's schedule: docs/notes/flow-mixtures.md §2.6).
    """
    s = step + 1
    if s < warmup_steps:
        return s / warmup_steps
    return max(math.sqrt(warmup_steps / s), floor)


class _FlowMixture(MixtureModel):
    """What GenMM and LatMM share: π, the EM loop, evaluation, sampling helpers, validation, saving."""

    log_prob_kind = "exact"
    supported_conditions = frozenset()
    _NO_CONDITIONING = ("A flow mixture has no closed-form conditional: the flows mix every input variable "
                        "into every latent one. Use a GMM or DRMM to condition samples.")

    def __init__(self, n_components: int, flow: dict | Callable[[], nn.Module], seed: int | None) -> None:
        super().__init__()
        n_components = check_whole_number(n_components, "n_components")
        if not (isinstance(flow, dict) or callable(flow)):
            raise ValueError(f"flow must be a spec dict or a zero-argument factory, got {type(flow).__name__}")
        seed = check_seed(seed)
        self.n_components, self.seed = n_components, seed
        self._flow_source = dict(flow) if isinstance(flow, dict) else flow  # a copy: later edits do not leak in
        self.register_buffer("weights", torch.full((n_components,), 1.0 / n_components))  # π, uniform at the start
        self.register_buffer("fitted", torch.tensor(False))  # True once ActNorms were initialised from data
        if seed is None:
            self._build()
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self._build()

    # ---------------------------------------------------------------- construction
    def _build(self) -> None:
        """Create the flows (and, for LatMM, the latent Gaussians); called under the model's seed."""
        raise NotImplementedError

    def _new_flow(self) -> nn.Module:
        flow = build_flow(self._flow_source) if isinstance(self._flow_source, dict) else self._flow_source()
        for name in ("event_shape", "dim", "transform", "inverse", "initialize"):
            if not hasattr(flow, name):
                raise ValueError(f"the flow factory returned a {type(flow).__name__} without {name!r} "
                                 "(see the flow interface in deepmix_core.flows)")
        return flow

    @property
    def flow_spec(self) -> dict | None:
        """The flow spec (a dict) if the model can be saved, else None (built from a foreign factory)."""
        if isinstance(self._flow_source, dict):
            return dict(self._flow_source)
        return _spec_of(self._first_flow())

    def _first_flow(self) -> nn.Module:
        raise NotImplementedError

    @property
    def config(self) -> dict:
        spec = self.flow_spec
        if spec is None:
            raise ValueError(
                f"cannot save: this model's flows come from a factory returning {type(self._first_flow()).__name__}, "
                "which cannot be rebuilt from a file. Build the model with a flow spec instead, e.g. "
                "flow={'kind': 'vector', 'dim': 64, 'n_layers': 6, 'hidden': 64}"
            )
        return {"n_components": self.n_components, "flow": spec, "seed": self.seed}

    @property
    def event_shape(self) -> tuple[int, ...]:
        return tuple(self._first_flow().event_shape)

    @property
    def dim(self) -> int:
        return int(self._first_flow().dim)

    @property
    def device(self) -> torch.device:
        return self.weights.device

    @property
    def weights_(self) -> np.ndarray:
        """π as a numpy array (K,)."""
        return self.weights.detach().cpu().numpy()

    def n_parameters(self) -> int:
        """Free parameters: every trainable weight of the flows (and LatMM's latent Gaussians) + K − 1 for π."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad) + self.n_components - 1

    @property
    def is_fitted(self) -> bool:
        """True once ``fit`` has initialised the flows from data (saved with the model)."""
        return bool(self.fitted)

    def _start_afresh(self, fallback_seed: int | None = None) -> None:
        """Rebuild the flows (and LatMM's latent Gaussians) as the constructor did, with uniform π.

        The constructor's ``seed`` wins; without one, ``fallback_seed`` (the seed given to ``fit``) seeds the
        rebuild, so that ``fit(seed=s)`` is reproducible whatever the global random state.
        """
        device = self.device
        seed = self.seed if self.seed is not None else fallback_seed
        if seed is None:
            self._build()
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self._build()
        self.to(device)
        self.weights.fill_(1.0 / self.n_components)
        self.fitted.fill_(False)

    # ---------------------------------------------------------------- densities (subclasses)
    def component_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p_k(x) for every row and component, (B, K), differentiable (used by training)."""
        raise NotImplementedError

    def _regulariser(self) -> torch.Tensor:
        """Extra loss term (LatMM's Gamma prior); zero for GenMM."""
        return self.weights.new_zeros(())

    def _initialize_flows(self, x: torch.Tensor) -> None:
        raise NotImplementedError

    # ---------------------------------------------------------------- validation
    def _as_data(self, x, name: str = "x") -> torch.Tensor:
        """Validated data on the model's device; also refuses an untrained model (its flows are random)."""
        self._require_fitted()
        return as_data_tensor(x, name=name, device=self.device, feature_shape=self.event_shape)

    # ---------------------------------------------------------------- evaluation
    @torch.no_grad()
    def _evaluate(self, x: torch.Tensor) -> torch.Tensor:
        """component_log_prob in chunks, without gradients, (N, K)."""
        return torch.cat([self.component_log_prob(chunk) for chunk in torch.split(x, EVAL_CHUNK)])

    def log_prob(self, x) -> torch.Tensor:
        """Mixture log-density log p(x) = logsumexp_k(log π_k + log p_k(x)) of the continuous input, (N,) nats."""
        x = self._as_data(x)
        return self._checked_log_prob(torch.logsumexp(self._evaluate(x) + torch.log(self.weights), dim=1))

    def nll(self, x, unit: str = "nats", discrete_levels: int | None = None) -> float:
        """Mean negative log-likelihood per dimension.

        ``discrete_levels=L`` adds ln L per dimension: the NLL of the discrete data when x was dequantised
        as ``(k + u)/L − 0.5`` (see :func:`deepmix_core.flows.dequantize`; L = 256 for 8-bit images, as in
        the paper's nats/pixel). ``unit="bits"`` divides by ln 2 (bits/dim).
        """
        if unit not in ("nats", "bits"):
            raise ValueError(f"unit must be 'nats' or 'bits', got {unit!r}")
        if discrete_levels is not None and not (isinstance(discrete_levels, int) and discrete_levels >= 2):
            raise ValueError(f"discrete_levels must be None or an integer ≥ 2, got {discrete_levels!r}")
        value = -self.log_prob(x).mean().item() / self.dim
        if discrete_levels is not None:
            value += math.log(discrete_levels)  # −log P(k) ≈ −log p(x) + D ln L
        return value / math.log(2) if unit == "bits" else value

    def responsibilities(self, x) -> torch.Tensor:
        """Exact posterior γ_ik = π_k p_k(x_i) / Σ_l π_l p_l(x_i), (N, K) (paper eq. 4)."""
        x = self._as_data(x)
        return torch.softmax(self._evaluate(x) + torch.log(self.weights), dim=1)

    def _e_step(self, x: torch.Tensor, temper_by_dim: bool) -> torch.Tensor:
        """γ from this (OLD, frozen) model: exact, or the reference code's tempered γ ∝ π_k p_k(x)^(1/D)."""
        log_p = self.component_log_prob(x)
        if temper_by_dim:
            log_p = log_p / self.dim
        return torch.softmax(torch.log(self.weights + PI_FLOOR) + log_p, dim=1)  # eq. 13 / 24

    # ---------------------------------------------------------------- EM training
    def fit(
        self,
        data,
        *,
        epochs: int | None = None,
        steps: int | None = None,
        batch_size: int = 64,
        seed: int | None = 0,
        progress: bool = True,
        warm_start: bool = False,
        lr: float = 1e-3,
        t_em: int = 5,
        temper_by_dim: bool = False,
        warmup_steps: int | None = None,
        valid=None,
        discrete_levels: int | None = None,
        callback: Callable[[int, _FlowMixture, _FlowMixture], None] | None = None,
    ) -> History:
        """Train by EM (paper Algorithm 1); returns a :class:`History` with one row per epoch.

        Parameters
        ----------
        data : (N, *event_shape) array or tensor
            Continuous training data (dequantise discrete data first, see :func:`dequantize`).
        epochs, steps : int
            The budget (default 20 epochs): an epoch is one pass over the data in mini-batches of
            ``batch_size`` (the last one may be smaller), a step one Adam update on one mini-batch. With
            ``steps``, the last epoch may stop part-way; it still gets its history row.
        batch_size : int
            Mini-batch size.
        warm_start : bool
            ``True`` continues from the current parameters and π (a fresh optimiser and warm-up; the ActNorm
            data init is not repeated). ``False`` (default) rebuilds the flows as the constructor did
            (seeded by the model's ``seed``) and starts from uniform π.
        lr : float
            Peak Adam learning rate of the noam schedule (docs/notes/flow-mixtures.md §2.6).
        warmup_steps : int, optional
            Optimiser steps of the linear warm-up, then lr ∝ 1/sqrt(step). Default: the steps of the first
            EM iteration (``t_em`` epochs), at most 1000.
        t_em : int
            Epochs per EM iteration: π and the frozen OLD model are refreshed after every ``t_em`` epochs.
        seed : int, optional
            Seed for the mini-batch order, and for the flows' initial weights when the constructor got no
            ``seed`` (the constructor's seed wins). Same seed → the same fit whatever the global random state.
        temper_by_dim : bool
            Reference-code E-step γ ∝ π_k p_k(x)^(1/D) instead of exact EM (the default).
        valid : array or tensor, optional
            Held-out data; its NLL is recorded per epoch as ``valid_nll``.
        discrete_levels : int, optional
            Add ln L to the recorded NLLs (see :meth:`nll`).
        callback : callable, optional
            ``callback(epoch, model, old_model)`` after each epoch (after a refresh, if one happened).

        History columns: ``epoch``, ``nll`` (mixture NLL on the training data after the epoch, nats/dim),
        ``valid_nll`` (if ``valid``), ``loss`` (mean M-step loss), ``pi`` (K,), ``lr``, ``refreshed``,
        ``time`` (seconds since the start of ``fit``).

        The history's notes record ``steps`` (optimiser steps taken) and ``epochs``.
        """
        x = as_data_tensor(data, device=self.device, feature_shape=self.event_shape)
        valid = None if valid is None else as_data_tensor(valid, name="valid", device=self.device,
                                                          feature_shape=self.event_shape)
        batch_size, t_em = check_whole_number(batch_size, "batch_size"), check_whole_number(t_em, "t_em")
        steps_per_epoch = self._steps_per_epoch(x.shape[0], batch_size)
        total_steps = resolve_budget(epochs, steps, steps_per_epoch, default_epochs=20)
        epochs = math.ceil(total_steps / steps_per_epoch)
        if warmup_steps is None:  # the first EM iteration, at most the reference's 1000 steps
            warmup_steps = min(1000, math.ceil(x.shape[0] / batch_size) * t_em)
        warmup_steps = check_whole_number(warmup_steps, "warmup_steps")
        lr = check_finite_number(lr, "lr", positive=True)
        generator = make_generator(seed, torch.device("cpu"))
        # every argument is checked above: a bad one must not cost the model its training
        if not warm_start and (self.is_fitted or self.seed is None):
            self._start_afresh(fallback_seed=seed)
        # ActNorm data init on the first batch, for every component (docs/notes/flow-mixtures.md §2.2)
        if not bool(self.fitted):
            first = torch.randperm(x.shape[0], generator=generator)[:batch_size]
            self._initialize_flows(x[first.to(self.device)])
            self.fitted.fill_(True)
        old = self._frozen_copy()  # OLD ← NEW
        optimizer = torch.optim.Adam(self.parameters(), lr=lr, betas=(0.9, 0.9999), eps=1e-8)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: noam_factor(step, warmup_steps))
        history = History(notes={
            "nll": "mixture NLL per dimension on the training data after each epoch, nats"
            + (f" (+ ln {discrete_levels})" if discrete_levels else " (continuous density)"),
            "e_step": "tempered by 1/D" if temper_by_dim else "exact",
            "t_em": t_em,
        })
        start, taken = time.perf_counter(), 0
        bar = progress_bar(epochs, progress, desc=f"{type(self).__name__} EM (K={self.n_components})")
        for epoch in range(epochs):
            last_good = self._snapshot()  # the state to fall back to if this epoch goes non-finite
            gamma_sum = torch.zeros(self.n_components, device=self.device)
            loss_sum, rows = 0.0, 0
            batches = torch.split(torch.randperm(x.shape[0], generator=generator), batch_size)
            for batch in batches[: total_steps - taken]:
                taken += 1
                xb = x[batch.to(self.device)]
                with torch.no_grad():
                    gamma = old._e_step(xb, temper_by_dim)  # E-step with the frozen OLD model
                loss = self._m_step_loss(xb, gamma)
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_value_(self.parameters(), 5.0)
                nn.utils.clip_grad_norm_(self.parameters(), 100.0)
                optimizer.step()
                schedule.step()
                gamma_sum += gamma.sum(0)
                loss_sum, rows = loss_sum + loss.item() * xb.shape[0], rows + xb.shape[0]
            if not (math.isfinite(loss_sum) and self._state_is_finite()):
                bar.close()
                kept = f"after epoch {epoch - 1}" if epoch else "from before training"
                self._fail_non_finite(where=f"epoch {epoch}", loss=loss_sum / max(rows, 1), last_good=last_good,
                                      kept=kept, lr=lr, data=x)
            refreshed = (epoch + 1) % t_em == 0
            if refreshed:
                pi = gamma_sum / gamma_sum.sum()  # π_k ← mean_i γ_ik over this epoch (eq. 16)
                self.weights.copy_(pi)
                old = self._frozen_copy()  # OLD ← NEW, including π
            row = {"epoch": epoch, "nll": self.nll(x, discrete_levels=discrete_levels)}
            if valid is not None:
                row["valid_nll"] = self.nll(valid, discrete_levels=discrete_levels)
            row.update(loss=loss_sum / rows, pi=self.weights_.copy(), lr=optimizer.param_groups[0]["lr"],
                       refreshed=refreshed, time=time.perf_counter() - start)
            history.append(**row)
            bar.set_postfix(nll=f"{row['nll']:.4f}", refresh=False)
            bar.update(1)
            if callback is not None:
                callback(epoch, self, old)
        bar.close()
        self._budget_notes(history, taken, steps_per_epoch, f"one Adam update on {batch_size} rows (M-step)")
        return history

    def _m_step_loss(self, x: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
        """−Q/(B·D): (1/(B·D)) Σ_i Σ_k γ_ik (−log p_k(x_i) − log(π_k + 1e-6)) (eq. 14 / 25), + regulariser.

        π is a constant here; only the γ-weighted NLL carries gradient. For LatMM, log p_k(x) includes the
        shared log-det, and Σ_k γ_ik = 1 turns this into eq. 25 exactly.
        """
        log_joint = self.component_log_prob(x) + torch.log(self.weights + PI_FLOOR)
        return -(gamma * log_joint).sum() / (x.shape[0] * self.dim) + self._regulariser()

    def _frozen_copy(self) -> _FlowMixture:
        """A deep copy without gradients: the OLD model of EM."""
        old = copy.deepcopy(self, memo={id(self._flow_source): self._flow_source})  # share, don't copy, the factory
        old.requires_grad_(False)
        return old.eval()

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
        temperature: float = 1.0,
        return_components: bool = False,
    ):
        """Draw ``n`` samples (n, *event_shape): a component s ~ Categorical(π), base noise ε ~ N(0, T² I),
        then the component's decoder (GenMM: x = f_s⁻¹(ε); LatMM: x = f⁻¹(μ_s + σ_s ⊙ ε)).

        The reference's sampler is restated in docs/notes/flow-mixtures.md §3.1. ``temperature`` T < 1 gives
        cleaner, less varied samples; T = 0 decodes each component's most probable latent point (GenMM: z = 0,
        LatMM: μ_k). ``return_components=True`` also returns the component index of every sample.
        ``known``, ``weight``, ``priors``, ``constraints`` and ``classes`` raise ``NotImplementedError``.
        """
        self._refuse_unsupported(self._NO_CONDITIONING, known=known, weight=weight, priors=priors,
                                 constraints=constraints, classes=classes)
        self._check_sample_args(n, temperature)
        component, noise = self._draw(n, temperature, seed)
        x = self._decode(component, noise)
        return (x, component) if return_components else x

    def _decode(self, component: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Samples from the base noise of the chosen components (subclasses)."""
        raise NotImplementedError

    # ---------------------------------------------------------------- sampling helpers
    def _check_sample_args(self, n: int, temperature: float) -> None:
        self._require_fitted()
        self._check_sample_count(n)
        check_finite_number(temperature, "temperature", minimum=0.0)

    def _draw(self, n: int, temperature: float, seed: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Components s ~ Categorical(π) and base noise ε ~ N(0, T² I), (n,) and (n, D)."""
        generator = make_generator(seed, self.device)
        component = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        noise = temperature * torch.randn(n, self.dim, generator=generator, device=self.device)
        return component, noise

    def _interpolation_inputs(self, x1, x2, steps: int):
        """Validate interpolation input: single items or batches → (B, …) each, the weights α, and ``single``."""
        if not (isinstance(steps, int) and steps >= 2):
            raise ValueError(f"steps must be an integer ≥ 2 (the two endpoints included), got {steps!r}")
        a = torch.as_tensor(np.asarray(x1) if not torch.is_tensor(x1) else x1, dtype=torch.float32)
        b = torch.as_tensor(np.asarray(x2) if not torch.is_tensor(x2) else x2, dtype=torch.float32)
        if a.shape != b.shape:
            raise ValueError(f"x1 and x2 must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
        single = tuple(a.shape) == self.event_shape
        if single:
            a, b = a[None], b[None]
        alphas = torch.linspace(0.0, 1.0, steps, device=self.device)
        return self._as_data(a, "x1"), self._as_data(b, "x2"), alphas, single

    @staticmethod
    def _mix_latents(z1: torch.Tensor, z2: torch.Tensor, alphas: torch.Tensor) -> torch.Tensor:
        """(1 − α) z1 + α z2 for every α: (B, steps, D). α = 0 gives z1, α = 1 gives z2."""
        return (1 - alphas)[None, :, None] * z1[:, None] + alphas[None, :, None] * z2[:, None]

    def extra_repr(self) -> str:
        spec = self.flow_spec
        flow = spec if spec is not None else type(self._first_flow()).__name__
        return f"n_components={self.n_components}, flow={flow}"


class GenMM(_FlowMixture):
    """Generator mixture: K independent flows with N(0, I) bases and weights π (paper eq. 1).

    The contract's ``fit`` / ``sample`` / ``log_prob`` (exact) / ``save`` / ``load``; ``weights_`` is π.

    Parameters
    ----------
    n_components : int
        Number of flows K.
    flow : dict or callable
        A flow spec, e.g. ``{"kind": "vector", "dim": 2, "n_layers": 6, "hidden": 64}``, or a zero-argument
        factory such as ``functools.partial(make_vector_flow, 64)`` (do not fix its seed: the K flows must
        start different). Only specs (or factories returning deepmix flows) can be saved.
    seed : int, optional
        Seed for the initial weights of all components (``None``: torch's global generator).

    Examples
    --------
    >>> model = GenMM(n_components=3, flow={"kind": "vector", "dim": 2, "n_layers": 4, "hidden": 16}, seed=0)
    >>> history = model.fit(data, epochs=20)  # doctest: +SKIP
    >>> samples = model.sample(100, temperature=0.8)  # doctest: +SKIP
    """

    family = "GenMM"

    def __init__(self, n_components: int, flow: dict | Callable[[], nn.Module], seed: int | None = None) -> None:
        super().__init__(n_components, flow, seed)

    def _build(self) -> None:
        self.flows = nn.ModuleList(self._new_flow() for _ in range(self.n_components))
        if self.n_components > 1 and all(
            torch.equal(p, q) for p, q in zip(self.flows[0].parameters(), self.flows[1].parameters())
        ):
            raise ValueError("the flow factory returned identical flows: EM cannot separate components that start "
                             "equal. Do not fix a seed in the factory; pass seed= to the model instead")

    def _first_flow(self) -> nn.Module:
        return self.flows[0]

    def _initialize_flows(self, x: torch.Tensor) -> None:
        for flow in self.flows:
            flow.initialize(x)

    def component_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p_k(x) = log N(f_k(x); 0, I) + log|det ∂f_k/∂x| for every component, (B, K) (paper eq. 8)."""
        columns = []
        for flow in self.flows:
            z, log_det = flow.transform(x)
            columns.append(standard_normal_log_prob(z) + log_det)
        return torch.stack(columns, dim=1)

    def _decode(self, component: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x = f_s⁻¹(z) with z = ε ~ N(0, T² I): each row through its own component's flow."""
        x = torch.empty(len(component), *self.event_shape, device=self.device)
        for k, flow in enumerate(self.flows):
            rows = component == k
            if rows.any():
                x[rows] = flow.inverse(noise[rows])
        return x

    @torch.no_grad()
    def interpolate(self, x1, x2, steps: int = 8) -> torch.Tensor:
        """Decode (1 − α) z1 + α z2 for α = 0 … 1 in ``steps`` steps, in one component's latent space.

        The component is k* = argmax_k γ_k(x1) with the *exact* posterior; z1 = f_k*(x1), z2 = f_k*(x2), and
        every point is decoded by f_k*⁻¹, so the first and last frames reconstruct x1 and x2 (compare the
        reference's interpolation, docs/notes/flow-mixtures.md §3.2). Accepts single items (event_shape) →
        (steps, *event_shape), or batches (B, *event_shape) → (B, steps, *event_shape).
        """
        a, b, alphas, single = self._interpolation_inputs(x1, x2, steps)
        best = self.responsibilities(a).argmax(1)
        frames = torch.empty(a.shape[0], steps, *self.event_shape, device=self.device)
        for k in best.unique().tolist():
            rows = best == k
            z1, z2 = self.flows[k].transform(a[rows])[0], self.flows[k].transform(b[rows])[0]
            mixed = self._mix_latents(z1, z2, alphas)
            frames[rows] = self.flows[k].inverse(mixed.flatten(0, 1)).reshape(-1, steps, *self.event_shape)
        return frames[0] if single else frames


class LatMM(_FlowMixture):
    """Latent mixture: one flow f and a diagonal Gaussian mixture on z = f(x) (paper eq. 21).

    The contract's ``fit`` / ``sample`` / ``log_prob`` (exact) / ``save`` / ``load``; ``weights_`` is π,
    ``means_`` and ``stds_`` are the latent components' μ_k and σ_k, (K, D) numpy arrays.

    Component k is N(z; μ_k, diag σ_k²) with σ_k = exp(−s_k), where ``log_precisions`` = s_k is the log of
    the paper's "precision" σ_k⁻¹ (eq. 26; one value per latent dimension). A Gamma(a, b) prior on σ_k⁻¹
    (paper eq. 26, a = 2, b = 1) keeps the components from collapsing; ``gamma_prior=None`` switches it off.

    μ and s start as N(0, 0.01²) draws, as in the reference code. The components then start almost equal
    and separate slowly: on the 8-Gaussian ring they were still equal after 80 epochs. ``mean_init_std``
    (e.g. 1.0, the scale of the latent) spreads the initial means so that the components specialise
    early — a deviation from the paper, off by default.

    Parameters are as for :class:`GenMM`, plus ``gamma_prior=(a, b)`` and ``mean_init_std``.
    """

    family = "LatMM"

    def __init__(
        self,
        n_components: int,
        flow: dict | Callable[[], nn.Module],
        seed: int | None = None,
        gamma_prior: tuple[float, float] | None = (2.0, 1.0),
        mean_init_std: float = 0.01,
    ) -> None:
        if gamma_prior is not None:
            if len(gamma_prior) != 2 or not all(float(v) > 0 for v in gamma_prior):
                raise ValueError(f"gamma_prior must be None or (shape a > 0, rate b > 0), got {gamma_prior!r}")
            gamma_prior = (float(gamma_prior[0]), float(gamma_prior[1]))
        if not (isinstance(mean_init_std, int | float) and mean_init_std >= 0):
            raise ValueError(f"mean_init_std must be a number ≥ 0, got {mean_init_std!r}")
        self.gamma_prior, self.mean_init_std = gamma_prior, float(mean_init_std)
        super().__init__(n_components, flow, seed)

    def _build(self) -> None:
        self.flow = self._new_flow()
        shape = (self.n_components, int(self.flow.dim))
        self.means = nn.Parameter(self.mean_init_std * torch.randn(shape))  # μ_k
        self.log_precisions = nn.Parameter(0.01 * torch.randn(shape))  # s_k = log σ_k⁻¹

    @property
    def config(self) -> dict:
        return {**super().config, "gamma_prior": self.gamma_prior, "mean_init_std": self.mean_init_std}

    def _first_flow(self) -> nn.Module:
        return self.flow

    @property
    def means_(self) -> np.ndarray:
        """Latent component means μ_k, (K, D)."""
        return self.means.detach().cpu().numpy()

    @property
    def stds_(self) -> np.ndarray:
        """Latent component standard deviations σ_k = exp(−s_k), (K, D)."""
        return torch.exp(-self.log_precisions.detach()).cpu().numpy()

    def _initialize_flows(self, x: torch.Tensor) -> None:
        self.flow.initialize(x)

    def latent_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log N(z; μ_k, diag σ_k²) for every row and component, (B, K).

        With σ_k = exp(−s_k): Σ_d [ s_kd − ½ ((z_d − μ_kd) · exp(s_kd))² − ½ ln 2π ].
        """
        scaled = (z[:, None, :] - self.means) * torch.exp(self.log_precisions)  # (B, K, D)
        return (self.log_precisions - 0.5 * scaled**2).sum(-1) - 0.5 * z.shape[1] * LOG_2PI

    def component_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p_k(x) = log N(f(x); μ_k, diag σ_k²) + log|det ∂f/∂x|, (B, K) (the log-det is shared)."""
        z, log_det = self.flow.transform(x)
        return self.latent_log_prob(z) + log_det[:, None]

    def _regulariser(self) -> torch.Tensor:
        """−mean over components and dimensions of log Gamma(σ⁻¹; a, b) (paper eq. 26).

        log Gamma(λ; a, b) = a ln b + (a − 1) ln λ − b λ − ln Γ(a), with λ = σ⁻¹ = exp(s); for a = 2, b = 1 its
        maximum is at λ = 1, so the prior pulls every σ towards 1. The reference code's version is restated
        in docs/notes/flow-mixtures.md §2.4.
        """
        if self.gamma_prior is None:
            return super()._regulariser()
        a, b = self.gamma_prior
        s = self.log_precisions
        log_gamma = a * math.log(b) + (a - 1) * s - b * torch.exp(s) - math.lgamma(a)
        return -log_gamma.mean()

    def _decode(self, component: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x = f⁻¹(z) with z = μ_s + σ_s ⊙ ε, ε ~ N(0, T² I): T = 0 decodes the component means μ_k."""
        z = self.means[component] + noise * torch.exp(-self.log_precisions[component])  # source inverse
        return self.flow.inverse(z)

    @torch.no_grad()
    def interpolate(self, x1, x2, steps: int = 8) -> torch.Tensor:
        """Decode (1 − α) f(x1) + α f(x2) for α = 0 … 1 in ``steps`` steps with the shared flow.

        Compare the reference's interpolation, docs/notes/flow-mixtures.md §3.2. Single items →
        (steps, *event_shape); batches (B, *event_shape) → (B, steps, *event_shape).
        """
        a, b, alphas, single = self._interpolation_inputs(x1, x2, steps)
        mixed = self._mix_latents(self.flow.transform(a)[0], self.flow.transform(b)[0], alphas)
        frames = self.flow.inverse(mixed.flatten(0, 1)).reshape(a.shape[0], steps, *self.event_shape)
        return frames[0] if single else frames
