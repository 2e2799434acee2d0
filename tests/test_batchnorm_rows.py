"""Experiments on a model with BatchNorm never hand it a batch of one row in training mode
(torch raises "Expected more than 1 value per channel when training"): a replay steps on the
batches that have rows enough, and a loss computed on one row normalizes it by the running
statistics. Rows cut by a check (held out, finite rows, halves) or a loader's last batch of
one row made the checks that met them fail inside lossdoctor."""

from dataclasses import replace

import torch
from torch import nn

from conftest import fit, record
from lossdoctor.capture.tensors import take_rows
from lossdoctor.diagnosis import diagnose
from lossdoctor.experiments import Plan


def _case():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(240, 6, generator=generator)
    y = (x[:, 0] + x[:, 1] > 0).long()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))
    return record(fit, model, torch.optim.Adam(model.parameters(), lr=1e-2),
                  nn.CrossEntropyLoss(), (x[:200], y[:200]), (x[200:], y[200:]), epochs=3,
                  batch_size=40)


def _one_row(batch):
    return replace(batch, args=take_rows(batch.args, [0], batch.rows),
                   kwargs=take_rows(batch.kwargs, [0], batch.rows),
                   target=take_rows(batch.target, [0], batch.rows), rows=1, keys=[])


def test_a_replay_steps_only_on_batches_batchnorm_can_normalize():
    replayer = _case().replayer
    replayer.train_batches = [*replayer.train_batches, _one_row(replayer.train_batches[0])]
    result = replayer.replay(Plan(steps=60, evaluations=3))
    assert len(result.train_losses) == 60 and all(map(torch.isfinite, map(torch.tensor,
                                                                          result.train_losses)))


def test_a_loss_on_one_row_in_training_mode_uses_the_running_statistics_and_restores_the_mode():
    case = _case()
    replayer = case.replayer
    model = torch.nn.Sequential(*[m for m in case.copies.initial_model]).train()
    loss = replayer.loss(model, _one_row(replayer.train_batches[0]))
    loss.backward()
    assert torch.isfinite(loss)
    assert all(m.training for m in model.modules())


def test_one_image_through_batchnorm2d_keeps_its_own_statistics():
    from lossdoctor.experiments import running_statistics_for

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4)).train()
    image = torch.randn(1, 1, 6, 6)
    with running_statistics_for(model, rows=1):
        out = model(image)
    assert out.mean().abs() < 1e-5  # normalized by its own 16 values per channel
    assert model[1].num_batches_tracked == 1 and model[1].training


def test_no_check_fails_on_a_batchnorm_model_given_a_batch_of_one_row():
    case = _case()
    replayer = case.replayer
    replayer.train_batches = [*replayer.train_batches, _one_row(replayer.train_batches[0])]
    outcomes = diagnose(case, budget=None).outcomes
    assert [o.name for o in outcomes if o.status == "error"] == []
