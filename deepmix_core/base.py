"""The one contract every model family follows: GMM, DRMM, DCGMM, GenMM and LatMM.

A notebook can swap one family for another without rewriting cells, and
``tests/test_model_contract.py`` checks every family against the same list. In the spirit of
scikit-learn's ``BaseMixture``, the shared part lives here and each family fills in the rest.

========================  ===========================================================================
member                    meaning, the same in every family
========================  ===========================================================================
``n_components``          constructor argument wherever a model has components (a DCGMM keeps its
                          spec string, which names the components of every layer)
``fit(data, *, ...)``     ``epochs`` (passes over the data) **or** ``steps`` (parameter updates),
                          ``batch_size``, ``seed``, ``progress`` (a tqdm bar), ``warm_start``
                          (``True`` continues from the current parameters, ``False`` starts afresh);
                          returns a :class:`~deepmix_core.history.History`. Each family's docstring
                          says what one step is (an EM iteration over all rows counts as one epoch
                          and one step).
``sample(n, *, ...)``     ``known``, ``weight``, ``priors``, ``constraints``, ``classes``, ``seed``; a
                          family that cannot honour a condition raises ``NotImplementedError`` naming
                          itself and the condition, it never ignores one
``log_prob(x)``           one number per row; the class attribute ``log_prob_kind`` says whether it
                          is ``"exact"``, an ``"estimate"`` (DRMM; it then takes ``seed=``) or a ``"score"`` (DCGMM)
``n_parameters()``        how many free parameters the model has (for size-matched comparisons)
``weights_``, ``means_``  learned state for reading, as numpy arrays (trailing underscore, as in
                          scikit-learn)
``save`` / ``load``       one file with the constructor config, the state dict and a checksum
``sample_report_``        (GMM, DRMM) how feasible the last call's wishes were (a ``WishReport``)
========================  ===========================================================================

Bad input never passes quietly: :mod:`deepmix_core.validation` checks data and arguments for every family
with messages that say what to do, training that goes non-finite stops with a ``FloatingPointError`` and
keeps the last finite state, and a ``log_prob`` that leaves the float range warns.
"""

from __future__ import annotations

import abc
import math
from typing import ClassVar, Literal, NoReturn

import torch
from torch import nn

from .history import History
from .persistence import SaveLoadMixin
from .runtime import warn_at_caller
from .validation import check_whole_number

__all__ = ["CONDITION_NAMES", "LOG_PROB_KINDS", "MixtureModel", "resolve_budget"]

LOG_PROB_KINDS = ("exact", "estimate", "score")
CONDITION_NAMES = ("known", "weight", "priors", "constraints", "classes")
LogProbKind = Literal["exact", "estimate", "score"]


def resolve_budget(
    epochs: int | None,
    steps: int | None,
    steps_per_epoch: int,
    default_epochs: int | None = None,
    default_steps: int | None = None,
) -> int:
    """The number of training steps asked for by ``epochs`` or ``steps`` (never both).

    ``epochs`` counts passes over the data and becomes ``epochs · steps_per_epoch`` steps; ``steps``
    counts parameter updates directly. When neither is given the family's default is used
    (``default_epochs`` or ``default_steps``, exactly one of which must be set).
    """
    if epochs is not None and steps is not None:
        raise ValueError(f"give epochs or steps, not both (got epochs={epochs!r}, steps={steps!r})")
    if epochs is not None:
        epochs = check_whole_number(epochs, "epochs")
    if steps is not None:
        return check_whole_number(steps, "steps")
    if epochs is None:
        if default_steps is not None:
            return default_steps
        epochs = default_epochs
    return epochs * steps_per_epoch


class MixtureModel(SaveLoadMixin, nn.Module, abc.ABC):
    """Abstract base of every deepmix model family; see the module docstring for the contract.

    Subclasses set the class attributes ``family`` (the name used in messages), ``log_prob_kind`` and
    ``supported_conditions`` (the subset of :data:`CONDITION_NAMES` their ``sample`` honours), and
    implement :meth:`fit`, :meth:`sample`, :meth:`log_prob` and :attr:`is_fitted`.
    """

    family: ClassVar[str] = "model"
    log_prob_kind: ClassVar[LogProbKind] = "exact"
    supported_conditions: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if cls.log_prob_kind not in LOG_PROB_KINDS:
            raise TypeError(f"{cls.__name__}.log_prob_kind must be one of {LOG_PROB_KINDS}, got {cls.log_prob_kind!r}")
        unknown = set(cls.supported_conditions) - set(CONDITION_NAMES)
        if unknown:
            raise TypeError(f"{cls.__name__}.supported_conditions has unknown names {sorted(unknown)}")

    # ------------------------------------------------------------------ the verbs
    @abc.abstractmethod
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
    ) -> History:
        """Train on ``data``; ``warm_start=True`` continues, otherwise every call starts afresh."""

    @abc.abstractmethod
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
        """Draw ``n`` samples, honouring every condition given or raising ``NotImplementedError``."""

    @abc.abstractmethod
    def log_prob(self, x) -> torch.Tensor:
        """One log-density (or score, see ``log_prob_kind``) per row of ``x``."""

    @abc.abstractmethod
    def n_parameters(self) -> int:
        """The number of free parameters (each family's docstring gives its formula)."""

    @property
    @abc.abstractmethod
    def is_fitted(self) -> bool:
        """True once the model has been trained (or loaded from a trained checkpoint)."""

    # ------------------------------------------------------------------ shared helpers
    def _refuse_unsupported(self, reason: str = "", **given) -> None:
        """Raise ``NotImplementedError`` for any condition in ``given`` this family does not support.

        ``given`` maps condition names (``known=…, priors=…``) to the values passed to ``sample``; ``None``
        (and an empty list) means the condition was not asked for.
        """
        for name in CONDITION_NAMES:
            value = given.get(name)
            asked = value is not None and not (isinstance(value, (list, tuple)) and len(value) == 0)
            if asked and name not in self.supported_conditions:
                supported = ", ".join(sorted(self.supported_conditions)) or "none"
                raise NotImplementedError(
                    f"{self.family}.sample cannot condition on {name}= "
                    f"(this family supports: {supported}).{' ' + reason if reason else ''}"
                )

    def _check_sample_count(self, n) -> None:
        check_whole_number(n, "n")

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise RuntimeError(f"this {self.family} has not been fitted yet: call fit(data) first")

    def _checked_log_prob(self, values: torch.Tensor) -> torch.Tensor:
        """Return ``values``, warning when some are not finite (rows so far out that float32 overflows)."""
        bad = ~torch.isfinite(values)
        if bad.any():
            warn_at_caller(
                f"{self.family}.log_prob: {int(bad.sum())} of {values.numel()} rows give {values[bad][0].item()}: "
                "they lie so far from the model that the log-density leaves the float range; "
                "treat them as impossible under the model, or rescale the data"
            )
        return values

    def _snapshot(self) -> dict[str, torch.Tensor]:
        """A copy of every tensor of the state: what training falls back to if it goes non-finite."""
        return {name: value.detach().clone() for name, value in self.state_dict().items() if torch.is_tensor(value)}

    def _state_is_finite(self) -> bool:
        """True when no parameter or floating-point buffer holds nan or inf."""
        tensors = [*self.parameters(), *(b for b in self.buffers() if b.is_floating_point())]
        return all(bool(torch.isfinite(t).all()) for t in tensors)

    def _fail_non_finite(self, *, where: str, loss: float, last_good: dict, kept: str, lr: float, data) -> NoReturn:
        """Put back the last state known to be finite and raise ``FloatingPointError`` saying what to try.

        ``where`` names the step or epoch that failed, ``kept`` the point the restored state comes from.
        """
        self.load_state_dict(last_good, strict=False)
        largest = data.abs().max().item() if torch.is_tensor(data) and data.numel() else float("nan")
        raise FloatingPointError(
            f"{self.family} training went non-finite at {where} (loss {loss}); the model keeps its state {kept}. "
            f"Try a smaller lr (it was {lr:g}) or rescale the data (its largest |value| is {largest:.3g})."
        )

    @staticmethod
    def _budget_notes(history: History, steps: int, steps_per_epoch: int, unit: str) -> None:
        """Record in ``history.notes`` how many steps ran, what one step is, and the epochs they make."""
        history.notes.update(steps=steps, epochs=steps / steps_per_epoch, step_unit=unit)

    @staticmethod
    def _steps_per_epoch(n_rows: int, batch_size: int, drop_last: bool = False) -> int:
        return n_rows // batch_size if drop_last else math.ceil(n_rows / batch_size)
