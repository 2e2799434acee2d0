"""What each PyTorch loss expects: the task it serves and the form of the model's output."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

CLASSIFICATION = "classification"
REGRESSION = "regression"


@dataclass(frozen=True)
class LossKind:
    task: str  # CLASSIFICATION or REGRESSION
    output: str  # what the model must output: "probabilities", "log-probabilities",
    #              "logits" or "values"
    binary: bool = False  # one probability (or logit) per output, against 0/1 targets
    centre: str = "mean"  # the best constant for a regression loss: "mean" or "median"

    @property
    def squared(self) -> bool:
        return self.task == REGRESSION and self.centre == "mean"


_KINDS = {
    ("BCELoss", "binary_cross_entropy"): LossKind(CLASSIFICATION, "probabilities", binary=True),
    ("BCEWithLogitsLoss", "binary_cross_entropy_with_logits"): LossKind(
        CLASSIFICATION, "logits", binary=True
    ),
    ("CrossEntropyLoss", "cross_entropy"): LossKind(CLASSIFICATION, "logits"),
    # Keras' cross-entropies on class probabilities (from_logits=False, its default), on one-hot
    # rows and on class indices: the log of each row, clipped into [1e-7, 1 - 1e-7]
    # (capture/loss_likeness.py), against the target class
    ("categorical_crossentropy", "sparse_categorical_crossentropy"): LossKind(
        CLASSIFICATION, "probabilities"),
    ("NLLLoss", "nll_loss"): LossKind(CLASSIFICATION, "log-probabilities"),
    ("MSELoss", "mse_loss"): LossKind(REGRESSION, "values"),
    ("L1Loss", "l1_loss"): LossKind(REGRESSION, "values", centre="median"),
    ("HuberLoss", "huber_loss", "SmoothL1Loss", "smooth_l1_loss"): LossKind(
        REGRESSION, "values", centre="median"
    ),
}
_BY_NAME = {name: kind for names, kind in _KINDS.items() for name in names}


def alike(name: str) -> str | None:
    """The torch loss a hand-written one computes like ("hand-written loss (like mse_loss)"
    gives "mse_loss"), or None for a loss not named so (capture/loss_likeness.py)."""
    if name.endswith(")") and " (like " in name:
        return name[name.rindex(" (like ") + len(" (like "):-1]
    return None


def loss_kind(name: str) -> LossKind | None:
    """The kind of a loss, by its class name ("BCELoss") or function name ("mse_loss"), or of a
    loss written by hand that behaves like one ("hand-written loss (like mse_loss)")."""
    return _BY_NAME.get(alike(name) or name)


def output_layers(loss_name: str) -> list[nn.Module]:
    """The layers a model must end with to give this loss what it expects."""
    kind = loss_kind(loss_name)
    if kind is not None and kind.output == "probabilities":
        return [nn.Sigmoid()] if kind.binary else [nn.Softmax(dim=-1)]
    if kind is not None and kind.output == "log-probabilities":
        return [nn.LogSoftmax(dim=1)]
    return []
