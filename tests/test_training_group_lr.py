"""The learning rate read from an optimizer's parameter groups (lr_schedule.training_group_lr):
the first group that trains, not the first group. A first group at lr 0 (a frozen backbone,
mmengine's ``lr_mult=0``) hid the schedule of the groups that train: the run's schedule read as
a constant 0. capture/step_events.py reads the rate through it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from conftest import record
from lossdoctor.lr_schedule import training_group_lr


def _groups(*rates):
    return [{"params": [], "lr": lr} for lr in rates]


def test_a_frozen_first_group_leaves_the_rate_of_the_group_that_trains():
    assert training_group_lr(_groups(0.0, 0.1)) == 0.1


def test_groups_that_all_train_give_the_first_ones_rate():
    assert training_group_lr(_groups(0.01, 0.1)) == 0.01


def test_a_warmup_from_zero_reads_zero():
    assert training_group_lr(_groups(0.0, 0.0)) == 0.0


def test_a_rate_in_a_tensor_is_taken_without_reading_it():
    rate = torch.tensor(0.1)
    assert training_group_lr([{"params": [], "lr": rate}, *_groups(0.2)]) is rate


def test_a_run_with_a_frozen_first_group_records_the_schedule_of_the_group_that_trains():
    """Watched end to end: a backbone group at lr 0 beside a head warmed up from 0.01 to 0.1.
    Reading the first group recorded one rate, 0, for the whole run."""
    torch.manual_seed(0)
    backbone, head = nn.Linear(4, 8), nn.Linear(8, 2)
    optimizer = torch.optim.SGD([{"params": backbone.parameters(), "lr": 0.0},
                                 {"params": head.parameters(), "lr": 0.1}], lr=0.1)
    warmup = torch.optim.lr_scheduler.LambdaLR(
        optimizer, [lambda step: 1.0, lambda step: min(0.1 + step / 20, 1.0)])
    x, y = torch.randn(64, 4), torch.randint(0, 2, (64,))

    def train():
        for _ in range(30):
            optimizer.zero_grad()
            nn.functional.cross_entropy(head(torch.relu(backbone(x))), y).backward()
            optimizer.step()
            warmup.step()

    setup = record(train).trace.setup
    rates = [lr for _, lr in setup.lr_schedule]
    assert rates[0] == pytest.approx(0.01)
    assert max(rates) == pytest.approx(0.1)
    assert len(rates) > 10
