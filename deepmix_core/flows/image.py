"""A compact multi-scale Glow for small images (Kingma & Dhariwal 2018; as used by paper 004).

The flow maps an image x (B, C, H, W) to a flat latent z (B, dim) with dim = C·H·W and returns
log|det ∂z/∂x| alongside, so that ``log p(x) = log p_base(z) + log_det``. The base density of z is *not*
part of the flow (GenMM puts N(0, I) on z, LatMM a Gaussian mixture; see the flow interface).

Structure (docs/notes/flow-mixtures.md §1.1–1.3), for each of L levels:

1. ``Squeeze``: 2×2 space-to-depth, (C, H, W) → (4C, H/2, W/2). A 1-channel image therefore has 4
   channels before the first coupling, so the coupling always has two non-empty halves.
2. S flow steps, each ``ActNorm`` → ``InvertibleConv1x1`` → ``AffineCoupling``.
3. Except after the last level: split the channels in half, keep the first half, and factor out the
   second half as part of z (RealNVP-style multi-scale).

Documented simplifications with respect to the paper's Glow code:

* The factored-out halves get the same standard-normal base as the rest of z. This *replaces Glow's
  learned conditional split prior* N(z2; μ(z1), σ(z1)) (docs/notes/flow-mixtures.md §1.4), which starts as
  N(0, I) anyway.
* The coupling network uses convolutions with biases and no ActNorm inside, and its last convolution is
  plain zero-initialised (no learned ``exp(3·logs)`` output scale).

Order of z (fixed): the factored-out half of level 1 flattened (channel, row, column), then the one of
level 2, …, and finally the output of the last level flattened the same way.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..runtime import make_generator

__all__ = ["ActNorm", "AffineCoupling", "FlowStep", "ImageFlow", "InvertibleConv1x1", "Squeeze", "make_image_flow"]

SCALE_OFFSET = 2.0  # scale = sigmoid(raw + 2): every fresh coupling starts as a contraction by sigmoid(2) ≈ 0.881


class ActNorm(nn.Module):
    """Per-channel affine map y = (x + b) · exp(s); log_det = H·W·Σ_c s_c.

    Glow's data-dependent init: the first batch seen while ``initialized`` is False sets b = −mean_c and
    s = −log(std_c + 1e-6), so that this batch leaves with zero mean and unit std in every channel.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialized", torch.tensor(False))  # saved with the state, as Glow's ``inited``

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        """Set b and s from the per-channel mean and (population) std of ``x``."""
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        std = x.std(dim=(0, 2, 3), keepdim=True, correction=0)
        self.bias.copy_(-mean)
        self.log_scale.copy_(-torch.log(std + 1e-6))
        self.initialized.fill_(True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.initialized:
            self.initialize(x)
        height, width = x.shape[2:]
        y = (x + self.bias) * torch.exp(self.log_scale)
        log_det = height * width * self.log_scale.sum()  # H·W·Σ_c s_c, the same for every sample
        return y, log_det.expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return y * torch.exp(-self.log_scale) - self.bias


class InvertibleConv1x1(nn.Module):
    """A learned channel mixing y = W x at every pixel; log_det = H·W·log|det W| (no LU factorisation).

    W starts as a random rotation: the Q factor of the QR decomposition of a Gaussian matrix.
    """

    def __init__(self, channels: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        gaussian = torch.randn(channels, channels, generator=generator, dtype=torch.float64)
        rotation, _ = torch.linalg.qr(gaussian)
        self.weight = nn.Parameter(rotation.to(torch.get_default_dtype()))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = x.shape[2:]
        y = F.conv2d(x, self.weight[:, :, None, None])
        log_det = height * width * torch.linalg.slogdet(self.weight).logabsdet  # H·W·log|det W|
        return y, log_det.expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        inverse_weight = torch.linalg.inv(self.weight.double()).to(self.weight.dtype)  # inverted in float64
        return F.conv2d(y, inverse_weight[:, :, None, None])


class AffineCoupling(nn.Module):
    """Glow's affine coupling: x = (x_a, x_b) → (x_a, (x_b + shift) · scale), scale = sigmoid(raw + 2).

    ``shift`` and ``raw`` come from a small conv net NN(x_a) (3×3 conv, ReLU, 1×1 conv, ReLU, 3×3 conv);
    they are its even and odd output channels (Glow's "cross" split). The last conv starts at zero, so a
    fresh coupling has shift = 0 and scale = sigmoid(2) everywhere. log_det = Σ log scale.
    """

    def __init__(self, channels: int, hidden: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if channels < 2:
            raise ValueError(f"a coupling needs at least 2 channels, got {channels}")
        self.kept = channels // 2  # x_a: the first half of the channels, passed through unchanged
        changed = channels - self.kept
        self.net = nn.Sequential(
            nn.Conv2d(self.kept, hidden, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden, hidden, kernel_size=1),
            nn.ReLU(),
            nn.Conv2d(hidden, 2 * changed, kernel_size=3, padding=1),
        )
        with torch.no_grad():
            for conv in (self.net[0], self.net[2]):  # He-normal init, seeded by ``generator``
                fan_in = conv.weight[0].numel()
                conv.weight.normal_(0.0, math.sqrt(2.0 / fan_in), generator=generator)
                conv.bias.zero_()
            self.net[4].weight.zero_()  # zero-initialised last conv
            self.net[4].bias.zero_()

    def _shift_and_log_scale(self, x_a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(x_a)
        shift, raw = h[:, 0::2], h[:, 1::2]
        return shift, F.logsigmoid(raw + SCALE_OFFSET)  # log scale, with scale = sigmoid(raw + 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x_a, x_b = x[:, : self.kept], x[:, self.kept :]
        shift, log_scale = self._shift_and_log_scale(x_a)
        y_b = (x_b + shift) * torch.exp(log_scale)  # shift before scaling (docs/notes/flow-mixtures.md §1.2)
        return torch.cat([x_a, y_b], dim=1), log_scale.flatten(1).sum(dim=1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        y_a, y_b = y[:, : self.kept], y[:, self.kept :]
        shift, log_scale = self._shift_and_log_scale(y_a)
        return torch.cat([y_a, y_b * torch.exp(-log_scale) - shift], dim=1)


class Squeeze(nn.Module):
    """2×2 space-to-depth: (B, C, H, W) → (B, 4C, H/2, W/2); new channel c·4 + 2·dy + dx; log_det = 0."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, c, h, w = x.shape
        y = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, 4 * c, h // 2, w // 2)
        return y, x.new_zeros(b)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        b, c4, h2, w2 = y.shape
        c = c4 // 4
        return y.reshape(b, c, 2, 2, h2, w2).permute(0, 1, 4, 2, 5, 3).reshape(b, c, 2 * h2, 2 * w2)


class FlowStep(nn.Module):
    """One Glow step: ActNorm → invertible 1×1 conv → affine coupling (inverse in reverse order)."""

    def __init__(self, channels: int, hidden: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [ActNorm(channels), InvertibleConv1x1(channels, generator), AffineCoupling(channels, hidden, generator)]
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_det = x.new_zeros(x.shape[0])
        for layer in self.layers:
            x, layer_log_det = layer(x)
            log_det = log_det + layer_log_det
        return x, log_det

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        for layer in reversed(self.layers):
            y = layer.inverse(y)
        return y


class ImageFlow(nn.Module):
    """Multi-scale Glow on images of shape (C, H, W); see the module docstring for structure and z order.

    Implements the flow interface: ``event_shape``, ``dim``, ``transform(x) -> (z, log_det)``,
    ``inverse(z) -> x`` and ``initialize(x)`` (ActNorm data init). H and W must be divisible by 2**levels.
    """

    def __init__(
        self,
        shape: tuple[int, int, int],
        levels: int = 2,
        steps: int = 4,
        hidden: int = 32,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if len(shape) != 3 or any(int(n) < 1 for n in shape):
            raise ValueError(f"shape must be (C, H, W) with positive sizes, got {tuple(shape)}")
        for name, value in (("levels", levels), ("steps", steps), ("hidden", hidden)):
            if int(value) < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        channels, height, width = (int(n) for n in shape)
        if height % 2**levels or width % 2**levels:
            raise ValueError(
                f"height and width must be divisible by 2**levels = {2**levels} (one 2×2 squeeze per level), "
                f"got {height}×{width} with levels={levels}"
            )
        self.event_shape = (channels, height, width)
        self.dim = channels * height * width
        self.config = {"shape": self.event_shape, "levels": int(levels), "steps": int(steps), "hidden": int(hidden)}
        self.squeeze = Squeeze()
        self.levels = nn.ModuleList()
        self.latent_shapes: list[tuple[int, int, int]] = []  # the blocks of z, in order (factored-out, …, top)
        for level in range(levels):
            channels, height, width = 4 * channels, height // 2, width // 2
            self.levels.append(nn.ModuleList([FlowStep(channels, hidden, generator) for _ in range(steps)]))
            if level < levels - 1:  # factor out the second half of the channels
                self.latent_shapes.append((channels - channels // 2, height, width))
                channels = channels // 2
        self.latent_shapes.append((channels, height, width))

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.event_shape:
            raise ValueError(f"expected images of shape (B, {', '.join(map(str, self.event_shape))}), "
                             f"got {tuple(x.shape)}")

    def transform(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Map images (B, C, H, W) to z (B, dim) and log|det ∂z/∂x| (B,)."""
        self._check(x)
        log_det = x.new_zeros(x.shape[0])
        factored = []
        for level, steps in enumerate(self.levels):
            x, _ = self.squeeze(x)
            for step in steps:
                x, step_log_det = step(x)
                log_det = log_det + step_log_det
            if level < len(self.levels) - 1:
                kept = x.shape[1] // 2
                factored.append(x[:, kept:].flatten(1))
                x = x[:, :kept]
        z = torch.cat([*factored, x.flatten(1)], dim=1)
        return z, log_det

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """Map latents z (B, dim) back to images (B, C, H, W)."""
        if z.dim() != 2 or z.shape[1] != self.dim:
            raise ValueError(f"expected latents of shape (B, {self.dim}), got {tuple(z.shape)}")
        sizes = [math.prod(s) for s in self.latent_shapes]
        blocks = [b.reshape(-1, *s) for b, s in zip(torch.split(z, sizes, dim=1), self.latent_shapes, strict=True)]
        x = blocks[-1]
        for level in reversed(range(len(self.levels))):
            if level < len(self.levels) - 1:
                x = torch.cat([x, blocks[level]], dim=1)  # put the factored-out half back
            for step in reversed(self.levels[level]):
                x = step.inverse(x)
            x = self.squeeze.inverse(x)
        return x

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        """ActNorm data init from one batch: every ActNorm re-initialises on the batch as it reaches it."""
        for module in self.modules():
            if isinstance(module, ActNorm):
                module.initialized.fill_(False)
        self.transform(x)


def make_image_flow(
    shape: tuple[int, int, int], levels: int = 2, steps: int = 4, hidden: int = 32, seed: int | None = None
) -> ImageFlow:
    """Build an :class:`ImageFlow` on the CPU; the same ``seed`` gives the same initial weights.

    Move it with ``.to(device)``. ``seed=None`` draws the random 1×1 rotations and conv weights from the
    global generator.
    """
    return ImageFlow(shape, levels, steps, hidden, generator=make_generator(seed, torch.device("cpu")))
