"""A loss summed over its elements (``reduction="sum"``): the run's curves record its mean per
element (capture/per_row.py), and replays report on that scale while training on the sum.
Replays once reported sums (64 times the curves' values for a batch of 64), so learning_rate
judged a run at lr 0.5 with a validation loss above the constant guess better than its replay,
and the constant guess was a sum: the run was called healthy."""

from __future__ import annotations

import copy
import functools
import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from conftest import mlp, record

ROWS, FEATURES, CLASSES = 32, 10, 3


def _data(seed: int):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(8 * ROWS, FEATURES, generator=generator)
    labels = (x[:, :CLASSES]).argmax(1)
    return x, labels


LOSSES = {
    "cross_entropy_module_sum": (nn.CrossEntropyLoss(reduction="sum"), False),
    "mse_functional_sum": (functools.partial(F.mse_loss, reduction="sum"), True),
    "cross_entropy_mean": (nn.CrossEntropyLoss(), False),  # the twin: nothing to divide
}


def _train(loss_fn, one_hot: bool) -> None:
    torch.manual_seed(0)
    x, labels = _data(0)
    targets = F.one_hot(labels, CLASSES).float() if one_hot else labels
    model = mlp(FEATURES, 16, CLASSES)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001)
    for _epoch in range(2):
        model.train()
        for start in range(0, len(x) - 2 * ROWS, ROWS):
            optimizer.zero_grad()
            loss_fn(model(x[start:start + ROWS]), targets[start:start + ROWS]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            loss_fn(model(x[-2 * ROWS:]), targets[-2 * ROWS:])


@pytest.mark.parametrize("name", LOSSES)
def test_a_replay_reports_the_loss_on_the_scale_of_the_runs_curves(name):
    case = record(_train, *LOSSES[name])
    first = case.copies.train.batches[0]
    replayed = case.replayer.evaluate(case.copies.initial_model, [first])
    recorded = case.trace.train_losses()[0].value
    assert math.isclose(replayed, recorded, rel_tol=1e-4), (replayed, recorded)


@pytest.mark.parametrize("name", LOSSES)
def test_a_replay_step_reports_its_loss_per_element_and_trains_on_the_sum(name):
    case = record(_train, *LOSSES[name])
    replayer, first = case.replayer, case.copies.train.batches[0]
    model = copy.deepcopy(case.copies.initial_model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001)
    loss = replayer.train_step(model, optimizer, first)
    assert math.isclose(loss, case.trace.train_losses()[0].value, rel_tol=1e-4)


def test_the_constant_guess_of_a_summed_cross_entropy_is_per_element():
    case = record(_train, *LOSSES["cross_entropy_module_sum"])
    guess = case.constant_guess_loss("validation")
    assert guess is not None and 0.5 < guess < math.log(CLASSES) + 0.2, guess
