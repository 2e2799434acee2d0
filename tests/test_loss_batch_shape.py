"""A hand-written loss that averages by dividing its sum by the number of values, counted from
their shape read in Python and made a tensor (``prod(as_tensor(values.shape))``, as Keras 3
reduces every compiled loss on the torch backend): the count is the batch's rows, so a replay
on a batch of another size divides by that batch's rows.

On f88cc73 the shape was copied as recorded (50 rows): a replay on 25 rows gave half the mean,
and validation_path read every Keras loss as a sum ("yours sums them")."""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F

from conftest import fit, mlp, record
from lossdoctor.capture.loss_program import LossProgram
from lossdoctor.checks._row_scaling import rows_of, sums_over_rows


def keras_like_cross_entropy(output, y):
    values = F.cross_entropy(output, y, reduction="none")
    return torch.sum(values) / torch.prod(torch.as_tensor(values.shape)).to(values.dtype)


def _recorded():
    torch.manual_seed(0)
    model = mlp(4, 16, 3)
    x = torch.randn(300, 4)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    return record(fit, model, torch.optim.Adam(model.parameters(), lr=0.01),
                  keras_like_cross_entropy, (x[:250], y[:250]), (x[250:], y[250:]),
                  epochs=2, batch_size=50)


def test_a_loss_counted_from_its_shape_replays_as_the_mean_on_a_batch_of_other_size():
    case = _recorded()
    program = case.copies.replay_loss
    assert isinstance(program, LossProgram), case.copies.loss_problem
    model = copy.deepcopy(case.copies.initial_model)
    batch = case.copies.train.batches[0]
    half = rows_of(batch, range(batch.rows // 2))
    with torch.no_grad():
        replayed = float(program.loss(model, half))
        mean = float(F.cross_entropy(model(half.args[0]), half.target))
    assert math.isclose(replayed, mean, rel_tol=1e-5)


def test_it_reads_as_a_loss_that_averages_over_its_rows():
    case = _recorded()
    model = copy.deepcopy(case.copies.initial_model)
    with torch.no_grad():
        assert sums_over_rows(lambda b: float(case.copies.replay_loss.loss(model, b)),
                              case.copies.train.batches) is False
