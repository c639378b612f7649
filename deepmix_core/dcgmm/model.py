"""DCGMM: a stack of folding, pooling and convolutional GMM layers, each trained on its own likelihood.

Forward (up) passes posteriors; backward (down) passes control signals and ends in an image (paper 003
§III–IV, paper 002 §3). See :class:`DCGMM` for the verbs.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

import torch
from torch import nn

from ..base import MixtureModel, resolve_budget
from ..history import History
from ..runtime import flush_denormals, make_generator, progress_bar
from ..validation import check_finite_number, check_whole_number
from .classifier import Classifier
from .gmm_layer import GMMLayer
from .transforms import Fold, MaxPool

__all__ = ["DCGMM", "Sharpening", "parse_spec"]

_TOKEN = re.compile(r"^\s*([FPGC])\(\s*(\d+)\s*(?:,\s*(\w+)\s*)?\)\s*$")


@dataclass(frozen=True)
class Sharpening:
    """Settings of gradient-ascent sharpening (paper 002 §3.2.3, paper 003 §IV-C).

    After a folding layer's backward pass, the back-projected map X0 is improved by ``iterations`` steps
    of plain gradient ascent X ← X + η·∇_X J(X), with, per sample,

        J(X) = Σ_positions L_G(fold(X)) − reconstruction_weight·Σ (X − X0)²,

    where L_G is the objective of the GMM layer just above that fold. The model is not changed.

    ``rate`` is given relative to the largest stable step: η = rate / (c·s_max² + 2·reconstruction_weight),
    with c the number of patches covering a pixel and s_max the precision ceiling, the curvature bound of
    J. rate = 1 moves a pixel whose covering components all sit at s_max onto their consensus in one
    step; rates ≥ 2 can diverge. (The papers give absolute rates for a batch-mean objective, which do not
    carry over between architectures or batch sizes.) ``only_overlapping`` limits sharpening to folds
    whose patches overlap, the redundancy it exploits.
    """

    rate: float = 0.5
    iterations: int = 100
    reconstruction_weight: float = 0.0
    only_overlapping: bool = True


def parse_spec(spec: str, **gmm_options) -> list[nn.Module]:
    """Layers from the papers' notation, e.g. ``"F(3,1)-G(25)-F(4,2)-G(25)-F(12,1)-G(49)"``.

    ``F(f,Δ)`` folding, ``P(f,Δ)`` max-pooling, ``G(K)`` a shared (convolutional) GMM, ``G(K,ind)`` one GMM
    per position, ``C(S)`` a linear classifier with S classes on the top GMM layer (``C(S,2)``: top two).
    ``gmm_options`` (e.g. ``window=20``) go to every :class:`GMMLayer`.
    """
    layers: list[nn.Module] = []
    for token in spec.split("-"):
        match = _TOKEN.match(token)
        if not match:
            raise ValueError(
                f"cannot read layer {token!r} in spec {spec!r}: use F(f,Δ), P(f,Δ), G(K), G(K,ind) or C(S)"
            )
        kind, first, second = match.group(1), int(match.group(2)), match.group(3)
        if second is not None and kind != "G" and not second.isdigit():
            raise ValueError(f"the second argument of {token!r} must be a whole number (F(f,Δ), P(f,Δ), C(S,1|2))")
        if kind in "FP":
            stride = int(second) if second is not None else (1 if kind == "F" else first)
            layers.append(Fold(first, stride) if kind == "F" else MaxPool(first, stride))
        elif kind == "G":
            if second not in (None, "ind"):
                raise ValueError(f"G(K, …) takes only 'ind' as second argument, got {token!r}")
            layers.append(GMMLayer(first, shared=second is None, **gmm_options))
        else:
            layers.append(Classifier(first, inputs=int(second) if second is not None else 1))
    return layers


_LAYER_TYPES = {layer.__name__: layer for layer in (Fold, MaxPool, GMMLayer, Classifier)}


def _layer_from_config(config: dict) -> nn.Module:
    """A layer from what its ``config()`` returned (how a saved model is rebuilt)."""
    config = dict(config)
    kind = config.pop("type")
    if kind not in _LAYER_TYPES:
        raise ValueError(f"unknown layer type {kind!r} in a saved DCGMM")
    return _LAYER_TYPES[kind](**config)


# Pixels may stray this far outside [0, 1] (rounding in a user's own scaling) before images are refused.
PIXEL_TOLERANCE = 1e-3


def _class_ids(values, name: str) -> torch.Tensor:
    """Class indices as int64: whole numbers ≥ 0 (a float like 1.7 is refused rather than truncated)."""
    ids = torch.as_tensor(values)
    if ids.is_floating_point():
        if not (torch.isfinite(ids).all() and (ids == ids.round()).all()):
            raise ValueError(f"{name} must be whole-number class indices, got {ids.flatten()[:5].tolist()}")
    elif ids.dtype == torch.bool or not (ids.dtype.is_signed or ids.dtype == torch.uint8):
        raise ValueError(f"{name} must be whole-number class indices, got dtype {ids.dtype}")
    ids = ids.to(torch.int64)
    if ids.numel() and ids.min() < 0:
        raise ValueError(f"{name} must be class indices ≥ 0, got {ids.min().item()}")
    return ids


class DCGMM(MixtureModel):
    """Deep convolutional Gaussian mixture model for images ``(N, C, H, W)`` in [0, 1].

    Build it from layers or from the papers' notation::

        model = DCGMM.from_spec("F(3,1)-G(25)-F(4,2)-G(25)-F(12,1)-G(49)", input_shape=(1, 28, 28))
        history = model.fit(images, epochs=10)
        samples = model.sample(64, top_s=3, sharpen=True)

    Verbs: :meth:`fit` (every GMM layer one SGD step per batch on its own objective, after its delay),
    :meth:`layer_log_likelihoods` / :meth:`log_prob` / :meth:`outlier_scores`, :meth:`sample`,
    :meth:`inpaint`, :meth:`variants`, :meth:`fit_classifier` / :meth:`predict`, :meth:`save` / ``load``.

    Parameters
    ----------
    layers : Fold / MaxPool / GMMLayer modules, optionally ending in a Classifier; the last
        non-classifier layer must be a GMM layer. (Their ``config()`` dicts work too: that is how
        :meth:`load` rebuilds a saved model.)
    input_shape : (C, H, W) of the images.
    waits : per-GMM-layer start delays as fractions of the training steps (default 0, 0.1, 0.2, …, the
        reference's values); overrides the layers' own ``wait``.

    Attributes (numpy, one entry per GMM layer, bottom first)
    ----------
    weights_ : list of (P, K) mixture weights, P = 1 for a shared (convolutional) layer, else one row per position
    means_ : list of (P, K, D) centroids; precisions_ : list of (P, K, D) diagonal precisions s
    """

    family = "DCGMM"
    log_prob_kind = "score"
    supported_conditions = frozenset({"known", "classes"})

    def __init__(self, layers: list[nn.Module], input_shape: tuple[int, int, int], waits: list[float] | None = None):
        super().__init__()
        layers = [_layer_from_config(layer) if isinstance(layer, dict) else layer for layer in layers]
        if not layers or not all(isinstance(layer, (Fold, MaxPool, GMMLayer, Classifier)) for layer in layers):
            raise ValueError("layers must be a non-empty list of Fold, MaxPool, GMMLayer and Classifier modules")
        classifiers = [layer for layer in layers if isinstance(layer, Classifier)]
        if len(classifiers) > 1 or (classifiers and not isinstance(layers[-1], Classifier)):
            raise ValueError("at most one Classifier, and only as the last layer")
        self.stack = nn.ModuleList(layer for layer in layers if not isinstance(layer, Classifier))
        if not isinstance(self.stack[-1], GMMLayer):
            raise ValueError("the top of a DCGMM (below any classifier) must be a GMM layer G(K)")
        if len(input_shape) != 3:
            raise ValueError(f"input_shape is (C, H, W), got {input_shape}")
        self.input_shape = tuple(check_whole_number(v, "input_shape entries") for v in input_shape)
        channels, height, width = self.input_shape
        shape = (height, width, channels)
        self.shapes = [shape]  # map shape (H, W, C) entering each layer, then the top output
        for index, layer in enumerate(self.stack):
            try:
                shape = layer.build(shape)
            except ValueError as err:
                raise ValueError(f"layer {index} ({layer.extra_repr()}) on a {self.shapes[-1]} map: {err}") from None
            self.shapes.append(shape)
        if waits is not None:
            if len(waits) != len(self.gmm_layers):
                raise ValueError(f"waits has {len(waits)} entries for {len(self.gmm_layers)} GMM layers")
            for layer, wait in zip(self.gmm_layers, waits):
                if not 0 <= wait <= 1:
                    raise ValueError(f"waits are fractions in [0, 1], got {wait}")
                layer.wait = float(wait)
        self.classifier: Classifier | None = None
        if classifiers:
            self.attach_classifier(classifiers[0])

    @classmethod
    def from_spec(cls, spec: str, input_shape: tuple[int, int, int] = (1, 28, 28), waits: list[float] | None = None,
                  **gmm_options) -> DCGMM:
        """Build from notation (see :func:`parse_spec`); ``gmm_options`` (e.g. ``window=20``) go to every G layer.

        Default delays: 0, 0.1, 0.2, … of the training steps for the GMM layers bottom to top.
        """
        layers = parse_spec(spec, **gmm_options)
        n_gmm = sum(isinstance(layer, GMMLayer) for layer in layers)
        if waits is None and "wait" not in gmm_options:
            waits = [0.1 * i for i in range(n_gmm)]
        return cls(layers, input_shape, waits=waits)

    # ------------------------------------------------------------------ bookkeeping
    @property
    def config(self) -> dict:
        """What ``save`` stores besides the state dict (which also holds each annealer's state)."""
        layers = [layer.config() for layer in self.stack]
        if self.classifier is not None:
            layers.append(self.classifier.config())
        return {"layers": layers, "input_shape": list(self.input_shape)}

    @property
    def gmm_layers(self) -> list[GMMLayer]:
        """The GMM layers, bottom to top."""
        return [layer for layer in self.stack if isinstance(layer, GMMLayer)]

    @property
    def gmm_indices(self) -> list[int]:
        """Positions of the GMM layers in :attr:`stack`."""
        return [i for i, layer in enumerate(self.stack) if isinstance(layer, GMMLayer)]

    def _stack_index(self, layer) -> int:
        """Position in :attr:`stack` of GMM layer ``layer`` (counting GMM layers only, −1 = top), checked."""
        count = len(self.gmm_layers)
        if isinstance(layer, bool) or not isinstance(layer, int) or not -count <= layer < count:
            raise ValueError(f"layer must be a GMM layer index in {-count}..{count - 1} (−1 = top), got {layer!r}")
        return self.gmm_indices[layer]

    @property
    def device(self) -> torch.device:
        return self.gmm_layers[0].mu.device

    @property
    def is_fitted(self) -> bool:
        """True once any GMM layer has taken a training step (the annealing state is saved with the model)."""
        return any(layer.annealer.started for layer in self.gmm_layers)

    @property
    def weights_(self) -> list:
        """Per GMM layer, the mixture weights π = softmax(logits), (P, K) numpy arrays."""
        return [torch.softmax(layer.logits.detach(), dim=-1).cpu().numpy() for layer in self.gmm_layers]

    @property
    def means_(self) -> list:
        """Per GMM layer, the centroids μ, (P, K, D) numpy arrays."""
        return [layer.mu.detach().cpu().numpy() for layer in self.gmm_layers]

    @property
    def precisions_(self) -> list:
        """Per GMM layer, the diagonal precisions s (std = 1/s), (P, K, D) numpy arrays."""
        return [layer.precision.detach().cpu().numpy() for layer in self.gmm_layers]

    @property
    def spec(self) -> str:
        """The model in the papers' notation."""
        tokens = []
        for layer in self.stack:
            if isinstance(layer, GMMLayer):
                tokens.append(f"G({layer.n_components}{'' if layer.shared else ',ind'})")
            else:
                tokens.append(layer.extra_repr())
        if self.classifier is not None:
            tokens.append(f"C({self.classifier.n_classes}{',2' if self.classifier.inputs == 2 else ''})")
        return "-".join(tokens)

    def __repr__(self) -> str:
        return f"DCGMM({self.spec!r}, input_shape={self.input_shape}, parameters={self.n_parameters()})"

    def n_parameters(self) -> int:
        """Trainable numbers of the generative layers (π logits, μ, s)."""
        return sum(p.numel() for layer in self.gmm_layers for p in (layer.logits, layer.mu, layer.precision))

    def _images_to_map(self, images) -> torch.Tensor:
        """Validate (N, C, H, W) images and return them channels-last on the model's device."""
        x = torch.as_tensor(images)
        if x.dtype == torch.uint8:
            raise ValueError("images are uint8: scale them to [0, 1] floats first (deepmix_core.data.to_unit_range)")
        if x.ndim == 3 and self.input_shape[0] == 1:
            x = x.unsqueeze(1)
        if x.ndim != 4 or tuple(x.shape[1:]) != self.input_shape:
            expected = ", ".join(map(str, self.input_shape))
            raise ValueError(f"images must have shape (N, {expected}), got {tuple(x.shape)}")
        if x.shape[0] == 0:
            raise ValueError("images is empty: give at least one image")
        if not torch.isfinite(x).all():
            raise ValueError("images contain nan or inf values")
        low, high = x.min().item(), x.max().item()
        if low < -PIXEL_TOLERANCE or high > 1 + PIXEL_TOLERANCE:
            raise ValueError(
                f"images must hold pixel values in [0, 1], got values from {low:g} to {high:g}: divide 0–255 "
                "images by 255, map [−1, 1] images with (x + 1) / 2 (see deepmix_core.data.to_unit_range)"
            )
        return x.to(self.device, self.gmm_layers[0].mu.dtype).permute(0, 2, 3, 1)

    def _map_to_images(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 3, 1, 2).contiguous()

    @staticmethod
    def _check_drawing(top_s, noise_scale) -> None:
        """``top_s`` is a whole number (≤ 0 = all components), ``noise_scale`` a finite number ≥ 0."""
        if isinstance(top_s, bool) or not isinstance(top_s, int):
            raise ValueError(f"top_s must be a whole number (≤ 0 keeps every component), got {top_s!r}")
        check_finite_number(noise_scale, "noise_scale", minimum=0.0)

    # ------------------------------------------------------------------ forward
    def activities(self, x: torch.Tensor, stop: int | None = None) -> list[torch.Tensor]:
        """Outputs of every layer of :attr:`stack` for a channels-last map (up to layer ``stop``, inclusive)."""
        outputs = []
        for index, layer in enumerate(self.stack):
            x = layer(x)
            outputs.append(x)
            if index == stop:
                break
        return outputs

    @torch.no_grad()
    def _batched(self, images, batch_size: int, fn) -> list:
        self._require_fitted()
        batch_size = check_whole_number(batch_size, "batch_size")
        x = self._images_to_map(images)
        return [fn(x[start:start + batch_size]) for start in range(0, x.shape[0], batch_size)]

    def layer_log_likelihoods(self, images, batch_size: int = 500) -> torch.Tensor:
        """Per image and GMM layer, the mean over positions of the layer objective L (nats per position).

        L is the max-component bound of a GMM's log-likelihood (with the current σ smoothing; after annealing
        σ = 0.01 and it is max_k log π_k N_k). Lower layers score patches, the top layer the whole image
        (paper 003 §IV-B). Returns (N, number of GMM layers), bottom layer first.
        """
        def scores(x):
            columns, h = [], x
            for layer in self.stack:
                if isinstance(layer, GMMLayer):
                    log_scores = layer.log_scores(h)
                    columns.append(layer.objective(log_scores).flatten(1).mean(1))
                    h = torch.softmax(log_scores, dim=-1)
                else:
                    h = layer(h)
            return torch.stack(columns, dim=1)

        return torch.cat(self._batched(images, batch_size, scores)).cpu()

    def log_prob(self, images, batch_size: int = 500) -> torch.Tensor:
        """The top GMM layer's score per image (see :meth:`layer_log_likelihoods`).

        It is a *score*, not a normalised density of the image: each layer models its input map (posteriors
        of the layer below), so the numbers rank images but do not integrate to one over pixel space.
        """
        return self._checked_log_prob(self.layer_log_likelihoods(images, batch_size)[:, -1])

    def outlier_scores(self, images, layer: int = -1, batch_size: int = 500) -> torch.Tensor:
        """Outlier score per image = −(mean layer objective) of GMM layer ``layer`` (higher = more unusual)."""
        self._stack_index(layer)
        return -self.layer_log_likelihoods(images, batch_size)[:, layer]

    def posteriors(self, images, layer: int = -1, batch_size: int = 500) -> torch.Tensor:
        """Posteriors (N, H, W, K) of GMM layer ``layer`` (counting GMM layers only, −1 = top)."""
        stop = self._stack_index(layer)
        return torch.cat(self._batched(images, batch_size, lambda x: self.activities(x, stop)[-1])).cpu()

    # ------------------------------------------------------------------ training
    def fit(
        self,
        data,
        *,
        epochs: int | None = None,
        steps: int | None = None,
        batch_size: int = 100,
        seed: int | None = 0,
        progress: bool = True,
        warm_start: bool = False,
    ) -> History:
        """Train every GMM layer by SGD on its own objective, bottom-up once per minibatch (paper 003 §IV-A).

        Each layer sees the posteriors of the layer below computed *before* that layer's step; no gradient
        crosses layers. A layer with delay ``wait`` = w starts after a fraction w of all steps; σ and ε follow
        the SingleExp rule per layer. Data are reshuffled every epoch (the reference shuffled once).

        Parameters
        ----------
        data : images (N, C, H, W) as floats in [0, 1].
        epochs, steps : the budget (default 10 epochs). A step is one SGD update of every GMM layer on
            ``batch_size`` images; an epoch is ⌊N / batch_size⌋ steps (full batches only, reshuffled).
        seed : seeds the initial centroids and the minibatch order.
        warm_start : ``False`` (default) starts from the papers' initialisation; ``True`` continues from the
            current parameters and annealing state (σ, ε), and the per-layer delays are not applied again.
            On a model that never trained both start afresh.

        Returns a :class:`History` with ``loss`` (−top-layer objective), ``layer_objectives`` (one column per
        GMM layer), ``sigma``, ``lr``, ``epoch`` and ``time`` per step.
        """
        x_all = self._images_to_map(data)
        n = x_all.shape[0]
        batch_size = check_whole_number(batch_size, "batch_size")
        if n < batch_size:
            raise ValueError(f"need at least batch_size={batch_size} images, got {n}")
        steps_per_epoch = self._steps_per_epoch(n, batch_size, drop_last=True)
        total = resolve_budget(epochs, steps, steps_per_epoch, default_epochs=10)
        generator = make_generator(seed, torch.device("cpu"))
        reset = not (warm_start and self.is_fitted)
        if reset:
            for index, layer in enumerate(self.gmm_layers):
                layer.reset_parameters(make_generator(None if seed is None else seed + 1 + index, self.device))
        history, start = History(), time.perf_counter()
        bar = progress_bar(total, progress, desc="DCGMM SGD")
        with flush_denormals():  # annealed posteriors are full of denormals, which halve the speed
            for epoch in range(math.ceil(total / steps_per_epoch)):
                order = torch.randperm(n, generator=generator).to(self.device)
                for batch_index in range(min(steps_per_epoch, total - epoch * steps_per_epoch)):
                    step = epoch * steps_per_epoch + batch_index
                    h = x_all[order[batch_index * batch_size:(batch_index + 1) * batch_size]]
                    objectives = []
                    for layer in self.stack:
                        if isinstance(layer, GMMLayer):
                            h, value = layer.train_step(h, learn=not reset or step >= layer.wait * total)
                            objectives.append(value)
                        else:
                            h = layer(h)
                    history.append(step=step, epoch=epoch, loss=-objectives[-1], layer_objectives=objectives,
                                   sigma=[layer.sigma for layer in self.gmm_layers],
                                   lr=[layer.lr for layer in self.gmm_layers], time=time.perf_counter() - start)
                    # refresh=False: the bar redraws at most every 0.5 s (a redraw per step floods a notebook)
                    bar.set_postfix(top=f"{objectives[-1]:.2f}", sigma=f"{self.gmm_layers[-1].sigma:.3f}",
                                    refresh=False)
                    bar.update(1)
        bar.close()
        history.notes.update(images=n, batch_size=batch_size, spec=self.spec,
                             start_steps=[math.ceil(layer.wait * total) if reset else 0 for layer in self.gmm_layers])
        self._budget_notes(history, total, steps_per_epoch, f"one SGD update of every GMM layer on {batch_size} images")
        return history

    # ------------------------------------------------------------------ classification
    def attach_classifier(self, classifier: Classifier) -> Classifier:
        """Put a classifier on the top ``classifier.inputs`` GMM layers (its weights start untrained)."""
        if classifier.inputs > len(self.gmm_layers):
            raise ValueError(
                f"the classifier reads {classifier.inputs} GMM layers; the model has {len(self.gmm_layers)}"
            )
        read = self.gmm_indices[-classifier.inputs:]
        classifier.build([self.shapes[i + 1] for i in read])
        self.classifier = classifier.to(self.device)
        return classifier

    def _classifier_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = self.activities(x)
        return [outputs[i] for i in self.gmm_indices[-self.classifier.inputs:]]

    def fit_classifier(
        self,
        images,
        labels,
        epochs: int = 10,
        batch_size: int = 100,
        n_classes: int | None = None,
        inputs: int | None = None,
        seed: int | None = 0,
        progress: bool = True,
    ) -> History:
        """Train a linear classifier on the frozen model's posteriors with cross-entropy (paper 003 §VI-I).

        A fresh ``Classifier(n_classes, inputs)`` replaces any existing one (``inputs`` = how many top GMM
        layers it reads; default: as the existing classifier, else 1). The generative layers are not
        changed (nothing is back-propagated into them). Returns a History with ``loss`` and ``accuracy``.
        """
        labels = _class_ids(labels, "labels")
        epochs, batch_size = check_whole_number(epochs, "epochs"), check_whole_number(batch_size, "batch_size")
        x_all = self._images_to_map(images)
        if labels.shape != (x_all.shape[0],):
            raise ValueError(f"need one label per image: {x_all.shape[0]} images, labels {tuple(labels.shape)}")
        if labels.min() < 0:
            raise ValueError("labels must be class indices ≥ 0")
        previous = self.classifier
        n_classes = n_classes or (previous.n_classes if previous is not None else int(labels.max()) + 1)
        inputs = inputs or (previous.inputs if previous is not None else 1)
        if labels.max() >= n_classes:
            raise ValueError(f"label {int(labels.max())} but the classifier has {n_classes} classes")
        if seed is not None:
            torch.manual_seed(seed)
        self.attach_classifier(Classifier(n_classes, inputs, previous.lr if previous is not None else 1e-3))
        with torch.no_grad():  # the posteriors do not change while the classifier learns: compute them once
            features = [torch.cat(parts) for parts in zip(*self._batched(images, 500, self._classifier_features))]
        labels = labels.to(self.device)
        optimizer = torch.optim.Adam(self.classifier.parameters(), lr=self.classifier.lr)
        generator = make_generator(seed, torch.device("cpu"))
        history, n = History(), labels.shape[0]
        bar = progress_bar(epochs, progress, desc="classifier")
        for epoch in range(epochs):
            order = torch.randperm(n, generator=generator).to(self.device)
            total_loss, correct = 0.0, 0
            for start in range(0, n, batch_size):
                index = order[start:start + batch_size]
                logits = self.classifier([f[index] for f in features])
                loss = nn.functional.cross_entropy(logits, labels[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total_loss += float(loss.detach()) * len(index)
                correct += int((logits.argmax(1) == labels[index]).sum())
            history.append(epoch=epoch, loss=total_loss / n, accuracy=correct / n)
            bar.set_postfix(acc=f"{correct / n:.3f}", refresh=False)
            bar.update(1)
        bar.close()
        return history

    @torch.no_grad()
    def predict_proba(self, images, batch_size: int = 500) -> torch.Tensor:
        """Class probabilities (N, S) from the trained classifier."""
        if self.classifier is None:
            raise RuntimeError("this DCGMM has no classifier: call fit_classifier(images, labels) first")
        parts = self._batched(images, batch_size,
                              lambda x: torch.softmax(self.classifier(self._classifier_features(x)), dim=1))
        return torch.cat(parts).cpu()

    def predict(self, images, batch_size: int = 500) -> torch.Tensor:
        """Most probable class per image (needs :meth:`fit_classifier` first)."""
        return self.predict_proba(images, batch_size).argmax(dim=1)

    # ------------------------------------------------------------------ sampling
    def class_control(self, classes, confidence: float = 0.95, method: str = "prototype") -> torch.Tensor:
        """Control signal for the top GMM layer that asks for ``classes`` (paper 003 §IV-D).

        ``method="transpose"`` is the paper's approximate inverse (Eq. 13, docs/notes/dcgmm.md §4.4): the target y is
        ``confidence`` at the class and (1 − confidence)/(S − 1) elsewhere, and T = Wᵀ(log y − b) ≥ 0 on the
        classifier's top-layer block. ``method="prototype"`` (default) asks the classifier about each top
        component instead: T_k = p(class | prototype k), where prototype k has the one-hot posterior e_k on
        the top layer and, for a classifier that also reads the layer below, that layer's posterior map
        decoded from the centroid μ_k (the top layer's input is that map). On the shipped MNIST model an
        independent pixel classifier recognises the class asked for in 98.6 % of top-1 samples with
        prototypes and 50.0 % with the transpose (``python benchmarks/bench_dcgmm.py``, section e).
        """
        if self.classifier is None:
            raise RuntimeError("class-conditional sampling needs a classifier: call fit_classifier first")
        if method not in ("prototype", "transpose"):
            raise ValueError(f"method must be 'prototype' or 'transpose', got {method!r}")
        classes = _class_ids(classes, "classes").to(self.device).reshape(-1)
        n_classes = self.classifier.n_classes
        if classes.min() < 0 or classes.max() >= n_classes:
            raise ValueError(f"classes must lie in 0 … {n_classes - 1}")
        with torch.no_grad():
            if method == "transpose":
                targets = torch.full((len(classes), n_classes), (1 - confidence) / (n_classes - 1), device=self.device)
                targets[torch.arange(len(classes)), classes] = confidence
                return self.classifier.invert(targets)
            class_given_component = torch.softmax(self.classifier(self._prototype_features()), dim=1)  # (K, S)
            top_shape = self.shapes[-1]
            control = class_given_component.T[classes]  # (N, K)
            return control[:, None, None, :].expand(len(classes), top_shape[0], top_shape[1], -1)

    def _prototype_features(self) -> list[torch.Tensor]:
        """Classifier inputs of the K top-layer prototypes (see :meth:`class_control`)."""
        top_index = self.gmm_indices[-1]
        top = self.stack[top_index]
        height, width, k = self.shapes[-1]
        one_hot = torch.eye(k, device=self.device)[:, None, None, :].expand(k, height, width, k)
        if self.classifier.inputs == 1:
            return [one_hot]
        mu = top.mu if not top.shared else top.mu.expand(height * width, -1, -1)
        lower = mu.permute(1, 0, 2).reshape(k, height, width, -1)  # centroid k at every position
        for layer in reversed(list(self.stack)[self.gmm_indices[-2] + 1:top_index]):
            lower = layer.backward(lower)  # back through the folds / pools to the lower GMM's posterior map
        return [lower, one_hot]

    @torch.enable_grad()  # sampling runs under no_grad; the sample itself needs a gradient here
    def _sharpen(self, fold_index: int, start: torch.Tensor, settings: Sharpening) -> torch.Tensor:
        """Gradient ascent on the map entering fold ``fold_index`` towards the next GMM layer's objective."""
        target = next(i for i in self.gmm_indices if i > fold_index)
        layers, gmm = list(self.stack)[fold_index:target], self.stack[target]
        fold = layers[0]
        coverage = math.ceil(fold.kernel / fold.stride) ** 2  # most patches that share one pixel
        step = settings.rate / (coverage * gmm.precision_max**2 + 2 * settings.reconstruction_weight)
        x = start.clone().requires_grad_(True)
        for _ in range(settings.iterations):
            h = x
            for layer in layers:
                h = layer(h)
            objective = gmm.objective(gmm.log_scores(h)).sum()  # Σ over samples and positions of L_G
            if settings.reconstruction_weight:
                objective = objective - settings.reconstruction_weight * ((x - start) ** 2).sum()
            (gradient,) = torch.autograd.grad(objective, x)
            with torch.no_grad():
                x += step * gradient
        return x.detach()

    @staticmethod
    def _overlaps(layer: nn.Module) -> bool:
        """A fold whose neighbouring patches share pixels (stride < kernel and more than one patch)."""
        height, width, _ = layer.input_shape
        return layer.stride < layer.kernel and (height > layer.kernel or width > layer.kernel)

    def _sample_down(self, control: torch.Tensor | None, n: int, start_layer: int, top_s: int, noise_scale: float,
                     sharpen: Sharpening | None, generator) -> torch.Tensor:
        """Top-down pass from stack position ``start_layer`` (a GMM layer) to the image."""
        signal = control
        for index in range(start_layer, -1, -1):
            layer = self.stack[index]
            if isinstance(layer, GMMLayer):
                signal = layer.sample(signal, n, top_s=top_s, noise_scale=noise_scale, generator=generator)
            else:
                signal = layer.backward(signal)
                if sharpen is not None and isinstance(layer, Fold) and (
                        self._overlaps(layer) or not sharpen.only_overlapping):
                    signal = self._sharpen(index, signal, sharpen)
        return signal

    @staticmethod
    def _sharpening(sharpen) -> Sharpening | None:
        if sharpen is True:
            return Sharpening()
        if sharpen is False or sharpen is None:
            return None
        if not isinstance(sharpen, Sharpening):
            raise TypeError(f"sharpen must be True, False or a Sharpening(...), got {type(sharpen).__name__}")
        return sharpen

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
        top_s: int = 3,
        sharpen: bool | Sharpening = False,
        noise_scale: float = 0.05,
        clip: bool = True,
        class_method: str = "prototype",
    ) -> torch.Tensor:
        """Draw ``n`` images top-down (paper 003 §IV-C): uniform at the top, top-S at every GMM layer.

        Parameters
        ----------
        known : the shared conditioning vocabulary: an image (C, H, W) or a batch (n, C, H, W) with ``nan``
            for unknown pixels; the samples are then :meth:`inpaint` completions of it
        classes : class ids (one per sample, or one for all) for class-conditional sampling through the
            classifier's approximate inverse (paper 003 §IV-D); needs :meth:`fit_classifier`
        weight, priors, constraints : not supported by a DCGMM (``NotImplementedError``); nor is ``known``
            together with ``classes``
        seed : seed for a private generator (same seed → same images)
        top_s : keep the S largest control-signal entries at each position before drawing (1 = the most
            likely component only; ≤ 0 = all)
        sharpen : True for the default :class:`Sharpening`, or settings of your own
        noise_scale : fraction of each component's std added when drawing (see :meth:`GMMLayer.sample`)
        clip : clamp the images to [0, 1]
        class_method : "prototype" or "transpose" (paper 003 Eq. 13), see :meth:`class_control`

        Returns (n, C, H, W) float32 on the model's device.
        """
        self._require_fitted()
        self._check_sample_count(n)
        self._check_drawing(top_s, noise_scale)
        self._refuse_unsupported(
            "A DCGMM's layers model posteriors of patches, not pixel values one by one, so only pixel "
            "evidence (known=, inpainting) and class labels (classes=) reach it.",
            weight=weight, priors=priors, constraints=constraints,
        )
        if known is not None:
            if classes is not None:
                raise NotImplementedError("DCGMM.sample cannot combine known= (inpainting) with classes=; "
                                          "give one of them")
            known = torch.as_tensor(known, dtype=torch.float32)
            if known.ndim == 2 and self.input_shape[0] == 1:  # one grey (H, W) image
                known = known[None]
            known = known.expand(n, *known.shape) if known.ndim == 3 else known
            if known.shape[0] != n:
                raise ValueError(f"known holds {known.shape[0]} images for n={n} samples")
            missing = torch.isnan(known)
            return self.inpaint(torch.nan_to_num(known), missing, top_s=top_s, sharpen=sharpen,
                                noise_scale=noise_scale, seed=seed)
        settings = self._sharpening(sharpen)
        generator = make_generator(seed, self.device)
        control = None
        if classes is not None:
            classes = _class_ids(classes, "classes").reshape(-1)
            classes = classes.repeat(math.ceil(n / len(classes)))[:n]
            control = self.class_control(classes, method=class_method)
        with torch.no_grad():
            x = self._sample_down(control, n, len(self.stack) - 1, top_s, noise_scale, settings, generator)
        images = self._map_to_images(x)
        return images.clamp(0, 1) if clip else images

    def receptive_field(self, layer: int = -1) -> int:
        """Side in pixels of the image region one position of GMM layer ``layer`` sees (folds and pools widen it)."""
        side = 1
        for below in reversed(list(self.stack)[: self._stack_index(layer)]):
            if isinstance(below, (Fold, MaxPool)):
                side = (side - 1) * below.stride + below.kernel
        return side

    @torch.no_grad()
    def component_images(self, layer: int = -1) -> torch.Tensor:
        """What every component of GMM layer ``layer`` draws: the "visual alphabet" (paper 003 Fig. 14).

        The centroid of component k, placed at position (0, 0) alone, is decoded down to the pixels of its
        receptive field: folds put patches back (averaging overlaps inside the field), pools upsample, and
        each lower GMM layer puts the centroid of its most likely component (top-1, no noise). For the
        bottom layer that is the centroid itself as an (f, f, C) patch. Returns (K, C, r, r) with
        r = :meth:`receptive_field`; per-position layers use the parameters of the positions in the field.
        """
        index = self._stack_index(layer)
        gmm = self.stack[index]
        region = gmm.mu[0].reshape(gmm.n_components, 1, 1, -1)  # (K, 1, 1, D): one position per component
        for below in reversed(list(self.stack)[:index]):
            side = region.shape[1]
            if isinstance(below, GMMLayer):
                height, width, _ = below.input_shape
                chosen = region.argmax(dim=-1)  # top-1 component at every cell of the region
                if below.shared:
                    region = below.mu[0][chosen]
                else:
                    cells = (torch.arange(side)[:, None] * width + torch.arange(side)[None, :]).to(self.device)
                    region = below.mu[cells.expand_as(chosen), chosen]
                continue
            channels = below.input_shape[2]
            grown = (side - 1) * below.stride + below.kernel
            local = type(below)(below.kernel, below.stride)  # the same layer, built on the receptive field only
            local.build((grown, grown, channels))
            region = local.backward(region)
        return self._map_to_images(region).clamp(0, 1)

    def variants(self, images, layer: int = -1, top_s: int = 1, sharpen: bool | Sharpening = False,
                 noise_scale: float = 0.05, seed: int | None = None) -> torch.Tensor:
        """Images "like" the given ones (paper 003 §IV-E): forward to GMM layer ``layer`` (−1 = top), then
        sample down with that layer's posteriors as its control signal. Returns (N, C, H, W) in [0, 1]."""
        self._require_fitted()
        self._check_drawing(top_s, noise_scale)
        x = self._images_to_map(images)
        start = self._stack_index(layer)
        generator = make_generator(seed, self.device)
        with torch.no_grad():
            control = self.activities(x, start)[-1]
            out = self._sample_down(control, x.shape[0], start, top_s, noise_scale, self._sharpening(sharpen),
                                    generator)
        return self._map_to_images(out).clamp(0, 1)

    def inpaint(self, images, mask, top_s: int = 1, sharpen: bool | Sharpening = False, noise_scale: float = 0.05,
                seed: int | None = None) -> torch.Tensor:
        """Fill the pixels where ``mask`` is True (paper 003 §IV-E, §VI-H); the known pixels are kept.

        The image goes up to the top GMM layer, whose posteriors drive a top-down sample; the result is
        sample·mask + image·(1 − mask). The reference sets the erased pixels to 0 and scores them as if
        they were black; here the first GMM layer *marginalises* them instead (a diagonal Gaussian simply
        leaves the missing dimensions out, see :meth:`GMMLayer.log_scores`), so a half-erased digit is not
        read as half black.

        ``mask``: bool/0-1 tensor broadcastable to (N, C, H, W), e.g. (H, W); True/1 = missing pixel.
        """
        self._require_fitted()
        self._check_drawing(top_s, noise_scale)
        x = self._images_to_map(images)
        missing = torch.as_tensor(mask, device=self.device).to(torch.float32)
        if not ((missing == 0) | (missing == 1)).all():
            raise ValueError("mask must be True/1 where a pixel is missing and False/0 where it is known "
                             f"(got values from {missing.min().item():g} to {missing.max().item():g})")
        try:
            missing = torch.broadcast_to(missing, (x.shape[0], *self.input_shape)).permute(0, 2, 3, 1)
        except RuntimeError:
            raise ValueError(f"mask of shape {tuple(missing.shape)} does not broadcast to the images "
                             f"(N, {', '.join(map(str, self.input_shape))})") from None
        known = 1 - missing
        first, top = self.gmm_indices[0], self.gmm_indices[-1]
        with torch.no_grad():
            h, observed = x * known, known
            for layer in list(self.stack)[:first]:  # folds/pools below the first GMM carry the mask along
                h, observed = layer(h), layer(observed)
            h = torch.softmax(self.stack[first].log_scores(h, observed), dim=-1)
            for layer in list(self.stack)[first + 1:top + 1]:
                h = layer(h)
            generator = make_generator(seed, self.device)
            sample = self._sample_down(h, x.shape[0], top, top_s, noise_scale, self._sharpening(sharpen), generator)
        filled = sample.clamp(0, 1) * missing + x * known
        return self._map_to_images(filled)
