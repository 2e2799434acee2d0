"""Fault operators on regression targets cast to integers on the way to the loss: scores from
0 to 1, or ratings from 1 to 5, kept as int64 by the training Dataset (``astype(np.int64)``,
``.long()``: bench/fresh27 s09's kind, ktrain's TransformerDataset), which cuts off every
fraction. The validation targets stay floats, as when the cast sits in the training Dataset
only, so the plain run shows the cost against the true values; the twin keeps them floats."""

from __future__ import annotations

import random

from .data import both_splits
from .operators import operator, regression
from .program import Program

#: (lowest value, span): scores from 0 to 1, ratings from 1 to 5, grades from 1 to 10.
TARGET_RANGES = ((0, 1), (1, 4), (1, 9))


def _targets_as_scores(p: Program, rng: random.Random) -> Program:
    """regression targets given as scores or ratings (0 to 1, 1 to 5 or 1 to 10, with
    fractions), floats in both splits"""
    low, span = rng.choice(TARGET_RANGES)
    return p.add_edits(
        "y_low, y_high = y_train.min(), y_train.max()",
        *both_splits(p, f"y_train = {low} + {span} * (y_train - y_low) / (y_high - y_low)"))


@operator("data_pipeline", "regression scores or ratings cast to int64 by the training "
          "Dataset (their fractions cut off), the validation targets kept as floats",
          applies=regression, setup=_targets_as_scores)
def targets_cast_to_int64(p: Program, rng: random.Random) -> Program:
    return p.add_edits("y_train = y_train.long()  # the training Dataset keeps them as int64")
