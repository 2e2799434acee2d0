"""A loss function called as a metric beside the training loss, without gradients (on
``out.detach()`` or under no_grad), is neither a validation pass nor the training loss: the
validation curve is the script's own, and the training batches are still paired with their
targets for the replays."""

import pytest
import torch
from torch import nn

from conftest import record

EPOCHS = 3


def _train(metric_of):
    torch.manual_seed(0)
    x = torch.randn(400, 6)
    y = (x[:, :1] > 0).float()
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(EPOCHS):
        model.train()
        for i in range(0, 320, 20):
            out = model(x[i:i + 20])
            metric_of(loss_fn, out, y[i:i + 20])
            optimizer.zero_grad()
            loss_fn(out, y[i:i + 20]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            loss_fn(model(x[320:]), y[320:])


def _detached(loss_fn, out, y):
    return loss_fn(out.detach(), y)


def _under_no_grad(loss_fn, out, y):
    with torch.no_grad():
        return loss_fn(out, y)


@pytest.mark.parametrize("metric_of", [_detached, _under_no_grad])
def test_a_metric_before_backward_is_not_a_validation_pass(metric_of):
    case = record(_train, metric_of)
    assert len(case.trace.validation_passes()) == EPOCHS
    assert case.copies.train.batches
    assert case.copies.validation.batches


def test_an_evaluation_of_a_forward_with_gradients_stays_a_validation_pass():
    """The fixed twin: the same run with no metric has the same curve."""
    case = record(_train, lambda loss_fn, out, y: None)
    assert len(case.trace.validation_passes()) == EPOCHS
    assert case.copies.train.batches
