"""A sigmoid at the model's output, given to a loss on logits (BCEWithLogitsLoss, or a
hand-written loss that computes like it), which applies its own sigmoid: the probability it
scores, sigmoid(sigmoid(z)), can only move between 0.5 and 0.73.

What the loss treats as logits is read where it is made, from its graph (checks/_reachable.py):
the first torch.nn loss call of the replayed loss (checks/_loss_fed.py), or, for a loss written
by hand, the model's prediction. A bound of [0, 1] there is a fact about the model, whatever its
values do: a fresh sigmoid output starts near 0.5, and on a run that pushes it down (more
negative rows, a slow optimizer) it may never pass 0.5 on a sampled call, where logits that
happen to lie in [0, 1] look the same. The replay takes the output's sigmoid call out
(checks/_unclamped.py) and trains as the script did.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._fix import fix_experiment, helped
from lossdoctor.checks._loss_fed import loss_fed
from lossdoctor.checks._reachable import reachable
from lossdoctor.checks._unclamped import without_last
from lossdoctor.experiments import Plan
from lossdoctor.findings import Experiment, Skip
from lossdoctor.sandbox import isolated

LOGITS_LOSSES = ("binary_cross_entropy_with_logits",)
#: The range of the logits a sigmoid output can give: its probabilities, sigmoid of these.
UNIT = (0.0, 1.0)


@dataclass
class SigmoidLogits:
    loss_floor: float | None  # the least the loss can be on the training targets
    has_sigmoid: bool  # a sigmoid call makes the output (not a clamp into [0, 1], say)
    experiment: Experiment | None  # the replay with the output's sigmoid taken out
    fixed: bool  # the replay took the validation loss down (checks/_fix.helped)


def sigmoid_into_logits(case) -> SigmoidLogits | None:
    """The model's output bounded to [0, 1] by its graph, given to a loss on logits; None when
    the graph shows no such bound, or no replay can read it."""
    if case.copies.initial_model is None:
        return None
    try:
        replayer = case.require_replay()
    except Skip:
        return None
    if not replayer.train_batches or not _bounded_to_unit(case.copies.initial_model, replayer):
        return None
    unsquashed = _without_output_sigmoid(case.copies.initial_model, replayer)
    experiment = _unsquashed_experiment(case, replayer, unsquashed)
    fixed = experiment is not None and helped(experiment, case)
    return SigmoidLogits(_loss_floor(replayer.train_batches), unsquashed is not None,
                         experiment, fixed)


def _bounded_to_unit(model, replayer) -> bool:
    """Whether what the loss takes as logits, on the first kept batch, lies in [0, 1] by the
    operations that made it."""
    batch = replayer.train_batches[0]
    with isolated(0):
        scoring = copy.deepcopy(model).train()
        try:
            with torch.enable_grad():
                logits = _logits(replayer, scoring, batch)
        except Exception:  # noqa: BLE001 - a batch the copy cannot score says nothing
            return False
    if not isinstance(logits, torch.Tensor) or logits.grad_fn is None:
        return False
    low, high = reachable(logits)
    return low >= UNIT[0] and high <= UNIT[1]


def _logits(replayer, model, batch) -> torch.Tensor | None:
    """What the loss takes as logits: the prediction given to its first torch.nn loss call when
    that is a loss on logits, the model's prediction when it calls none (written by hand)."""
    fed = loss_fed(replayer, model, batch)
    if fed is None:
        return replayer.predict(model, batch)
    name = getattr(getattr(fed.function, "lossdoctor_original", fed.function), "__name__", "")
    return fed.prediction if name in LOGITS_LOSSES else None


def _loss_floor(batches) -> float | None:
    """The mean loss of the best logits in [0, 1] for each training target: 1 for a positive
    row (0.313), 0 for a negative one (log 2), the target's own logit between."""
    targets = [b.target.reshape(-1).double() for b in batches
               if isinstance(b.target, torch.Tensor) and b.target.is_floating_point()]
    if not targets:
        return None
    target = torch.cat(targets).clamp(0, 1)
    best = torch.logit(target.clamp(0.5, 1 / (1 + math.exp(-1))))
    return float(F.binary_cross_entropy_with_logits(best, target))


def _without_output_sigmoid(model, replayer):
    """A copy of ``model`` with its last sigmoid call taken out; None when it makes none (a
    sigmoid written by hand, a clamp into [0, 1]) or the copy cannot be run."""
    try:
        return without_last(model, replayer.train_batches[0], replayer.predict, "sigmoid")
    except Exception:  # noqa: BLE001 - a model the copy cannot run has no call to take out
        return None


def _unsquashed_experiment(case, replayer, unsquashed) -> Experiment | None:
    """The user's training replayed with the output's sigmoid call taken out; None without
    such a copy, or when the replay cannot run."""
    if unsquashed is None:
        return None
    try:
        replay = replayer.replay(Plan(model=unsquashed, steps=REPLAY_STEPS))
        return fix_experiment("the model's final sigmoid taken out", case.baseline, replay)
    except (Skip, RuntimeError):  # no time left, or a copy the replay cannot train
        return None
