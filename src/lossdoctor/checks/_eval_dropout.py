"""Dropout that stays on when the model is in eval mode: a dropout function called with
``training=True`` (or without the flag, whose default is True) instead of
``training=self.training``, as ``F.dropout2d(x, 0.1, training=True)`` or ``F.dropout(x, 0.5)``.
model.eval() does not reach it, so every validation pass drops a different share of the
features: the validation loss is noisy and pessimistic, and so is every prediction."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from lossdoctor.checks._dropout import DropoutCalls
from lossdoctor.sandbox import isolated


@dataclass(frozen=True)
class EvalDropout:
    """The drop rates of the dropout calls an eval-mode pass made, and the validation loss of
    the model in eval mode as it is, as it is scored again (other rows dropped: the same rows,
    other outputs) and with those calls dropping nothing."""

    rates: tuple[float, ...]
    as_is: float
    without: float
    again: float


def eval_dropout(replayer, model) -> EvalDropout | None:
    """Score ``model`` (a copy) in eval mode on the validation batches, seeing each dropout call
    that still drops; None when none does."""
    model = copy.deepcopy(model).eval()
    calls = DropoutCalls()
    with isolated(0), torch.no_grad(), calls:
        as_is = replayer.evaluate(model, replayer.validation_batches)
    if not calls.rates:
        return None
    with isolated(1), torch.no_grad():
        again = replayer.evaluate(model, replayer.validation_batches)
    with isolated(0), torch.no_grad(), DropoutCalls(off=True):
        without = replayer.evaluate(model, replayer.validation_batches)
    return EvalDropout(tuple(sorted(set(calls.rates))), as_is, without, again)
