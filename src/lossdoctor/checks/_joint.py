"""Two fixes that only help together: the initialization and the learning rate.

A model started far off (weights drawn N(0, 1), no fan-in scaling) and trained at a rate too
high for any start needs both fixes at once. Replayed from PyTorch's default init at the
user's rate, it still blows up or stalls (the rate); replayed at a lower rate from the user's
start, it still spends its steps undoing the start. Each fix alone fails, and each check, which
measures its own fix, would dismiss its cause. As checks._targets does for raw inputs and raw
targets, the fix is then measured with both applied: the default init at a rate
:data:`LOWER_BY` times lower, against the run, and against that lower rate alone.

It is tried only where the run shows both symptoms: a start far off (the caller's measure) and
a default-init replay at the user's rate that blows up or barely trains (:func:`too_fast`),
which is what a rate too high for a sane start does.
"""

from __future__ import annotations

import copy
import math
import statistics
from dataclasses import dataclass

from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._fix import (
    MEANINGFUL_IMPROVEMENT,
    fix_experiment,
    helped,
    settled_loss,
)
from lossdoctor.experiments import Plan, ReplayResult

#: The lower rates tried, as divisors of the user's: a decade, then two. The range test's own
#: safety margin is a decade (lr_range.SAFETY_FACTOR), and the dev operator
#: std_one_and_lr_too_high sets rates 10-30x too high.
LOWER_BY = (10.0, 100.0)
#: Without a constant guess, a replay whose training loss ends above this share of its start
#: (the median of its first ten steps, which a spike does not move) barely trained (as
#: underfit_capacity's BARELY_TRAINED: a tenth off is what a working setup takes in a few steps).
BARELY_TRAINED = 0.9


@dataclass
class Joint:
    lr: float  # the lower rate
    both: ReplayResult  # the default init at ``lr``
    rate_only: ReplayResult  # the user's init at ``lr``

    def needed(self, case) -> bool:
        """Both together helped the run, and the lower rate alone did not do as much (the
        default init alone the caller has measured already)."""
        together = fix_experiment("", case.baseline, self.both)
        beyond_rate = fix_experiment("", self.rate_only, self.both)
        return helped(together, case) and helped(beyond_rate, case)


def too_fast(default_at_user_rate: ReplayResult, constant: float | None) -> bool:
    """The default init replayed at the user's rate blew up, or ended no better than always
    predicting the same answer (``constant``, the constant guess's validation loss) by the bar
    of a fix, or without one barely trained. A ReLU network at plain SGD 2 from He init kills
    its units in the first steps and ends where a constant guess does (1.1 against 1.1), its
    training loss spiking to 180 on the way (tests/test_joint.py)."""
    losses = default_at_user_rate.train_losses
    if default_at_user_rate.diverged or not all(math.isfinite(v) for v in losses):
        return True
    if constant is not None and math.isfinite(constant):
        return settled_loss(default_at_user_rate) >= (1 - MEANINGFUL_IMPROVEMENT) * constant
    if len(losses) < 8:
        return False
    start = statistics.median(losses[:10])
    return statistics.fmean(losses[-max(len(losses) // 4, 1):]) >= BARELY_TRAINED * start


def init_and_rate(case, default_model) -> Joint | None:
    """The default init (``default_model``, left untrained: copies are trained) at the first
    lower rate with which it helps the run, with the same rate from the user's init; None when
    no lower rate helps. Replayed once per case."""
    return case.shared("replay.default_init_at_a_lower_rate",
                       lambda: _first_that_helps(case, default_model))


def _first_that_helps(case, default_model) -> Joint | None:
    user_lr = case.replayer.user_lr
    if not user_lr or not user_lr > 0:
        return None
    for factor in LOWER_BY:
        lr = user_lr / factor
        fresh = copy.deepcopy(default_model)
        both = case.replayer.replay(Plan(model=fresh, lr=lr, steps=REPLAY_STEPS))
        if helped(fix_experiment("", case.baseline, both), case):
            return Joint(lr, both, case.replayer.replay(Plan(lr=lr, steps=REPLAY_STEPS)))
    return None


def joint_evidence(joint: Joint, default_at_user_rate: ReplayResult) -> dict[str, float]:
    values = {
        "joint_lr": joint.lr,
        "default_init_at_your_rate_loss": settled_loss(default_at_user_rate),
        "lower_rate_only_loss": settled_loss(joint.rate_only),
        "default_init_and_lower_rate_loss": settled_loss(joint.both),
    }
    return {k: v for k, v in values.items() if math.isfinite(v)}
