"""The learning rate read from an optimizer's parameter groups (lr_schedule.training_group_lr):
the first group that trains, not the first group. A first group at lr 0 (a frozen backbone,
mmengine's ``lr_mult=0``) hid the schedule of the groups that train: the run's schedule read as
a constant 0. The call in capture/step_events.py, which reads ``param_groups[0]``, is its
owner's to change (docs/devset.md, session 24 s24-sum)."""

from __future__ import annotations

import torch

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
