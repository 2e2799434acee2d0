"""Raw scores clipped into [eps, 1 - eps] before a loss that takes probabilities (BCELoss).

PyTorch's binary_cross_entropy raises on values outside [0, 1], so raw scores reach it only
through a clip: Keras 3's torch backend (as tf.keras did) does ``torch.clip(output, 1e-7,
1 - 1e-7)`` inside its binary_crossentropy, and hand-written losses do ``p.clamp(eps, 1 - eps)``
or ``p.clamp(0, 1)``. Every score outside
(0, 1) then costs the same fixed amount and sends no gradient back, so a model without a
sigmoid at the end barely learns.

Two readings together: the loss's inputs sit on a clip (on every sampled call the smallest is
one and the same number below 0.5, or the largest one and the same number above it), and the
model's own output, replayed on the kept training batches, leaves [0, 1] with no sigmoid or
softmax between it and the loss in the recorded loss computation. A sigmoid output clipped the
same way stays inside [0, 1] (its saturation is saturated_activation's to judge).
"""

from __future__ import annotations

from dataclasses import dataclass

from lossdoctor.checks._output_extremes import output_extremes
from lossdoctor.findings import Skip
from lossdoctor.losses import loss_kind

#: Functions between the model's output and the loss that make probabilities (or their logs)
#: of any scores: with one of them in the loss computation the output may be raw scores.
SQUASHING = frozenset({"sigmoid", "sigmoid_", "expit", "softmax", "log_softmax", "logsigmoid",
                       "hardsigmoid", "tanh", "exp", "softplus", "erf", "erfc", "ndtr"})
#: Kept training batches replayed through the model copies, at most: raw scores show on any.
BATCHES = 4
#: Sampled training calls whose extremes must agree before they are read as a clip's bounds
#: (loss_setup's MIN_CALLS: one call's extremes agree with themselves).
MIN_CALLS = 3


@dataclass(frozen=True)
class ClippedScores:
    low: float | None  # the clip's bounds the loss's inputs sit on (None: not seen held)
    high: float | None
    output_min: float  # the model's own output on the kept batches
    output_max: float

    def evidence(self) -> dict[str, float]:
        bounds = {"clip_low": self.low, "clip_high": self.high}
        return {**{k: v for k, v in bounds.items() if v is not None},
                "model_output_min": self.output_min, "model_output_max": self.output_max}


def clipped_scores(case) -> ClippedScores | None:
    """The clip and the model's raw output range when a loss on probabilities is given raw
    scores clipped into its range; None otherwise (or when no replay can show the output)."""
    seen = [s for s in case.trace.loss_inputs if s.phase == "train" and _takes_probabilities(s)]
    if len(seen) < MIN_CALLS or _squashed_in_loss(case):
        return None
    floor, ceiling = _held(seen, "prediction_min"), _held(seen, "prediction_max")
    floor = floor if floor is not None and floor < 0.5 else None
    ceiling = ceiling if ceiling is not None and ceiling > 0.5 else None
    if floor is None and ceiling is None:
        return None
    found = _output_range(case)
    if found is None:
        return None
    low, high = found
    if low >= 0 and high <= 1:
        return None
    return ClippedScores(floor, ceiling, low, high)


def _takes_probabilities(call) -> bool:
    kind = loss_kind(call.loss_name)
    return kind is not None and kind.output == "probabilities"


def _held(seen: list, extreme: str) -> float | None:
    """The one value every sampled call's smallest (or largest) input is: a clip's bound
    (eps, or 0 for a clamp into [0, 1]); None when they differ. The extremes of probabilities
    computed from the scores (a sigmoid's, ``(tanh + 1) / 2``) move from batch to batch."""
    values = {getattr(s, extreme) for s in seen}
    return values.pop() if len(values) == 1 else None


def _squashed_in_loss(case) -> bool:
    """Whether the recorded loss computation applies a sigmoid or softmax (or such) to the
    model's output before the loss: then the output may be raw scores."""
    calls = getattr(case.copies.loss_replay, "calls", None) or []
    return any(call is not None and call.name in SQUASHING for call in calls)


def _output_range(case) -> tuple[float, float] | None:
    """The smallest and largest value of the model's output, untrained and trained, on the
    kept training batches."""
    try:
        replayer = case.require_replay()
    except Skip:
        return None
    extremes = []
    for model in (case.copies.initial_model, case.copies.final_model):
        if model is not None:
            batches = replayer.train_batches[:BATCHES]
            extremes += [e for e in output_extremes(model, batches, replayer.predict) if e]
    if not extremes:
        return None
    return min(low for low, _ in extremes), max(high for _, high in extremes)
