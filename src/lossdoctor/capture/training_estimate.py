"""Is an evaluation of rows alike the training data's a training-split estimate?

A training-split estimate (nanoGPT's ``estimate_loss``) scores the training rows with the
model being trained: its loss lies near the training loss of the steps around it. An
evaluation whose rows read as the training data's by content (:mod:`.train_split`: windows of
one sine, sentences of a small vocabulary) but whose loss stays far above the training loss
around it computes something training does not (a loss on other positions of the output, on
another transform of it): it is the script's validation curve, with its bug.
"""

from __future__ import annotations

import bisect
import statistics

from lossdoctor.trace import LossRecord

#: Training loss calls on each side of an evaluation whose median is its training level: the
#: loss of one batch varies, the median of a few does not by much.
AROUND = 8
#: The evaluations are far above training when the median of their ratios to the training
#: level around each (the larger of the levels just before and just after, so that a run whose
#: training loss jumps at that step is not taken for one) exceeds this: a decade. The same rows
#: scored by the same model move with batch-to-batch spread and dropout (train mode) against
#: eval mode, within a factor of 2 on the dev scripts of docs/devset.md (session 31, s31-wlm);
#: the forecast's slice scored in place of the observed one was 1,000 times above.
TRAINING_ESTIMATE_FACTOR = 10.0


def far_above_training(evaluations: list[LossRecord], losses: list[LossRecord]) -> bool:
    """Whether ``evaluations`` (records of ``losses``, the run's in order) score far above the
    training loss around them, as a median over the evaluations."""
    if not evaluations:
        return False
    place = {id(record): index for index, record in enumerate(losses)}
    trained = [(index, r.value) for index, r in enumerate(losses) if r.phase == "train"]
    places, values = [i for i, _ in trained], [v for _, v in trained]
    ratios = [ratio for record in evaluations if id(record) in place and (
        ratio := _ratio_to_training(record.value, bisect.bisect(places, place[id(record)]),
                                    values)) is not None]
    return bool(ratios) and statistics.median(ratios) > TRAINING_ESTIMATE_FACTOR


def _ratio_to_training(value: float, split: int, training: list[float]) -> float | None:
    """``value`` over the training level around it: ``training[:split]`` came before it."""
    sides = (training[max(split - AROUND, 0):split], training[split:split + AROUND])
    level = max((statistics.median(side) for side in sides if side), default=0.0)
    if level <= 0 or value <= 0:
        return None
    return value / level
