"""Fault operators on regression targets the model's output cannot reach: a sigmoid after the
output layer (its values in (0, 1)) and targets left in their own units past it, ratings from
1 to 5 say, where the twin scales them into [0, 1] (the threads' fix: genann's XOR with outputs
3 to 6, a siamese network's exp(-L1) fit to relatedness scores 1 to 5)."""

from __future__ import annotations

import random

from .data import both_splits
from .operators import operator
from .program import Program


def _sigmoid_output_on_unit_targets(p: Program, rng: random.Random) -> Program:
    """a sigmoid after the regression output layer, the targets scaled into [0, 1] by the
    training rows' range"""
    return p.with_model(head="sigmoid").add_edits(
        "y_low, y_high = y_train.min(), y_train.max()",
        *both_splits(p, "y_train = (y_train - y_low) / (y_high - y_low)"))


@operator("label_range", "a sigmoid after a regression model's output layer, the targets left "
          "in their own units (ratings from 1 to 5, say) past its (0, 1)",
          applies=lambda p: p.data.task == "regression",
          setup=_sigmoid_output_on_unit_targets)
def sigmoid_output_targets_in_units(p: Program, rng: random.Random) -> Program:
    low = rng.choice((1, 2, 3))
    span = rng.choice((3, 4, 9))
    return p.add_edits(*both_splits(p, f"y_train = {low} + {span} * y_train"))
