"""A torch.nn loss given something computed from the model's output outside the model
(``F.nll_loss(F.log_softmax(out, 1), y)``, a sigmoid before BCELoss, logits over a temperature)
is replayed with that computation, never on the raw output; a view of the output that keeps its
elements in order (``out.view(-1)``, ``out.squeeze(-1)``) is still replayed as the torch loss."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.capture.loss_events import reshaped_from
from lossdoctor.capture.loss_program import LossProgram
from lossdoctor.capture.replay_losses import LossFunction
from lossdoctor.checks import loss_setup
from lossdoctor.findings import Skip


def _classes(seed=0, rows=256):
    torch.manual_seed(seed)
    x = torch.randn(rows, 6)
    return x, (x[:, 0] > 0).long() + (x[:, 1] > 0).long()


def _values(seed=0, rows=256):
    torch.manual_seed(seed)
    x = torch.randn(rows, 6)
    return x, x[:, :1].sin() + 0.5 * x[:, 1:2]


TRANSFORMED = {
    "log_softmax then NLLLoss": (lambda out, y: F.nll_loss(F.log_softmax(out, 1), y), 3),
    "softmax then CrossEntropyLoss": (lambda out, y: F.cross_entropy(F.softmax(out, 1), y), 3),
    "temperature": (lambda out, y: nn.CrossEntropyLoss()(out / 2, y), 3),
    "sigmoid then BCELoss": (lambda out, y: nn.BCELoss()(torch.sigmoid(out).squeeze(-1),
                                                         (y > 0).float()), 1),
}


def _two_positions(seed=0, rows=256):
    """Two class labels per row (a sequence of two positions)."""
    x, y = _classes(seed, rows)
    return x, torch.stack([y, 2 - y], 1)


def test_a_transposed_output_replays_the_transpose():
    """Classes moved to axis 1 as CrossEntropyLoss wants for sequences: the same elements in
    another order, which reshaping the output cannot give back."""
    case = _recorded(lambda out, y: F.cross_entropy(out.view(-1, 2, 3).transpose(1, 2), y), 6,
                     data=_two_positions)
    assert isinstance(case.copies.replay_loss, LossProgram), case.copies.loss_problem
    replayed, trained = _first_step_replayed(case)
    assert math.isclose(replayed, trained, rel_tol=1e-5)


def _recorded(loss_fn, outputs, data=_classes, epochs=1):
    x, y = data()
    model = mlp(6, 16, outputs)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return record(fit, model, optimizer, loss_fn, (x[:192], y[:192]), (x[192:], y[192:]),
                  epochs=epochs)


def _first_step_replayed(case) -> tuple[float, float]:
    """The replayed loss of the untrained copy on the first batch, and the loss the script
    trained on at its first step."""
    first = case.copies.train.batches[0]
    with torch.no_grad():
        replayed = float(case.replayer.loss(case.copies.initial_model, first))
    return replayed, case.trace.train_losses()[0].value


@pytest.mark.parametrize("name", TRANSFORMED)
def test_a_torch_loss_on_a_transform_of_the_output_replays_the_transform(name):
    loss_fn, outputs = TRANSFORMED[name]
    case = _recorded(loss_fn, outputs)
    assert isinstance(case.copies.replay_loss, LossProgram), case.copies.loss_problem
    replayed, trained = _first_step_replayed(case)
    assert math.isclose(replayed, trained, rel_tol=1e-5)


def test_nll_after_log_softmax_is_not_replayed_on_the_raw_output():
    """The fixed twin of NLLLoss on raw logits: a replay on the raw output falls without bound,
    the script's own loss is a cross-entropy (about log 3 at the start)."""
    case = _recorded(*TRANSFORMED["log_softmax then NLLLoss"], epochs=2)
    replayed, _ = _first_step_replayed(case)
    assert 0.5 < replayed < 2.0
    assert case.trace.setup.loss_name == "nll_loss (like cross_entropy)"


@pytest.mark.parametrize("loss_fn", [
    lambda out, y: F.mse_loss(out.view(-1), y.view(-1)),
    lambda out, y: nn.MSELoss()(out.squeeze(-1), y.squeeze(-1)),
    lambda out, y: F.mse_loss(out, y),
])
def test_a_view_of_the_output_is_still_replayed_as_the_torch_loss(loss_fn):
    case = _recorded(loss_fn, 1, data=_values)
    assert isinstance(case.copies.replay_loss, LossFunction)
    replayed, trained = _first_step_replayed(case)
    assert math.isclose(replayed, trained, rel_tol=1e-5)


def test_a_transform_that_cannot_be_replayed_says_so_instead_of_a_wrong_loss():
    """Dropout on the output draws random numbers: no replay, and the reason is given."""
    case = _recorded(lambda out, y: F.nll_loss(F.log_softmax(F.dropout(out, 0.1), 1), y), 3)
    assert case.copies.replay_loss is None
    assert "could not replay" in case.copies.loss_problem
    assert "random numbers" in case.copies.loss_problem
    with pytest.raises(Skip, match="random numbers"):
        case.require_replay()


def test_a_reshaped_output_is_the_output_and_a_computed_one_is_not():
    out = torch.randn(8, 3)
    assert reshaped_from(out, out) and reshaped_from(out.view(-1), out)
    assert not reshaped_from(F.log_softmax(out, 1), out)
    assert not reshaped_from(out.t(), out)  # a transpose: the elements in another order
    assert not reshaped_from(out[:, 0], out)  # a slice
    assert not reshaped_from(out, None)


def test_the_healthy_twin_with_log_softmax_outside_has_no_loss_setup_finding():
    case = _recorded(*TRANSFORMED["log_softmax then NLLLoss"], epochs=2)
    assert loss_setup.check(case) == []


def test_a_torch_loss_on_a_transform_that_broadcasts_is_found_and_replayed_fixed():
    """F.mse_loss(out * 2, y) with out (N, 1) and y (N,): the call's shapes show the broadcast,
    and the replay with matched shapes keeps the transform."""
    case = _recorded(lambda out, y: F.mse_loss(out * 2, y), 1,
                     data=lambda: (_values()[0], _values()[1].squeeze(-1)), epochs=4)
    assert isinstance(case.copies.replay_loss, LossProgram)
    found = {f.cause.id: f for f in loss_setup.check(case)}
    finding = found["shape_broadcast"]
    assert finding.experiment.after < 0.5 * finding.experiment.before
