"""Regression targets that reached the loss as integers for a model with one output: scores or
measurements cast to an integer type on the way (a Dataset's ``astype(np.int64)`` truncates
scores from 0 to 1 to 0 and 1: bench/fresh27 s09's kind, ktrain's TransformerDataset). One
output cannot read class indices, so the integers are more likely numbers that lost their
fraction, and what the user must change is the data's dtype, not the loss; classes regressed as
numbers remain the other reading, said second. Read from the sampled loss calls
(trace.loss_inputs) of one loss; shared so that the cause that owns the data's fix can report it
(loss_setup reports it as loss_mismatch today)."""

from __future__ import annotations

from dataclasses import dataclass

from lossdoctor.checks._plain import plain_number
from lossdoctor.losses import REGRESSION, loss_kind
from lossdoctor.trace import LossInputStat

FLOAT_WORDS = ("float", "half", "double")


@dataclass
class CastTargets:
    loss_name: str
    dtype: str
    low: float
    high: float

    @property
    def verdict(self) -> str:
        return (
            f"Your targets are integers ({self.dtype}) from {plain_number(self.low)} to "
            f"{plain_number(self.high)}, and your model has a single output that "
            f"{self.loss_name} compares with them as numbers. A single output cannot read "
            f"class indices, so if these are scores or measurements they were most likely cast "
            f"to integers on the way (an astype(np.int64), .long() or dtype=torch.long in your "
            f"Dataset or data loading), which cuts off everything after the decimal point: the "
            f"model then learns the truncated values, not yours. Check your Dataset's dtype for "
            f"the targets.")

    fix = ("Keep regression targets as floats in your Dataset (astype(np.float32), "
           "torch.float32), in training and validation alike. If they really are classes, give "
           "the model one output per class and use CrossEntropyLoss.")


def cast_targets(name: str, seen: list[LossInputStat]) -> CastTargets | None:
    """A regression loss given integer-typed, non-negative targets on every sampled call, and
    a prediction with one column; None otherwise."""
    kind = loss_kind(name)
    if kind is None or kind.task != REGRESSION or not seen:
        return None
    if any(_is_float(s.target_dtype) for s in seen) or max(_columns(s) for s in seen) != 1:
        return None
    low, high = min(s.target_min for s in seen), max(s.target_max for s in seen)
    if low < 0:
        return None
    return CastTargets(name, seen[0].target_dtype.removeprefix("torch."), low, high)


def _is_float(dtype: str) -> bool:
    return any(word in dtype for word in FLOAT_WORDS)


def _columns(call: LossInputStat) -> int:
    shape = call.prediction_shape
    return shape[1] if len(shape) >= 2 else 1
