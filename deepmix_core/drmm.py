"""Deep Residual Mixture Model (DRMM): stacked mixture layers on residuals (papers 000 and 001).

Layer ``l`` sees the residual ``r_{l−1}`` of the data (``r_0 = x``) and the latent choices
``h_1 … h_{l−1}`` of the layers before it. Its K components are products of an isotropic Gaussian over
the residual and one categorical table per earlier latent (paper 001 Eqs. 1–4)::

    log p_l(r, h_<l | k) = log N(r | μ_k, σ_l² I) + Σ_j softmax(h_j)ᵀ log P_kj

It draws a component ``k_l`` from its (truncated) posterior, passes on the residual ``r_l = r_{l−1} − μ_k``
and appends its own choice as a smoothed one-hot log-pdf ``h_l`` (paper 001 Fig. 3). A sample is the sum
of the chosen means ``Σ_l μ^{(l)}_{k_l}``: with K components per layer there are K^L such sums, which is
why depth multiplies the number of density modes.

Everything a user conditions on (known values, priors, constraints; :mod:`deepmix_core.conditioning`)
is added to each layer's component logits and then shifted into that layer's residual space, so the
wishes "flow through the network with the data" (paper 001 §3.5).

Training follows the reference implementation (docs/notes/drmm.md §2): a
three-stage curriculum (paper 001 §3.4), or the EM-style ρ schedule of paper 000 (``schedule="em"``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from .base import MixtureModel, resolve_budget
from .conditioning import Condition, Known, as_condition_list, report_on_wishes, total_log_multiplier
from .history import History
from .runtime import make_generator, progress_bar
from .validation import as_data_tensor, check_finite_number, check_whole_number

__all__ = ["DRMM", "DRMMLayer", "LayerTrace"]

SCHEDULES = ("curriculum", "em", "none")


@dataclass
class StepSettings:
    """How one training step treats the layers (derived from the training phase in [0, 1))."""

    stage: int  # curriculum stage 1, 2, 3 (EM schedule: 1 before ρ switches on, 2 after, 3 end-to-end)
    use_latents: bool  # include the categorical terms Σ_j softmax(h_j)ᵀ log P_kj
    use_weights: bool  # include log w_k (otherwise uniform weights)
    stop_gradients: bool  # each layer trains on a detached input (no gradient between layers)
    reg_weight: float  # weight of the orphan-component regulariser
    true_mix: float  # stage 3: interpolation from the per-layer proxy losses to the true likelihood
    lr_scale: float  # learning rate multiplier
    em_rho: float | None = None  # EM schedule: weight of latent terms in the hard E-step; None = curriculum


def curriculum_settings(phase: float, regularization: float) -> StepSettings:
    """The 3-stage curriculum of paper 001 §3.4, with the exact thresholds of the reference (docs/notes/drmm.md §2.2).

    Stage 1 (phase ≤ 1/3): per-layer proxy losses, gradients stopped, no weights, no latent terms.
    Stage 2 (≤ 2/3): latent terms on. Stage 3: end-to-end with weights; the loss moves linearly from
    the proxies to the true likelihood; the learning rate drops to 0.1·lr0 and anneals linearly to 0.
    """
    if phase <= 1 / 3:
        return StepSettings(stage=1, use_latents=False, use_weights=False, stop_gradients=True,
                            reg_weight=regularization, true_mix=0.0, lr_scale=1.0)
    if phase <= 2 / 3:
        return StepSettings(stage=2, use_latents=True, use_weights=False, stop_gradients=True,
                            reg_weight=regularization, true_mix=0.0, lr_scale=1.0)
    mix = min(max(1.0 - 3.0 * (1.0 - phase), 0.0), 1.0)
    return StepSettings(stage=3, use_latents=True, use_weights=True, stop_gradients=False,
                        reg_weight=0.0, true_mix=mix, lr_scale=0.1 * 3.0 * (1.0 - phase))


def em_settings(phase: float, regularization: float) -> StepSettings:
    """The EM-style schedule of paper 000 §3.5, as the authors' ``arxiv-v2`` code runs it (docs/notes/drmm.md §2.8).

    Hard E-step ``k* = argmax_k C + ρ·Lat`` (no weights). The paper ramps ρ smoothly from 0 to 1 and keeps
    gradient stops throughout; the v2 code steps ρ 0 → 1 at phase ½ and trains end to end for the last
    quarter, which is what this function does. Regulariser and learning rate are scaled by
    ``clip((2 − 2·phase)², 0, 1)``.
    """
    decay = min(max((2.0 - 2.0 * phase) ** 2, 0.0), 1.0)
    rho = 0.0 if phase <= 0.5 else 1.0
    stage = 1 if phase <= 0.5 else (2 if phase <= 0.75 else 3)
    return StepSettings(stage=stage, use_latents=True, use_weights=True, stop_gradients=phase <= 0.75,
                        reg_weight=regularization * decay, true_mix=0.0, lr_scale=decay, em_rho=rho)


def no_curriculum_settings(phase: float, regularization: float) -> StepSettings:
    """Plain end-to-end likelihood training (the "without curriculum" run of paper 001 Fig. 5)."""
    return StepSettings(stage=3, use_latents=True, use_weights=True, stop_gradients=False,
                        reg_weight=0.0, true_mix=1.0, lr_scale=1.0)


@dataclass
class LayerTrace:
    """What one layer saw and did for a batch (for residual-space figures, paper 000 Fig. 3)."""

    layer: int  # 0-based layer index
    inputs: torch.Tensor  # (N, D) residual entering the layer (the data itself for layer 0)
    residuals: torch.Tensor  # (N, D) residual passed on: inputs − μ_k
    components: torch.Tensor  # (N,) chosen component per row
    centroids: torch.Tensor  # (K, D) the layer's means
    sigma: float  # the layer's σ


@dataclass
class _Stream:
    """Everything flowing from one layer to the next for a batch of B rows."""

    known: Known | None  # data (training, log_prob) or known values (sampling), in residual space
    conditions: list[Condition]  # priors and constraints, in residual space
    latents: list[torch.Tensor] = field(default_factory=list)  # h_1 … h_{l−1}: (B, K) log-pdfs
    log_q: torch.Tensor | None = None  # (B,) Σ of log q(h_j) of the choices made so far
    total: torch.Tensor | None = None  # (B, D) Σ of the chosen means so far


@dataclass
class _LayerOutput:
    stream: _Stream
    log_p: torch.Tensor  # (B,) this depth's importance-sampled log-density estimate
    logits: torch.Tensor  # (B, K) component log-probabilities L[i, k] (unnormalised)
    data_term: torch.Tensor | None  # (B, K) masked Gaussian term C[i, k]
    latent_term: torch.Tensor | None  # (B, K) Σ_j softmax(h_j)ᵀ log P_kj (None for the first layer)
    component: torch.Tensor  # (B,) chosen component


class DRMMLayer(nn.Module):
    """One residual mixture layer: K isotropic Gaussians over the residual × categorical latent tables.

    Parameters (docs/notes/drmm.md §1.3): ``means`` (K, D); ``log_var`` = log σ², one scalar for the layer;
    ``mixture_logits`` (K,) with w = softmax; ``latent_logits`` (j, K, K) holding for each component
    a log-pdf over each of the j earlier layers' K choices.
    """

    def __init__(self, index: int, n_components: int, dim: int) -> None:
        super().__init__()
        k = n_components
        self.index, self.n_components, self.dim = index, k, dim
        self.means = nn.Parameter(torch.empty(k, dim).uniform_(-1.0, 1.0))
        # σ² = 0.1 / K^(1/D): the reference's effective initial variance (its data-scaled init never ran)
        self.log_var = nn.Parameter(torch.tensor(math.log(0.1 / k ** (1.0 / dim))))
        self.mixture_logits = nn.Parameter(torch.zeros(k))
        self.latent_logits = nn.Parameter(torch.empty(index, k, k).uniform_(-1e-3, 1e-3))

    @property
    def variance(self) -> torch.Tensor:
        return self.log_var.exp()

    def latent_log_tables(self) -> torch.Tensor:
        """log P_kj: (j, K, K), normalised over the last axis."""
        return torch.log_softmax(self.latent_logits, dim=-1)

    def n_parameters(self) -> int:
        """1 (σ) + K·(D + K·j) (means and tables) + K (weights): the reference's count (docs/notes/drmm.md §1.2)."""
        k = self.n_components
        return 1 + k * (self.dim + k * self.index) + k


class DRMM(MixtureModel):
    """Deep Residual Mixture Model with the shared verbs ``fit``, ``sample``, ``log_prob``, ``save``.

    Parameters
    ----------
    n_layers : int
        Number of mixture layers L.
    n_components : int
        Components per layer K.
    n_features : int, optional
        Data dimension D; set by ``fit`` when not given.
    truncation : float
        Inference truncation α_t: components with posterior below α_t·max are never drawn (App. C.2).
    train_truncation : float
        The same during training (0.5 in the paper: sharper modes in deep models).
    regularization : float
        Weight α of the orphan-component regulariser. Paper 001 gives 0.001 in §3.4 and 0.1 in its
        hyperparameter table; the authors' code uses 0.01, which is the default here.
    epsilon : float
        Laplace smoothing of the packed one-hot latents (1e-8).

    Attributes (after ``fit``; numpy)
    ----------
    means_ : (L, K, D) each layer's component means (in that layer's residual space)
    weights_ : (L, K) each layer's mixture weights softmax(logits)
    sigmas_ : (L,) each layer's σ
    """

    family = "DRMM"
    log_prob_kind = "estimate"
    supported_conditions = frozenset({"known", "weight", "priors", "constraints"})

    def __init__(
        self,
        n_layers: int,
        n_components: int,
        n_features: int | None = None,
        truncation: float = 0.05,
        train_truncation: float = 0.5,
        regularization: float = 0.01,
        epsilon: float = 1e-8,
    ) -> None:
        super().__init__()
        n_layers = check_whole_number(n_layers, "n_layers")
        n_components = check_whole_number(n_components, "n_components", minimum=2)
        for name, value in (("truncation", truncation), ("train_truncation", train_truncation)):
            if not 0.0 < check_finite_number(value, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {value!r}")
        regularization = check_finite_number(regularization, "regularization", minimum=0.0)
        if not 0 < check_finite_number(epsilon, "epsilon") < 1:
            raise ValueError(f"epsilon must be in (0, 1), got {epsilon!r}")
        self.n_layers, self.n_components = n_layers, n_components
        self.truncation, self.train_truncation = truncation, train_truncation
        self.regularization, self.epsilon = regularization, epsilon
        self.layers = nn.ModuleList()
        self._fitted = False
        self.register_buffer("_device_anchor", torch.zeros(0))
        if n_features is not None:
            self._build(n_features)

    # ------------------------------------------------------------------ bookkeeping
    @property
    def config(self) -> dict:
        return {
            "n_layers": self.n_layers,
            "n_components": self.n_components,
            "n_features": self.n_features,
            "truncation": self.truncation,
            "train_truncation": self.train_truncation,
            "regularization": self.regularization,
            "epsilon": self.epsilon,
        }

    @property
    def n_features(self) -> int | None:
        return self.layers[0].dim if len(self.layers) else None

    @property
    def device(self) -> torch.device:
        return self._device_anchor.device

    @property
    def dtype(self) -> torch.dtype:
        """Floating type of the parameters (float32 unless the model was converted, e.g. ``model.double()``)."""
        return self._device_anchor.dtype

    def _build(self, dim: int) -> None:
        self.layers = nn.ModuleList(DRMMLayer(i, self.n_components, dim) for i in range(self.n_layers))
        self.layers.to(device=self.device, dtype=self.dtype)

    @property
    def is_fitted(self) -> bool:
        """True after ``fit`` (or ``load``); a model built with ``n_features`` alone is not fitted."""
        return self._fitted

    def _check_fitted(self) -> None:
        """Sampling and densities need parameters: after ``fit``, ``load``, or ``n_features=`` (initial values)."""
        if self.n_features is None:
            raise RuntimeError(f"this {self.family} has not been fitted yet: call fit(data) first")

    _check_built = _check_fitted

    def n_parameters(self) -> int:
        """Total parameter count (reference formula; e.g. 3 layers × 16 on 2-D data → 915)."""
        self._check_built()
        return sum(layer.n_parameters() for layer in self.layers)

    @property
    def sigmas(self) -> list[float]:
        """Each layer's σ (they roughly halve per layer on the Sierpinski triangle)."""
        return [layer.variance.sqrt().item() for layer in self.layers]

    @property
    def centroids(self) -> list[torch.Tensor]:
        """Each layer's means (K, D), detached."""
        return [layer.means.detach() for layer in self.layers]

    @property
    def means_(self):
        """(L, K, D) numpy array of every layer's means."""
        self._check_fitted()
        return torch.stack(self.centroids).cpu().numpy()

    @property
    def weights_(self):
        """(L, K) numpy array of every layer's mixture weights."""
        self._check_fitted()
        return torch.stack([torch.softmax(layer.mixture_logits.detach(), 0) for layer in self.layers]).cpu().numpy()

    @property
    def sigmas_(self):
        """(L,) numpy array of every layer's σ."""
        self._check_fitted()
        return torch.stack([layer.variance.detach().sqrt() for layer in self.layers]).cpu().numpy()

    # ------------------------------------------------------------------ one layer
    def _layer_step(
        self,
        layer: DRMMLayer,
        stream: _Stream,
        settings: StepSettings | None,
        generator: torch.Generator | None,
    ) -> _LayerOutput:
        """Run one layer: component logits, density estimate, truncated draw, residuals (docs/notes/drmm.md §1.4–1.7).

        ``settings`` is ``None`` at inference (all terms on, inference truncation, conditions active).
        """
        training = settings is not None
        if training and settings.stop_gradients:
            stream = _detached(stream)
        means, variance = layer.means, layer.variance
        batch = _batch_size(stream)
        # C[i, k]: masked Gaussian log-likelihood of the residual (paper 001 Eq. 11)
        data_term = stream.known.log_multiplier(means, variance) if stream.known is not None else None
        logits = means.new_zeros(batch, layer.n_components) if data_term is None else data_term
        extra = total_log_multiplier(stream.conditions, means, variance)  # priors and constraints (§3.5)
        if extra is not None:
            logits = logits + extra
        # Σ_j softmax(h_j)ᵀ log P_kj: how well component k explains the earlier layers' choices (Eq. 4)
        latent_term = None
        if stream.latents and (not training or settings.use_latents):
            tables = layer.latent_log_tables()
            latent_term = sum(torch.softmax(h, -1) @ tables[j].T for j, h in enumerate(stream.latents))
        use_weights = not training or settings.use_weights
        log_w = torch.log_softmax(layer.mixture_logits, 0) if use_weights else -math.log(layer.n_components)
        full = logits + log_w + (latent_term if latent_term is not None else 0.0)
        full = full.expand(batch, -1)  # a single known row or wish applies to every sample
        log_q_in = stream.log_q if stream.log_q is not None else means.new_zeros(batch)
        # importance-sampled density of the first l layers: log Σ_k exp L[k] − Σ_{j<l} log q(h_j) (Eq. 10)
        log_p = torch.logsumexp(full, dim=1) - log_q_in

        alpha = self.train_truncation if training else self.truncation
        keep = full.detach() >= full.detach().max(1, keepdim=True).values + math.log(alpha)
        log_q = torch.log_softmax(torch.where(keep, full, torch.full_like(full, -math.inf)), dim=1)
        if training and settings.em_rho is not None:
            component = torch.argmax(log_q.detach(), dim=1)  # paper 000: latents are the truncated argmax
        else:
            component = _gumbel_argmax(log_q.detach(), generator)
        log_q_out = log_q_in + log_q.gather(1, component[:, None]).squeeze(1)

        x_hat = means[component]
        tables = layer.latent_log_tables()
        latents = [
            torch.log_softmax(h - tables[j][component], dim=-1)  # discrete residual (docs/notes/drmm.md §1.7)
            for j, h in enumerate(stream.latents)
        ]
        latents.append(self._pack(component, layer.n_components))
        next_stream = _Stream(
            known=stream.known.shifted(x_hat) if stream.known is not None else None,
            conditions=[condition.shifted(x_hat) for condition in stream.conditions],
            latents=latents,
            log_q=log_q_out,
            total=x_hat if stream.total is None else stream.total + x_hat,
        )
        return _LayerOutput(next_stream, log_p, full, data_term, latent_term, component)

    def _pack(self, component: torch.Tensor, k: int) -> torch.Tensor:
        """Smoothed one-hot log-pdf ``log((1 − ε)·onehot(k) + ε/K)`` (docs/notes/drmm.md §1.6)."""
        one_hot = torch.nn.functional.one_hot(component, k).to(self.layers[0].means.dtype)
        return torch.log((1.0 - self.epsilon) * one_hot + self.epsilon / k)

    def _run(
        self,
        stream: _Stream,
        settings: StepSettings | None = None,
        generator: torch.Generator | None = None,
        upto_layer: int | None = None,
    ) -> list[_LayerOutput]:
        outputs = []
        for layer in self.layers[: upto_layer or self.n_layers]:
            output = self._layer_step(layer, stream, settings, generator)
            outputs.append(output)
            stream = output.stream
        return outputs

    # ------------------------------------------------------------------ training
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
        lr: float = 0.005,
        schedule: str = "curriculum",
        init_rows: int = 1024,
    ) -> History:
        """Train with Adam on minibatches; returns a :class:`History`.

        Parameters
        ----------
        data : (N, D) data
        epochs, steps : the budget (default 20,000 steps). A step is one Adam update on ``batch_size`` rows
            drawn at random; an epoch is ⌈N / batch_size⌉ steps. The curriculum gives each stage a third.
        batch_size, lr : minibatch size and initial learning rate lr0.
        seed : seeds initialisation, minibatches and latent draws (``None``: global RNG).
        progress : show a tqdm bar.
        warm_start : keep the current parameters and run the schedule again over the new budget (a fresh
            optimiser); ``False`` (default) starts from the data-dependent initialisation.
        schedule : ``"curriculum"`` (paper 001, default), ``"em"`` (paper 000's ρ schedule) or
            ``"none"`` (plain end-to-end likelihood, for comparison).
        init_rows : rows used by the data-dependent initialisation of the means.

        The history holds per step: ``loss``, ``layer_losses`` (L,), ``lr``, ``stage``, ``time``.
        """
        x = data
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
        batch_size = check_whole_number(batch_size, "batch_size")
        lr = check_finite_number(lr, "lr", positive=True)
        init_rows = check_whole_number(init_rows, "init_rows", minimum=2)
        data = as_data_tensor(x, device=self.device, dtype=self.dtype, min_rows=2)
        steps_per_epoch = self._steps_per_epoch(data.shape[0], batch_size)
        iterations = resolve_budget(epochs, steps, steps_per_epoch, default_steps=20_000)
        if self.n_features is None:
            self._build(data.shape[1])
        elif data.shape[1] != self.n_features:
            raise ValueError(f"data has {data.shape[1]} columns but the model has {self.n_features}")
        generator = make_generator(seed, self.device)
        if not (warm_start and self.is_fitted):
            self._initialise(data, init_rows, generator)
        settings_for = {"curriculum": curriculum_settings, "em": em_settings, "none": no_curriculum_settings}[
            schedule
        ]
        optimizer = torch.optim.Adam(self.parameters(), lr=lr)
        losses = torch.zeros(iterations, device=self.device)
        layer_losses = torch.zeros(iterations, self.n_layers, device=self.device)
        stages, lrs, times = [], [], []
        bar = progress_bar(iterations, progress, desc=f"DRMM {self.n_layers}×{self.n_components}")
        start = time.perf_counter()
        last_good, checked = self._snapshot(), 0  # the state to fall back to if training goes non-finite
        for step in range(iterations):
            settings = settings_for(step / iterations, self.regularization)
            for group in optimizer.param_groups:
                group["lr"] = lr * settings.lr_scale
            rows = torch.randint(data.shape[0], (batch_size,), generator=generator, device=self.device)
            per_layer = self._training_losses(data[rows], settings, generator)
            loss = per_layer.sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses[step], layer_losses[step] = loss.detach(), per_layer.detach()
            stages.append(settings.stage)
            lrs.append(lr * settings.lr_scale)
            times.append(time.perf_counter() - start)
            if step % 100 == 0 or step == iterations - 1:
                bar.set_postfix(stage=settings.stage, loss=f"{loss.item():.3f}", refresh=False)
                finite = torch.isfinite(losses[checked : step + 1])
                if not (finite.all() and self._state_is_finite()):
                    bar.close()
                    bad = checked + int((~finite).nonzero()[0, 0]) if not finite.all() else step  # first bad step
                    kept = f"after step {checked - 1}" if checked else "from before training"
                    self._fail_non_finite(
                        where=f"step {bad}", loss=losses[bad].item(), last_good=last_good, kept=kept, lr=lr, data=data
                    )
                last_good, checked = self._snapshot(), step + 1
            bar.update(1)
        bar.close()
        history = History()
        history.rows = {
            "step": list(range(iterations)),
            "loss": losses.cpu().tolist(),
            "layer_losses": layer_losses.cpu().tolist(),
            "lr": lrs,
            "stage": stages,
            "time": times,
        }
        history.notes["schedule"] = schedule
        self._fitted = True
        self._budget_notes(history, iterations, steps_per_epoch, f"one Adam update on {batch_size} random rows")
        return history

    def _training_losses(self, batch: torch.Tensor, settings: StepSettings, generator) -> torch.Tensor:
        """Per-layer losses for one minibatch (docs/notes/drmm.md §2.3, §2.4 and §2.8)."""
        stream = _Stream(known=_data_condition(batch), conditions=[])
        outputs = self._run(stream, settings, generator)
        losses = []
        for index, output in enumerate(outputs):
            if settings.em_rho is not None:
                # hard EM (paper 000 §3.5): the E-step scores C + ρ·Lat, leaving out the weights w_k (as
                # k-means pretraining does); the M-step maximises the full L at the chosen component
                e_logits = output.data_term
                if output.latent_term is not None:
                    e_logits = e_logits + settings.em_rho * output.latent_term
                e_step = torch.argmax(e_logits.detach(), dim=1)
                layer_loss = -output.logits.gather(1, e_step[:, None]).mean()
            else:
                proxy = -output.log_p.mean()
                is_last = index == self.n_layers - 1
                true = -output.log_p.mean() if is_last else torch.zeros((), device=batch.device)
                layer_loss = settings.true_mix * true + (1.0 - settings.true_mix) * proxy
            if settings.reg_weight > 0:
                # orphan regulariser: pull every component towards its closest sample, −α mean_k max_i C[i, k]
                layer_loss = layer_loss - settings.reg_weight * output.data_term.max(0).values.mean()
            losses.append(layer_loss)
        return torch.stack(losses)

    @torch.no_grad()
    def _initialise(self, data: torch.Tensor, init_rows: int, generator) -> None:
        """Data-dependent init (docs/notes/drmm.md §2.6): each layer's means ~ TruncNormal(mean, sd) of its input.

        Weights and σ go back to their initial values and the latent tables are drawn anew from U(−0.001, 0.001).
        Every draw comes from ``generator``, so the same seed gives the same fit whatever the global random state,
        and nothing learned before survives a fresh start.
        """
        rows = torch.randperm(data.shape[0], generator=generator, device=self.device)[:init_rows]
        stream = _Stream(known=_data_condition(data[rows]), conditions=[])
        for layer in self.layers:
            inputs = stream.known.values
            centre, spread = inputs.mean(0), inputs.std(0, unbiased=False)
            z = torch.randn(layer.means.shape, generator=generator, device=self.device, dtype=self.dtype)
            while (z.abs() > 2).any():  # redraw beyond ±2 sd, as TensorFlow's truncated normal
                redraw = torch.randn(z.shape, generator=generator, device=self.device, dtype=self.dtype)
                z = torch.where(z.abs() > 2, redraw, z)
            layer.means.copy_(centre + spread * z)
            layer.log_var.fill_(math.log(0.1 / layer.n_components ** (1.0 / layer.dim)))
            layer.mixture_logits.zero_()
            layer.latent_logits.uniform_(-1e-3, 1e-3, generator=generator)  # from the seed, never the global state
            stream = self._layer_step(layer, stream, None, generator).stream

    # ------------------------------------------------------------------ sampling
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
        sort: bool = True,
        upto_layer: int | None = None,
        noise: bool = False,
        return_scores: bool = False,
        exact_known: bool = True,
    ):
        """Forward ancestral sampling, optionally conditioned (paper 001 §3.5).

        Each layer draws a component from its truncated posterior given the known values (residualised),
        the priors and constraints (in residual space) and the earlier choices; the sample is
        ``Σ_l μ^{(l)}_{k_l}``.

        Parameters
        ----------
        n : number of samples.
        known : (D,) or (n, D) with ``nan`` for unknown variables; ``weight`` (D,) per-variable confidence.
        priors : list of :class:`GaussianPrior`; constraints : list of Inequality / Equality / Box.
        sort : rank samples by the model's own log-likelihood estimate, best first ("best of batch").
        upto_layer : use only the first j layers (partial sums for per-depth figures).
        noise : add N(0, σ²) of the last used layer (makes samples match the density plots).
        classes : not supported yet (this DRMM has no label stream): raises ``NotImplementedError``.
        seed : seed for a private generator; ``return_scores``: also return the ranking scores (n,).

        Returns
        -------
        (n, D) tensor, or ``(samples, scores)``. Known variables (weight 1) are returned exactly as given
        (``exact_known=True``, the default, as a GMM does); ``exact_known=False`` returns the network's
        reconstructions of them instead, as in the paper: sums of means, off by about the last layer's σ.
        ``sample_report_`` then holds a :class:`~deepmix_core.conditioning.WishReport` (feasibility estimated
        from the first layer's mixture, share of samples meeting the inequalities and boxes); a
        ``UserWarning`` says so when the wishes look infeasible.
        """
        self._check_fitted()
        self._check_sample_count(n)
        self._refuse_unsupported("Train one DRMM per class (MaxLikelihoodClassifier) instead.", classes=classes)
        depth = self._check_depth(upto_layer)
        conditions = as_condition_list(
            self.n_features, self.device, known, weight, priors, constraints, n=n, dtype=self.dtype
        )
        known_condition = next((c for c in conditions if isinstance(c, Known)), None)
        others = [c for c in conditions if not isinstance(c, Known)]
        generator = make_generator(seed, self.device)
        log_q = torch.zeros(n, device=self.device, dtype=self.dtype)
        stream = _Stream(known=known_condition, conditions=others, log_q=log_q)
        outputs = self._run(stream, None, generator, depth)
        samples = outputs[-1].stream.total
        if noise:
            sigma = self.layers[depth - 1].variance.sqrt()
            samples = samples + sigma * torch.randn(
                samples.shape, generator=generator, device=self.device, dtype=self.dtype
            )
        if exact_known and known_condition is not None:  # known variables (weight 1) returned as given
            exact = (known_condition.mask >= 1.0).expand_as(samples)
            samples = torch.where(exact, known_condition.values.expand_as(samples), samples)
        first = self.layers[0]  # layer 1 is a Gaussian mixture over the data itself: the feasibility estimate
        self.sample_report_ = report_on_wishes(
            conditions, torch.log_softmax(first.mixture_logits, 0), first.means, first.variance, samples, self.family
        )
        scores = outputs[-1].log_p
        if sort:
            order = torch.argsort(scores, descending=True)
            samples, scores = samples[order], scores[order]
        return (samples, scores) if return_scores else samples

    def _check_depth(self, upto_layer: int | None) -> int:
        if upto_layer is None:
            return self.n_layers
        if not (isinstance(upto_layer, int) and 1 <= upto_layer <= self.n_layers):
            raise ValueError(f"upto_layer must be an integer in 1..{self.n_layers}, got {upto_layer!r}")
        return upto_layer

    # ------------------------------------------------------------------ density
    @torch.no_grad()
    def log_prob_passes(
        self, x, n_passes: int = 32, upto_layer: int | None = None, seed: int | None = None
    ) -> torch.Tensor:
        """Single-sample importance estimates of log p(x), one per pass: shape ``(n_passes, N)``.

        Each pass draws h_l ~ q_l (the layer's truncated posterior) and returns
        ``log p_L(r_{L−1}, h_{<L}) − Σ_l log q_l(h_l)`` (paper 001 Eq. 10). Their spread shows how
        uncertain a single pass is.
        """
        self._check_fitted()
        data = as_data_tensor(x, name="x", device=self.device, dtype=self.dtype)
        if data.shape[1] != self.n_features:
            raise ValueError(f"x has {data.shape[1]} columns but the model has {self.n_features}")
        n_passes = check_whole_number(n_passes, "n_passes")
        depth = self._check_depth(upto_layer)
        generator = make_generator(seed, self.device)
        estimates = []
        for _ in range(n_passes):
            stream = _Stream(known=_data_condition(data), conditions=[])
            estimates.append(self._run(stream, None, generator, depth)[-1].log_p)
        return torch.stack(estimates)

    @torch.no_grad()
    def log_prob(self, x, n_passes: int = 32, upto_layer: int | None = None, seed: int | None = None):
        """Estimated log-density per row, ``(N,)``: an importance-sampling estimate, not exact.

        ``p̂(x) = (1/P) Σ_p p̂_p(x)`` over ``n_passes`` single-sample estimates (paper 001 §3.3), averaged
        in probability space. It tends to err low: the truncated proposal (α_t = 0.05) never visits
        unlikely latent paths, and the log of an average of noisy estimates is biased low (Jensen); more
        passes shrink the second effect. Use :meth:`log_prob_passes` for the spread.

        Compared with the reference code's numbers, these values include −(D/2)·log 2π and use the mask
        linearly in both Gaussian terms (paper 001 Eq. 11; the code squares it in the distance).
        """
        passes = self.log_prob_passes(x, n_passes, upto_layer, seed)
        return self._checked_log_prob(torch.logsumexp(passes, dim=0) - math.log(passes.shape[0]))

    @torch.no_grad()
    def trace(self, x, seed: int | None = 0) -> list[LayerTrace]:
        """Per-layer inputs, residuals, chosen components and centroids for the rows of ``x``."""
        self._check_fitted()
        data = as_data_tensor(x, name="x", device=self.device, dtype=self.dtype)
        stream = _Stream(known=_data_condition(data), conditions=[])
        traces = []
        for index, output in enumerate(self._run(stream, None, make_generator(seed, self.device))):
            traces.append(
                LayerTrace(
                    layer=index,
                    inputs=stream.known.values,
                    residuals=output.stream.known.values,
                    components=output.component,
                    centroids=self.layers[index].means.detach(),
                    sigma=self.layers[index].variance.sqrt().item(),
                )
            )
            stream = output.stream
        return traces

    def _prepare_for_state(self, payload: dict) -> None:
        if payload["config"].get("n_features") is not None and self.n_features is None:
            self._build(payload["config"]["n_features"])
        self._fitted = bool(payload.get("fitted", True))  # files from before this flag held trained models

    def extra_repr(self) -> str:
        return f"n_layers={self.n_layers}, n_components={self.n_components}, n_features={self.n_features}"


# ---------------------------------------------------------------------- small helpers
def _data_condition(data: torch.Tensor) -> Known:
    """All variables known with weight 1: the training / likelihood view of a batch."""
    return Known.fully_observed(data)


def _batch_size(stream: _Stream) -> int:
    if stream.log_q is not None:
        return stream.log_q.shape[0]
    if stream.known is not None and stream.known.values.dim() == 2:
        return stream.known.values.shape[0]
    return 1


def _detached(stream: _Stream) -> _Stream:
    """Stop gradients at a layer's entry (curriculum stages 1–2: each layer trains on its own)."""
    known = stream.known
    if known is not None:
        known = _data_condition(known.values.detach())
    return _Stream(
        known=known,
        conditions=stream.conditions,
        latents=[h.detach() for h in stream.latents],
        log_q=None if stream.log_q is None else stream.log_q.detach(),
        total=stream.total,
    )


def _gumbel_argmax(log_probs: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Draw one category per row from ``softmax(log_probs)`` with the Gumbel-max trick."""
    uniform = torch.rand(log_probs.shape, generator=generator, device=log_probs.device, dtype=log_probs.dtype)
    gumbel = -torch.log(-torch.log(uniform.clamp(1e-20, 1.0 - 1e-7)))
    return torch.argmax(log_probs + gumbel, dim=1)

