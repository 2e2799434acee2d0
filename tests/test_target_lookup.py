"""Class weights the loss reads beside the target, indexed by the labels where the recording
does not follow (``weight[labels.data.view(-1).long()]``, fresh30 s06), are read from each
replayed batch's own target through a table; a second per-row tensor that does not follow the
target is still not replayed as a program."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.capture.loss_program import LossProgram
from lossdoctor.capture.target_lookup import lookup_of

WEIGHTS = torch.tensor([0.84, 0.16])
RANDOM = np.random.default_rng(0)


def _imbalanced(seed=0, rows=256):
    torch.manual_seed(seed)
    x = torch.randn(rows, 6)
    return x, (x[:, 0] > 0.8).float()


def _weights_first(out, labels):
    """The weights are met before the labels in the loss's expression."""
    weight = WEIGHTS[labels.data.view(-1).long()].view_as(labels)
    return (weight * nn.functional.binary_cross_entropy_with_logits(
        out.squeeze(-1), labels, reduction="none")).mean()


def _labels_first(out, labels):
    weight = WEIGHTS[labels.data.view(-1).long()].view_as(labels)
    return (nn.functional.binary_cross_entropy_with_logits(
        out.squeeze(-1), labels, reduction="none") * weight).mean()


def _noise_weighted(out, labels):
    """Per-row weights that follow no label: nothing tells a replay what they would be."""
    weight = torch.from_numpy(RANDOM.random(labels.shape[0]).astype("float32"))
    return (weight * nn.functional.binary_cross_entropy_with_logits(
        out.squeeze(-1), labels, reduction="none")).mean()


def _recorded(loss_fn):
    x, y = _imbalanced()
    model = mlp(6, 16, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return record(fit, model, optimizer, loss_fn, (x[:192], y[:192]), (x[192:], y[192:]),
                  epochs=1)


@pytest.mark.parametrize("loss_fn", [_weights_first, _labels_first])
def test_a_class_weighted_loss_replays_on_every_batch(loss_fn):
    case = _recorded(loss_fn)
    assert isinstance(case.copies.replay_loss, LossProgram), case.copies.loss_problem
    model = case.copies.initial_model
    for batch in case.copies.train.batches[:4]:
        with torch.no_grad():
            replayed = float(case.replayer.loss(model, batch))
            expected = float(loss_fn(model(*batch.args), batch.target))
        assert math.isclose(replayed, expected, rel_tol=1e-5)


def test_weights_that_follow_no_label_stay_unreplayable():
    case = _recorded(_noise_weighted)
    assert not isinstance(case.copies.replay_loss, LossProgram)


def test_a_table_needs_class_like_targets_and_one_value_per_class():
    labels = torch.tensor([0.0, 1.0, 1.0, 0.0, 2.0])
    assert lookup_of(torch.tensor([5.0, 7.0, 7.0, 5.0, 9.0]), labels) is not None
    assert lookup_of(torch.tensor([5.0, 7.0, 8.0, 5.0, 9.0]), labels) is None
    assert lookup_of(labels * 2, labels + 0.5) is None
    table = lookup_of(torch.tensor([5.0, 7.0, 7.0, 5.0, 9.0]), labels)
    assert torch.equal(table.of(torch.tensor([2.0, 0.0])), torch.tensor([9.0, 5.0]))
    with pytest.raises(ValueError):
        table.of(torch.tensor([3.0]))
