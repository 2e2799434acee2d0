"""The best prediction that ignores the inputs: the loss any model that learned must beat."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from lossdoctor.capture.tensors import batch_rows
from lossdoctor.experiments import Replayer
from lossdoctor.losses import output_layers
from lossdoctor.sandbox import isolated

#: Training batches the constant is fitted on, and the L-BFGS iterations it gets.
FIT_BATCHES = 32
FIT_ITERATIONS = 50


@dataclass
class ConstantGuess:
    training_loss: float
    validation_loss: float


class ConstantModel(nn.Module):
    """One learned prediction for every row, whatever the inputs, in the form the loss expects
    (through a sigmoid for BCELoss, a log-softmax for NLLLoss)."""

    def __init__(self, prediction_shape: tuple, loss_name: str) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.zeros(math.prod(prediction_shape) or 1))
        self.output = nn.Sequential(*output_layers(loss_name))

    def forward(self, *args, **kwargs) -> torch.Tensor:
        return self.output(self.value.expand(batch_rows((args, kwargs)), -1))


def fit_constant_guess(replayer: Replayer, loss_name: str) -> ConstantGuess:
    """Fit the constant on the training batches with the user's loss; score it on both sets."""
    constant = ConstantModel(replayer.copies.prediction_shape, loss_name)
    batches = replayer.train_batches[:FIT_BATCHES]
    with isolated(0):
        optimizer = torch.optim.LBFGS(
            constant.parameters(), max_iter=FIT_ITERATIONS, line_search_fn="strong_wolfe"
        )

        def mean_loss() -> torch.Tensor:
            optimizer.zero_grad()
            loss = sum(replayer.loss(constant, b) * b.rows for b in batches) / _rows(batches)
            loss.backward()
            return loss

        optimizer.step(mean_loss)
        return ConstantGuess(
            replayer.evaluate(constant, replayer.train_batches),
            replayer.evaluate(constant, replayer.validation_batches),
        )


def _rows(batches) -> int:
    return max(sum(b.rows for b in batches), 1)
