"""Regression targets that reached the loss as integers for a model with one output: scores or
measurements cast to an integer type on the way (a Dataset's ``astype(np.int64)`` truncates
scores from 0 to 1 to 0 and 1: bench/fresh27 s09's kind, ktrain's TransformerDataset). One
output cannot read class indices, so the integers are more likely numbers that lost their
fraction, and what the user must change is the data's dtype, not the loss: the cause is the
data pipeline's (checks/data_pipeline.py reports it; loss_setup steps aside). Classes regressed
as numbers remain the other reading, said second.

Read from the sampled loss calls (trace.loss_inputs) of one loss: every training call given
integer-typed targets and a prediction of one column. Validation targets kept as floats with
fractions (the captured validation batches) show the cast where it happened: in the training
path only."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from lossdoctor.checks._plain import plain_number
from lossdoctor.checks._scaled_likeness import likeness
from lossdoctor.findings import Skip
from lossdoctor.losses import REGRESSION, loss_kind
from lossdoctor.trace import LossInputStat

FLOAT_WORDS = ("float", "half", "double")


@dataclass
class CastTargets:
    loss_name: str
    dtype: str
    low: float
    high: float
    training_calls: int  # sampled loss calls, or kept batches for a loss written by hand
    #: validation targets kept as floats with fractions: the cast is in the training path
    #: alone, and the validation rows keep the values it cut.
    validation_keeps_fractions: bool = False

    def verdict(self, values: ValueShares | None = None) -> str:
        return (
            f"Your training targets are integers ({self.dtype}) from {plain_number(self.low)} "
            f"to {plain_number(self.high)}{_piled(values)}, and your model has a single output "
            f"that {self.loss_name} compares with them as numbers. A single output cannot read "
            f"class indices, so these are most likely scores or measurements cast to integers "
            f"on the way (an astype(np.int64), .long() or dtype=torch.long in your Dataset or "
            f"data loading), which cuts off everything after the decimal point: a score of "
            f"0.7 becomes 0 and a rating of 3.9 becomes 3, and the model learns the truncated "
            f"values, not yours.{self._validation_words()} Check your Dataset's dtype for the "
            f"targets.")

    def _validation_words(self) -> str:
        if not self.validation_keeps_fractions:
            return ""
        return (" Your validation targets are floats with fractions: "
                "the cast is in the training data's path only, so the model is scored on "
                "values it was never taught.")

    fix = ("Keep regression targets as floats in your Dataset (astype(np.float32), "
           "torch.float32), in training and validation alike. If they really are classes, give "
           "the model one output per class and use CrossEntropyLoss.")

    def evidence(self) -> dict:
        return {"training_calls_with_integer_targets": float(self.training_calls),
                "target_min": self.low, "target_max": self.high,
                "validation_targets_keep_fractions": float(self.validation_keeps_fractions)}


def cast_targets(name: str, seen: list[LossInputStat]) -> CastTargets | None:
    """A regression loss given integer-typed targets on every sampled training call, and a
    prediction with one column; None otherwise."""
    kind = loss_kind(name)
    training = [s for s in seen if s.phase == "train"]
    if kind is None or kind.task != REGRESSION or not training:
        return None
    if any(_is_float(s.target_dtype) for s in training) or max(map(_columns, seen)) != 1:
        return None
    low, high = min(s.target_min for s in training), max(s.target_max for s in training)
    return CastTargets(name, training[0].target_dtype.removeprefix("torch."), low, high,
                       len(training))


def written_cast(case) -> CastTargets | None:
    """The same reading for a loss written by hand, whose calls are not sampled: its kind from
    the torch loss it computes like, the targets from the kept training batches, and the
    prediction's columns from the untrained copy on the first of them."""
    if case.copies.initial_model is None:
        return None
    try:
        like, batches = likeness(case), case.replayer.train_batches
    except Skip:
        return None
    kind = loss_kind(like) if like else None
    targets = [b.target for b in batches if isinstance(b.target, torch.Tensor) and b.target.numel()]
    if kind is None or kind.task != REGRESSION or len(targets) != len(batches) or not targets:
        return None
    if any(t.is_floating_point() for t in targets) or _predicted_columns(case, batches[0]) != 1:
        return None
    return CastTargets(f"your hand-written loss (like {like})", str(targets[0].dtype).removeprefix(
        "torch."), min(float(t.min()) for t in targets), max(float(t.max()) for t in targets),
        len(targets))


def _predicted_columns(case, batch) -> int | None:
    model = copy.deepcopy(case.copies.initial_model).eval()
    try:
        with torch.no_grad():
            prediction = case.replayer.predict(model, batch)
    except Exception:  # noqa: BLE001 - a batch the copy cannot score says nothing
        return None
    if not isinstance(prediction, torch.Tensor):
        return None
    return prediction.shape[1] if prediction.dim() >= 2 else 1


def fractions_kept(targets: list) -> bool:
    """Whether the validation ``targets`` are floats, some of them with a fraction."""
    kept = [t for t in targets if isinstance(t, torch.Tensor) and t.numel()]
    return bool(kept) and all(t.is_floating_point() for t in kept) and any(
        bool((t != t.round()).any()) for t in kept)


@dataclass
class ValueShares:
    """How the training targets the sample kept spread over their integer values."""

    distinct: int
    commonest: float
    commonest_share: float

    def evidence(self) -> dict:
        return {"distinct_target_values": float(self.distinct),
                "commonest_target_value": self.commonest,
                "commonest_target_share": self.commonest_share}


def value_shares(targets: list[torch.Tensor]) -> ValueShares | None:
    """The distinct values of the integer-typed ``targets`` and the share of the commonest."""
    kept = [t.detach().reshape(-1) for t in targets
            if isinstance(t, torch.Tensor) and not t.is_floating_point() and t.numel()]
    if not kept:
        return None
    values, counts = np.unique(torch.cat(kept).numpy(), return_counts=True)
    top = int(counts.argmax())
    return ValueShares(len(values), float(values[top]), float(counts[top] / counts.sum()))


def _piled(values: ValueShares | None) -> str:
    if values is None or values.distinct > 20:
        return ""
    return (f" ({values.distinct} distinct values; {values.commonest_share:.0%} of them are "
            f"{plain_number(values.commonest)})")


def _is_float(dtype: str) -> bool:
    return any(word in dtype for word in FLOAT_WORDS)


def _columns(call: LossInputStat) -> int:
    shape = call.prediction_shape
    return shape[1] if len(shape) >= 2 else 1
