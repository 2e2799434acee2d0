"""A run of a few steps written for LBFGS, stepped by an optimizer that evaluates once a step.

``optimizer.step(closure)`` is LBFGS's idiom: each step calls the closure up to ``max_iter``
times (20 by default), with a line search on the curvature it estimates, so a script sized for
LBFGS takes a handful of steps (pytorch/examples' time_sequence_prediction: 15). SGD, Adam and
the others accept the closure too, call it once, and take one first-order step: the same
handful of steps then trains a twentieth as far. Replays of REPLAY_STEPS steps hide it (in 300
steps plain SGD gets far); the run's own steps show it. This module replays the run's own
steps with LBFGS, on the same closure, beside the user's optimizer.
"""

from __future__ import annotations

import torch

from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._plain import plain_lr
from lossdoctor.experiments import Plan, ReplayResult

#: torch.optim.LBFGS's default ``max_iter``: the closure calls one of its steps may make.
LBFGS_EVALUATIONS = 20
#: Runs of at most this many steps are read: an LBFGS replay of as many steps evaluates the
#: closure at most as often as one replay of REPLAY_STEPS steps of a first-order optimizer.
MAX_CLOSURE_STEPS = REPLAY_STEPS // LBFGS_EVALUATIONS
#: A one-evaluation optimizer calls the closure once a step; LBFGS from its second step on
#: calls it more often whenever its line search is not satisfied at once. Fewer than this
#: many training loss calls a step, on average, is the one-evaluation kind.
ONE_EVALUATION = 1.5
#: LBFGS's own default rate, tried beside the user's (a rate written for SGD or Adam may be
#: far below what LBFGS's curvature-scaled steps need).
LBFGS_LR = 1.0


def sized_for_lbfgs(case) -> bool:
    """Whether the run stepped a one-evaluation optimizer with a closure, for a few steps."""
    copies, steps = case.copies, case.trace.steps
    if not copies.step_takes_closure or copies.optimizer_class in (None, torch.optim.LBFGS):
        return False
    calls = len(case.trace.train_losses())
    return 0 < steps <= MAX_CLOSURE_STEPS and calls < ONE_EVALUATION * steps


def lbfgs_replays(case) -> tuple[ReplayResult, list[tuple[str, ReplayResult]]]:
    """The user's setup replayed for the run's own steps, and LBFGS on the same steps at the
    user's rate and at LBFGS_LR, labelled as a practitioner writes them."""
    steps, replayer = case.trace.steps, case.require_replay()
    rates = sorted({replayer.user_lr or LBFGS_LR, LBFGS_LR})
    lbfgs = [(f"LBFGS(lr={plain_lr(rate, 3)})",
              replayer.replay(Plan(optimizer_class=torch.optim.LBFGS, lr=rate, steps=steps)))
             for rate in rates]
    return case.baseline_for(steps), lbfgs
