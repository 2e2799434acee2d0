"""Is an evaluation of rows alike the training data's a training-split estimate?

A training-split estimate (nanoGPT's ``estimate_loss``) scores the training rows with the
model being trained: its loss lies near the training loss of the steps around it. An
evaluation whose rows read as the training data's by content (:mod:`.train_split`: windows of
one sine, sentences of a small vocabulary) but whose loss stays far above the training loss
around it computes something training does not (a loss on other positions of the output, on
another transform of it): it is the script's validation curve, with its bug.
"""

from __future__ import annotations

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
    place = {id(record): index for index, record in enumerate(losses)}
    ratios = [ratio for record in evaluations if id(record) in place
              and (ratio := _ratio_to_training(record, place[id(record)], losses)) is not None]
    return bool(ratios) and statistics.median(ratios) > TRAINING_ESTIMATE_FACTOR


def _ratio_to_training(record: LossRecord, index: int, losses: list[LossRecord]) -> float | None:
    before = [r.value for r in losses[:index] if r.phase == "train"][-AROUND:]
    after = [r.value for r in losses[index + 1:] if r.phase == "train"][:AROUND]
    levels = [statistics.median(side) for side in (before, after) if side]
    level = max(levels, default=0.0)
    if level <= 0 or record.value <= 0:
        return None
    return record.value / level
