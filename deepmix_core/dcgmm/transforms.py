"""The two parameter-free DCGMM layers: folding (half-convolution) and max-pooling, both ways.

Tensors inside a DCGMM are channels-last maps ``(N, H, W, C)``: every position (h, w) holds one vector
that the GMM layer above models. Forward passes go up (images → posteriors); ``backward`` passes a
control signal or sample down (paper 003 §III-D, §III-E and Table I).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Fold", "MaxPool", "ShapeHWC"]

ShapeHWC = tuple[int, int, int]


def _windows(size: int, kernel: int, stride: int) -> int:
    """Number of positions of a window sliding over ``size`` cells without padding: 1 + (size − f) // Δ."""
    return 1 + (size - kernel) // stride


class Fold(nn.Module):
    """Folding F(f, Δ): cut f×f patches with stride Δ and stack each into one vector (a half-convolution).

    Output shape (paper 003 Table I): H' = 1 + (H − f)//Δ, W' likewise, C' = f²·C. Channel index
    o = (py·f + px)·C + c (c fastest), the order of the reference code and of paper 003 Eq. (10), so a
    GMM centroid of the layer above reshapes to an (f, f, C) patch.

    Backward (Eq. 12): every patch vector is put back onto its pixels and each pixel is divided by the
    number of patches that cover it, i.e. the overlapping reconstructions are averaged.

    Parameters
    ----------
    kernel : patch side f; stride : step Δ between patches.
    """

    def __init__(self, kernel: int, stride: int = 1) -> None:
        super().__init__()
        if kernel < 1 or stride < 1:
            raise ValueError(f"Fold needs kernel ≥ 1 and stride ≥ 1, got kernel={kernel}, stride={stride}")
        self.kernel, self.stride = int(kernel), int(stride)
        self.input_shape: ShapeHWC | None = None

    def build(self, input_shape: ShapeHWC) -> ShapeHWC:
        """Check the input map ``(H, W, C)`` and return the output shape; every pixel must be covered."""
        height, width, channels = input_shape
        for name, size in (("height", height), ("width", width)):
            if size < self.kernel:
                raise ValueError(f"Fold({self.kernel},{self.stride}): input {name} {size} is smaller than the kernel")
            if (size - self.kernel) % self.stride:
                raise ValueError(
                    f"Fold({self.kernel},{self.stride}) leaves the last {(size - self.kernel) % self.stride} "
                    f"row(s)/column(s) of a {name} of {size} uncovered: choose f, Δ with (size − f) divisible by Δ"
                )
        self.input_shape = (height, width, channels)
        return (_windows(height, self.kernel, self.stride), _windows(width, self.kernel, self.stride),
                self.kernel**2 * channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, H, W, C) → (N, H', W', f²C)."""
        patches = x.unfold(1, self.kernel, self.stride).unfold(2, self.kernel, self.stride)  # (N, H', W', C, f, f)
        n, h_out, w_out = patches.shape[:3]
        return patches.permute(0, 1, 2, 4, 5, 3).reshape(n, h_out, w_out, -1)

    def backward(self, patches: torch.Tensor) -> torch.Tensor:
        """(N, H', W', f²C) → (N, H, W, C): the average of all patch values that land on each pixel."""
        height, width, channels = self.input_shape
        n, h_out, w_out, _ = patches.shape
        # to F.fold's layout (N, C·f·f, H'·W'), channel slowest: (N, H', W', f, f, C) → (N, C, f, f, H', W')
        columns = patches.reshape(n, h_out, w_out, self.kernel, self.kernel, channels).permute(0, 5, 3, 4, 1, 2)
        columns = columns.reshape(n, channels * self.kernel**2, h_out * w_out)
        fold = dict(output_size=(height, width), kernel_size=self.kernel, stride=self.stride)
        summed = F.fold(columns, **fold)
        coverage = F.fold(torch.ones_like(columns[:1, : self.kernel**2]), **fold)  # patches per pixel (1, 1, H, W)
        return (summed / coverage).permute(0, 2, 3, 1)

    def config(self) -> dict:
        return {"type": "Fold", "kernel": self.kernel, "stride": self.stride}

    def extra_repr(self) -> str:
        return f"F({self.kernel},{self.stride})"


class MaxPool(nn.Module):
    """Max-pooling P(f, Δ) per channel; backward upsamples (paper 003 §III-D).

    Forward: A'(h, w, c) = max of A over the window [hΔ, hΔ+f) × [wΔ, wΔ+f) (windows that run past the edge
    are cut, as ``ceil_mode`` does). Backward: every input cell copies the value of the window it falls in
    (for overlapping windows, the last one; with Δ > f, a cell between windows copies the window before
    it), which is the paper's "upsampling"; the ambiguity it leaves is what sharpening repairs.
    """

    def __init__(self, kernel: int, stride: int | None = None) -> None:
        super().__init__()
        stride = kernel if stride is None else stride
        if kernel < 1 or stride < 1:
            raise ValueError(f"MaxPool needs kernel ≥ 1 and stride ≥ 1, got kernel={kernel}, stride={stride}")
        self.kernel, self.stride = int(kernel), int(stride)
        self.input_shape: ShapeHWC | None = None

    def build(self, input_shape: ShapeHWC) -> ShapeHWC:
        """Output shape for an input map ``(H, W, C)``: 1 + ceil((H − f)/Δ) positions per side, less a last
        window that would start outside the input (PyTorch's ``ceil_mode`` rule)."""
        height, width, channels = input_shape
        if min(height, width) < self.kernel:
            raise ValueError(f"MaxPool({self.kernel},{self.stride}): input {height}×{width} is smaller than the kernel")
        self.input_shape = (height, width, channels)

        def windows(size: int) -> int:
            count = 1 + -(-(size - self.kernel) // self.stride)
            return count - 1 if (count - 1) * self.stride >= size else count

        return windows(height), windows(width), channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.max_pool2d(x.permute(0, 3, 1, 2), self.kernel, self.stride, ceil_mode=True)
        return pooled.permute(0, 2, 3, 1)

    def backward(self, signal: torch.Tensor) -> torch.Tensor:
        """(N, H', W', C) → (N, H, W, C): each cell takes the value of the window that covers it."""
        height, width, _ = self.input_shape
        rows = torch.clamp(torch.arange(height, device=signal.device) // self.stride, max=signal.shape[1] - 1)
        cols = torch.clamp(torch.arange(width, device=signal.device) // self.stride, max=signal.shape[2] - 1)
        return signal[:, rows][:, :, cols]

    def config(self) -> dict:
        return {"type": "MaxPool", "kernel": self.kernel, "stride": self.stride}

    def extra_repr(self) -> str:
        return f"P({self.kernel},{self.stride})"
