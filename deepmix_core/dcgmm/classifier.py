"""C(S): a linear classifier on the posteriors of the top GMM layer(s), and its approximate inverse."""

from __future__ import annotations

import math

import torch
from torch import nn

from .transforms import ShapeHWC

__all__ = ["Classifier"]


class Classifier(nn.Module):
    """Linear softmax classifier p(s | x) = softmax_s(x·W + b) with x = the flattened posteriors (paper 003 §III-F).

    It reads the top ``inputs`` GMM layers (1 or 2; paper 003 §VI-I finds the two highest better for
    accuracy) and is trained on its own cross-entropy loss, with the generative layers frozen: nothing
    flows back into them. We train it with Adam (``lr``) rather than the reference's plain SGD, which only
    changes how fast it converges.

    Backward (Eq. 13) turns a class target y into a control signal for the top GMM layer,
    T = Wᵀ(log y − b) shifted so that its minimum is 0, using the transpose as a stand-in for W⁻¹.
    """

    def __init__(self, n_classes: int, inputs: int = 1, lr: float = 1e-3) -> None:
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got {n_classes}")
        if inputs not in (1, 2):
            raise ValueError(f"the classifier reads the top 1 or 2 GMM layers, got inputs={inputs}")
        self.n_classes, self.inputs, self.lr = int(n_classes), int(inputs), float(lr)
        self.feature_shapes: list[ShapeHWC] = []

    def build(self, feature_shapes: list[ShapeHWC]) -> None:
        """Allocate W and b for the posterior maps it reads, top layer last."""
        self.feature_shapes = [tuple(shape) for shape in feature_shapes]
        n_features = sum(math.prod(shape) for shape in self.feature_shapes)
        self.linear = nn.Linear(n_features, self.n_classes)
        nn.init.trunc_normal_(self.linear.weight, std=1 / math.sqrt(n_features))
        nn.init.zeros_(self.linear.bias)

    def config(self) -> dict:
        return {"type": "Classifier", "n_classes": self.n_classes, "inputs": self.inputs, "lr": self.lr}

    def forward(self, posteriors: list[torch.Tensor]) -> torch.Tensor:
        """Class logits (N, S) from the posterior maps (N, H, W, K) of the layers it reads."""
        return self.linear(torch.cat([p.flatten(1) for p in posteriors], dim=1))

    def invert(self, targets: torch.Tensor) -> torch.Tensor:
        """Control signal (N, H, W, K) for the top GMM layer from class probabilities ``targets`` (N, S)."""
        top_size = math.prod(self.feature_shapes[-1])
        weight = self.linear.weight[:, -top_size:]  # the block that reads the top layer
        control = (targets.clamp_min(1e-12).log() - self.linear.bias) @ weight
        control = control - control.min(dim=1, keepdim=True).values  # the softmax constant, chosen so T ≥ 0
        return control.reshape(-1, *self.feature_shapes[-1])

    def extra_repr(self) -> str:
        return f"C({self.n_classes}), reads the top {self.inputs} GMM layer(s)"
