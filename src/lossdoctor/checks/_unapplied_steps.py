"""Training that goes on without being applied: backward passes after the last optimizer step
(a wrapper of ``step`` that returns without stepping, an early stop that skips the step but not
the backward pass), and an optimizer that steps tensors no backward pass reaches (one built
over an earlier model's parameters, or over copies restored from a checkpoint)."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: A loop that accumulates gradients over a window of k backward passes ends the run with at
#: most k - 1 of them not yet stepped; this many whole windows without a step is no
#: accumulation.
UNSTEPPED_WINDOWS = 2
#: ... and at least this share of the run's backward passes in training mode: a few gradients
#: taken at the end for a look (a saliency map, a gradient norm) are not the training loop, and
#: a loop that stopped stepping for a tenth of its run lost a tenth of its updates.
UNSTEPPED_SHARE = 0.1
#: Steps of an optimizer over tensors without a gradient, at least, before they count as an
#: optimizer that steps nothing: its first step after a model was built may precede the first
#: backward pass that reaches it (a step before any backward finds every gradient None), and
#: three steps reach past it.
MIN_EMPTY_STEPS = 3


@dataclass(frozen=True)
class Unstepped:
    """Backward passes in training mode after the last optimizer step, out of all of them."""

    passes_after: int
    passes: int
    last_step: int


def unstepped_passes(trace) -> Unstepped | None:
    """The training-mode backward passes after the last step of any optimizer, when they are
    UNSTEPPED_WINDOWS accumulation windows or more and UNSTEPPED_SHARE of the run; None when the
    run stepped to its end, or when a loss after the last step was not finite (an update
    skipped on a NaN gradient is nan_inf's and missing_zero_grad's to read)."""
    if trace.steps == 0 or trace.later_optimizer_steps:
        return None
    trained = [r for r in trace.train_losses() if r.model_training is not False]
    after = [r for r in trained if r.step >= trace.steps]
    if not all(math.isfinite(r.value) for r in after):
        return None
    passes_after = sum(r.calls for r in after)
    passes = sum(r.calls for r in trained)
    window = max((passes - passes_after) / trace.steps, 1.0)
    if passes_after < UNSTEPPED_WINDOWS * window or passes_after < UNSTEPPED_SHARE * passes:
        return None
    return Unstepped(passes_after, passes, trace.steps)


def empty_steps(trace) -> int:
    """Steps of another optimizer since the first one's last step that found no gradient on
    any tensor they hold, when every one of them did and they are MIN_EMPTY_STEPS or more;
    else 0."""
    steps = trace.later_optimizer_steps
    if steps < MIN_EMPTY_STEPS or trace.later_steps_without_gradients < steps:
        return 0
    return steps
