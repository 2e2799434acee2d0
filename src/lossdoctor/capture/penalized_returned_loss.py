"""A loss the model returns, with a penalty on its weights the training loop adds to it:

    _, loss = model(x, y)
    loss = loss + l2 * sum((w ** 2).sum() for w in model.parameters())

Backward goes through the sum, so the run trains on the penalty too; the loss the model
returned (its torch.nn loss, which the trace records) is only the data term. A replay of the
run adds the penalty as the script did, on the copy's own parameters; validation scores the
data term (``data_term``, as experiments.validation_loss reads it), and taking the penalty away
(checks/over_regularized.py) replays the data term alone. Without this, replays trained on the
returned loss alone: the penalty was in no replay, and nothing could tell it held the run back
(dev 357019, a run left unexplained).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from lossdoctor.capture.loss_program import LossProgram
from lossdoctor.capture.loss_tape import Parameter, ParameterTable
from lossdoctor.capture.replay_losses import ReturnedLoss


@dataclass
class PenalizedReturnedLoss(ReturnedLoss):
    """``ReturnedLoss`` plus ``penalty``, a recorded program that reads the parameters only."""

    penalty: LossProgram | None = None

    def loss(self, model, batch) -> torch.Tensor:
        data = super().loss(model, batch)
        if self.penalty is None:
            return data
        return data + self.penalty.run(_Parameters(model))

    @property
    def data_term(self) -> ReturnedLoss:
        """The loss the model returns, without the penalty added to it."""
        kept = {f.name: getattr(self, f.name) for f in fields(ReturnedLoss)}
        return ReturnedLoss(**kept)


class _Parameters:
    """What a penalty program reads in a replay: the copy's parameters."""

    def __init__(self, model) -> None:
        self.parameters = ParameterTable.of(model)

    def read(self, ref):
        if isinstance(ref, Parameter):
            return self.parameters.read(ref)
        return ref.tensor  # a Constant
