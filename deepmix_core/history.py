"""Training records shared by every model: one row per step, read back as numpy columns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["History"]


@dataclass
class History:
    """What ``fit`` returns: per-step records (loss, per-layer losses, learning rate, stage, time…).

    Rows are appended with :meth:`append`; ``history["loss"]`` gives a column as a numpy array, and
    ``history.columns`` lists what was recorded. Columns holding a vector per step (for example
    ``"layer_losses"``) come back as 2-D arrays ``(steps, n)``.

    Examples
    --------
    >>> h = History()
    >>> h.append(step=0, loss=1.5)
    >>> h["loss"]
    array([1.5])
    """

    rows: dict[str, list] = field(default_factory=dict)
    notes: dict[str, object] = field(default_factory=dict)

    def append(self, **values) -> None:
        """Add one record; every call should pass the same names."""
        for name, value in values.items():
            self.rows.setdefault(name, []).append(value)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.rows:
            raise KeyError(f"History has no column {name!r}; it has {sorted(self.rows)}")
        return np.asarray(self.rows[name])

    def __contains__(self, name: str) -> bool:
        return name in self.rows

    def __len__(self) -> int:
        return len(next(iter(self.rows.values()), []))

    @property
    def columns(self) -> list[str]:
        """Names of the recorded columns."""
        return list(self.rows)

    def stage_boundaries(self) -> list[int]:
        """Steps at which the ``"stage"`` column changes (curriculum stage starts), empty if absent."""
        if "stage" not in self.rows:
            return []
        stage, step = self["stage"], self["step"]
        return [int(step[i]) for i in range(1, len(stage)) if stage[i] != stage[i - 1]]

    def __repr__(self) -> str:
        last = {k: v[-1] for k, v in self.rows.items() if np.ndim(v[-1]) == 0} if len(self) else {}
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in last.items())
        return f"History({len(self)} steps; last: {shown})"
