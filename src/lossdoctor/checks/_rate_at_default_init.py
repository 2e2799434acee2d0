"""Whether a higher learning rate only makes up for a start far off: the same higher rate
replayed from PyTorch's default initialization, against the user's rate from there.

A model whose weights start far too large (every weight drawn N(0, 1)) trains faster at a
higher rate, which moves the weights out of the bad start sooner; the rate then looks too low
although, from a standard start, the user's rate trains as well as the higher one. The rate is
too low only when it is also too low for a model started well.
"""

from __future__ import annotations

import copy
import math

from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._fix import fix_experiment
from lossdoctor.checks._plain import plain_lr
from lossdoctor.checks._reinit import default_init, default_init_replay
from lossdoctor.experiments import Plan
from lossdoctor.findings import Experiment

#: The untrained model's loss at least this many times a default-initialized copy's on the
#: same batches: a start far off (checks/bad_init.py's FAR: the default init's own spread over
#: seeds is well within a factor of two).
FAR_START = 3.0
#: Training batches the start's loss is read on (bad_init's BATCHES).
START_BATCHES = 8


def from_default_init(case, lr: float) -> Experiment | None:
    """The replay from the default initialization at the user's rate against the same replay at
    ``lr``, when the user's model starts far off (FAR_START); None otherwise or when no
    default-initialized copy can be made."""
    replayer = case.replayer
    initial = case.copies.initial_model
    fresh = default_init(initial)
    if fresh is None:
        return None
    batches = replayer.train_batches[:START_BATCHES]
    own, standard = replayer.evaluate(initial, batches), replayer.evaluate(fresh, batches)
    if not (math.isfinite(standard) and standard > 0 and own > FAR_START * standard):
        return None
    at_user = default_init_replay(case, fresh)
    at_higher = replayer.replay(Plan(model=copy.deepcopy(fresh), lr=lr, steps=REPLAY_STEPS))
    return fix_experiment(f"lr {plain_lr(lr)} instead of yours, both from PyTorch's default "
                          "initialization", at_user, at_higher)
