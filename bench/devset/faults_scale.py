"""Fault operators on losses written at a scale of their own, and on penalties added outside
the model's loss:

- a hand-written squared error summed over the batch and divided by a number (the batch's
  size read from the prediction, ``pred.size(0)``, or the BATCH_SIZE constant), as Caffe's
  Euclidean loss and many ports of it are written, trained with weight decay far too large;
- a loss the model's forward returns, with an L2 penalty on the weights added to it in the
  training loop.

The summed losses are registered as loss kinds of their own (losses.HAND). With one output
per row, a sum of squares over the rows divided by their count is the mean squared error, so
the plain runs' constant guess (probe.py's, the MSE's for an unknown kind) is in the
script's units."""

from __future__ import annotations

import random

from . import losses
from .operators import every, operator, regression
from .program import Program

#: Squared errors summed over the batch, divided by its rows as the script counts them.
SUMMED_LOSSES = {
    "sse_rows": ["def squared_error(pred, target):",
                 "    return ((pred - target) ** 2).sum() / pred.size(0)"],
    "sse_batch": ["def squared_error(pred, target):",
                  "    return ((pred - target) ** 2).sum() / BATCH_SIZE"],
}
losses.HAND.update(SUMMED_LOSSES)


def _summed_loss(p: Program, rng: random.Random) -> Program:
    """a squared error written by hand, summed over the batch and divided by its size"""
    return p.with_loss(kind=rng.choice(sorted(SUMMED_LOSSES)), style="hand", outside="")


@operator("over_regularized", "weight decay 0.3-1 (AdamW: 5-20) on a squared error summed "
          "over the batch and divided by its size by hand", applies=regression,
          setup=_summed_loss)
def summed_loss_weight_decay(p: Program, rng: random.Random) -> Program:
    decay = rng.uniform(5, 20) if p.train.optimizer == "adamw" else rng.uniform(0.3, 1.0)
    return p.with_train(weight_decay=round(decay, 2))


def _returned_loss(p: Program, rng: random.Random) -> Program:
    """the model's forward computes and returns the loss"""
    return p.with_loss(style="in_forward", outside="")


@operator("over_regularized", "a hand-written L2 penalty with weight 0.05-0.5 added in the "
          "training loop to the loss the model returns",
          applies=every(lambda p: p.model.style in ("module", "module_list")),
          setup=_returned_loss)
def returned_loss_l2_penalty(p: Program, rng: random.Random) -> Program:
    return p.with_loss(l2=round(rng.uniform(0.05, 0.5), 2))
