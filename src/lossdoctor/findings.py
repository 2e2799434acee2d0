"""Causes (stable ids with their default fix) and the findings checks return about them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Cause(Enum):
    """Why a loss stays flat. The value is the stable id used in the JSON report."""

    NO_SIGNAL = "no_signal"
    UNDERFIT_CAPACITY = "underfit_capacity"
    UNNORMALIZED_INPUTS = "unnormalized_inputs"
    LR_TOO_HIGH = "lr_too_high"
    LR_TOO_LOW = "lr_too_low"
    SATURATED_ACTIVATION = "saturated_activation"

    @property
    def title(self) -> str:
        return _TITLES[self]

    @property
    def default_fix(self) -> str:
        return _FIXES[self]

    @property
    def precedence(self) -> int:
        """Higher explains more: a cause that makes the others moot ranks first."""
        return _PRECEDENCE.get(self, 0)


_TITLES = {
    Cause.NO_SIGNAL: "The labels cannot be predicted from the inputs",
    Cause.UNDERFIT_CAPACITY: "The model is too small for the task",
    Cause.UNNORMALIZED_INPUTS: "The inputs are not normalized",
    Cause.LR_TOO_HIGH: "The learning rate is too high",
    Cause.LR_TOO_LOW: "The learning rate is too low",
    Cause.SATURATED_ACTIVATION: "Activations are saturated",
}

_FIXES = {
    Cause.NO_SIGNAL: (
        "Check that each input is paired with its own label (shuffling, joins, file order) and "
        "that the inputs hold information about the label; no model or tuning can learn noise."
    ),
    Cause.UNDERFIT_CAPACITY: (
        "Give the model more capacity: add hidden layers with nonlinearities or widen them."
    ),
    Cause.UNNORMALIZED_INPUTS: (
        "Standardize the inputs: subtract each feature's training mean and divide by its "
        "training standard deviation (e.g. sklearn StandardScaler or a Normalize transform)."
    ),
    Cause.LR_TOO_HIGH: "Lower the learning rate.",
    Cause.LR_TOO_LOW: "Raise the learning rate.",
    Cause.SATURATED_ACTIVATION: (
        "Keep pre-activations near zero: normalize the inputs, use a smaller initialization, "
        "and prefer logits with a loss that applies the sigmoid/softmax itself "
        "(BCEWithLogitsLoss, CrossEntropyLoss)."
    ),
}

_PRECEDENCE = {Cause.NO_SIGNAL: 1}


@dataclass
class Experiment:
    """A short run on copies that tests a fix: validation loss with and without it."""

    description: str
    before: float
    after: float
    steps: int
    curve_before: list[float] = field(default_factory=list)
    curve_after: list[float] = field(default_factory=list)

    @property
    def improvement(self) -> float:
        """Relative drop of the validation loss; positive when the fix helps."""
        if self.before == 0:
            return 0.0
        return (self.before - self.after) / abs(self.before)


@dataclass
class Finding:
    """One cause found in one run, with the numbers that back it."""

    cause: Cause
    confidence: float
    verdict: str
    evidence: dict[str, float]
    fix: str = ""
    experiment: Experiment | None = None
    details: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.confidence = float(min(1.0, max(0.0, self.confidence)))
        if not self.fix:
            self.fix = self.cause.default_fix
