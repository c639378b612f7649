"""The SingleExp annealing rule of Gepperth & Pfülb: shrink σ (and ε) when a layer's objective stalls.

Every GMM layer of a DCGMM keeps one :class:`SingleExpAnnealer`. Its state is the torus-smoothing radius σ
and the learning rate ε; :meth:`SingleExpAnnealer.observe` is called once per training step with the
layer's mean objective and decides, at the end of every window of ``window`` steps, whether to shrink them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["SingleExpAnnealer", "initial_sigma"]


def initial_sigma(n_components: int) -> float:
    """σ0 = 0.25·√(2K), the reference default (1.768 for K = 25, 2.475 for K = 49)."""
    return 0.25 * math.sqrt(2 * n_components)


@dataclass
class SingleExpAnnealer:
    """SingleExp: a window-mean stationarity test on the layer objective (docs/notes/dcgmm.md §1.6).

    After the first window the mean objective ``l0`` is kept as the reference; after every later window
    with mean ``avg`` (and the previous window's mean ``last``) it computes

        q = (avg − last) / (last − l0)

    and, if −2δ < q < δ (progress is small compared with the total progress since the start), shrinks
    ε ← max(γ·ε, ε∞) and σ ← max(γ·σ, σ∞). The lower bound −2δ refuses a reduction right after a big drop;
    no total progress at all (last = l0) does not count as stationary. ``reductions`` counts σ's steps.

    Differences from the reference code, on purpose: every step of a window enters its mean (the
    reference drops the last one by an off-by-one), and the rule is plain Python state that can be
    inspected (``reductions``, ``sigma``, ``lr``).

    Parameters
    ----------
    sigma, sigma_min : start and floor of σ (reference σ0 = 0.25√(2K), σ∞ = 0.01)
    lr, lr_min : start and floor of ε (reference 0.011 and 0.01)
    window : steps per window, 1/α (reference 100)
    gamma : shrink factor (0.9); delta : stationarity threshold δ (0.05)
    """

    sigma: float
    sigma_min: float = 0.01
    lr: float = 0.011
    lr_min: float = 0.01
    window: int = 100
    gamma: float = 0.9
    delta: float = 0.05
    reductions: int = 0
    _windows_done: int = 0
    _sum: float = 0.0
    _count: int = 0
    _first: float | None = field(default=None, repr=False)
    _last: float | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"annealing window must be ≥ 1 step, got {self.window}")
        if not 0 < self.gamma < 1:
            raise ValueError(f"annealing gamma must lie in (0, 1), got {self.gamma}")
        if self.sigma <= 0 or self.sigma_min <= 0:
            raise ValueError(f"σ and its floor must be positive, got sigma={self.sigma}, sigma_min={self.sigma_min}")

    @property
    def started(self) -> bool:
        """True once it has observed a step (the layer has trained)."""
        return self._windows_done > 0 or self._count > 0

    @property
    def annealed(self) -> bool:
        """True once σ has reached its floor (the layer is then a pure max-component GMM)."""
        return self.sigma <= self.sigma_min

    def observe(self, objective: float) -> bool:
        """Record one step's mean objective; returns True when this step shrank σ or ε."""
        self._sum += objective
        self._count += 1
        if self._count < self.window:
            return False
        average = self._sum / self._count
        self._sum, self._count = 0.0, 0
        self._windows_done += 1
        reduced = False
        if self._windows_done == 1:
            self._first = average
        elif self._windows_done > 2:
            progress = self._last - self._first
            stationary = progress != 0 and -2 * self.delta < (average - self._last) / progress < self.delta
            if stationary:
                sigma, lr = max(self.gamma * self.sigma, self.sigma_min), max(self.gamma * self.lr, self.lr_min)
                reduced = sigma != self.sigma or lr != self.lr
                self.reductions += sigma != self.sigma  # counts the σ reductions
                self.sigma, self.lr = sigma, lr
        self._last = average
        return reduced

    def state(self) -> dict:
        """Everything needed to continue annealing later (saved with the model)."""
        return dict(self.__dict__)

    def load_state(self, state: dict) -> None:
        """Restore what :meth:`state` returned."""
        self.__dict__.update(state)
