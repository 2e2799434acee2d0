"""Fault operators that clamp the model's output at zero (a ReLU after the output layer) where
the targets are at or above zero: regression targets scaled to [0, 1], and classes scored by a
squared error against one-hot rows (Nielsen's network with every sigmoid made a ReLU). Nothing
the clamp cuts off is needed, but an output at 0 passes no gradient: a row whose target needs
it higher can stay at 0 for good (checks/_stuck_outputs.py)."""

from __future__ import annotations

import random

from .data import both_splits
from .operators import operator
from .program import Program

#: Forms of the clamp in a forward (model.FUNCTIONAL_CLAMPS); an nn.Sequential gets nn.ReLU.
FORWARD_CLAMPS = ("relu", "relu_f", "clamp")


def _targets_at_or_above_zero(p: Program, rng: random.Random) -> Program:
    """regression targets scaled to [0, 1] by the training rows' range; classes scored by a
    squared error against one-hot rows"""
    if p.data.task == "regression":
        return p.add_edits(
            "y_low, y_high = y_train.min(), y_train.max()",
            *both_splits(p, "y_train = (y_train - y_low) / (y_high - y_low)"))
    return p.with_loss(kind="mse", outside="").add_edits(
        *both_splits(p, "y_train = F.one_hot(y_train, CLASSES).float()"))


@operator("dead_relu", "a ReLU after the output layer (an nn.ReLU, or torch.relu, F.relu or "
          ".clamp(min=0) in the forward): outputs that fall to 0 pass no gradient, and stay "
          "there below targets that need them higher", setup=_targets_at_or_above_zero)
def relu_after_output(p: Program, rng: random.Random) -> Program:
    head = "relu" if p.model.style == "sequential" else rng.choice(FORWARD_CLAMPS)
    return p.with_model(head=head)
