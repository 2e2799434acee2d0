"""How a recorded loss grows with the rows it is computed on: a mean stays, a sum doubles
(checks/_row_scaling.py)."""

import torch

from lossdoctor.checks._row_scaling import sums_over_rows


def test_a_mean_and_a_sum_are_told_apart_on_heavy_tailed_rows():
    """A few rows carry most of a trained classifier's loss: one half of a batch can weigh
    ten times the other, and only whole = sum or mean of the two halves tells them apart."""
    losses = torch.tensor([0.01] * 30 + [4.0, 6.0])
    from lossdoctor.capture.sample import Batch

    batch = Batch((torch.arange(32.0)[:, None],), {}, losses, 32)
    assert sums_over_rows(lambda b: float(b.target.sum()), [batch]) is True
    assert sums_over_rows(lambda b: float(b.target.mean()), [batch]) is False
