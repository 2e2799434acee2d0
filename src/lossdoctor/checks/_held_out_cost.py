"""What validation rows cost a model beside training rows drawn the same way that it never saw.

The user's setup is replayed on the captured training batches but every HOLD_OUT_EVERY-th,
then the replayed model is scored on those held-out training batches and on the validation
batches. Held-out training rows went through whatever the run did to its training rows (a
random crop, a flip, fresh noise: augmentation the validation rows never get), so a model that
loses no more on the validation rows than on them is not hurt by how the two splits differ; the
replay's own training loss cannot say that, as it is measured on rows the model learned.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from lossdoctor.checks._learning_curve import replay_on
from lossdoctor.experiments import HOLD_OUT_BATCHES, HOLD_OUT_EVERY
from lossdoctor.findings import Skip


@dataclass
class HeldOutLosses:
    training: float  # the replayed model's loss on training batches it never trained on
    validation: float  # ... and on the validation batches


def held_out_losses(case) -> HeldOutLosses | None:
    """Both losses, or None when they cannot be had: fewer than HOLD_OUT_BATCHES training
    batches, a replay that blew up, or no time left for it."""
    replayer = case.require_replay()
    batches = replayer.train_batches
    if len(batches) < HOLD_OUT_BATCHES:
        return None
    held = batches[HOLD_OUT_EVERY - 1::HOLD_OUT_EVERY]
    kept = [b for i, b in enumerate(batches) if i % HOLD_OUT_EVERY != HOLD_OUT_EVERY - 1]
    model = copy.deepcopy(replayer.copies.initial_model)
    try:
        if replay_on(replayer, kept, model).diverged:
            return None
        return HeldOutLosses(replayer.evaluate(model, held),
                             replayer.evaluate(model, replayer.validation_batches))
    except Skip:  # no time left for it (budget.OutOfTime), or no experiments at all
        return None
