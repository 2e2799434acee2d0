"""A negative learning rate: torch.optim steps by ``-lr * gradient``, so every step climbs the
loss. The constructors refuse one, but a rate set on a parameter group afterwards or a
scheduler's factor reaches the steps (as Keras ports' ``SGD(learning_rate=-0.01)`` do):
learning_rate skipped it ("needs a positive learning rate") and checks building an optimizer
for a replay raised torch's ``ValueError: Invalid learning rate``. learning_rate now reports
it from the run (checks/_negative_rate.py) and replays skip it. A positive rate, and an
optimizer of one's own that adds ``lr * gradient`` (a negative rate descends there), are left
alone."""

from __future__ import annotations

import contextlib
import copy

import pytest
import torch
from torch.nn import functional as F

from conftest import mlp, record
from lossdoctor.checks import exploding_gradients, learning_rate
from lossdoctor.experiments import Plan
from lossdoctor.findings import Skip

ROWS, FEATURES, CLASSES, LR = 32, 10, 3, 0.05
NEGATIVE_TITLE = "The learning rate is negative"


class AddsTheRate(torch.optim.Optimizer):
    """An optimizer of one's own: ``p += lr * grad``, which descends at a negative rate."""

    def __init__(self, params, lr):
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=group["lr"])


def _optimizer(how: str, model):
    if how == "set_on_group":
        optimizer = torch.optim.SGD(model.parameters(), lr=LR)
        for group in optimizer.param_groups:
            group["lr"] = -LR
        return optimizer, None
    if how == "scheduler_factor":
        optimizer = torch.optim.SGD(model.parameters(), lr=LR)
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: -1.0)
    if how == "own_optimizer_adding":
        return AddsTheRate(model.parameters(), lr=-LR), None
    return torch.optim.SGD(model.parameters(), lr=LR), None


def _train(how: str) -> None:
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(8 * ROWS, FEATURES, generator=generator)
    labels = x[:, :CLASSES].argmax(1)
    model = mlp(FEATURES, 16, CLASSES)
    optimizer, scheduler = _optimizer(how, model)
    for _epoch in range(4):
        model.train()
        for start in range(0, 6 * ROWS, ROWS):
            optimizer.zero_grad()
            F.cross_entropy(model(x[start:start + ROWS]), labels[start:start + ROWS]).backward()
            optimizer.step()
        if scheduler is not None:
            scheduler.step()
        model.eval()
        with torch.no_grad():
            F.cross_entropy(model(x[6 * ROWS:]), labels[6 * ROWS:])


def _negative_findings(case) -> list:
    try:
        found = learning_rate.check(case)
    except Skip:
        return []
    return [f for f in found if f.title == NEGATIVE_TITLE]


@pytest.mark.parametrize("how", ["set_on_group", "scheduler_factor"])
def test_a_negative_rate_is_reported_and_replays_skip_it(how):
    case = record(_train, how)
    found = _negative_findings(case)
    assert len(found) == 1 and found[0].cause.id == "lr_too_high", found
    assert found[0].evidence["lowest_lr"] == pytest.approx(-LR)
    with pytest.raises(Skip):  # not torch's ValueError: Invalid learning rate
        case.replayer.optimizer_for(copy.deepcopy(case.copies.initial_model), Plan())
    with contextlib.suppress(Skip):  # skips a replay, or finds what it can without one
        exploding_gradients.check(case)


@pytest.mark.parametrize("how", ["positive", "own_optimizer_adding"])
def test_a_positive_rate_or_one_that_descends_is_not_called_negative(how):
    case = record(_train, how)
    assert _negative_findings(case) == []
