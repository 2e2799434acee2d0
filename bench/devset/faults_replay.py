"""Fault operators whose healthy twins stress a replay-free reading (session 26): a run of one
or two optimizer steps an epoch that learns well in them, beside the same run with the whole
training set as one batch at a rate too low for its few steps."""

from __future__ import annotations

import random

from .operators import operator
from .program import Program


def _learns_in_few_steps(p: Program, rng: random.Random) -> Program:
    """two batches an epoch, Adam at 1e-2 to 3e-2 for 40 to 70 epochs (80 to 140 steps): a
    large batch whose few steps are enough, still falling a little at its end"""
    return p.with_train(batch_size=p.data.n_train // 2 + 1, optimizer="adam",
                        lr=float(f"{rng.uniform(1e-2, 3e-2):.2g}"), epochs=rng.randint(40, 70),
                        schedule="none")


@operator("batch_size", "the whole training set as one batch for a fifth of the epochs: "
          "one step an epoch, too few to learn", setup=_learns_in_few_steps)
def full_batch_fifth_of_the_epochs(p: Program, rng: random.Random) -> Program:
    return p.with_train(batch_size=p.data.n_train, epochs=max(p.train.epochs // 5, 6))
