"""The capacity test's larger model: bounded in cost, and never one that is not larger."""

import torch
from torch import nn

from lossdoctor.capture.sample import Batch
from lossdoctor.checks._larger_model import MAX_CHANNELS, MAX_WIDTH, why_not_larger


def test_a_model_as_wide_as_the_largest_one_tested_is_not_compared_with_a_narrower_one():
    rows = Batch((torch.randn(4, 8),), {}, torch.zeros(4), 4)
    narrow = nn.Sequential(nn.Linear(8, MAX_WIDTH // 2), nn.ReLU(), nn.Linear(MAX_WIDTH // 2, 2))
    wide = nn.Sequential(nn.Linear(8, MAX_WIDTH), nn.ReLU(), nn.Linear(MAX_WIDTH, 2))
    assert why_not_larger(narrow, rows) == ""
    assert f"{MAX_WIDTH:,} units" in why_not_larger(wide, rows)


def test_a_cnn_with_as_many_channels_as_the_largest_one_tested_is_not_compared_either():
    images = Batch((torch.randn(2, 3, 8, 8),), {}, torch.zeros(2), 2)
    few = nn.Sequential(nn.Conv2d(3, MAX_CHANNELS // 4, 3), nn.Flatten())
    many = nn.Sequential(nn.Conv2d(3, MAX_CHANNELS, 3), nn.Flatten())
    assert why_not_larger(few, images) == ""
    assert f"{MAX_CHANNELS} channels" in why_not_larger(many, images)
