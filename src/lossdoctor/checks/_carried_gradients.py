"""Updates that stopped for good at the first non-finite loss, while backward passes went on
with no zero_grad: one batch's NaN gradient is carried from pass to pass, never cleared, and
every later update is skipped (ESPnet's trainer before espnet/espnet#3283: zero_grad only in
the branch that steps, a non-finite grad norm skipping the step). Read off the run's records by
missing_zero_grad (its root) and nan_inf (the NaN it leaves behind)."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Backward passes after the last optimizer step, at least, for updates to have stopped while
#: the loop went on: gradient accumulation on purpose leaves at most one window (8 to 64
#: batches, training_loop.ACCUMULATION_LIMIT's reasoning) unstepped at the end of a run.
MIN_CARRIED_PASSES = 100
#: ... and at least this share of the run's backward passes: a run that stops stepping in its
#: last tenth has trained; fresh21 s09 stopped at step 19 with 524 of its 600 passes to come.
MIN_CARRIED_SHARE = 0.1
#: At most this share of the training losses after the stop may be non-finite: the model's
#: weights stay finite (updates were skipped, not applied), so its losses are; only the
#: gradient carried is NaN (s09: 6 of 524, the same corrupt row once an epoch).
MAX_NONFINITE_AFTER = 0.5


@dataclass
class CarriedGradients:
    last_step: int  # the optimizer step after which no update came
    passes_after: int  # backward passes after it
    nonfinite_after: int  # non-finite training losses among them


def carried_gradients(trace) -> CarriedGradients | None:
    """The stop, when the updates stopped at the step of the first non-finite training loss and
    backward passes went on, MIN_CARRIED_PASSES or more, with no zeroing among them."""
    losses = trace.train_losses()
    after = [r for r in losses if r.step == trace.steps]
    passes_after, passes = sum(r.calls for r in after), sum(r.calls for r in losses)
    first_bad = next((r.step for r in losses if not math.isfinite(r.value)), None)
    if first_bad != trace.steps or trace.steps == 0:
        return None
    if passes_after < MIN_CARRIED_PASSES or passes_after < MIN_CARRIED_SHARE * passes:
        return None
    if trace.zero_grad_calls + trace.manual_grad_resets > trace.steps + 1:
        return None  # zeroed between steps: the loop clears gradients off the stepping path
    nonfinite = sum(r.calls for r in after if not math.isfinite(r.value))
    if nonfinite > MAX_NONFINITE_AFTER * passes_after:
        return None
    return CarriedGradients(trace.steps, passes_after, nonfinite)
