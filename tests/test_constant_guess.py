import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import record


def _case(loss_fn, target, outputs):
    """A linear model trained a few steps on inputs that do not matter, with this loss."""
    torch.manual_seed(0)
    model = nn.Linear(2, outputs)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    def train():
        for _ in range(10):
            optimizer.zero_grad()
            loss_fn(model(torch.randn(8, 2)).squeeze(-1), target).backward()
            optimizer.step()

    return record(train)


@pytest.mark.parametrize(
    ("loss_fn", "target", "outputs", "expected"),
    [
        (nn.BCEWithLogitsLoss(), torch.tensor([0.0, 1.0] * 4), 1, math.log(2)),
        (lambda p, y: F.binary_cross_entropy(torch.sigmoid(p), y),
         torch.tensor([0.0, 0.0, 0.0, 1.0] * 2), 1,
         -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))),
        (lambda p, y: F.cross_entropy(p, y), torch.tensor([0, 1, 2, 3] * 2), 4, math.log(4)),
        (nn.MSELoss(), torch.tensor([1.0, 3.0] * 4), 1, 1.0),
        (nn.L1Loss(), torch.tensor([1.0, 1.0, 1.0, 5.0] * 2), 1, 1.0),
    ],
    ids=["bce-logits", "bce-probabilities", "cross-entropy", "mse-mean", "l1-median"],
)
def test_the_constant_guess_costs_what_the_best_input_free_prediction_costs(
    loss_fn, target, outputs, expected
):
    guess = _case(loss_fn, target, outputs).constant_guess
    assert guess.training_loss == pytest.approx(expected, rel=0.02)
    assert guess.validation_loss == pytest.approx(expected, rel=0.02)


def test_without_anything_to_replay_there_is_no_constant_guess_rather_than_an_error():
    from lossdoctor.capture.copies import Copies
    from lossdoctor.case import Case
    from lossdoctor.trace import Trace

    case = Case(Trace(), Copies())
    assert case.constant_guess_loss("training") is None
    assert case.constant_guess_loss("validation") is None


def test_the_constant_guess_loss_is_read_from_the_fitted_guess():
    case = _case(nn.BCEWithLogitsLoss(), torch.tensor([0.0, 1.0] * 4), 1)
    assert case.constant_guess_loss("training") == case.constant_guess.training_loss
    assert case.constant_guess_loss("validation") == case.constant_guess.validation_loss
