"""The torch loss a hand-written one computes like when the training loop gives it an activation
of the model's output rather than the output (``nll(F.softmax(model(x), dim=1), y)``, with
``nll`` written as ``-p.gather(1, y[:, None]).mean()``). The capture holds the loss against the
torch losses on the model's output itself (capture/loss_likeness.py); there no torch loss gives
its value, its kind stays unknown, and a run whose loss fell below 0, the least a loss on
log-probabilities can be, was called healthy (dev 420641, softmax_in_loop_then_nll). The
recorded program, run on a kept training batch by the untrained copy, is held against the torch
losses on the output passed through each activation that turns scores into probabilities."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import torch

from lossdoctor.capture.loss_likeness import alike_loss
from lossdoctor.capture.loss_program import LossProgram

#: The activations that turn a model's scores into probabilities, as a training loop applies
#: them before a loss: over the classes (the last axis), or each score on its own.
ACTIVATIONS = {
    "softmax": lambda scores: scores.softmax(dim=-1),
    "sigmoid": torch.sigmoid,
}


@dataclass(frozen=True)
class FedLikeness:
    """The torch loss ``like`` a hand-written loss computes like on the ``activation`` of the
    model's output."""

    like: str
    activation: str

    def fed(self, prediction: torch.Tensor) -> torch.Tensor:
        """What the loss is given of the model's ``prediction``."""
        return ACTIVATIONS[self.activation](prediction)


def fed_likeness(case) -> FedLikeness | None:
    """The torch loss the run's recorded loss, without its final scaling by a number, computes
    like on an activation of the untrained copy's output on the first kept batch; None when it
    computes like none (or cannot be run)."""
    program = case.copies.loss_replay
    batches = case.replayer.train_batches
    if not isinstance(program, LossProgram) or not batches or case.copies.initial_model is None:
        return None
    batch = batches[0]
    if not isinstance(batch.target, torch.Tensor):
        return None
    model = copy.deepcopy(case.copies.initial_model).eval()
    try:
        with torch.no_grad():
            value = float(replace(program, scale=None).loss(model, batch))
            prediction = program.predict(model, batch)
    except Exception:  # noqa: BLE001 - a batch the copy cannot score says nothing
        return None
    if not isinstance(prediction, torch.Tensor) or not prediction.is_floating_point():
        return None
    return _first_alike(value, prediction, batch.target)


def _first_alike(value: float, prediction: torch.Tensor,
                 target: torch.Tensor) -> FedLikeness | None:
    for name, activation in ACTIVATIONS.items():
        like = alike_loss(value, activation(prediction), target)
        if like is not None:
            return FedLikeness(like, name)
    return None
