"""Raw scores clipped into [eps, 1 - eps] before a loss that takes probabilities (BCELoss).

PyTorch's binary_cross_entropy raises on values outside [0, 1], so raw scores reach it only
through a clip: Keras 3's torch backend (as tf.keras did) does ``torch.clip(output, 1e-7,
1 - 1e-7)`` inside its binary_crossentropy, and hand-written losses do ``p.clamp(eps, 1 - eps)``
or ``p.clamp(0, 1)``. Every score outside
(0, 1) then costs the same fixed amount and sends no gradient back, so a model without a
sigmoid at the end barely learns.

Two readings together: the loss's inputs sit on a clip (on every sampled call the smallest is
one and the same positive number, or the largest one and the same number below 1), and the
model's own output, replayed on the kept training batches, leaves [0, 1] with no sigmoid or
softmax between it and the loss in the recorded loss computation. A sigmoid output clipped the
same way stays inside [0, 1] (its saturation is saturated_activation's to judge).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from lossdoctor.findings import Skip
from lossdoctor.losses import loss_kind

#: Functions between the model's output and the loss that make probabilities (or their logs)
#: of any scores: with one of them in the loss computation the output may be raw scores.
SQUASHING = frozenset({"sigmoid", "sigmoid_", "expit", "softmax", "log_softmax", "logsigmoid",
                       "hardsigmoid", "tanh", "exp", "softplus", "erf", "erfc", "ndtr"})
#: Kept training batches replayed through the model copies, at most: raw scores show on any.
BATCHES = 4


@dataclass(frozen=True)
class ClippedScores:
    low: float  # the clip's bounds, as the loss's inputs show them
    high: float
    output_min: float  # the model's own output on the kept batches
    output_max: float

    def evidence(self) -> dict[str, float]:
        return {"clip_low": self.low, "clip_high": self.high,
                "model_output_min": self.output_min, "model_output_max": self.output_max}


def clipped_scores(case) -> ClippedScores | None:
    """The clip and the model's raw output range when a loss on probabilities is given raw
    scores clipped into its range; None otherwise (or when no replay can show the output)."""
    seen = [s for s in case.trace.loss_inputs if s.phase == "train" and _takes_probabilities(s)]
    if not seen or not _on_a_clip(seen) or _squashed_in_loss(case):
        return None
    found = _output_range(case)
    if found is None:
        return None
    low, high = found
    if low >= 0 and high <= 1:
        return None
    return ClippedScores(min(s.prediction_min for s in seen),
                         max(s.prediction_max for s in seen), low, high)


def _takes_probabilities(call) -> bool:
    kind = loss_kind(call.loss_name)
    return kind is not None and kind.output == "probabilities"


def _on_a_clip(seen: list) -> bool:
    """Every sampled call's smallest input is one and the same number (eps, or 0 for a clamp
    into [0, 1]), or every call's largest is: values a clip holds there. The extremes of
    probabilities computed from the scores (a sigmoid's, ``(tanh + 1) / 2``) move from batch
    to batch."""
    lows = {s.prediction_min for s in seen}
    highs = {s.prediction_max for s in seen}
    floor = len(lows) == 1 and min(lows) < 0.5
    ceiling = len(highs) == 1 and max(highs) > 0.5
    return floor or ceiling


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
    outputs = []
    for model in (case.copies.initial_model, case.copies.final_model):
        if model is None:
            continue
        model = copy.deepcopy(model).eval()
        for batch in replayer.train_batches[:BATCHES]:
            try:
                with torch.no_grad():
                    output = replayer.predict(model, batch)
            except Exception:  # noqa: BLE001 - a batch the copy cannot score says nothing
                continue
            if isinstance(output, torch.Tensor) and output.numel():
                outputs.append(output.detach().float())
    if not outputs:
        return None
    return min(float(o.min()) for o in outputs), max(float(o.max()) for o in outputs)
