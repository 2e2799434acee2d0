"""Causes (stable ids with their default fix) and the findings checks return about them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Skip(Exception):
    """Raised by a check that cannot run on this case; the message says what it needs."""


class Cause(Enum):
    """Why a loss stays flat. The value is the stable id used in the JSON report."""

    NO_SIGNAL = "no_signal"
    UNDERFIT_CAPACITY = "underfit_capacity"
    UNNORMALIZED_INPUTS = "unnormalized_inputs"
    LR_TOO_HIGH = "lr_too_high"
    LR_TOO_LOW = "lr_too_low"
    SATURATED_ACTIVATION = "saturated_activation"
    UNSCALED_TARGETS = "unscaled_targets"
    BATCH_SIZE = "batch_size"
    OVER_REGULARIZED = "over_regularized"
    OPTIMIZER_CHOICE = "optimizer_choice"
    VANISHING_GRADIENTS = "vanishing_gradients"
    EXPLODING_GRADIENTS = "exploding_gradients"
    DEAD_RELU = "dead_relu"
    LOSS_MISMATCH = "loss_mismatch"
    SHAPE_BROADCAST = "shape_broadcast"
    FROZEN_PARAMS = "frozen_params"
    MISSING_ZERO_GRAD = "missing_zero_grad"
    TRAIN_EVAL_MODE = "train_eval_mode"
    DATA_PIPELINE = "data_pipeline"
    LABEL_RANGE = "label_range"
    CLASS_IMBALANCE = "class_imbalance"
    TRAIN_VAL_SHIFT = "train_val_shift"
    OVERFITTING = "overfitting"
    BAD_INIT = "bad_init"
    NAN_INF = "nan_inf"

    @property
    def title(self) -> str:
        return _TITLES[self]

    @property
    def default_fix(self) -> str:
        return _FIXES[self]

    def explains(self, other: Cause) -> bool:
        """Whether a run with this cause would show ``other`` as a consequence."""
        return other in _EXPLAINS.get(self, ())

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
    Cause.UNSCALED_TARGETS: "The regression targets are not scaled",
    Cause.BATCH_SIZE: "The batch size does not suit the training",
    Cause.OVER_REGULARIZED: "Regularization is too strong",
    Cause.OPTIMIZER_CHOICE: "The optimizer is stuck where another would move",
    Cause.VANISHING_GRADIENTS: "Gradients vanish before they reach the first layers",
    Cause.EXPLODING_GRADIENTS: "Gradients explode",
    Cause.DEAD_RELU: "Most ReLU units are dead",
    Cause.LOSS_MISMATCH: "The loss function does not match the model's output",
    Cause.SHAPE_BROADCAST: "Prediction and target shapes differ and the loss broadcasts them",
    Cause.FROZEN_PARAMS: "Some parameters are never trained",
    Cause.MISSING_ZERO_GRAD: "Gradients accumulate across steps",
    Cause.TRAIN_EVAL_MODE: "The model is in the wrong mode (train/eval)",
    Cause.DATA_PIPELINE: "The data pipeline feeds the model badly",
    Cause.LABEL_RANGE: "The labels are outside what the loss expects",
    Cause.CLASS_IMBALANCE: "The model predicts the majority class",
    Cause.TRAIN_VAL_SHIFT: "Validation data comes from another distribution",
    Cause.OVERFITTING: "The model overfits",
    Cause.BAD_INIT: "The initialization is off",
    Cause.NAN_INF: "NaN or infinite values",
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
    Cause.UNSCALED_TARGETS: (
        "Standardize the regression targets with their training mean and standard deviation, "
        "and undo it on the predictions."
    ),
    Cause.BATCH_SIZE: "Change the batch size (and scale the learning rate with it).",
    Cause.OVER_REGULARIZED: "Lower the weight decay or the dropout rate.",
    Cause.OPTIMIZER_CHOICE: "Use momentum (e.g. SGD(momentum=0.9)) or an adaptive optimizer "
    "such as Adam.",
    Cause.VANISHING_GRADIENTS: (
        "Use ReLU-family activations, residual connections or normalization layers, and an "
        "initialization that suits the activation (kaiming for ReLU)."
    ),
    Cause.EXPLODING_GRADIENTS: (
        "Clip the gradient norm (torch.nn.utils.clip_grad_norm_), lower the learning rate, or "
        "add normalization layers."
    ),
    Cause.DEAD_RELU: (
        "Lower the learning rate, use LeakyReLU or GELU, or check the initialization and the "
        "bias of the layers before the ReLUs."
    ),
    Cause.LOSS_MISMATCH: "Give the loss what it expects (see the verdict).",
    Cause.SHAPE_BROADCAST: "Make the prediction and the target the same shape (see the verdict).",
    Cause.FROZEN_PARAMS: (
        "Pass all the model's trainable parameters to the optimizer (model.parameters()), and "
        "check requires_grad, detach() and no_grad in the forward pass."
    ),
    Cause.MISSING_ZERO_GRAD: "Call optimizer.zero_grad() before each loss.backward().",
    Cause.TRAIN_EVAL_MODE: "Call model.train() before training and model.eval() before "
    "validating.",
    Cause.DATA_PIPELINE: "Shuffle the training data, and check that each batch is a new one.",
    Cause.LABEL_RANGE: "Make the labels what the loss expects (see the verdict).",
    Cause.CLASS_IMBALANCE: (
        "Weight the loss by class (weight= in CrossEntropyLoss, pos_weight= in "
        "BCEWithLogitsLoss) or resample the classes."
    ),
    Cause.TRAIN_VAL_SHIFT: "Draw the validation data from the same distribution as the "
    "training data, with the same preprocessing.",
    Cause.OVERFITTING: (
        "Stop at the best validation epoch, add regularization (weight decay, dropout, data "
        "augmentation) or get more data."
    ),
    Cause.BAD_INIT: "Use the default or a standard initialization (kaiming or xavier), and "
    "start the output bias at the label prior.",
    Cause.NAN_INF: "Find where the first NaN or infinity appears (see the verdict) and remove it "
    "at its source.",
    Cause.SATURATED_ACTIVATION: (
        "Keep pre-activations near zero: normalize the inputs, use a smaller initialization, "
        "and prefer logits with a loss that applies the sigmoid/softmax itself "
        "(BCEWithLogitsLoss, CrossEntropyLoss)."
    ),
}

#: A loss fed what it does not expect breaks every other measurement of the run; labels without
#: signal make every tuning moot. Other causes rank by confidence.
_PRECEDENCE = {
    Cause.LOSS_MISMATCH: 2,
    Cause.SHAPE_BROADCAST: 2,
    Cause.LABEL_RANGE: 2,
    Cause.NO_SIGNAL: 1,
}


#: How training behaves: each of these can be a consequence of a root cause below.
_DYNAMICS = frozenset({
    Cause.UNDERFIT_CAPACITY, Cause.LR_TOO_HIGH, Cause.LR_TOO_LOW, Cause.SATURATED_ACTIVATION,
    Cause.VANISHING_GRADIENTS, Cause.EXPLODING_GRADIENTS, Cause.DEAD_RELU, Cause.OVERFITTING,
    Cause.OPTIMIZER_CHOICE, Cause.BATCH_SIZE, Cause.OVER_REGULARIZED, Cause.BAD_INIT,
})

#: Root cause -> what it makes a run show. A loss fed what it does not expect distorts all of
#: the training's behaviour; labels without signal are memorized (overfitting) and look like a
#: model that cannot fit; a gradient that cannot reach the first layers, or dead units, look like
#: too small a model; inputs off scale pin activations and make every learning rate look wrong.
_EXPLAINS: dict[Cause, frozenset[Cause]] = {
    Cause.LOSS_MISMATCH: _DYNAMICS,
    Cause.SHAPE_BROADCAST: _DYNAMICS,
    Cause.LABEL_RANGE: _DYNAMICS,
    Cause.NO_SIGNAL: frozenset({Cause.UNDERFIT_CAPACITY, Cause.OVERFITTING, Cause.LR_TOO_LOW}),
    Cause.VANISHING_GRADIENTS: frozenset({Cause.UNDERFIT_CAPACITY, Cause.LR_TOO_LOW}),
    Cause.DEAD_RELU: frozenset({Cause.UNDERFIT_CAPACITY, Cause.LR_TOO_LOW}),
    Cause.UNNORMALIZED_INPUTS: frozenset({
        Cause.SATURATED_ACTIVATION, Cause.LR_TOO_HIGH, Cause.LR_TOO_LOW,
        Cause.EXPLODING_GRADIENTS,
    }),
    Cause.UNSCALED_TARGETS: frozenset({
        Cause.LR_TOO_LOW, Cause.UNDERFIT_CAPACITY, Cause.BATCH_SIZE, Cause.OPTIMIZER_CHOICE,
    }),
    Cause.LR_TOO_HIGH: frozenset({
        Cause.DEAD_RELU, Cause.EXPLODING_GRADIENTS, Cause.UNDERFIT_CAPACITY,
    }),
    Cause.FROZEN_PARAMS: frozenset({Cause.UNDERFIT_CAPACITY, Cause.LR_TOO_LOW}),
    Cause.MISSING_ZERO_GRAD: frozenset({Cause.LR_TOO_HIGH, Cause.EXPLODING_GRADIENTS}),
    Cause.SATURATED_ACTIVATION: frozenset({
        Cause.VANISHING_GRADIENTS, Cause.UNDERFIT_CAPACITY,
    }),
    Cause.DATA_PIPELINE: frozenset({
        Cause.NO_SIGNAL, Cause.OVERFITTING, Cause.UNDERFIT_CAPACITY, Cause.LR_TOO_LOW,
        Cause.LR_TOO_HIGH,
    }),
    Cause.TRAIN_VAL_SHIFT: frozenset({Cause.OVERFITTING, Cause.NO_SIGNAL}),
    Cause.BAD_INIT: frozenset({
        Cause.EXPLODING_GRADIENTS, Cause.SATURATED_ACTIVATION, Cause.DEAD_RELU, Cause.LR_TOO_HIGH,
    }),
    Cause.EXPLODING_GRADIENTS: frozenset({Cause.DEAD_RELU}),
}


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
    explained_by: list[str] = field(default_factory=list)  # ids of root causes also found

    def __post_init__(self) -> None:
        self.confidence = float(min(1.0, max(0.0, self.confidence)))
        if not self.fix:
            self.fix = self.cause.default_fix
