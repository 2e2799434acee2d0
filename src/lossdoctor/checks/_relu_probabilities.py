"""A ReLU at the model's output, fed to a loss that takes probabilities (BCELoss, Keras'
binary_crossentropy or categorical_crossentropy): Dense(1, activation='relu') where a sigmoid
belongs.

A ReLU's output is 0 or above, without bound: no probability. The loss clips it into
[eps, 1 - eps] (Keras does, as hand-written losses do), so an output at 0 costs the loss its
largest amount (-log 1e-7 = 16 for a positive row) and, a ReLU at 0 passing no gradient, stays
there. When the output unit is off for every row, it is dead from that step on: a dead output
layer (dead_relu) is this mismatch's consequence, and a sigmoid in the ReLU's place removes both.
The clip hides it from the loss's inputs (they never reach 0, nor leave [0, 1]: checks/
_clipped_scores.py sees nothing), so the model's own output is read: a clamp at zero (exact
zeros, never below) on the untrained model's predictions (:mod:`._clamped_output`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._clamped_output import ends_clamped_at_zero
from lossdoctor.checks._clipped_scores import SQUASHING
from lossdoctor.checks._fix import fix_experiment
from lossdoctor.checks._unclamped import without_last_relu
from lossdoctor.experiments import Plan
from lossdoctor.findings import Experiment, Skip
from lossdoctor.losses import loss_kind
from lossdoctor.sandbox import isolated

#: Kept training batches the trained model's outputs at 0 are counted on.
BATCHES = 4


@dataclass
class ReluProbabilities:
    at_zero: float  # the share of the trained model's outputs at exactly 0 on the kept batches
    squashing: str  # "sigmoid" (one output per row) or "softmax" (a row of class outputs)
    experiment: Experiment | None  # the replay with the squashing in the ReLU's place


def relu_into_probabilities(case, loss_name: str) -> ReluProbabilities | None:
    """The ReLU output fed to ``loss_name``, a loss on probabilities; None when the loss takes
    something else, the model's output is no clamp at zero, or no replay can read it."""
    kind = loss_kind(loss_name)
    if kind is None or kind.output != "probabilities" or case.copies.initial_model is None:
        return None
    if _squashed_on_the_way(case):
        return None  # sigmoid(relu(z)) is loss_setup's probabilities clamped at 0.5
    try:
        replayer = case.require_replay()
    except Skip:
        return None
    if not ends_clamped_at_zero(case.copies.initial_model, replayer.train_batches,
                                replayer.predict):
        return None
    outputs = _outputs(replayer, case.copies.final_model or case.copies.initial_model)
    if outputs is None:
        return None
    squashing = "sigmoid" if outputs.dim() < 2 or outputs.shape[-1] == 1 else "softmax"
    return ReluProbabilities(float((outputs == 0).float().mean()), squashing,
                             _squashed_experiment(case, squashing))


def _squashed_on_the_way(case) -> bool:
    """Whether the recorded loss computation squashes the model's output (a sigmoid, a
    softmax) before the loss: the loss is then not given the ReLU's output."""
    calls = getattr(case.copies.loss_replay, "calls", None) or []
    return any(call is not None and call.name in SQUASHING for call in calls)


def _outputs(replayer, model: nn.Module) -> torch.Tensor | None:
    """The model's predictions on the first BATCHES kept training batches, concatenated."""
    with isolated(0), torch.no_grad():
        scoring = copy.deepcopy(model).eval()
        try:
            found = [replayer.predict(scoring, b) for b in replayer.train_batches[:BATCHES]]
        except Exception:  # noqa: BLE001 - a model the copy cannot run shows no outputs
            return None
    if not found or not all(isinstance(t, torch.Tensor) and t.is_floating_point()
                            for t in found):
        return None
    return torch.cat([t.detach().float().cpu().reshape(len(t), -1) for t in found])


class _Squashed(nn.Module):
    """``inner`` (the model with its output ReLU taken out), its output put through a sigmoid
    or a softmax over the classes."""

    def __init__(self, inner: nn.Module, squashing: str) -> None:
        super().__init__()
        self.inner, self.squashing = inner, squashing

    def forward(self, *args, **kwargs):
        output = self.inner(*args, **kwargs)
        if self.squashing == "sigmoid":
            return torch.sigmoid(output)
        return torch.softmax(output, dim=-1)


def _squashed_experiment(case, squashing: str) -> Experiment | None:
    """The user's training replayed with the output ReLU replaced by ``squashing``; None when
    no ReLU call can be taken out (a clamp written ``z * (z > 0)``) or the replay fails."""
    replayer = case.replayer
    unclamped = without_last_relu(case.copies.initial_model, replayer.train_batches[0],
                                  replayer.predict)
    if unclamped is None:
        return None
    try:
        replay = replayer.replay(Plan(model=_Squashed(unclamped, squashing), steps=REPLAY_STEPS))
        return fix_experiment(f"a {squashing} in place of the ReLU at the output",
                              case.baseline, replay)
    except Skip:
        return None
