"""A learning rate below zero, read from the rates the run trained at.

torch.optim's SGD and Adam step by ``-lr * gradient``: at a negative rate every step climbs the
loss (gradient ascent). Their constructors refuse one, but a rate set on a parameter group
afterwards, a scheduler's factor or a Keras port's ``SGD(learning_rate=-0.01)`` reach the steps
all the same. The run's own losses must show it: a loss that did not fall at all (or stopped
being finite) over the steps taken at that rate, as ascent makes it; a custom optimizer that
adds ``lr * gradient`` descends at a negative rate, however slowly, and is left alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lossdoctor.lr_schedule import LrSchedule
from lossdoctor.trace import Trace

#: The steps after the first one at a negative rate whose mean is the run's late loss there: the
#: last quarter, long enough to average out batch noise, late enough to show where it went.
LATE_SHARE = 0.25


@dataclass(frozen=True)
class NegativeRate:
    lr: float  # the lowest rate the run trained at
    first_step: int  # the first step taken at a negative rate
    steps: int  # how many steps that was
    before: float  # the training loss at that step, before its update
    late: float  # the mean loss of the last LATE_SHARE of the steps after it


def negative_rate(trace: Trace) -> NegativeRate | None:
    """The steps the run took at a negative rate, when its loss did not fall over them."""
    changes = _rate_changes(trace)
    first = next((step for step, lr in changes if lr < 0), None)
    if first is None:
        return None
    losses = [(step, loss) for step, loss in trace.step_losses() if step >= first]
    if len(losses) < 2:
        return None
    after = [loss for _, loss in losses[1:]]
    late = after[-max(1, round(len(after) * LATE_SHARE)):]
    late_mean = math.fsum(late) / len(late) if all(map(math.isfinite, late)) else math.inf
    before = losses[0][1]
    if math.isfinite(late_mean) and late_mean < before:
        return None
    schedule = LrSchedule(tuple(changes), trace.steps)  # of(): None when no rate is positive
    negative_steps = sum(1 for step, _ in losses if schedule.at(step) < 0)
    return NegativeRate(min(lr for _, lr in changes), first, negative_steps, before, late_mean)


def _rate_changes(trace: Trace) -> list[tuple[int, float]]:
    setup = trace.setup
    changes = [(int(step), float(lr)) for step, lr in setup.lr_schedule]
    if not changes and isinstance(setup.optimizer_hparams.get("lr"), (int, float)):
        changes = [(0, float(setup.optimizer_hparams["lr"]))]
    return changes
